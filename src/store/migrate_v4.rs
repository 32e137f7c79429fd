//! Schema v4, the compact store: raw results move from one row each into
//! blocks per probe, location and hour ([`super::block`]), rollups from text
//! histograms into binary ones with integer keys, and each location's state
//! remembers where its failure streak began (so opening an incident reads no
//! history). Every result and rollup of a v3 store is carried over.

use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::Transaction;

use super::StoreError;
use super::block::hour_of;
use super::results::duration_from_ms;
use super::writer::Writer;
use crate::model::{Cause, Outcome, Phases, ProbeId, ProbeResult, ResultId};
use crate::rollup::{Counts, DayRollup, Histogram, PhaseSums};

const SCHEMA: &str = "
CREATE TABLE names (
    id   INTEGER PRIMARY KEY,
    name TEXT    NOT NULL UNIQUE
) STRICT;

-- Raw results, one row per probe, location and UTC hour (unix ms / 3600000).
CREATE TABLE result_blocks (
    id       INTEGER PRIMARY KEY,
    probe    INTEGER NOT NULL,
    location INTEGER NOT NULL,
    hour     INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    data     BLOB    NOT NULL,
    UNIQUE (probe, location, hour)
) STRICT;

-- One row per probe, location and UTC day (days since the epoch); `detail`
-- (phase sums and the latency histogram) is dropped after 92 days.
CREATE TABLE day_rollups (
    probe            INTEGER NOT NULL,
    location         INTEGER NOT NULL,
    day              INTEGER NOT NULL,
    runs             INTEGER NOT NULL,
    up               INTEGER NOT NULL,
    degraded         INTEGER NOT NULL,
    down             INTEGER NOT NULL,
    maintenance      INTEGER NOT NULL,
    maintenance_down INTEGER NOT NULL,
    detail           BLOB,
    PRIMARY KEY (probe, location, day)
) STRICT, WITHOUT ROWID;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value ANY
) STRICT;

ALTER TABLE location_states ADD COLUMN streak_since INTEGER;
ALTER TABLE location_states ADD COLUMN streak_cause TEXT;
ALTER TABLE location_states ADD COLUMN streak_message TEXT;
ALTER TABLE location_states ADD COLUMN streak_count INTEGER NOT NULL DEFAULT 0;
";

/// Results converted per batch: a block's worth of rows at a time keeps
/// memory flat whatever the old store's size.
const BATCH: usize = 4096;

/// Create the v4 tables, carry every result and rollup over, drop the old tables.
pub fn compact(tx: &Transaction<'_>, path: &Path) -> Result<(), StoreError> {
    tx.execute_batch(SCHEMA)
        .map_err(StoreError::sqlite(path, "creating the compact tables"))?;
    let w = Writer::borrowed(tx, path);
    copy_results(tx, &w, path)?;
    copy_rollups(tx, &w, path)?;
    tx.execute_batch("DROP TABLE results; DROP TABLE rollups;")
        .map_err(StoreError::sqlite(path, "dropping the old tables"))?;
    Ok(())
}

type OldRow = (
    String,
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    f64,
    [Option<f64>; 5],
    Option<String>,
);

fn copy_results(tx: &Transaction<'_>, w: &Writer<'_>, path: &Path) -> Result<(), StoreError> {
    let mut stmt = tx
        .prepare(
            "SELECT probe, location, started_at, outcome, cause, message, status, latency_ms,
                    dns_ms, connect_ms, tls_ms, ttfb_ms, transfer_ms, cert_expires_at
             FROM results ORDER BY probe, location, started_at",
        )
        .map_err(StoreError::sqlite(path, "reading results to migrate"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                [r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?],
                r.get(13)?,
            ))
        })
        .map_err(StoreError::sqlite(path, "reading results to migrate"))?;
    let mut batch: Vec<ProbeResult> = Vec::with_capacity(BATCH);
    for row in rows {
        let row: OldRow = row.map_err(StoreError::sqlite(path, "reading results to migrate"))?;
        let r = convert(path, row)?;
        // Flush at a block boundary only, so no block is written twice.
        if batch.len() >= BATCH
            && batch.last().is_some_and(|last| {
                (
                    &last.probe,
                    &last.location,
                    hour_of(last.started_at.timestamp_millis()),
                ) != (
                    &r.probe,
                    &r.location,
                    hour_of(r.started_at.timestamp_millis()),
                )
            })
        {
            w.insert_results(&batch)?;
            batch.clear();
        }
        batch.push(r);
    }
    w.insert_results(&batch)?;
    Ok(())
}

