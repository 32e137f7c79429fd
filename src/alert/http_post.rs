//! The one way the HTTP channels deliver: POST a body within the delivery's time
//! bound and classify the answer into a receipt, a retryable error (network,
//! timeout, 429, 5xx) or a permanent one (other 4xx). Errors name the service and
//! the status, never the URL: webhook URLs and bot tokens are secrets.
//!
//! Also the text helpers the chat channels share (length limits, facts).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use url::Url;

use super::{Delivery, DeliveryError, Receipt, message};
use crate::model::{EventKind, Notification};

/// `User-Agent` of every alert request.
pub const USER_AGENT_VALUE: &str = concat!("outpost/", env!("CARGO_PKG_VERSION"));
/// How much of an error answer goes into a delivery error, in characters.
const MAX_ERROR_TEXT: usize = 200;
/// How much of an error answer is read at all: enough for the excerpt.
const MAX_READ: usize = 16 * 1024;

/// An HTTP client for alert deliveries; `ca_pem` roots are trusted beside the
/// system's. Redirects are not followed: a redirected POST turns into a GET that
/// would "succeed" without delivering, and could carry the body to another host.
pub fn client(ca_pem: Option<&[u8]>) -> Result<reqwest::Client, DeliveryError> {
    // reqwest is built without a crypto provider: rustls uses the process default.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT_VALUE)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = ca_pem {
        let roots = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
            DeliveryError::permanent(format!("cannot read the channel's ca_file: {e}"))
        })?;
        builder = builder.tls_certs_merge(roots);
    }
    builder
        .build()
        .map_err(|e| DeliveryError::permanent(format!("cannot build an HTTP client: {e}")))
}

/// One POST to make.
pub(crate) struct Post<'a> {
    /// Names the receiver in errors: "Slack", "PagerDuty".
    pub service: &'static str,
    pub url: Url,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// Extra headers (authorization, signature).
    pub headers: HeaderMap,
    /// Strings to blank out of any error text (tokens), beside the URL itself.
    pub secrets: Vec<&'a str>,
    /// Trusted roots for this channel, when it has a `ca_file`.
    pub ca_pem: Option<&'a [u8]>,
}

impl<'a> Post<'a> {
    /// A JSON POST of `body` to `url`.
    pub fn json(
        service: &'static str,
        url: Url,
        body: &serde_json::Value,
        ca_pem: Option<&'a [u8]>,
    ) -> Self {
        Post {
            service,
            url,
            content_type: "application/json",
            // Serializing a `Value` cannot fail: its map keys are strings.
            body: serde_json::to_vec(body).unwrap_or_default(),
            headers: HeaderMap::new(),
            secrets: Vec::new(),
            ca_pem,
        }
    }

    /// Send it and classify the answer.
    pub async fn send(self, delivery: &Delivery) -> Result<Receipt, DeliveryError> {
        let mut secrets: Vec<String> = self.secrets.iter().map(|s| s.to_string()).collect();
        // Every credential the request carries: sensitive headers, whole and
        // after their scheme (`Bearer TOKEN`).
        for value in self.headers.values().filter(|v| v.is_sensitive()) {
            if let Ok(text) = value.to_str() {
                secrets.push(text.to_string());
                if let Some((_, credential)) = text.split_once(' ') {
                    secrets.push(credential.to_string());
                }
            }
        }
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let scrub = Scrub::new(&self.url, &secrets);
        let own_client;
        let http = match self.ca_pem {
            Some(pem) => {
                own_client = client(Some(pem))?;
                &own_client
            }
            None => &delivery.http,
        };
        let response = http
            .post(self.url.clone())
            .timeout(delivery.timeout)
            .header(USER_AGENT, USER_AGENT_VALUE)
            .header(CONTENT_TYPE, HeaderValue::from_static(self.content_type))
            .headers(self.headers)
            .body(self.body)
            .send()
            .await
            .map_err(|e| request_error(self.service, delivery, e, &scrub))?;
        let status = response.status();
        if status.is_success() {
            return Ok(Receipt {
                detail: format!("HTTP {}", status.as_u16()),
            });
        }
        let wait = match status.as_u16() {
            429 | 503 => retry_after(response.headers()),
            _ => None,
        };
        // Blank credentials while the answer still has its lines, and secrets
        // before cutting, so no cut can leave part of one.
        let answer = crate::redact::credentials(&read_start(response).await);
        let excerpt = clean(&scrub.apply(&answer), MAX_ERROR_TEXT);
        let mut text = format!("{}: HTTP {}", self.service, status.as_u16());
        if status.is_redirection() {
            text.push_str(" (redirects are not followed)");
        }
        if !excerpt.is_empty() {
            text.push_str(": ");
            text.push_str(&excerpt);
        }
        if status.as_u16() == 429 || status.is_server_error() {
            Err(DeliveryError::retryable(text).after(wait))
        } else {
            Err(DeliveryError::permanent(text))
        }
    }
}

