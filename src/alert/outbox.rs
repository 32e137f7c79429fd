//! Delivering the outbox: every pending notification, oldest first, with a few
//! retries and backoff inside the run. What still fails stays queued for the
//! next run; a run never hangs on a dead channel, and nothing delivered is sent
//! again.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::{Delivery, deliver, http_post};
use crate::clock::Clock;
use crate::config::Config;
use crate::redact::Secrets;
use crate::store::outbox::Queued;
use crate::store::{Store, StoreError};

/// Tries of one notification within a run.
const TRIES: u32 = 3;
/// Wait before the second try; doubled before each later one.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// A notification that has failed this many times in all is given up.
const MAX_ATTEMPTS: u32 = 100;
/// The bound on one delivery attempt.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// What delivery did in this run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeliveryReport {
    pub delivered: usize,
    /// Still queued after this run (retried next run).
    pub pending: usize,
    /// Given up for good (a permanent error, or too many attempts).
    pub failed: usize,
    pub errors: Vec<String>,
}

/// Deliver every pending notification.
pub async fn deliver_pending(
    store: &Store,
    cfg: &Config,
    clock: &Clock,
) -> Result<DeliveryReport, StoreError> {
    let pending = store.pending()?;
    let mut report = DeliveryReport::default();
    if pending.is_empty() {
        return Ok(report);
    }
    // One client for the run: connections are reused across channels. A
    // channel with its own `ca_file` gets a client with those roots from the
    // channel kind itself (http_post::Post, github.rs).
    let delivery = match http_post::client(None) {
        Ok(http) => Delivery {
            http,
            timeout: ATTEMPT_TIMEOUT,
        },
        Err(e) => {
            report.errors.push(e.message);
            report.pending = pending.len();
            return Ok(report);
        }
    };
    let mut by_channel: BTreeMap<String, Vec<Queued>> = BTreeMap::new();
    for q in pending {
        by_channel.entry(q.channel.clone()).or_default().push(q);
    }
    for (name, queue) in by_channel {
        let Some(channel) = cfg.channels.iter().find(|c| c.name == name) else {
            for q in &queue {
                store.attempt_failed(q.id, "channel is no longer configured", true)?;
                report.failed += 1;
            }
            continue;
        };
        let mut channel_down = false;
        for q in queue {
            if channel_down || !store.claim(q.id, clock.now())? {
                report.pending += usize::from(channel_down);
                continue;
            }
            match deliver_one(&delivery, channel, &q, &cfg.secrets).await {
                Ok(receipt) => {
                    store.delivered(q.id, &receipt, clock.now())?;
                    report.delivered += 1;
                    tracing::info!(channel = %name, event = q.notification.event.as_str(), probe = %q.notification.probe_id, %receipt, "notification delivered");
                }
                Err((message, retryable)) => {
                    let give_up = !retryable || q.attempts + TRIES >= MAX_ATTEMPTS;
                    store.attempt_failed(q.id, &message, give_up)?;
                    tracing::warn!(channel = %name, error = %message, give_up, "notification not delivered");
                    report.errors.push(format!("{name}: {message}"));
                    if give_up {
                        report.failed += 1;
                    } else {
                        // The channel is unreachable: keep the rest of its queue,
                        // in order, for the next run instead of waiting on each.
                        report.pending += 1;
                        channel_down = true;
                    }
                }
            }
        }
    }
    Ok(report)
}

async fn deliver_one(
    delivery: &Delivery,
    channel: &crate::config::ChannelConfig,
    q: &Queued,
    secrets: &Secrets,
) -> Result<String, (String, bool)> {
    let mut backoff = FIRST_BACKOFF;
    let mut last = (String::new(), true);
    for attempt in 1..=TRIES {
        match deliver(delivery, channel, &q.notification).await {
            Ok(receipt) => return Ok(super::outgoing_text(secrets, &receipt.detail)),
            Err(e) => {
                last = (super::outgoing_text(secrets, &e.message), e.retryable);
                if !e.retryable || attempt == TRIES {
                    break;
                }
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
    }
    Err(last)
}
