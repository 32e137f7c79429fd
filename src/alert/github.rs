//! The `github-issue` channel: one issue per incident, opened when it starts,
//! commented on while it changes and closed when it recovers (REST API v3).
//!
//! The channel keeps no local state: it finds an incident's issue again by a
//! hidden marker in the issue body, `<!-- outpost:{dedup_key} -->`, among the
//! open issues carrying the channel's first label.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, USER_AGENT};
use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::http_post::{self, USER_AGENT_VALUE};
use super::{Delivery, DeliveryError, Notification, Receipt, message};
use crate::config::ChannelConfig;
use crate::model::EventKind;

const DEFAULT_BASE_URL: &str = "https://api.github.com";
const DEFAULT_LABEL: &str = "outpost";
const PER_PAGE: usize = 100;
/// GitHub refuses longer issue titles.
const MAX_TITLE: usize = 256;
/// Bounds the search for an incident's issue: 1,000 open labelled issues.
const MAX_PAGES: usize = 10;
/// How much of an error answer's `message` goes into a delivery error.
const MAX_ERROR_TEXT: usize = 200;

/// Deliver `n` through a `github-issue` channel.
pub async fn send(
    delivery: &Delivery,
    channel: &ChannelConfig,
    n: &Notification,
) -> Result<Receipt, DeliveryError> {
    let api = Api::new(delivery, channel)?;
    // One bound for the whole exchange (up to four requests), as for any channel.
    match tokio::time::timeout(delivery.timeout, run(&api, channel, n)).await {
        Ok(result) => result,
        Err(_) => Err(DeliveryError::timed_out(format!(
            "GitHub API: no answer within {}",
            humantime::format_duration(delivery.timeout)
        ))),
    }
}

async fn run(
    api: &Api<'_>,
    channel: &ChannelConfig,
    n: &Notification,
) -> Result<Receipt, DeliveryError> {
    let marker = marker(n);
    let label = channel
        .labels
        .first()
        .map(String::as_str)
        .unwrap_or(DEFAULT_LABEL);
    match n.event {
        EventKind::Test => {
            let answer = api.call(Method::GET, &[], &[], None).await?;
            Ok(Receipt {
                detail: format!("HTTP {}, repo access ok", answer.status),
            })
        }
        EventKind::Down
        | EventKind::Degraded
        | EventKind::Reminder
        | EventKind::BurnFast
        | EventKind::BurnSlow
        | EventKind::BurnTicket => {
            let text = comment_text(n);
            match find_issue(api, label, &marker).await? {
                Some(number) => comment(api, number, &text).await,
                None => {
                    let labels: Vec<&str> = if channel.labels.is_empty() {
                        vec![DEFAULT_LABEL]
                    } else {
                        channel.labels.iter().map(String::as_str).collect()
                    };
                    let body = json!({
                        "title": http_post::clip(&message::title(n), MAX_TITLE),
                        "body": format!("{}\n\n{marker}", defuse(&message::body(n))),
                        "labels": labels,
                    });
                    let answer = api.call(Method::POST, &["issues"], &[], Some(body)).await?;
                    let issue: Created = answer.parse()?;
                    Ok(Receipt {
                        detail: format!("HTTP {}, opened issue #{}", answer.status, issue.number),
                    })
                }
            }
        }
        EventKind::Recovered | EventKind::BurnOk => {
            let Some(number) = find_issue(api, label, &marker).await? else {
                return Ok(Receipt {
                    detail: "no open issue for this incident, nothing to close".to_string(),
                });
            };
            // The issue is the objective's: it stays open while another of
            // its burn alerts still fires.
            if n.burn.as_ref().is_some_and(|b| !b.still_firing.is_empty()) {
                return comment(api, number, &comment_text(n)).await;
            }
            comment(api, number, &comment_text(n)).await?;
            let number_text = number.to_string();
            let answer = api
                .call(
                    Method::PATCH,
                    &["issues", &number_text],
                    &[],
                    Some(json!({"state": "closed", "state_reason": "completed"})),
                )
                .await?;
            Ok(Receipt {
                detail: format!("HTTP {}, closed issue #{number}", answer.status),
            })
        }
    }
}

/// A comment: the title in bold, then the shared body.
fn comment_text(n: &Notification) -> String {
    format!("**{}**\n\n{}", message::title(n), defuse(&message::body(n)))
}