/// A network failure, without the URL and with the underlying causes.
fn request_error(
    service: &str,
    delivery: &Delivery,
    e: reqwest::Error,
    scrub: &Scrub,
) -> DeliveryError {
    let e = e.without_url();
    let what = if e.is_timeout() {
        format!(
            "no answer within {}",
            humantime::format_duration(delivery.timeout)
        )
    } else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            let s_text = s.to_string();
            if !text.contains(&s_text) {
                text.push_str(": ");
                text.push_str(&s_text);
            }
            source = s.source();
        }
        text
    };
    let what = crate::redact::credentials(&what);
    let text = format!("{service}: {}", clean(&scrub.apply(&what), MAX_ERROR_TEXT));
    if e.is_builder() {
        DeliveryError::permanent(text)
    } else if e.is_timeout() {
        DeliveryError::timed_out(text)
    } else {
        DeliveryError::retryable(text)
    }
}

/// The wait a receiver asks for in `Retry-After`: seconds, or an HTTP date.
/// Unreadable values are ignored (the usual backoff applies).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<std::time::Duration> {
    let text = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(std::time::Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    // A date in the past means now.
    Some(
        (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .to_std()
            .unwrap_or_default(),
    )
}

/// The start of an error answer's body, as text.
async fn read_start(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < MAX_READ {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Control characters and runs of whitespace become one space; at most `max` chars.
fn clean(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_control() || c.is_whitespace() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    clip(out.trim_end(), max)
}

/// Blanks a request's secrets out of error text: the URL, its path and query
/// (where webhook URLs and bot tokens hold their secret) and any token.
struct Scrub {
    secrets: Vec<String>,
}

impl Scrub {
    fn new(url: &Url, extra: &[&str]) -> Self {
        let mut secrets = vec![url.as_str().to_string()];
        if url.path() != "/" {
            secrets.push(url.path().to_string());
            // Receivers may echo a path segment (a token) on its own.
            secrets.extend(
                url.path_segments()
                    .into_iter()
                    .flatten()
                    .filter(|s| {
                        s.len() >= 16 || (s.len() >= 8 && s.chars().any(|c| c.is_ascii_digit()))
                    })
                    .map(str::to_string),
            );
        }
        if let Some(q) = url.query().filter(|q| !q.is_empty()) {
            secrets.push(q.to_string());
            // A signature parameter (Teams Workflows' `sig`) may be echoed alone.
            secrets.extend(
                url.query_pairs()
                    .map(|(_, v)| v.into_owned())
                    .filter(|v| v.len() >= 16),
            );
        }
        // User-info travels as `Authorization: Basic base64(user:pass)`.
        if !url.username().is_empty() || url.password().is_some() {
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            let user = decode(url.username());
            let pass = url.password().map(decode).unwrap_or_default();
            let pair = format!("{user}:{pass}");
            for engine in [&STANDARD, &STANDARD_NO_PAD] {
                secrets.push(engine.encode(pair.as_bytes()));
            }
            secrets.extend([url.username().to_string(), user]);
            if let Some(raw) = url.password() {
                secrets.extend([raw.to_string(), pass]);
            }
        }
        secrets.extend(extra.iter().filter(|s| s.len() >= 4).map(|s| s.to_string()));
        secrets.retain(|s| s.len() >= 3);
        // Longest first, so a URL is blanked whole before its parts.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Scrub { secrets }
    }

    fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "[redacted]");
            }
        }
        out
    }
}

