//! The outbox: notifications written in the same transaction as the state
//! change that caused them, delivered afterwards, never sent twice, and, per
//! channel and incident, never out of order.
//!
//! A row is `pending` until it is `delivered`, `failed` (given up) or
//! `superseded`: made stale by a newer row of its incident before it went out
//! (a `down` still queued when the `recovered` is). A run claims a row before
//! sending it; a claim left by a run that died may have been delivered, and is
//! only sent again when nothing newer of its incident has been queued as a
//! recovery or may have gone out ([`Store::supersede_stale`]).

use chrono::{DateTime, Duration, Utc};
use rusqlite::{OptionalExtension, params};

use super::writer::{Writer, from_ms, ms};
use super::{Store, StoreError};
use crate::model::{EventKind, Notification};

/// A queued notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub id: i64,
    pub channel: String,
    pub notification: Notification,
    pub attempts: u32,
    /// The receiver asked not to be sent to before then (`Retry-After`).
    pub not_before: Option<DateTime<Utc>>,
}

/// A notification made stale by a newer one of its incident, never sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superseded {
    pub id: i64,
    pub channel: String,
    pub probe: String,
    pub incident_id: i64,
    pub event: String,
    /// The newer row that made it stale.
    pub by: i64,
}

impl Writer<'_> {
    /// Queue `n` for `channel`.
    pub fn queue(
        &self,
        channel: &str,
        n: &Notification,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let payload = serde_json::to_string(n).map_err(|e| self.bad("outbox.payload", e))?;
        self.tx
            .prepare_cached("INSERT INTO outbox (channel, probe, incident_id, event, payload, created_at, status, attempts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0)")
            .and_then(|mut stmt| stmt.execute(params![channel, n.probe_id, n.incident_id, n.event.as_str(), payload, ms(now)]))
            .map_err(self.err("queueing a notification"))?;
        Ok(self.tx.last_insert_rowid())
    }

    /// When `channel` was last given a notification about `incident`, if ever.
    pub fn last_queued(
        &self,
        channel: &str,
        incident: i64,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let v: Option<i64> = self
            .tx
            .prepare_cached("SELECT MAX(created_at) FROM outbox WHERE channel = ?1 AND incident_id = ?2 AND event != 'test'")
            .and_then(|mut stmt| stmt.query_row(params![channel, incident],
                |r| r.get(0)))
            .optional()
            .map_err(self.err("reading the outbox"))?
            .flatten();
        Ok(v.and_then(from_ms))
    }
}

/// How long a run holds a claimed notification before another run may try it.
const CLAIM: Duration = Duration::seconds(120);

impl Store {
    /// Mark superseded every pending notification that a newer one of its
    /// incident on its channel made stale: a recovery is queued (or sent), or
    /// a newer notification may have gone out (delivered, claimed or tried).
    /// A row another run holds under a live claim is left alone: that run may
    /// be sending it, and what follows it waits. One statement, so two runs
    /// never both decide.
    pub fn supersede_stale(&self, now: DateTime<Utc>) -> Result<Vec<Superseded>, StoreError> {
        const NEWER: &str = "FROM outbox AS n
             WHERE n.channel = outbox.channel AND n.incident_id = outbox.incident_id
               AND n.id > outbox.id AND n.event != 'test'
               AND (n.event = 'recovered' OR n.status = 'delivered'
                    OR n.attempts > 0 OR n.claimed_until IS NOT NULL)";
        let sql = format!(
            "UPDATE outbox SET status = 'superseded', claimed_until = NULL,
                    superseded_by = (SELECT MAX(n.id) {NEWER})
             WHERE status = 'pending' AND event != 'test'
               AND (claimed_until IS NULL OR claimed_until < ?1)
               AND EXISTS (SELECT 1 {NEWER})
             RETURNING id, channel, probe, incident_id, event, superseded_by"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(StoreError::sqlite(
            &self.path,
            "superseding stale notifications",
        ))?;
        let mut out: Vec<Superseded> = stmt
            .query_map(params![ms(now)], |r| {
                Ok(Superseded {
                    id: r.get(0)?,
                    channel: r.get(1)?,
                    probe: r.get(2)?,
                    incident_id: r.get(3)?,
                    event: r.get(4)?,
                    by: r.get(5)?,
                })
            })
            .and_then(|rows| rows.collect())
            .map_err(StoreError::sqlite(
                &self.path,
                "superseding stale notifications",
            ))?;
        out.sort_by_key(|s| s.id);
        Ok(out)
    }

    /// Notifications not yet delivered, given up nor superseded, oldest first.
    pub fn pending(&self) -> Result<Vec<Queued>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, channel, payload, attempts, not_before FROM outbox
                 WHERE status = 'pending' ORDER BY id",
            )
            .map_err(StoreError::sqlite(&self.path, "reading the outbox"))?;
        type Row = (i64, String, String, u32, Option<i64>);
        let rows: Vec<Row> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .and_then(|rows| rows.collect())
            .map_err(StoreError::sqlite(&self.path, "reading the outbox"))?;
        let mut out = Vec::new();
        for (id, channel, payload, attempts, not_before) in rows {
            let notification: Notification =
                serde_json::from_str(&payload).map_err(|_| StoreError::BadValue {
                    path: self.path.clone(),
                    column: "outbox.payload",
                    value: format!("row {id}"),
                })?;
            out.push(Queued {
                id,
                channel,
                notification,
                attempts,
                not_before: not_before.and_then(from_ms),
            });
        }
        Ok(out)
    }

    /// Claim a pending notification for delivery; false when another run holds
    /// it or it was delivered meanwhile, so two overlapping runs never both send.
    pub fn claim(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let n = self
            .conn
            .prepare_cached("UPDATE outbox SET claimed_until = ?2
                 WHERE id = ?1 AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < ?3)")
            .and_then(|mut stmt| stmt.execute(params![id, ms(now + CLAIM), ms(now)]))
            .map_err(StoreError::sqlite(&self.path, "claiming a notification"))?;
        Ok(n == 1)
    }

    /// Mark a notification delivered with the channel's answer.
    pub fn delivered(&self, id: i64, receipt: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE outbox SET status = 'delivered', delivered_at = ?2, receipt = ?3,
                   attempts = attempts + 1, claimed_until = NULL WHERE id = ?1",
            )
            .and_then(|mut stmt| stmt.execute(params![id, ms(now), receipt]))
            .map_err(StoreError::sqlite(
                &self.path,
                "marking a notification delivered",
            ))?;
        Ok(())
    }

    /// Record a failed attempt; `give_up` marks it failed for good, and
    /// `not_before` keeps it from being sent before then (`Retry-After`).
    pub fn attempt_failed(
        &self,
        id: i64,
        error: &str,
        give_up: bool,
        not_before: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, claimed_until = NULL,
                   status = CASE WHEN ?3 THEN 'failed' ELSE status END, not_before = ?4
                 WHERE id = ?1",
            )
            .and_then(|mut stmt| stmt.execute(params![id, error, give_up, not_before.map(ms)]))
            .map_err(StoreError::sqlite(
                &self.path,
                "recording a failed delivery",
            ))?;
        Ok(())
    }

    /// Count notifications by status (tests and the run summary).
    pub fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let mut c = OutboxCounts::default();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT status, COUNT(*) FROM outbox GROUP BY status")
            .map_err(StoreError::sqlite(&self.path, "counting the outbox"))?;
        let rows: Vec<(String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(StoreError::sqlite(&self.path, "counting the outbox"))?;
        for (status, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match status.as_str() {
                "pending" => c.pending = n,
                "delivered" => c.delivered = n,
                "superseded" => c.superseded = n,
                _ => c.failed = n,
            }
        }
        Ok(c)
    }
}

