//! Delivering the outbox: every pending notification, each channel's queue in
//! order, the channels at once under one time bound, with a few retries and
//! backoff inside the run. What still fails stays queued for the next run; a
//! run never hangs on a dead channel, and nothing delivered is sent again.
//!
//! Order per incident and channel is the store's rule (store/outbox.rs): a
//! notification made stale by a newer one of its incident is superseded before
//! anything is sent, and a notification held by another run's claim holds back
//! what follows it in its incident.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::{Delivery, deliver, http_post, outgoing_text};
use crate::clock::Clock;
use crate::config::{ChannelConfig, Config};
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
/// The bound on a run's whole delivery, every channel at once: hanging
/// receivers cost one attempt's timeout, not one each.
pub const DELIVERY_BUDGET: Duration = Duration::from_secs(20);
/// The longest `Retry-After` waited for inside a run; a longer one keeps the
/// notification queued with a not-before time.
const MAX_WAIT_IN_RUN: Duration = Duration::from_secs(5);
/// The furthest a receiver's `Retry-After` can put a notification off.
const MAX_NOT_BEFORE: Duration = Duration::from_secs(3600);

/// What delivery did in this run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeliveryReport {
    pub delivered: usize,
    /// Still queued after this run (retried next run).
    pub pending: usize,
    /// Given up for good (a permanent error, or too many attempts).
    pub failed: usize,
    /// Never sent: a newer notification of the same incident made them stale
    /// (a `down` still queued when the incident recovered); the newer one
    /// tells the whole story.
    pub superseded: usize,
    pub errors: Vec<String>,
}

impl DeliveryReport {
    fn add(&mut self, other: DeliveryReport) {
        self.delivered += other.delivered;
        self.pending += other.pending;
        self.failed += other.failed;
        self.superseded += other.superseded;
        self.errors.extend(other.errors);
    }
}

/// Deliver every pending notification.
pub async fn deliver_pending(
    store: &Store,
    cfg: &Config,
    clock: &Clock,
) -> Result<DeliveryReport, StoreError> {
    let mut report = DeliveryReport::default();
    for s in store.supersede_stale(clock.now())? {
        tracing::info!(
            channel = %s.channel, probe = %s.probe, incident = s.incident_id,
            event = %s.event, superseded_by = s.by,
            "notification superseded by a newer one of its incident: not sent"
        );
        report.superseded += 1;
    }
    let pending = store.pending()?;
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
            report.pending += pending.len();
            return Ok(report);
        }
    };
    let mut by_channel: BTreeMap<String, Vec<Queued>> = BTreeMap::new();
    for q in pending {
        by_channel.entry(q.channel.clone()).or_default().push(q);
    }
    let deadline = Instant::now() + DELIVERY_BUDGET;
    // Every channel at once, on this task: the store is only touched between
    // awaits, and the one deadline bounds them all.
    let channels = by_channel.into_iter().map(|(name, queue)| {
        let run = ChannelRun {
            store,
            cfg,
            clock,
            delivery: &delivery,
            deadline,
        };
        async move { run.deliver(&name, queue).await }
    });
    for outcome in futures::future::join_all(channels).await {
        report.add(outcome?);
    }
    Ok(report)
}

/// What one channel's delivery needs from the run.
struct ChannelRun<'a> {
    store: &'a Store,
    cfg: &'a Config,
    clock: &'a Clock,
    delivery: &'a Delivery,
    deadline: Instant,
}

