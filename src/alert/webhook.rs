//! The `webhook` channel: a POST of one JSON document per notification to the
//! channel's `url`.
//!
//! Headers: `Content-Type: application/json`, `User-Agent: outpost/VERSION`, and,
//! when the channel has a `secret`, `X-Outpost-Signature: sha256=HEX`: the
//! lowercase hex HMAC-SHA256 of the exact body bytes keyed with the secret.
//! Verify it over the raw body before parsing it, with a constant-time compare.
//!
//! The body (`version` changes only when a field is removed or changes meaning):
//!
//! ```json
//! {
//!   "version": 1,
//!   "event": "down",                       // down | degraded | recovered | reminder | test
//!                                          // | burn-fast | burn-slow | burn-ticket | burn-ok
//!   "state": "down",                       // the state after the event: operational | degraded | down
//!   "previous_state": "operational",
//!   "probe": { "id": "api", "name": "Public API", "group": "Backend" },  // group: null when none
//!   "since": "2026-03-01T10:00:00Z",       // when the incident started (RFC 3339, UTC)
//!   "at": "2026-03-01T10:25:00Z",          // when the event happened
//!   "duration_seconds": 1500,              // at - since
//!   "cause": "status",                     // dns | connect | tls | timeout | status | assertion | body | protocol | null
//!   "message": "expected status 2xx, got 503",  // or null
//!   "incident_id": 42,
//!   "dedup_key": "outpost/api/42",         // the same for every event of one incident
//!   "link": "https://status.example.com/probe/api.html",  // or null when page.url is not set
//!   "page": { "title": "Acme status" }
//! }
//! ```
//!
//! Burn events (and reminders of a burn alert) add `"burn"`: the objective,
//! the alert, the threshold, each window's burn rate, the budget left and
//! the time to exhaustion (README, "Burn-rate alerts").

use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Value, json};
use sha2::Sha256;

use super::http_post::{self, Post};
use super::{Delivery, DeliveryError, Notification, Receipt};
use crate::config::ChannelConfig;

/// The signature header, set when the channel has a `secret`.
pub const SIGNATURE_HEADER: &str = "x-outpost-signature";

/// Deliver `n` through a `webhook` channel.
pub async fn send(
    delivery: &Delivery,
    channel: &ChannelConfig,
    n: &Notification,
) -> Result<Receipt, DeliveryError> {
    let url = http_post::channel_url(channel, "webhook")?;
    let mut post = Post::json("webhook", url, &payload(n), channel.ca_pem.as_deref());
    if let Some(secret) = &channel.secret {
        let mut value = signature(secret.value().as_bytes(), &post.body)
            .and_then(|s| HeaderValue::from_str(&s).ok())
            .ok_or_else(|| DeliveryError::permanent("webhook: cannot sign the body"))?;
        value.set_sensitive(true);
        post.headers
            .insert(HeaderName::from_static(SIGNATURE_HEADER), value);
    }
    post.send(delivery).await
}

/// The JSON document documented at the top of this file.
pub fn payload(n: &Notification) -> Value {
    let mut body = json!({
        "version": 1,
        "event": n.event.as_str(),
        "state": n.state.as_str(),
        "previous_state": n.previous_state.as_str(),
        "probe": {
            "id": n.probe_id,
            "name": n.probe_name,
            "group": n.group,
        },
        "since": http_post::timestamp(n.since),
        "at": http_post::timestamp(n.at),
        "duration_seconds": n.duration().num_seconds(),
        "cause": n.cause.map(|c| c.as_str()),
        "message": n.message,
        "incident_id": n.incident_id,
        "dedup_key": n.dedup_key(),
        "link": n.link,
        "page": { "title": n.page_title },
    });
    // Burn events add one object; the fields above keep their meaning.
    if let Some(burn) = &n.burn {
        body["burn"] = json!(burn);
    }
    body
}

/// `sha256=` and the lowercase hex HMAC-SHA256 of `body` keyed with `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> Option<String> {
    // HMAC takes a key of any length: this is never `None` in practice.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).ok()?;
    mac.update(body);
    Some(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::alert::EventKind;
    use crate::model::{Cause, State};

    fn down() -> Notification {
        let since = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap();
        Notification {
            event: EventKind::Down,
            probe_id: "api".into(),
            probe_name: "Public API".into(),
            group: Some("Backend".into()),
            state: State::Down,
            previous_state: State::Operational,
            since,
            at: since + chrono::Duration::minutes(25),
            cause: Some(Cause::Status),
            message: Some("HTTP 503, expected 200".into()),
            incident_id: 42,
            link: Some("https://status.example.test/probes/api".into()),
            page_title: "Acme status".into(),
            burn: None,
        }
    }

    #[test]
    fn payload_shape() {
        let p = payload(&down());
        assert_eq!(
            p,
            json!({
                "version": 1,
                "event": "down",
                "state": "down",
                "previous_state": "operational",
                "probe": {"id": "api", "name": "Public API", "group": "Backend"},
                "since": "2026-03-01T10:00:00Z",
                "at": "2026-03-01T10:25:00Z",
                "duration_seconds": 1500,
                "cause": "status",
                "message": "HTTP 503, expected 200",
                "incident_id": 42,
                "dedup_key": "outpost/api/42",
                "link": "https://status.example.test/probes/api",
                "page": {"title": "Acme status"},
            })
        );
    }

    #[test]
    fn absent_fields_are_null() {
        let mut n = down();
        n.group = None;
        n.cause = None;
        n.message = None;
        n.link = None;
        let p = payload(&n);
        assert!(p["probe"]["group"].is_null());
        assert!(p["cause"].is_null());
        assert!(p["message"].is_null());
        assert!(p["link"].is_null());
    }

    #[test]
    fn signature_matches_rfc_4231_case_2() {
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?").as_deref(),
            Some("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }
}
