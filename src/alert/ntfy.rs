//! The `ntfy` channel: JSON publishing (`POST {base_url}/` with the topic in the
//! body) to ntfy.sh or a self-hosted server, with `Authorization: Bearer` when
//! the channel has an access `token`.

use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};

use super::http_post::{self, Post, clip};
use super::{Delivery, DeliveryError, Notification, Receipt, message};
use crate::config::ChannelConfig;
use crate::model::EventKind;
use crate::model::State;

const DEFAULT_BASE_URL: &str = "https://ntfy.sh";
/// ntfy turns longer messages into attachments (4,096 bytes by default).
const MAX_MESSAGE: usize = 2000;
const MAX_TITLE: usize = 250;

/// Deliver `n` through a `ntfy` channel.
pub async fn send(
    delivery: &Delivery,
    channel: &ChannelConfig,
    n: &Notification,
) -> Result<Receipt, DeliveryError> {
    let topic = channel
        .topic
        .as_ref()
        .map(|t| t.value())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| DeliveryError::permanent("a ntfy channel needs a `topic`"))?;
    let url = http_post::base_url(channel.base_url.as_ref(), DEFAULT_BASE_URL)?;
    let mut post = Post::json("ntfy", url, &payload(n, topic), channel.ca_pem.as_deref());
    // Topics are the secret of an unauthenticated ntfy server: keep them out of errors.
    post.secrets.push(topic);
    if let Some(token) = channel.token.as_ref().map(|t| t.value()) {
        let value = crate::config::bearer(token)
            .map_err(|e| DeliveryError::permanent(format!("the ntfy token {e}")))?;
        post.headers.insert(AUTHORIZATION, value);
        post.secrets.push(token);
    }
    post.send(delivery).await
}

/// The JSON message: topic, title, body, priority, an emoji tag and the link.
pub fn payload(n: &Notification, topic: &str) -> Value {
    let mut p = json!({
        "topic": topic,
        "title": clip(&message::title(n), MAX_TITLE),
        "message": clip(&message::body(n), MAX_MESSAGE),
        "priority": priority(n),
        "tags": [tag(n)],
    });
    if let Some(link) = &n.link {
        p["click"] = json!(link);
    }
    p
}

/// 5 (max) for down, 4 (high) for degraded, 3 (default) for recovered and tests.
fn priority(n: &Notification) -> u8 {
    match (n.event, n.state) {
        (EventKind::Recovered | EventKind::Test | EventKind::BurnOk, _) => 3,
        (EventKind::BurnFast, _) => 5,
        (EventKind::BurnSlow, _) => 4,
        (EventKind::BurnTicket, _) => 3,
        (_, State::Down) => 5,
        (_, State::Degraded) => 4,
        _ => 3,
    }
}

/// A tag ntfy shows as an emoji before the title.
fn tag(n: &Notification) -> &'static str {
    match (n.event, n.state) {
        (EventKind::Recovered | EventKind::BurnOk, _) => "white_check_mark",
        (EventKind::BurnFast | EventKind::BurnSlow | EventKind::BurnTicket, _) => "fire",
        (EventKind::Test, _) => "test_tube",
        (_, State::Degraded) => "warning",
        _ => "rotating_light",
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
            cause: Some(Cause::Dns),
            message: None,
            incident_id: 42,
            link: Some("https://status.example.test/probes/api".into()),
            page_title: "Acme status".into(),
            burn: None,
        }
    }

    #[test]
    fn message_shape() {
        let p = payload(&event(EventKind::Down, State::Down), "alerts");
        assert_eq!(p["topic"], "alerts");
        assert_eq!(p["title"], "[DOWN] Public API is down");
        assert!(p["message"].as_str().unwrap().contains("Cause: dns"));
        assert_eq!(p["priority"], 5);
        assert_eq!(p["tags"], json!(["rotating_light"]));
        assert_eq!(p["click"], "https://status.example.test/probes/api");
    }

    #[test]
    fn priorities() {
        let p = |k, s| payload(&event(k, s), "t")["priority"].clone();
        assert_eq!(p(EventKind::Degraded, State::Degraded), 4);
        assert_eq!(p(EventKind::Recovered, State::Operational), 3);
        assert_eq!(p(EventKind::Reminder, State::Down), 5);
        assert_eq!(p(EventKind::Test, State::Operational), 3);
    }

    #[test]
    fn no_click_without_link() {
        let mut n = event(EventKind::Down, State::Down);
        n.link = None;
        assert!(payload(&n, "t").get("click").is_none());
    }
}
