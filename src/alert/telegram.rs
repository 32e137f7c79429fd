//! The `telegram` channel: the Bot API's `sendMessage`
//! (`POST {base_url}/bot{token}/sendMessage`) to the channel's `chat_id`.
//!
//! The token sits in the URL path, so no error ever shows the URL. The text is
//! HTML with every piece of probe text escaped.

use serde_json::{Value, json};

use super::http_post::{self, Post, clip};
use super::{Delivery, DeliveryError, Notification, Receipt, message};
use crate::config::ChannelConfig;

const DEFAULT_BASE_URL: &str = "https://api.telegram.org";
/// Telegram's limit is 4,096 characters after entity parsing; these leave room.
const MAX_TITLE: usize = 256;
const MAX_BODY: usize = 3500;

/// Deliver `n` through a `telegram` channel.
pub async fn send(
    delivery: &Delivery,
    channel: &ChannelConfig,
    n: &Notification,
) -> Result<Receipt, DeliveryError> {
    let token = channel
        .token
        .as_ref()
        .map(|t| t.value())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| DeliveryError::permanent("a telegram channel needs a `token`"))?;
    let chat_id = channel
        .chat_id
        .as_ref()
        .map(|c| c.value())
        .filter(|c| !c.is_empty())
        .ok_or_else(|| DeliveryError::permanent("a telegram channel needs a `chat_id`"))?;
    let base = http_post::base_url(channel.base_url.as_ref(), DEFAULT_BASE_URL)?;
    let bot = format!("bot{token}");
    let url = http_post::join(&base, &[&bot, "sendMessage"])?;
    let mut post = Post::json(
        "Telegram",
        url,
        &payload(n, chat_id),
        channel.ca_pem.as_deref(),
    );
    post.secrets.push(token);
    post.send(delivery).await
}

/// The `sendMessage` request: the title in bold, then the body, HTML-escaped.
pub fn payload(n: &Notification, chat_id: &str) -> Value {
    let text = format!(
        "<b>{}</b>\n{}",
        escape(&clip(&message::title(n), MAX_TITLE)),
        escape(&clip(&message::body(n), MAX_BODY))
    );
    // A numeric id goes as a number, a `@channelname` as a string.
    let chat: Value = match chat_id.parse::<i64>() {
        Ok(id) => json!(id),
        Err(_) => json!(chat_id),
    };
    json!({
        "chat_id": chat,
        "text": text,
        "parse_mode": "HTML",
        "disable_web_page_preview": true,
    })
}

/// Escape text for Telegram's HTML parse mode.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::alert::EventKind;
    use crate::model::{Cause, State};

    fn event() -> Notification {
        let since = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap();
        Notification {
            event: EventKind::Down,
            probe_id: "api".into(),
            probe_name: "<script>alert(1)</script>".into(),
            group: None,
            state: State::Down,
            previous_state: State::Operational,
            since,
            at: since + chrono::Duration::minutes(25),
            cause: Some(Cause::Body),
            message: Some("body held \"<b>&</b>\"".into()),
            incident_id: 42,
            link: None,
            page_title: "Acme status".into(),
            burn: None,
        }
    }

    #[test]
    fn message_shape_and_escaping() {
        let p = payload(&event(), "-1001234");
        assert_eq!(p["chat_id"], -1001234);
        assert_eq!(p["parse_mode"], "HTML");
        assert_eq!(p["disable_web_page_preview"], true);
        let text = p["text"].as_str().unwrap();
        assert!(
            text.starts_with("<b>[DOWN] &lt;script&gt;alert(1)&lt;/script&gt; is down</b>\n"),
            "{text}"
        );
        assert!(
            text.contains("Cause: body: body held &quot;&lt;b&gt;&amp;&lt;/b&gt;&quot;"),
            "{text}"
        );
        assert!(!text.contains("<script>"));
    }

    #[test]
    fn channel_names_stay_strings() {
        assert_eq!(payload(&event(), "@ops_alerts")["chat_id"], "@ops_alerts");
    }
}
