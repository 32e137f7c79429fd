//! The `teams` channel: an Adaptive Card posted to a Teams Workflows (Power
//! Automate) webhook (`url`), the kind that replaced Office 365 connectors.

use serde_json::{Value, json};

use super::http_post::{self, Post, facts};
use super::{Delivery, DeliveryError, Notification, Receipt, message};
use crate::config::ChannelConfig;
use crate::model::EventKind;
use crate::model::State;

/// Deliver `n` through a `teams` channel.
pub async fn send(
    delivery: &Delivery,
    channel: &ChannelConfig,
    n: &Notification,
) -> Result<Receipt, DeliveryError> {
    let url = http_post::channel_url(channel, "teams")?;
    Post::json("Teams", url, &payload(n), channel.ca_pem.as_deref())
        .send(delivery)
        .await
}

/// A message with one Adaptive Card (1.4): the title, the facts (the body for a
/// test) and a button to the probe's page when there is one.
pub fn payload(n: &Notification) -> Value {
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": message::title(n),
        "weight": "Bolder",
        "size": "Medium",
        "color": colour(n),
        "wrap": true,
    })];
    let facts = facts(n);
    if facts.is_empty() {
        body.push(json!({"type": "TextBlock", "text": message::body(n), "wrap": true}));
    } else {
        let facts: Vec<Value> = facts
            .into_iter()
            .map(|(title, value)| json!({"title": title, "value": value}))
            .collect();
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    });
    if let Some(link) = &n.link {
        card["actions"] = json!([{"type": "Action.OpenUrl", "title": "Status page", "url": link}]);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

/// The title's Adaptive Card colour.
fn colour(n: &Notification) -> &'static str {
    match (n.event, n.state) {
        (EventKind::Recovered | EventKind::BurnOk, _) => "Good",
        (EventKind::BurnSlow | EventKind::BurnTicket, _) => "Warning",
        (EventKind::Test, _) => "Default",
        (_, State::Degraded) => "Warning",
        _ => "Attention",
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::model::Cause;

    fn event(kind: EventKind) -> Notification {
        let since = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap();
        Notification {
            event: kind,
            probe_id: "api".into(),
            probe_name: "Public API".into(),
            group: Some("Backend".into()),
            state: State::Operational,
            previous_state: State::Down,
            since,
            at: since + chrono::Duration::minutes(25),
            cause: Some(Cause::Connect),
            message: Some("connection refused".into()),
            incident_id: 42,
            link: Some("https://status.example.test/probes/api".into()),
            page_title: "Acme status".into(),
            burn: None,
        }
    }

    #[test]
    fn adaptive_card_shape() {
        let p = payload(&event(EventKind::Recovered));
        assert_eq!(p["type"], "message");
        let a = &p["attachments"][0];
        assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
        let card = &a["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
        assert_eq!(card["body"][0]["type"], "TextBlock");
        assert_eq!(
            card["body"][0]["text"],
            "[RECOVERED] Public API is operational again"
        );
        assert_eq!(card["body"][0]["color"], "Good");
        assert_eq!(card["body"][1]["type"], "FactSet");
        assert_eq!(card["body"][1]["facts"][0]["title"], "State");
        assert_eq!(
            card["body"][1]["facts"][0]["value"],
            "operational (was down)"
        );
        assert_eq!(card["body"][1]["facts"][3]["value"], "Backend");
        assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
        assert_eq!(
            card["actions"][0]["url"],
            "https://status.example.test/probes/api"
        );
    }

    #[test]
    fn test_card_without_link_has_no_actions() {
        let mut n = event(EventKind::Test);
        n.link = None;
        let card = &payload(&n)["attachments"][0]["content"];
        assert!(card.get("actions").is_none());
        assert_eq!(card["body"][1]["type"], "TextBlock");
    }
}