/// Text from a probe's target (the cause message) cannot plant a marker of
/// another incident: its HTML comments are shown, not hidden.
fn defuse(text: &str) -> String {
    text.replace("<!--", "&lt;!--")
}

/// The hidden line that ties an issue to one incident.
fn marker(n: &Notification) -> String {
    format!("<!-- outpost:{} -->", n.dedup_key())
}

async fn comment(api: &Api<'_>, number: u64, text: &str) -> Result<Receipt, DeliveryError> {
    let number_text = number.to_string();
    let answer = api
        .call(
            Method::POST,
            &["issues", &number_text, "comments"],
            &[],
            Some(json!({ "body": text })),
        )
        .await?;
    Ok(Receipt {
        detail: format!("HTTP {}, commented on issue #{number}", answer.status),
    })
}

/// An issue in a list answer; pull requests come back from the same endpoint.
#[derive(Deserialize)]
struct Listed {
    number: u64,
    body: Option<String>,
    pull_request: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Created {
    number: u64,
}

/// The open issue (not pull request) labelled `label` whose body holds `marker`.
async fn find_issue(
    api: &Api<'_>,
    label: &str,
    marker: &str,
) -> Result<Option<u64>, DeliveryError> {
    let per_page = PER_PAGE.to_string();
    for page in 1..=MAX_PAGES {
        let page_text = page.to_string();
        let query = [
            ("state", "open"),
            ("labels", label),
            ("per_page", per_page.as_str()),
            ("page", page_text.as_str()),
        ];
        let answer = api.call(Method::GET, &["issues"], &query, None).await?;
        let issues: Vec<Listed> = answer.parse()?;
        let found = issues.iter().find(|i| {
            i.pull_request.is_none() && i.body.as_deref().is_some_and(|b| b.contains(marker))
        });
        if let Some(issue) = found {
            return Ok(Some(issue.number));
        }
        if issues.len() < PER_PAGE {
            break;
        }
    }
    Ok(None)
}

/// One repository's API, with the channel's credentials.
struct Api<'a> {
    http: reqwest::Client,
    /// `{base}/repos/{owner}/{name}`.
    repo_url: Url,
    auth: HeaderValue,
    token: &'a str,
    timeout: Duration,
}

/// A successful answer.
struct Answer {
    status: u16,
    body: bytes::Bytes,
}

impl Answer {
    fn parse<T: for<'de> Deserialize<'de>>(&self) -> Result<T, DeliveryError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            // A proxy's error page or a truncated answer: worth another try.
            // Position only: serde's message may quote the (hostile) answer.
            DeliveryError::retryable(format!(
                "GitHub API: HTTP {} with an answer that is not the JSON expected (line {}, column {})",
                self.status,
                e.line(),
                e.column()
            ))
        })
    }
}

