//! The outbox: notifications written in the same transaction as the state
//! change that caused them, delivered afterwards, never sent twice.

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
            .execute(
                "INSERT INTO outbox (channel, probe, incident_id, event, payload, created_at, status, attempts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0)",
                params![channel, n.probe_id, n.incident_id, n.event.as_str(), payload, ms(now)],
            )
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
            .query_row(
                "SELECT MAX(created_at) FROM outbox WHERE channel = ?1 AND incident_id = ?2 AND event != 'test'",
                params![channel, incident],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err("reading the outbox"))?
            .flatten();
        Ok(v.and_then(from_ms))
    }
}

/// How long a run holds a claimed notification before another run may try it.
const CLAIM: Duration = Duration::seconds(120);

impl Store {
    /// Notifications not yet delivered nor given up, oldest first.
    pub fn pending(&self) -> Result<Vec<Queued>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, channel, payload, attempts FROM outbox WHERE status = 'pending' ORDER BY id",
            )
            .map_err(StoreError::sqlite(&self.path, "reading the outbox"))?;
        let rows: Vec<(i64, String, String, u32)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .and_then(|rows| rows.collect())
            .map_err(StoreError::sqlite(&self.path, "reading the outbox"))?;
        let mut out = Vec::new();
        for (id, channel, payload, attempts) in rows {
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
            });
        }
        Ok(out)
    }

    /// Claim a pending notification for delivery; false when another run holds
    /// it or it was delivered meanwhile, so two overlapping runs never both send.
    pub fn claim(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE outbox SET claimed_until = ?2
                 WHERE id = ?1 AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < ?3)",
                params![id, ms(now + CLAIM), ms(now)],
            )
            .map_err(StoreError::sqlite(&self.path, "claiming a notification"))?;
        Ok(n == 1)
    }

    /// Mark a notification delivered with the channel's answer.
    pub fn delivered(&self, id: i64, receipt: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE outbox SET status = 'delivered', delivered_at = ?2, receipt = ?3,
                   attempts = attempts + 1, claimed_until = NULL WHERE id = ?1",
                params![id, ms(now), receipt],
            )
            .map_err(StoreError::sqlite(
                &self.path,
                "marking a notification delivered",
            ))?;
        Ok(())
    }

    /// Record a failed attempt; `give_up` marks it failed for good.
    pub fn attempt_failed(&self, id: i64, error: &str, give_up: bool) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, claimed_until = NULL,
                   status = CASE WHEN ?3 THEN 'failed' ELSE status END WHERE id = ?1",
                params![id, error, give_up],
            )
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
}

/// Whether an event is about a failure (reminders and recoveries follow one).
pub fn opens(event: EventKind) -> bool {
    event.opens()
}