/// Notifications by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: u64,
    pub delivered: u64,
    pub failed: u64,
    pub superseded: u64,
}

/// Whether an event is about a failure (reminders and recoveries follow one).
pub fn opens(event: EventKind) -> bool {
    event.opens()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::State;

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default() + Duration::minutes(minutes)
    }

    fn notification(event: EventKind, incident_id: i64) -> Notification {
        Notification {
            event,
            probe_id: "api".to_string(),
            probe_name: "API".to_string(),
            group: None,
            state: State::Down,
            previous_state: State::Operational,
            since: t(0),
            at: t(0),
            cause: None,
            message: None,
            incident_id,
            link: None,
            page_title: "Status".to_string(),
            burn: None,
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("o.db")).expect("open");
        (dir, store)
    }

    fn queue(store: &mut Store, event: EventKind, incident: i64) -> i64 {
        store
            .write(|w| w.queue("hook", &notification(event, incident), t(0)))
            .expect("queue")
    }

    #[test]
    fn an_expired_claim_is_superseded_once_something_newer_went_out() {
        let (_dir, mut store) = store();
        let down = queue(&mut store, EventKind::Down, 1);
        assert!(
            store.claim(down, t(0)).expect("claim"),
            "a run claims it, then dies"
        );
        let reminder = queue(&mut store, EventKind::Reminder, 1);
        // Out of order, as an older binary could: the reminder went out.
        store
            .delivered(reminder, "HTTP 200", t(1))
            .expect("delivered");
        assert!(
            store.supersede_stale(t(1)).expect("live").is_empty(),
            "the claim still holds"
        );
        let stale = store.supersede_stale(t(5)).expect("expired");
        assert_eq!(stale.len(), 1);
        assert_eq!((stale[0].id, stale[0].by), (down, reminder));
        assert!(store.pending().expect("pending").is_empty());
        assert!(
            !store.claim(down, t(10)).expect("claim"),
            "never sent again"
        );
    }

    #[test]
    fn queued_events_of_an_open_incident_all_stay_in_order() {
        let (_dir, mut store) = store();
        let down = queue(&mut store, EventKind::Down, 1);
        let reminder = queue(&mut store, EventKind::Reminder, 1);
        let other = queue(&mut store, EventKind::Recovered, 2);
        assert!(store.supersede_stale(t(5)).expect("none").is_empty());
        let ids: Vec<i64> = store
            .pending()
            .expect("pending")
            .iter()
            .map(|q| q.id)
            .collect();
        assert_eq!(ids, vec![down, reminder, other]);
        let counts = store.outbox_counts().expect("counts");
        assert_eq!((counts.pending, counts.superseded), (3, 0));
    }
}
