//! Incidents: a period during which a probe was degraded or down.

use chrono::{DateTime, Utc};
use rusqlite::{Row, params};
use serde::Serialize;

use super::writer::{Writer, from_ms, ms};
use super::{Store, StoreError};
use crate::model::{Cause, State};

/// One incident as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub id: i64,
    pub probe: String,
    pub started_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub worst_state: State,
    pub cause: Option<Cause>,
    pub message: Option<String>,
    pub failed_results: u32,
}

const COLUMNS: &str =
    "id, probe, started_at, resolved_at, worst_state, first_cause, first_message, failed_results";

type RawIncident = (
    i64,
    String,
    i64,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
    u32,
);

fn raw(r: &Row<'_>) -> rusqlite::Result<RawIncident> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

fn incident_from(path: &std::path::Path, r: RawIncident) -> Result<Incident, StoreError> {
    let (id, probe, started, resolved, worst, cause, message, failed) = r;
    Ok(Incident {
        id,
        probe,
        started_at: from_ms(started)
            .ok_or_else(|| StoreError::bad_value(path, "incidents.started_at", started))?,
        resolved_at: match resolved {
            Some(v) => Some(
                from_ms(v)
                    .ok_or_else(|| StoreError::bad_value(path, "incidents.resolved_at", v))?,
            ),
            None => None,
        },
        worst_state: worst
            .parse()
            .map_err(|_| StoreError::bad_value(path, "incidents.worst_state", &worst))?,
        cause: match cause {
            Some(c) => Some(
                c.parse()
                    .map_err(|_| StoreError::bad_value(path, "incidents.first_cause", &c))?,
            ),
            None => None,
        },
        message,
        failed_results: failed,
    })
}

impl Store {
    /// Every incident, newest first.
    pub fn incidents(&self) -> Result<Vec<Incident>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM incidents ORDER BY started_at DESC, id DESC");
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(StoreError::sqlite(&self.path, "reading incidents"))?;
        let rows: Vec<RawIncident> = stmt
            .query_map([], raw)
            .and_then(|rows| rows.collect())
            .map_err(StoreError::sqlite(&self.path, "reading incidents"))?;
        rows.into_iter()
            .map(|r| incident_from(&self.path, r))
            .collect()
    }
}

impl Writer<'_> {
    /// Open an incident; returns its id.
    pub fn open_incident(
        &self,
        probe: &str,
        started_at: DateTime<Utc>,
        worst: State,
        cause: Option<Cause>,
        message: Option<&str>,
        failed_results: u32,
    ) -> Result<i64, StoreError> {
        self.tx
            .prepare_cached("INSERT INTO incidents (probe, started_at, worst_state, first_cause, first_message, failed_results)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .and_then(|mut stmt| stmt.execute(params![probe, ms(started_at), worst.as_str(), cause.map(Cause::as_str), message, failed_results]))
            .map_err(self.err("opening an incident"))?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Record that an open incident got worse and/or saw more failed results.
    pub fn update_incident(
        &self,
        id: i64,
        worst: State,
        more_failures: u32,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE incidents SET worst_state = ?2, failed_results = failed_results + ?3 WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute(params![id, worst.as_str(), more_failures]))
            .map_err(self.err("updating an incident"))?;
        Ok(())
    }

    /// Resolve an incident.
    pub fn resolve_incident(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "UPDATE incidents SET resolved_at = ?2 WHERE id = ?1 AND resolved_at IS NULL",
            )
            .and_then(|mut stmt| stmt.execute(params![id, ms(at)]))
            .map_err(self.err("resolving an incident"))?;
        Ok(())
    }

    /// One incident by id.
    pub fn incident(&self, id: i64) -> Result<Option<Incident>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM incidents WHERE id = ?1");
        let mut stmt = self
            .tx
            .prepare_cached(&sql)
            .map_err(self.err("reading an incident"))?;
        let mut rows = stmt
            .query_map(params![id], raw)
            .map_err(self.err("reading an incident"))?;
        match rows.next() {
            Some(r) => Ok(Some(incident_from(
                self.path,
                r.map_err(self.err("reading an incident"))?,
            )?)),
            None => Ok(None),
        }
    }
}
