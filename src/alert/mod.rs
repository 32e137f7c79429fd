//! Alerts: notifications and the channels that carry them (SPEC §8).
//!
//! The evaluation stage writes notifications into the store's outbox in the same
//! transaction as the state change; `outbox.rs` delivers them through the
//! channel kinds below, with retries, and marks what was delivered.

pub mod discord;
pub mod email;
pub mod github;
pub mod http_post;
pub mod message;
pub mod ntfy;
pub mod outbox;
pub mod pagerduty;
pub mod slack;
pub mod teams;
pub mod telegram;
pub mod webhook;

use std::time::Duration;

// The vocabulary lives in the model, below the store that queues it.
pub use crate::model::{EventKind, Notification};

use crate::config::{ChannelConfig, ChannelKind};
use crate::redact::{self, Secrets};

/// The longest text a delivery leaves behind (report, log, `outbox.last_error`):
/// a status line and a short excerpt of the receiver's answer.
pub const MAX_DELIVERY_TEXT: usize = 300;

/// What a channel answered, fit to leave the process: credentials blanked by
/// their shape and every secret's forms by value, then cut to
/// [`MAX_DELIVERY_TEXT`] characters.
pub fn outgoing_text(secrets: &Secrets, text: &str) -> String {
    http_post::clip(
        &secrets.redact(&redact::credentials(text)),
        MAX_DELIVERY_TEXT,
    )
}

/// What a channel answered to a delivery: the HTTP status or SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub detail: String,
}

/// A delivery that did not go through.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    /// Worth trying again (network error, 5xx, 429); a 4xx other than 429 is not.
    pub retryable: bool,
    /// Never holds a secret (no webhook URL, no token).
    pub message: String,
    /// How long the receiver asked us to wait (`Retry-After` on 429 and 503).
    pub retry_after: Option<Duration>,
    /// No answer came within the attempt's bound: the receiver is not
    /// answering now, and asking again in the same run would only wait again.
    pub timed_out: bool,
}

impl DeliveryError {
    pub fn retryable(message: impl Into<String>) -> Self {
        DeliveryError {
            retryable: true,
            message: message.into(),
            retry_after: None,
            timed_out: false,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        DeliveryError {
            retryable: false,
            ..DeliveryError::retryable(message)
        }
    }

    /// A retryable error for an attempt that got no answer in time.
    pub fn timed_out(message: impl Into<String>) -> Self {
        DeliveryError {
            timed_out: true,
            ..DeliveryError::retryable(message)
        }
    }

    /// The same error, with the wait the receiver asked for.
    pub fn after(self, retry_after: Option<Duration>) -> Self {
        DeliveryError {
            retry_after,
            ..self
        }
    }
}

/// Shared by every delivery of a run: one HTTP client (connection reuse).
#[derive(Clone)]
pub struct Delivery {
    pub http: reqwest::Client,
    /// The bound on one delivery attempt.
    pub timeout: Duration,
}

/// Deliver one notification through one channel.
pub async fn deliver(
    delivery: &Delivery,
    channel: &ChannelConfig,
    n: &Notification,
) -> Result<Receipt, DeliveryError> {
    match channel.kind {
        ChannelKind::Webhook => webhook::send(delivery, channel, n).await,
        ChannelKind::Slack => slack::send(delivery, channel, n).await,
        ChannelKind::Discord => discord::send(delivery, channel, n).await,
        ChannelKind::Teams => teams::send(delivery, channel, n).await,
        ChannelKind::GithubIssue => github::send(delivery, channel, n).await,
        ChannelKind::Email => email::send(delivery, channel, n).await,
        ChannelKind::Pagerduty => pagerduty::send(delivery, channel, n).await,
        ChannelKind::Ntfy => ntfy::send(delivery, channel, n).await,
        ChannelKind::Telegram => telegram::send(delivery, channel, n).await,
    }
}