/// The base URL of a service: the channel's `base_url` or the default.
pub(crate) fn base_url(configured: Option<&Url>, default: &str) -> Result<Url, DeliveryError> {
    let mut url = match configured {
        Some(u) => u.clone(),
        None => Url::parse(default)
            .map_err(|e| DeliveryError::permanent(format!("default base URL: {e}")))?,
    };
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// `base` with path `segments` appended (each percent-encoded as needed).
pub(crate) fn join(base: &Url, segments: &[&str]) -> Result<Url, DeliveryError> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| DeliveryError::permanent("the base_url cannot take a path"))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// The endpoint of a channel configured by `url` (webhook, Slack, Discord, Teams).
pub(crate) fn channel_url(
    channel: &crate::config::ChannelConfig,
    kind: &str,
) -> Result<Url, DeliveryError> {
    let text = channel
        .url
        .as_ref()
        .ok_or_else(|| DeliveryError::permanent(format!("a {kind} channel needs a `url`")))?;
    // The same check as `outpost check`; its error names no part of the URL,
    // which may be a secret.
    crate::config::http_url(text.value())
        .map_err(|e| DeliveryError::permanent(format!("the {kind} channel's url {e}")))
}

/// At most `max` characters of `s`, ending in `…` when cut.
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The labelled facts the card channels (Slack, Discord, Teams) show under the
/// title; a test has none, its body says it all.
pub(crate) fn facts(n: &Notification) -> Vec<(&'static str, String)> {
    if n.event == EventKind::Test {
        return Vec::new();
    }
    let mut facts = vec![
        ("State", format!("{} (was {})", n.state, n.previous_state)),
        (
            "Since",
            format!(
                "{} (for {})",
                n.since.format("%Y-%m-%d %H:%M UTC"),
                message::human_duration(n.duration())
            ),
        ),
    ];
    if let Some(cause) = n.cause {
        let text = match &n.message {
            Some(m) => format!("{cause}: {m}"),
            None => cause.to_string(),
        };
        facts.push(("Cause", text));
    }
    if let Some(group) = &n.group {
        facts.push(("Group", group.clone()));
    }
    facts
}

/// An instant as channels show it: RFC 3339, UTC, whole seconds.
pub(crate) fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_counts_characters() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("ééééé", 3), "éé…");
    }

    #[test]
    fn clean_drops_control_characters() {
        assert_eq!(clean("a\r\n\u{1b}[31mb\t c\u{0}", 200), "a [31mb c");
        assert_eq!(clean(&"x".repeat(500), 200).chars().count(), 200);
    }

    #[test]
    fn scrub_blanks_url_path_and_tokens() {
        let url = Url::parse("https://api.telegram.org/bot123:SECRETTOKEN/sendMessage").unwrap();
        let s = Scrub::new(&url, &["tok-en-1"]);
        let out = s.apply("at https://api.telegram.org/bot123:SECRETTOKEN/sendMessage, bot123:SECRETTOKEN, tok-en-1");
        assert!(!out.contains("SECRETTOKEN"), "{out}");
        assert!(!out.contains("tok-en-1"), "{out}");

        let url = Url::parse("https://x.test/workflows/run?api-version=1&sig=AbCdEfGhIjKlMnOpQr")
            .unwrap();
        let out = Scrub::new(&url, &[]).apply("bad sig AbCdEfGhIjKlMnOpQr");
        assert_eq!(out, "bad sig [redacted]");
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        use std::time::Duration;
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static(" 120 "));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        let later = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc2822();
        h.insert("retry-after", HeaderValue::from_str(&later).unwrap());
        let wait = retry_after(&h).unwrap();
        assert!(wait > Duration::from_secs(3600) && wait <= Duration::from_secs(7200));
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn join_keeps_a_base_path() {
        let base = Url::parse("https://example.test/ntfy/").unwrap();
        assert_eq!(
            join(&base, &["v2", "enqueue"]).unwrap().as_str(),
            "https://example.test/ntfy/v2/enqueue"
        );
        let root = Url::parse("https://events.pagerduty.com").unwrap();
        assert_eq!(
            join(&root, &["v2", "enqueue"]).unwrap().as_str(),
            "https://events.pagerduty.com/v2/enqueue"
        );
    }
}
