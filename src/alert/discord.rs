//! The `discord` channel: one embed posted to a Discord webhook (`url`).
//!
//! `allowed_mentions` is empty, so no text from a probe can ping `@everyone`, a
//! role or a user.

use serde_json::{Value, json};

use super::http_post::{self, Post, clip, facts};
use super::{Delivery, DeliveryError, Notification, Receipt, message};
use crate::config::ChannelConfig;
use crate::model::EventKind;
use crate::model::State;

/// Embed colours (0xRRGGBB).
const RED: u32 = 0xE7_4C_3C;
const ORANGE: u32 = 0xE6_7E_22;
const GREEN: u32 = 0x2E_CC_71;
const GREY: u32 = 0x95_A5_A6;

/// Discord's embed limits, in characters.
const MAX_TITLE: usize = 256;
const MAX_DESCRIPTION: usize = 4096;
const MAX_FIELD_VALUE: usize = 1024;

/// Deliver `n` through a `discord` channel.
pub async fn send(
    delivery: &Delivery,
    channel: &ChannelConfig,
    n: &Notification,
) -> Result<Receipt, DeliveryError> {
    let url = http_post::channel_url(channel, "discord")?;
    Post::json("Discord", url, &payload(n), channel.ca_pem.as_deref())
        .send(delivery)
        .await
}

/// The webhook message: one embed with the title, the facts as fields (the body
/// for a test), the event's colour and time, and the link as the title's URL.
pub fn payload(n: &Notification) -> Value {
    let fields: Vec<Value> = facts(n)
        .into_iter()
        .map(|(name, value)| {
            json!({
                "name": name,
                "value": clip(&value, MAX_FIELD_VALUE),
                "inline": name != "Cause",
            })
        })
        .collect();
    let mut embed = json!({
        "title": clip(&message::title(n), MAX_TITLE),
        "color": colour(n),
        "timestamp": http_post::timestamp(n.at),
        "fields": fields,
    });
    if n.event == EventKind::Test {
        embed["description"] = json!(clip(&message::body(n), MAX_DESCRIPTION));
    }
    if let Some(link) = &n.link {
        embed["url"] = json!(link);
    }
    json!({
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    })
}

/// Red for down, orange for degraded, green for recovered, grey for a test.
fn colour(n: &Notification) -> u32 {
    match n.event {
        EventKind::Down => RED,
        EventKind::Degraded => ORANGE,
        EventKind::Recovered | EventKind::BurnOk => GREEN,
        EventKind::BurnFast => RED,
        EventKind::BurnSlow | EventKind::BurnTicket => ORANGE,
        EventKind::Test => GREY,
        EventKind::Reminder => match n.state {
            State::Degraded => ORANGE,
            _ => RED,
        },
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
            probe_name: "@everyone API".into(),
            group: None,
            state: State::Down,
            previous_state: State::Operational,
            since,
            at: since + chrono::Duration::minutes(25),
            cause: Some(Cause::Timeout),
            message: None,
            incident_id: 42,
            link: Some("https://status.example.test/probes/api".into()),
            page_title: "Acme status".into(),
            burn: None,
        }
    }

    #[test]
    fn embed_shape() {
        let p = payload(&event(EventKind::Down));
        assert_eq!(p["allowed_mentions"], json!({"parse": []}));
        let e = &p["embeds"][0];
        assert_eq!(e["title"], "[DOWN] @everyone API is down");
        assert_eq!(e["color"], RED);
        assert_eq!(e["timestamp"], "2026-03-01T10:25:00Z");
        assert_eq!(e["url"], "https://status.example.test/probes/api");
        assert_eq!(e["fields"][0]["name"], "State");
        assert_eq!(e["fields"][2]["name"], "Cause");
        assert_eq!(e["fields"][2]["value"], "timeout");
        assert!(e.get("description").is_none());
    }

    #[test]
    fn colours_by_event() {
        assert_eq!(
            payload(&event(EventKind::Degraded))["embeds"][0]["color"],
            ORANGE
        );
        assert_eq!(
            payload(&event(EventKind::Recovered))["embeds"][0]["color"],
            GREEN
        );
        let mut test = event(EventKind::Test);
        test.link = None;
        let p = payload(&test);
        assert_eq!(p["embeds"][0]["color"], GREY);
        assert!(p["embeds"][0].get("url").is_none());
        assert!(p["embeds"][0]["description"].is_string());
    }
}
