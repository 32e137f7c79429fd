//! Writing probe results and reading them back.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Row, params};

use super::Store;
use super::error::StoreError;
use super::writer::Writer;
use crate::model::{Cause, Outcome, Phases, ProbeId, ProbeResult, millis};

const INSERT: &str = "
INSERT INTO results (
    probe, location, started_at, outcome, cause, message, status, latency_ms,
    dns_ms, connect_ms, tls_ms, ttfb_ms, transfer_ms, cert_expires_at
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
ON CONFLICT (probe, location, started_at) DO NOTHING";

const SELECT_FOR_PROBE: &str = "
SELECT probe, location, started_at, outcome, cause, message, status, latency_ms,
       dns_ms, connect_ms, tls_ms, ttfb_ms, transfer_ms, cert_expires_at
FROM results
WHERE probe = ?1
ORDER BY started_at DESC, location
LIMIT ?2";

impl Writer<'_> {
    /// Write results; a result already stored (same probe, location and start
    /// millisecond) is kept as it is, so re-inserting a shard changes nothing.
    pub fn insert_results(&self, results: &[ProbeResult]) -> Result<(), StoreError> {
        let path = self.path;
        let mut insert = self
            .tx
            .prepare_cached(INSERT)
            .map_err(StoreError::sqlite(path, "preparing to write results"))?;
        for r in results {
            let ms = |d: Option<Duration>| d.map(millis);
            insert
                .execute(params![
                    r.probe.0,
                    r.location,
                    r.started_at.timestamp_millis(),
                    r.outcome.as_str(),
                    r.cause.map(Cause::as_str),
                    r.message,
                    r.status,
                    millis(r.latency),
                    ms(r.phases.dns),
                    ms(r.phases.connect),
                    ms(r.phases.tls),
                    ms(r.phases.ttfb),
                    ms(r.phases.transfer),
                    r.cert_expires_at
                        .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
                ])
                .map_err(StoreError::sqlite(path, "writing a result"))?;
        }
        Ok(())
    }
}

impl Store {
    /// Write every result of one run in one transaction. A result already
    /// stored (same probe, location and start millisecond) is kept as it is,
    /// so re-inserting a shard changes nothing.
    pub fn insert_results(&mut self, results: &[ProbeResult]) -> Result<(), StoreError> {
        self.write(|w| w.insert_results(results))
    }