impl ChannelRun<'_> {
    /// Deliver `queue` (one channel's pending rows, oldest first) in order.
    async fn deliver(&self, name: &str, queue: Vec<Queued>) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        let Some(channel) = self.cfg.channels.iter().find(|c| c.name == name) else {
            for q in &queue {
                self.store
                    .attempt_failed(q.id, "channel is no longer configured", true, None)?;
                report.failed += 1;
            }
            return Ok(report);
        };
        // The receiver asked for time: nothing of the channel goes before then.
        let now = self.clock.now();
        if let Some(until) = queue.iter().filter_map(|q| q.not_before).max()
            && until > now
        {
            tracing::info!(channel = %name, %until, queued = queue.len(), "the receiver asked to wait (Retry-After); the queue is kept");
            report.pending += queue.len();
            return Ok(report);
        }
        // Incidents whose next notification another run holds: the rest of
        // them waits, in order, for a later run.
        let mut held: HashSet<i64> = HashSet::new();
        let mut stopped = false;
        for q in queue {
            let incident = q.notification.incident_id;
            stopped = stopped || Instant::now() >= self.deadline;
            if stopped || held.contains(&incident) {
                report.pending += 1;
                continue;
            }
            if !self.store.claim(q.id, self.clock.now())? {
                held.insert(incident);
                report.pending += 1;
                continue;
            }
            match self.deliver_one(channel, &q).await {
                Ok(receipt) => {
                    self.store.delivered(q.id, &receipt, self.clock.now())?;
                    report.delivered += 1;
                    tracing::info!(channel = %name, event = q.notification.event.as_str(), probe = %q.notification.probe_id, %receipt, "notification delivered");
                }
                Err(failure) => {
                    let give_up = !failure.retryable || q.attempts + failure.tries >= MAX_ATTEMPTS;
                    let not_before = failure.retry_after.map(|wait| {
                        let wait = chrono::Duration::from_std(wait.min(MAX_NOT_BEFORE))
                            .unwrap_or_default();
                        self.clock.now() + wait
                    });
                    self.store
                        .attempt_failed(q.id, &failure.message, give_up, not_before)?;
                    tracing::warn!(channel = %name, error = %failure.message, give_up, "notification not delivered");
                    report.errors.push(format!("{name}: {}", failure.message));
                    if give_up {
                        report.failed += 1;
                    } else {
                        // The channel is unreachable or asked for time: keep
                        // the rest of its queue, in order, for the next run.
                        report.pending += 1;
                        stopped = true;
                    }
                }
            }
        }
        Ok(report)
    }

    /// Up to [`TRIES`] attempts with backoff (or the receiver's `Retry-After`
    /// when it is short), within the run's deadline. An attempt that got no
    /// answer in time is not repeated in this run.
    async fn deliver_one(&self, channel: &ChannelConfig, q: &Queued) -> Result<String, Failure> {
        let secrets: &Secrets = &self.cfg.secrets;
        let mut backoff = FIRST_BACKOFF;
        let mut tries = 0;
        loop {
            tries += 1;
            let attempt = deliver(self.delivery, channel, &q.notification);
            let e = match tokio::time::timeout_at(self.deadline, attempt).await {
                Ok(Ok(receipt)) => return Ok(outgoing_text(secrets, &receipt.detail)),
                Ok(Err(e)) => e,
                Err(_) => {
                    return Err(Failure {
                        message: format!(
                            "{}: no answer before the run's delivery time ran out; tried again next run",
                            channel.kind.as_str()
                        ),
                        retryable: true,
                        retry_after: None,
                        tries,
                    });
                }
            };
            let wait = e.retry_after.unwrap_or(backoff);
            let again = e.retryable
                && !e.timed_out
                && tries < TRIES
                && wait <= MAX_WAIT_IN_RUN
                && Instant::now() + wait < self.deadline;
            if !again {
                return Err(Failure {
                    message: outgoing_text(secrets, &e.message),
                    retryable: e.retryable,
                    retry_after: e.retry_after,
                    tries,
                });
            }
            tokio::time::sleep(wait).await;
            backoff *= 2;
        }
    }
}

/// A notification that did not go through in this run.
struct Failure {
    message: String,
    retryable: bool,
    /// The receiver's `Retry-After`, kept as the row's not-before time.
    retry_after: Option<Duration>,
    tries: u32,
}
