//! `[[channel]]` sections: required keys per kind, URLs, trusted roots.
//!
//! The checks that delivery needs (URL schemes, header-safe tokens, mail
//! addresses, the SMTP server name) are the public functions at the end: the
//! channels call the very same ones, so a config `check` passes is a config
//! delivery accepts.

use std::path::Path;

use http::HeaderValue;
use toml::Spanned;
use url::Url;

use super::Problems;
use super::plan::*;
use super::schema;
use super::text::Text;

pub(super) fn resolve_channels(
    sections: Vec<Spanned<schema::ChannelSection>>,
    base_dir: &Path,
    p: &mut Problems<'_>,
) -> Vec<ChannelConfig> {
    use schema::ChannelKind::*;
    let mut out: Vec<ChannelConfig> = Vec::new();
    for section in sections {
        let span = section.span();
        let c = section.into_inner();
        let name = c.name.get_ref().clone();
        if name.trim().is_empty() {
            p.at(c.name.span(), "channel name cannot be empty", None);
            continue;
        }
        if out.iter().any(|o| o.name == name) {
            p.at(
                c.name.span(),
                format!("duplicate channel name {name:?}"),
                None,
            );
            continue;
        }
        let kind = *c.kind.get_ref();
        let mut require = |key: &str, present: bool| {
            if !present {
                p.at(
                    span.clone(),
                    format!("a {} channel needs `{key}`", kind.as_str()),
                    None,
                );
            }
        };
        // Present and not empty (a `${VAR}` may well be empty).
        let given = |t: &Option<Text>| t.as_ref().is_some_and(|t| !t.value().trim().is_empty());
        match kind {
            Webhook | Slack | Discord | Teams => require("url", c.url.is_some()),
            GithubIssue => {
                require("repo", c.repo.is_some());
                require("token", given(&c.token));
            }
            Email => {
                require("to", c.to.as_ref().is_some_and(|t| !t.is_empty()));
                require("from", given(&c.from));
                require("smtp_host", given(&c.smtp_host));
            }
            Pagerduty => require("routing_key", given(&c.routing_key)),
            Ntfy => require("topic", given(&c.topic)),
            Telegram => {
                require("token", given(&c.token));
                require("chat_id", given(&c.chat_id));
            }
        }
        // What delivery does with each value, done once here.
        let mut refuse = |message: String| p.at(span.clone(), message, None);
        if let Some(token) = c.token.as_ref().filter(|t| !t.value().is_empty())
            && matches!(kind, GithubIssue | Ntfy)
            && let Err(e) = bearer(token.value())
        {
            refuse(format!("the channel's token {e}"));
        }
        if kind == Email {
            if let Some(from) = c.from.as_ref().filter(|f| !f.value().trim().is_empty())
                && let Err(e) = mailbox(from.value())
            {
                refuse(format!("`from` {e}"));
            }
            for to in c.to.iter().flatten() {
                if let Err(e) = mailbox(to.value()) {
                    refuse(format!("`to` {e}"));
                }
            }
            if let Some(host) = c
                .smtp_host
                .as_ref()
                .filter(|h| !h.value().trim().is_empty())
                && let Err(e) = smtp_server_name(host.value())
            {
                refuse(format!("smtp_host {e}"));
            }
        }
        if let Some(u) = &c.url
            && let Err(e) = http_url(u.get_ref().value())
        {
            // The URL may hold a secret: show it as written, with `${NAME}`.
            p.at(
                u.span(),
                format!("invalid channel URL {:?}: {e}", u.get_ref().template()),
                Some("channel URLs are absolute http:// or https:// URLs"),
            );
        }
        if let Some(r) = &c.repo
            && r.get_ref()
                .value()
                .split('/')
                .filter(|s| !s.is_empty())
                .count()
                != 2
        {
            p.at(r.span(), "repo must be `owner/name`", None);
        }
        let base_url = c
            .base_url
            .as_ref()
            .and_then(|b| match http_url(b.get_ref().value()) {
                Ok(u) => Some(u),
                Err(e) => {
                    p.at(b.span(), format!("invalid base_url: {e}"), None);
                    None
                }
            });
        let ca_pem = c.ca_file.as_ref().and_then(|ca| {
            let path = base_dir.join(ca.get_ref().value());
            match crate::bounded_read::read(&path, crate::bounded_read::PEM_LIMIT) {
                Ok(pem) if rustls_pemfile::certs(&mut pem.as_slice()).any(|c| c.is_ok()) => {
                    Some(pem)
                }
                Ok(_) => {
                    p.at(
                        ca.span(),
                        format!("{} holds no PEM certificate", path.display()),
                        None,
                    );
                    None
                }
                Err(e) => {
                    p.at(
                        ca.span(),
                        format!("cannot read ca_file {}: {e}", path.display()),
                        Some("ca_file is relative to the directory of probes.toml"),
                    );
                    None
                }
            }
        });
        out.push(ChannelConfig {
            name,
            kind,
            url: c.url.map(Spanned::into_inner),
            on: c.on.unwrap_or_else(|| vec![Event::Down, Event::Recovered]),
            remind_every: c.remind_every.and_then(|d| {
                super::duration::REMIND_EVERY
                    .check("remind_every", d.value)
                    .map_err(|m| p.at(d.span.clone(), m, None))
                    .ok()
            }),
            secret: c.secret,
            token: c.token,
            base_url,
            repo: c.repo.map(Spanned::into_inner),
            labels: c
                .labels
                .unwrap_or_default()
                .into_iter()
                .map(|t| t.value().to_string())
                .collect(),
            routing_key: c.routing_key,
            chat_id: c.chat_id,
            topic: c.topic,
            to: c.to.unwrap_or_default(),
            from: c.from,
            smtp_host: c.smtp_host,
            smtp_port: c.smtp_port.unwrap_or(587),
            username: c.username,
            password: c.password,
            starttls: c.starttls.unwrap_or(true),
            ca_pem,
        });
    }
    out
}

/// A channel's endpoint or a service's base URL: absolute `http` or `https`
/// with a host. The error never repeats the URL, which may hold a secret.
pub fn http_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("cannot be parsed ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "has scheme {:?}, and only http and https are sent to",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".to_string());
    }
    Ok(url)
}

/// `Bearer TOKEN` as a sensitive header value.
pub fn bearer(token: &str) -> Result<HeaderValue, String> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| "holds characters a header cannot carry (line breaks, control characters)")?;
    value.set_sensitive(true);
    Ok(value)
}

/// A mail address, `name <user@host>` or `user@host`.
pub fn mailbox(text: &str) -> Result<lettre::message::Mailbox, String> {
    text.trim()
        .parse()
        .map_err(|e| format!("is not a mail address: {e}"))
}

/// The SMTP host as a name TLS can verify (a DNS name or an IP address).
pub fn smtp_server_name(host: &str) -> Result<(), String> {
    rustls::pki_types::ServerName::try_from(host.trim())
        .map(|_| ())
        .map_err(|_| "is not a valid host name or IP address".to_string())
}
