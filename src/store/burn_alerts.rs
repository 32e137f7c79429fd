//! Burn alert episodes: one row from an alert's start to its `burn-ok`.
//! An episode's id, negated, is the outbox's `incident_id` for its
//! notifications, so they keep their order per channel and never meet an
//! incident's.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::writer::{Writer, from_ms, ms};
use super::{Store, StoreError};
use crate::model::burn::{BurnAlert, Objective};

/// One firing of one burn alert, from its start to its `burn-ok`.
#[derive(Debug, Clone, PartialEq)]
pub struct BurnEpisode {
    pub id: i64,
    pub probe: String,
    pub objective: Objective,
    pub alert: BurnAlert,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

type RawEpisode = (i64, String, String, String, i64, Option<i64>);

fn episode_from(path: &Path, raw: RawEpisode) -> Result<BurnEpisode, StoreError> {
    let (id, probe, objective, alert, started, ended) = raw;
    let bad = |c: &'static str, v: String| StoreError::bad_value(path, c, v);
    Ok(BurnEpisode {
        id,
        probe,
        objective: Objective::parse(&objective)
            .ok_or_else(|| bad("burn_alerts.objective", objective.clone()))?,
        alert: BurnAlert::parse(&alert).ok_or_else(|| bad("burn_alerts.alert", alert.clone()))?,
        started_at: from_ms(started)
            .ok_or_else(|| bad("burn_alerts.started_at", started.to_string()))?,
        ended_at: match ended {
            Some(e) => Some(from_ms(e).ok_or_else(|| bad("burn_alerts.ended_at", e.to_string()))?),
            None => None,
        },
    })
}

fn open_episodes(
    conn: &Connection,
    path: &Path,
    probe: &str,
) -> Result<Vec<BurnEpisode>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            // Sorted here: ORDER BY with a bound parameter makes SQLite
            // plan the statement again at every run.
            "SELECT id, probe, objective, alert, started_at, ended_at FROM burn_alerts
             WHERE probe = ?1 AND ended_at IS NULL",
        )
        .map_err(StoreError::sqlite(path, "reading burn alerts"))?;
    let mut rows: Vec<RawEpisode> = stmt
        .query_map(params![probe], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .and_then(|rows| rows.collect())
        .map_err(StoreError::sqlite(path, "reading burn alerts"))?;
    rows.sort_by_key(|r| r.0);
    rows.into_iter().map(|r| episode_from(path, r)).collect()
}

impl Writer<'_> {
    /// The burn alerts of `probe` that are firing.
    pub fn open_burn_alerts(&self, probe: &str) -> Result<Vec<BurnEpisode>, StoreError> {
        open_episodes(self.tx, self.path, probe)
    }

    /// Record that a burn alert started firing; returns its id.
    pub fn start_burn_alert(
        &self,
        probe: &str,
        objective: Objective,
        alert: BurnAlert,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO burn_alerts (probe, objective, alert, started_at) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![probe, objective.as_str(), alert.as_str(), ms(at)]))
            .map_err(self.err("starting a burn alert"))?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Record that a burn alert ended.
    pub fn end_burn_alert(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE burn_alerts SET ended_at = ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![id, ms(at)]))
            .map_err(self.err("ending a burn alert"))?;
        Ok(())
    }
}

impl Store {
    /// The burn alerts of `probe` that are firing.
    pub fn open_burn_alerts(&self, probe: &str) -> Result<Vec<BurnEpisode>, StoreError> {
        open_episodes(&self.conn, &self.path, probe)
    }
}