    /// The latest `limit` results of `probe` from every location, newest first.
    pub fn results_for(
        &self,
        probe: &ProbeId,
        limit: usize,
    ) -> Result<Vec<ProbeResult>, StoreError> {
        let path = self.path.as_path();
        let mut stmt = self
            .conn
            .prepare_cached(SELECT_FOR_PROBE)
            .map_err(StoreError::sqlite(path, "preparing to read results"))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let raws = stmt
            .query_map(params![probe.0, limit], RawResult::from_row)
            .map_err(StoreError::sqlite(path, "reading results"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::sqlite(path, "reading results"))?;
        raws.into_iter().map(|raw| raw.into_result(path)).collect()
    }

    /// How many results the store holds, over every probe and location.
    pub fn count_results(&self) -> Result<u64, StoreError> {
        let path = self.path.as_path();
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM results", [], |row| row.get(0))
            .map_err(StoreError::sqlite(path, "counting results"))?;
        // count(*) is never negative.
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// A row as SQLite returns it, before its strings and numbers are checked.
pub(super) struct RawResult {
    probe: String,
    location: String,
    started_at: i64,
    outcome: String,
    cause: Option<String>,
    message: Option<String>,
    status: Option<i64>,
    latency_ms: f64,
    dns_ms: Option<f64>,
    connect_ms: Option<f64>,
    tls_ms: Option<f64>,
    ttfb_ms: Option<f64>,
    transfer_ms: Option<f64>,
    cert_expires_at: Option<String>,
}

impl RawResult {
    pub(super) fn from_row(row: &Row<'_>) -> rusqlite::Result<RawResult> {
        Ok(RawResult {
            probe: row.get(0)?,
            location: row.get(1)?,
            started_at: row.get(2)?,
            outcome: row.get(3)?,
            cause: row.get(4)?,
            message: row.get(5)?,
            status: row.get(6)?,
            latency_ms: row.get(7)?,
            dns_ms: row.get(8)?,
            connect_ms: row.get(9)?,
            tls_ms: row.get(10)?,
            ttfb_ms: row.get(11)?,
            transfer_ms: row.get(12)?,
            cert_expires_at: row.get(13)?,
        })
    }

    /// Turn stored values back into the model; a value this binary does not
    /// know (a newer cause, a hand-edited row) is an error, never a panic.
    pub(super) fn into_result(self, path: &std::path::Path) -> Result<ProbeResult, StoreError> {
        let bad = |column: &'static str, value: String| StoreError::bad_value(path, column, value);
        let opt_ms = |column: &'static str, v: Option<f64>| {
            v.map(|ms| duration_from_ms(ms).ok_or_else(|| bad(column, ms.to_string())))
                .transpose()
        };
        Ok(ProbeResult {
            probe: ProbeId(self.probe),
            location: self.location,
            started_at: DateTime::from_timestamp_millis(self.started_at)
                .ok_or_else(|| bad("started_at", self.started_at.to_string()))?,
            outcome: Outcome::from_str(&self.outcome)
                .map_err(|_| bad("outcome", format!("{:?}", self.outcome)))?,
            cause: self
                .cause
                .map(|c| Cause::from_str(&c).map_err(|_| bad("cause", format!("{c:?}"))))
                .transpose()?,
            message: self.message,
            status: self
                .status
                .map(|s| u16::try_from(s).map_err(|_| bad("status", s.to_string())))
                .transpose()?,
            latency: duration_from_ms(self.latency_ms)
                .ok_or_else(|| bad("latency_ms", self.latency_ms.to_string()))?,
            phases: Phases {
                dns: opt_ms("dns_ms", self.dns_ms)?,
                connect: opt_ms("connect_ms", self.connect_ms)?,
                tls: opt_ms("tls_ms", self.tls_ms)?,
                ttfb: opt_ms("ttfb_ms", self.ttfb_ms)?,
                transfer: opt_ms("transfer_ms", self.transfer_ms)?,
            },
            cert_expires_at: self
                .cert_expires_at
                .map(|t| {
                    DateTime::parse_from_rfc3339(&t)
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|_| bad("cert_expires_at", format!("{t:?}")))
                })
                .transpose()?,
            // Not stored yet: the results table is being replaced.
            body_bytes: None,
            body_decoded_bytes: None,
            http_version: None,
            ip: None,
        })
    }
}

/// Milliseconds as written by [`millis`] back to a duration, to the microsecond.
/// `None` for values no duration has (negative, NaN, beyond u64 microseconds).
fn duration_from_ms(ms: f64) -> Option<Duration> {
    let micros = (ms * 1000.0).round();
    // 2^64 is exactly representable; anything at or above it does not fit.
    // NaN is in no range.
    if (0.0..18_446_744_073_709_551_616.0).contains(&micros) {
        Some(Duration::from_micros(micros as u64))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_results_of_a_probe_use_the_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).expect("open");
        let plan: Vec<String> = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {SELECT_FOR_PROBE}"))
            .expect("explain")
            .query_map(params!["api", 10], |row| row.get::<_, String>(3))
            .expect("plan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let plan = plan.join("\n");
        assert!(plan.contains("results_probe_started"), "{plan}");
    }

    #[test]
    fn millis_round_trip_to_the_microsecond() {
        for micros in [0u64, 1, 999, 41_700, 1_234_567, 3_600_000_000] {
            let d = Duration::from_micros(micros);
            assert_eq!(duration_from_ms(millis(d)), Some(d));
        }
    }

    #[test]
    fn impossible_durations_are_refused() {
        for ms in [-1.0, f64::NAN, f64::INFINITY, 1e300] {
            assert_eq!(duration_from_ms(ms), None, "{ms}");
        }
    }

    fn raw() -> RawResult {
        RawResult {
            probe: "api".into(),
            location: "here".into(),
            started_at: 1_700_000_000_123,
            outcome: "down".into(),
            cause: Some("status".into()),
            message: Some("expected 2xx".into()),
            status: Some(503),
            latency_ms: 41.7,
            dns_ms: None,
            connect_ms: Some(1.1),
            tls_ms: None,
            ttfb_ms: None,
            transfer_ms: None,
            cert_expires_at: Some("2027-01-09T00:00:00Z".into()),
        }
    }

    fn column_of(r: RawResult) -> &'static str {
        match r.into_result(std::path::Path::new("t.db")) {
            Err(StoreError::BadValue { column, .. }) => column,
            other => panic!("expected BadValue, got {other:?}"),
        }
    }

    #[test]
    fn a_good_row_converts() {
        let r = raw()
            .into_result(std::path::Path::new("t.db"))
            .expect("converts");
        assert_eq!(r.outcome, Outcome::Down);
        assert_eq!(r.cause, Some(Cause::Status));
        assert_eq!(r.status, Some(503));
        assert_eq!(r.started_at.timestamp_millis(), 1_700_000_000_123);
    }

    #[test]
    fn unknown_values_are_errors_naming_the_column() {
        assert_eq!(
            column_of(RawResult {
                outcome: "sideways".into(),
                ..raw()
            }),
            "outcome"
        );
        assert_eq!(
            column_of(RawResult {
                cause: Some("gremlins".into()),
                ..raw()
            }),
            "cause"
        );
        assert_eq!(
            column_of(RawResult {
                status: Some(70_000),
                ..raw()
            }),
            "status"
        );
        assert_eq!(
            column_of(RawResult {
                latency_ms: -3.0,
                ..raw()
            }),
            "latency_ms"
        );
        assert_eq!(
            column_of(RawResult {
                tls_ms: Some(f64::NAN),
                ..raw()
            }),
            "tls_ms"
        );
        assert_eq!(
            column_of(RawResult {
                cert_expires_at: Some("soon".into()),
                ..raw()
            }),
            "cert_expires_at"
        );
        assert_eq!(
            column_of(RawResult {
                started_at: i64::MAX,
                ..raw()
            }),
            "started_at"
        );
    }
}
