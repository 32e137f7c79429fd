//! `[[channel]]` sections: required keys per kind, URLs, trusted roots.

use std::path::Path;

use toml::Spanned;
use url::Url;

use super::Problems;
use super::plan::*;
use super::schema;

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
        match kind {
            Webhook | Slack | Discord | Teams => require("url", c.url.is_some()),
            GithubIssue => {
                require("repo", c.repo.is_some());
                require("token", c.token.is_some());
            }
            Email => {
                require("to", c.to.as_ref().is_some_and(|t| !t.is_empty()));
                require("from", c.from.is_some());
                require("smtp_host", c.smtp_host.is_some());
            }
            Pagerduty => require("routing_key", c.routing_key.is_some()),
            Ntfy => require("topic", c.topic.is_some()),
            Telegram => {
                require("token", c.token.is_some());
                require("chat_id", c.chat_id.is_some());
            }
        }
        if let Some(u) = &c.url
            && Url::parse(u.get_ref().value()).is_err()
        {
            p.at(
                u.span(),
                format!("invalid channel URL {:?}", u.get_ref().template()),
                None,
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
            .and_then(|b| match Url::parse(b.get_ref().value()) {
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