fn convert(path: &Path, row: OldRow) -> Result<ProbeResult, StoreError> {
    let (probe, location, started_at, outcome, cause, message, status, latency, p, cert) = row;
    let bad = |column: &'static str, value: String| StoreError::bad_value(path, column, value);
    let opt_ms = |column: &'static str, v: Option<f64>| {
        v.map(|ms| duration_from_ms(ms).ok_or_else(|| bad(column, ms.to_string())))
            .transpose()
    };
    Ok(ProbeResult {
        probe: ProbeId(probe),
        // v3 told results apart by start millisecond alone: any id will do.
        id: ResultId::random(),
        location,
        started_at: DateTime::from_timestamp_millis(started_at)
            .ok_or_else(|| bad("results.started_at", started_at.to_string()))?,
        outcome: Outcome::from_str(&outcome).map_err(|_| bad("results.outcome", outcome))?,
        cause: cause
            .map(|c| Cause::from_str(&c).map_err(|_| bad("results.cause", c)))
            .transpose()?,
        message,
        status: status
            .map(|s| u16::try_from(s).map_err(|_| bad("results.status", s.to_string())))
            .transpose()?,
        latency: duration_from_ms(latency)
            .ok_or_else(|| bad("results.latency_ms", latency.to_string()))?,
        phases: Phases {
            dns: opt_ms("results.dns_ms", p[0])?,
            connect: opt_ms("results.connect_ms", p[1])?,
            tls: opt_ms("results.tls_ms", p[2])?,
            ttfb: opt_ms("results.ttfb_ms", p[3])?,
            transfer: opt_ms("results.transfer_ms", p[4])?,
        },
        cert_expires_at: cert
            .map(|t| {
                DateTime::parse_from_rfc3339(&t)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| bad("results.cert_expires_at", t))
            })
            .transpose()?,
        body_bytes: None,
        body_decoded_bytes: None,
        http_version: None,
        ip: None,
        steps: Vec::new(),
    })
}

type OldRollup = (String, String, i64, [i64; 6], String, [(f64, i64); 5]);

fn copy_rollups(tx: &Transaction<'_>, w: &Writer<'_>, path: &Path) -> Result<(), StoreError> {
    let mut stmt = tx
        .prepare(
            "SELECT probe, location, day, runs, up, degraded, down, maintenance, maintenance_down,
                    latency, dns_sum, dns_n, connect_sum, connect_n, tls_sum, tls_n, ttfb_sum,
                    ttfb_n, transfer_sum, transfer_n
             FROM rollups",
        )
        .map_err(StoreError::sqlite(path, "reading rollups to migrate"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                [
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ],
                r.get(9)?,
                [
                    (r.get(10)?, r.get(11)?),
                    (r.get(12)?, r.get(13)?),
                    (r.get(14)?, r.get(15)?),
                    (r.get(16)?, r.get(17)?),
                    (r.get(18)?, r.get(19)?),
                ],
            ))
        })
        .map_err(StoreError::sqlite(path, "reading rollups to migrate"))?;
    for row in rows {
        let (probe, location, day, c, latency, p): OldRollup =
            row.map_err(StoreError::sqlite(path, "reading rollups to migrate"))?;
        let bad = |column: &'static str, value: String| StoreError::bad_value(path, column, value);
        let n =
            |v: i64, column: &'static str| u64::try_from(v).map_err(|_| bad(column, v.to_string()));
        let rollup = DayRollup {
            probe,
            location,
            day: NaiveDate::default()
                .checked_add_signed(chrono::Duration::days(day))
                .ok_or_else(|| bad("rollups.day", day.to_string()))?,
            counts: Counts {
                runs: n(c[0], "rollups.runs")?,
                up: n(c[1], "rollups.up")?,
                degraded: n(c[2], "rollups.degraded")?,
                down: n(c[3], "rollups.down")?,
                maintenance: n(c[4], "rollups.maintenance")?,
                maintenance_down: n(c[5], "rollups.maintenance_down")?,
            },
            latency: Histogram::decode(&latency)
                .map_err(|e| bad("rollups.latency", e.to_string()))?,
            phases: PhaseSums {
                sums: [
                    (p[0].0, n(p[0].1, "rollups.dns_n")?),
                    (p[1].0, n(p[1].1, "rollups.connect_n")?),
                    (p[2].0, n(p[2].1, "rollups.tls_n")?),
                    (p[3].0, n(p[3].1, "rollups.ttfb_n")?),
                    (p[4].0, n(p[4].1, "rollups.transfer_n")?),
                ],
            },
        };
        w.put_rollup(&rollup)?;
    }
    Ok(())
}
