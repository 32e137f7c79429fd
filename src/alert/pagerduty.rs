//! The `pagerduty` channel: Events API v2 (`POST {base_url}/v2/enqueue`).
//!
//! Every event of one incident carries the incident's dedup key, so PagerDuty
//! folds a reminder into the open alert and a recovery resolves it.

use serde_json::{Value, json};

use super::http_post::{self, Post, clip};
use super::{Delivery, DeliveryError, Notification, Receipt, message};
use crate::config::ChannelConfig;
use crate::model::EventKind;
use crate::model::State;

const DEFAULT_BASE_URL: &str = "https://events.pagerduty.com";
/// The Events API's limit on `payload.summary`.
const MAX_SUMMARY: usize = 1024;

/// Deliver `n` through a `pagerduty` channel.
pub async fn send(
    delivery: &Delivery,
    channel: &ChannelConfig,
    n: &Notification,
) -> Result<Receipt, DeliveryError> {
    let routing_key = channel
        .routing_key
        .as_ref()
        .map(|k| k.value())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| DeliveryError::permanent("a pagerduty channel needs a `routing_key`"))?;
    let base = http_post::base_url(channel.base_url.as_ref(), DEFAULT_BASE_URL)?;
    let url = http_post::join(&base, &["v2", "enqueue"])?;
    let mut post = Post::json(
        "PagerDuty",
        url,
        &payload(n, routing_key),
        channel.ca_pem.as_deref(),
    );
    post.secrets.push(routing_key);
    post.send(delivery).await
}

/// The event: `trigger` for down, degraded, reminder and test (a test has a
/// key of its own, so it never touches a real incident), `resolve` for recovered.
pub fn payload(n: &Notification, routing_key: &str) -> Value {
    let dedup_key = dedup_key(n);
    // A burn alert's end resolves the objective's incident only when none of
    // its other alerts still fires; otherwise it updates it.
    let burn_ends =
        n.event == EventKind::BurnOk && n.burn.as_ref().is_none_or(|b| b.still_firing.is_empty());
    if n.event == EventKind::Recovered || burn_ends {
        return json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": dedup_key,
        });
    }
    let source = if n.probe_id.is_empty() {
        "outpost"
    } else {
        n.probe_id.as_str()
    };
    let mut event_payload = json!({
        "summary": clip(&message::title(n), MAX_SUMMARY),
        "source": source,
        "severity": severity(n),
        "timestamp": http_post::timestamp(n.at),
        "custom_details": {
            "probe": n.probe_name,
            "state": n.state.as_str(),
            "previous_state": n.previous_state.as_str(),
            "since": http_post::timestamp(n.since),
            "duration": message::human_duration(n.duration()),
            "cause": n.cause.map(|c| c.as_str()),
            "message": n.message,
            "incident_id": n.incident_id,
            "page": n.page_title,
        },
    });
    if let Some(burn) = &n.burn {
        event_payload["custom_details"]["burn"] = json!(burn);
    }
    if let Some(group) = &n.group {
        event_payload["group"] = json!(group);
    }
    if let Some(cause) = n.cause {
        event_payload["class"] = json!(cause.as_str());
    }
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": event_payload,
        "client": "Outpost",
    });
    if let Some(link) = &n.link {
        event["links"] = json!([{"href": link, "text": "Status page"}]);
        event["client_url"] = json!(link);
    }
    event
}

/// The incident's key; a test gets its own, unique to its time.
fn dedup_key(n: &Notification) -> String {
    match n.event {
        EventKind::Test => format!("outpost/test/{}", n.at.format("%Y%m%dT%H%M%SZ")),
        _ => n.dedup_key(),
    }
}

/// `critical` for down, `warning` for degraded, `info` for a test.
fn severity(n: &Notification) -> &'static str {
    match (n.event, n.state) {
        (EventKind::Test | EventKind::BurnOk, _) => "info",
        (EventKind::BurnSlow, _) => "error",
        (EventKind::BurnTicket, _) => "warning",
        (EventKind::Degraded, _) | (EventKind::Reminder, State::Degraded) => "warning",
        _ => "critical",
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::model::Cause;

    fn event(kind: EventKind, state: State) -> Notification {
        let since = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap();
        Notification {
            event: kind,
            probe_id: "api".into(),
            probe_name: "Public API".into(),
            group: None,
            state,
            previous_state: State::Operational,
            since,
            at: since + chrono::Duration::minutes(25),
            cause: Some(Cause::Status),
            message: Some("HTTP 503".into()),
            incident_id: 42,
            link: Some("https://status.example.test/probes/api".into()),
            page_title: "Acme status".into(),
            burn: None,
        }
    }

    #[test]
    fn trigger_shape() {
        let p = payload(&event(EventKind::Down, State::Down), "R0UTING");
        assert_eq!(p["routing_key"], "R0UTING");
        assert_eq!(p["event_action"], "trigger");
        assert_eq!(p["dedup_key"], "outpost/api/42");
        assert_eq!(p["payload"]["summary"], "[DOWN] Public API is down");
        assert_eq!(p["payload"]["source"], "api");
        assert_eq!(p["payload"]["severity"], "critical");
        assert_eq!(p["payload"]["timestamp"], "2026-03-01T10:25:00Z");
        assert_eq!(p["payload"]["custom_details"]["cause"], "status");
        assert_eq!(
            p["links"],
            json!([{"href": "https://status.example.test/probes/api", "text": "Status page"}])
        );
    }

    #[test]
    fn resolve_is_minimal() {
        let p = payload(&event(EventKind::Recovered, State::Operational), "R0UTING");
        assert_eq!(
            p,
            json!({"routing_key": "R0UTING", "event_action": "resolve", "dedup_key": "outpost/api/42"})
        );
    }

    #[test]
    fn severities_and_test_key() {
        let degraded = payload(&event(EventKind::Degraded, State::Degraded), "k");
        assert_eq!(degraded["payload"]["severity"], "warning");
        let reminder = payload(&event(EventKind::Reminder, State::Down), "k");
        assert_eq!(reminder["event_action"], "trigger");
        assert_eq!(reminder["dedup_key"], "outpost/api/42");
        let test = payload(&event(EventKind::Test, State::Operational), "k");
        assert_eq!(test["event_action"], "trigger");
        assert_eq!(test["payload"]["severity"], "info");
        assert_eq!(test["dedup_key"], "outpost/test/20260301T102500Z");
    }

    #[test]
    fn summary_is_bounded() {
        let mut n = event(EventKind::Down, State::Down);
        n.probe_name = "x".repeat(3000);
        let p = payload(&n, "k");
        assert_eq!(
            p["payload"]["summary"].as_str().unwrap().chars().count(),
            MAX_SUMMARY
        );
    }
}