impl<'a> Api<'a> {
    fn new(delivery: &'a Delivery, channel: &'a ChannelConfig) -> Result<Self, DeliveryError> {
        let token = channel
            .token
            .as_ref()
            .map(|t| t.value())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| DeliveryError::permanent("a github-issue channel needs a `token`"))?;
        let repo = channel.repo.as_ref().map(|r| r.value()).unwrap_or_default();
        let parts: Vec<&str> = repo.split('/').filter(|s| !s.is_empty()).collect();
        let [owner, name] = parts[..] else {
            return Err(DeliveryError::permanent(format!(
                "repo must be `owner/name`, not {repo:?}"
            )));
        };
        let base = http_post::base_url(channel.base_url.as_ref(), DEFAULT_BASE_URL)?;
        let repo_url = http_post::join(&base, &["repos", owner, name])?;
        let auth = crate::config::bearer(token)
            .map_err(|e| DeliveryError::permanent(format!("the GitHub token {e}")))?;
        // A self-hosted GitHub Enterprise may be signed by a private CA.
        let http = match &channel.ca_pem {
            Some(pem) => http_post::client(Some(pem))?,
            None => delivery.http.clone(),
        };
        Ok(Api {
            http,
            repo_url,
            auth,
            token,
            timeout: delivery.timeout,
        })
    }

    /// `method` on the repository URL plus `path`; any non-2xx is an error.
    async fn call(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, &str)],
        body: Option<serde_json::Value>,
    ) -> Result<Answer, DeliveryError> {
        let mut url = http_post::join(&self.repo_url, path)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let what = format!("GitHub API {method} {}", url.path());
        let mut request = self
            .http
            .request(method, url)
            .timeout(self.timeout)
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .header(USER_AGENT, USER_AGENT_VALUE);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| {
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "cannot connect"
            } else {
                "request failed"
            };
            let certificate = is_tls_failure(&e);
            let timed_out = e.is_timeout();
            // The token travels in a header, so it never enters a reqwest error.
            let message = self.redact(&format!("{what}: {kind}: {}", root_cause(e.without_url())));
            if certificate {
                // An untrusted or misnamed certificate needs a config change (ca_file, base_url).
                DeliveryError::permanent(message)
            } else if timed_out {
                DeliveryError::timed_out(message)
            } else {
                DeliveryError::retryable(message)
            }
        })?;
        let status = response.status();
        let wait = http_post::retry_after(response.headers());
        let rate_limited = response
            .headers()
            .get("x-ratelimit-remaining")
            .is_some_and(|v| v.as_bytes() == b"0")
            || response.headers().contains_key("retry-after");
        let body = response.bytes().await.map_err(|e| {
            DeliveryError::retryable(format!("{what}: reading the answer: {}", e.without_url()))
        })?;
        if status.is_success() {
            return Ok(Answer {
                status: status.as_u16(),
                body,
            });
        }
        let mut detail = error_text(&body);
        if status
            .canonical_reason()
            .is_some_and(|r| detail == format!(": {r}"))
        {
            detail.clear();
        }
        let hint = match status.as_u16() {
            401 => " (check the channel's token)",
            403 if !rate_limited => " (the token lacks the `issues` permission on this repo)",
            404 => " (check `repo`, and that the token can see it)",
            _ => "",
        };
        let message = self.redact(&format!("{what}: HTTP {status}{detail}{hint}"));
        // GitHub answers a rate limit with 403 (or 429) and says so in headers.
        if status.is_server_error()
            || status.as_u16() == 429
            || (status.as_u16() == 403 && rate_limited)
        {
            Err(DeliveryError::retryable(message).after(wait))
        } else {
            Err(DeliveryError::permanent(message))
        }
    }

    /// A server may echo what it was sent; the token never leaves in a message.
    fn redact(&self, text: &str) -> String {
        text.replace(self.token, "[redacted]")
    }
}

/// Whether a request failed in the TLS handshake (rustls refused the server).
fn is_tls_failure(e: &reqwest::Error) -> bool {
    std::error::Error::source(e).is_some_and(wraps_rustls)
}

/// Whether `err` is, or wraps, a rustls refusal; io::Errors nest them in their
/// payload, which `source` skips.
fn wraps_rustls(err: &(dyn std::error::Error + 'static)) -> bool {
    if err.is::<rustls::Error>() {
        return true;
    }
    if let Some(inner) = err
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref)
        && wraps_rustls(inner)
    {
        return true;
    }
    err.source().is_some_and(wraps_rustls)
}

/// The innermost cause of a request error (`Connection refused`), which says
/// more than reqwest's own `error sending request`.
fn root_cause(e: reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(err) = source {
        text = err.to_string();
        source = err.source();
    }
    text
}

/// `: Bad credentials` from GitHub's `{"message": …}` error body, bounded.
fn error_text(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Error {
        message: String,
    }
    match serde_json::from_slice::<Error>(body) {
        Ok(e) => {
            let text: String = crate::redact::credentials(&e.message)
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_ERROR_TEXT)
                .collect();
            format!(": {text}")
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_is_bounded_and_optional() {
        assert_eq!(
            error_text(br#"{"message":"Bad credentials"}"#),
            ": Bad credentials"
        );
        assert_eq!(error_text(b"<html>"), "");
        let long = format!(r#"{{"message":"{}"}}"#, "x".repeat(1000));
        assert_eq!(error_text(long.as_bytes()).len(), 2 + MAX_ERROR_TEXT);
    }

    #[test]
    fn target_text_cannot_plant_a_marker() {
        let planted = "HTTP 503: <!-- outpost:outpost/api/8 -->";
        assert!(!defuse(planted).contains("<!-- outpost:"));
    }
}
