//! The `slack` channel: a Block Kit message to an incoming webhook (`url`).
//!
//! Probe text is escaped for mrkdwn (`&`, `<`, `>`), so a probe name such as
//! `<!channel>` shows as text instead of notifying everyone.

use serde_json::{Value, json};

use super::http_post::{self, Post, clip, facts};
use super::{Delivery, DeliveryError, Notification, Receipt, message};
use crate::config::ChannelConfig;

/// Block Kit limits: a header's text, a section field's text.
const MAX_HEADER: usize = 150;
const MAX_FIELD: usize = 2000;
const MAX_TEXT: usize = 3000;

/// Deliver `n` through a `slack` channel.
pub async fn send(
    delivery: &Delivery,
    channel: &ChannelConfig,
    n: &Notification,
) -> Result<Receipt, DeliveryError> {
    let url = http_post::channel_url(channel, "slack")?;
    Post::json("Slack", url, &payload(n), channel.ca_pem.as_deref())
        .send(delivery)
        .await
}

/// The message: a `text` fallback (notifications, old clients) and the blocks:
/// a header with the title, a section with the facts (or the body of a test),
/// and a button to the probe's page when there is one.
pub fn payload(n: &Notification) -> Value {
    let title = message::title(n);
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": clip(&title, MAX_HEADER), "emoji": false},
    })];
    let facts = facts(n);
    if facts.is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": escape_clipped(&message::body(n), MAX_TEXT)},
        }));
    } else {
        let fields: Vec<Value> = facts
            .iter()
            .map(|(label, value)| {
                json!({
                    "type": "mrkdwn",
                    "text": format!("*{label}*\n{}", escape_clipped(value, MAX_FIELD - 20)),
                })
            })
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    if let Some(link) = &n.link {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": {"type": "plain_text", "text": "Status page"},
                "url": link,
            }],
        }));
    }
    json!({
        "text": escape_clipped(&title, MAX_TEXT),
        "blocks": blocks,
    })
}

/// Escape the three characters Slack's mrkdwn gives meaning to, then cut to
/// `max` characters without splitting an entity.
fn escape_clipped(s: &str, max: usize) -> String {
    let escaped = s
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let clipped = clip(&escaped, max);
    if clipped == escaped {
        return clipped;
    }
    let kept = clipped.trim_end_matches('…');
    match kept.rfind('&') {
        Some(i) if !kept[i..].contains(';') => format!("{}…", &kept[..i]),
        _ => clipped,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::alert::EventKind;
    use crate::model::{Cause, State};

    fn event(kind: EventKind) -> Notification {
        let since = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap();
        Notification {
            event: kind,
            probe_id: "api".into(),
            probe_name: "Public <!channel> API".into(),
            group: None,
            state: State::Down,
            previous_state: State::Operational,
            since,
            at: since + chrono::Duration::minutes(25),
            cause: Some(Cause::Status),
            message: Some("HTTP 503 & <b>".into()),
            incident_id: 42,
            link: Some("https://status.example.test/probes/api".into()),
            page_title: "Acme status".into(),
            burn: None,
        }
    }

    #[test]
    fn blocks_shape() {
        let p = payload(&event(EventKind::Down));
        assert_eq!(p["text"], "[DOWN] Public &lt;!channel&gt; API is down");
        let blocks = p["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(blocks[0]["text"]["type"], "plain_text");
        assert_eq!(
            blocks[0]["text"]["text"],
            "[DOWN] Public <!channel> API is down"
        );
        assert_eq!(blocks[1]["type"], "section");
        let fields = blocks[1]["fields"].as_array().unwrap();
        assert_eq!(fields[0]["text"], "*State*\ndown (was operational)");
        assert_eq!(
            fields[1]["text"],
            "*Since*\n2026-03-01 10:00 UTC (for 25m 0s)"
        );
        assert_eq!(
            fields[2]["text"],
            "*Cause*\nstatus: HTTP 503 &amp; &lt;b&gt;"
        );
        assert_eq!(blocks[2]["type"], "actions");
        assert_eq!(
            blocks[2]["elements"][0]["url"],
            "https://status.example.test/probes/api"
        );
    }

    #[test]
    fn test_event_has_body_and_no_button_without_link() {
        let mut n = event(EventKind::Test);
        n.link = None;
        let p = payload(&n);
        let blocks = p["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), 2);
        assert!(
            blocks[1]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("test notification")
        );
    }

    #[test]
    fn long_names_fit_the_header() {
        let mut n = event(EventKind::Down);
        n.probe_name = "x".repeat(400);
        let p = payload(&n);
        let header = p["blocks"][0]["text"]["text"].as_str().unwrap();
        assert_eq!(header.chars().count(), MAX_HEADER);
    }

    #[test]
    fn clipping_never_splits_an_entity() {
        assert_eq!(escape_clipped("ab<c", 5), "ab…");
        assert_eq!(escape_clipped("ab<cdef", 7), "ab&lt;…");
        assert_eq!(escape_clipped("a<b", 10), "a&lt;b");
    }
}
