//! Daily rollups in the store, raw results by time range, and retention.
//!
//! A run rebuilds each (probe, location, day) it touched from that day's raw
//! results instead of adding to it: the same result stored twice (a merged
//! shard, an overlapping run) can then never be counted twice.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rusqlite::params;

use super::results::RawResult;
use super::writer::{Writer, ms};
use super::{Store, StoreError};
use crate::model::{Outcome, ProbeResult, millis};
use crate::rollup::{Counts, DayRollup, Histogram, PhaseSums};

const SELECT_RESULTS: &str = "
SELECT probe, location, started_at, outcome, cause, message, status, latency_ms,
       dns_ms, connect_ms, tls_ms, ttfb_ms, transfer_ms, cert_expires_at
FROM results";

/// Days since the Unix epoch, the rollups' day key.
pub fn day_number(day: NaiveDate) -> i64 {
    (day - NaiveDate::default()).num_days()
}

fn day_from_number(n: i64) -> Option<NaiveDate> {
    NaiveDate::default().checked_add_signed(Duration::days(n))
}

fn day_bounds(day: NaiveDate) -> (i64, i64) {
    let start = day
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_default();
    (ms(start), ms(start + Duration::days(1)))
}

impl Writer<'_> {
    /// Recompute the rollup of `probe` at `location` on `day` from its raw
    /// results, replacing the stored one: idempotent, so results stored twice
    /// or arriving late (a merged shard) are counted exactly once. A day whose
    /// raw results are all pruned keeps its rollup. Not for a day that is only
    /// partly pruned (it would forget the pruned part): a run touches only the
    /// days of its own results, which retention (at least a day) has not reached.
    pub fn rebuild_rollup(
        &self,
        probe: &str,
        location: &str,
        day: NaiveDate,
        in_maintenance: &dyn Fn(&ProbeResult) -> bool,
    ) -> Result<(), StoreError> {
        let (from, to) = day_bounds(day);
        let sql = format!(
            "{SELECT_RESULTS} WHERE probe = ?1 AND location = ?2 AND started_at >= ?3 AND started_at < ?4"
        );
        let mut stmt = self
            .tx
            .prepare_cached(&sql)
            .map_err(self.err("reading a day of results"))?;
        let raw: Vec<RawResult> = stmt
            .query_map(params![probe, location, from, to], RawResult::from_row)
            .and_then(|rows| rows.collect())
            .map_err(self.err("reading a day of results"))?;
        let mut counts = Counts::default();
        let mut latency = Histogram::new();
        let mut phases = PhaseSums::default();
        for r in raw {
            let r = r.into_result(self.path)?;
            counts.runs += 1;
            match r.outcome {
                Outcome::Up => counts.up += 1,
                Outcome::Degraded => counts.degraded += 1,
                Outcome::Down => counts.down += 1,
            }
            if in_maintenance(&r) {
                counts.maintenance += 1;
                if r.outcome == Outcome::Down {
                    counts.maintenance_down += 1;
                }
            }
            latency.record(millis(r.latency));
            let p = [
                r.phases.dns,
                r.phases.connect,
                r.phases.tls,
                r.phases.ttfb,
                r.phases.transfer,
            ];
            for (sum, phase) in phases.sums.iter_mut().zip(p) {
                if let Some(d) = phase {
                    sum.0 += millis(d);
                    sum.1 += 1;
                }
            }
        }
        if counts.runs == 0 {
            // Nothing raw left (pruned): keep the rollup as it is.
            return Ok(());
        }
        let [dns, connect, tls, ttfb, transfer] = phases.sums;
        self.tx
            .execute(
                "INSERT INTO rollups (probe, location, day, runs, up, degraded, down, maintenance,
                   maintenance_down, latency, dns_sum, dns_n, connect_sum, connect_n, tls_sum, tls_n,
                   ttfb_sum, ttfb_n, transfer_sum, transfer_n)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)
                 ON CONFLICT (probe, location, day) DO UPDATE SET
                   runs = excluded.runs, up = excluded.up, degraded = excluded.degraded,
                   down = excluded.down, maintenance = excluded.maintenance,
                   maintenance_down = excluded.maintenance_down, latency = excluded.latency,
                   dns_sum = excluded.dns_sum, dns_n = excluded.dns_n,
                   connect_sum = excluded.connect_sum, connect_n = excluded.connect_n,
                   tls_sum = excluded.tls_sum, tls_n = excluded.tls_n,
                   ttfb_sum = excluded.ttfb_sum, ttfb_n = excluded.ttfb_n,
                   transfer_sum = excluded.transfer_sum, transfer_n = excluded.transfer_n",
                params![
                    probe,
                    location,
                    day_number(day),
                    counts.runs as i64,
                    counts.up as i64,
                    counts.degraded as i64,
                    counts.down as i64,
                    counts.maintenance as i64,
                    counts.maintenance_down as i64,
                    latency.encode(),
                    dns.0,
                    dns.1 as i64,
                    connect.0,
                    connect.1 as i64,
                    tls.0,
                    tls.1 as i64,
                    ttfb.0,
                    ttfb.1 as i64,
                    transfer.0,
                    transfer.1 as i64
                ],
            )
            .map_err(self.err("writing a rollup"))?;
        Ok(())
    }

    /// Bring the rollups up to date with `results` (already inserted): every
    /// (probe, location, day) they touch is rebuilt with [`Writer::rebuild_rollup`].
    /// `in_maintenance` says which results fall in a maintenance window.
    pub fn update_rollups(
        &self,
        results: &[ProbeResult],
        in_maintenance: &dyn Fn(&ProbeResult) -> bool,
    ) -> Result<(), StoreError> {
        let mut touched: Vec<(&str, &str, NaiveDate)> = results
            .iter()
            .map(|r| {
                (
                    r.probe.0.as_str(),
                    r.location.as_str(),
                    r.started_at.date_naive(),
                )
            })
            .collect();
        touched.sort();
        touched.dedup();
        for (probe, location, day) in touched {
            self.rebuild_rollup(probe, location, day, in_maintenance)?;
        }
        Ok(())
    }

    /// Delete raw results of `probe` that started before `keep_after`, and
    /// say how many; rollups stay. Call it after [`Writer::update_rollups`] in
    /// the same transaction, so every pruned result is already counted.
    pub fn prune(&self, probe: &str, keep_after: DateTime<Utc>) -> Result<u64, StoreError> {
        let n = self
            .tx
            .execute(
                "DELETE FROM results WHERE probe = ?1 AND started_at < ?2",
                params![probe, ms(keep_after)],
            )
            .map_err(self.err("pruning old results"))?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }
}

type RawRollup = (String, String, i64, [i64; 6], String, [(f64, i64); 5]);

impl Store {
    /// Rollups of `probe` (every location) for days `from..=to`, oldest first.
    pub fn rollups(
        &self,
        probe: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayRollup>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT probe, location, day, runs, up, degraded, down, maintenance, maintenance_down,
                   latency, dns_sum, dns_n, connect_sum, connect_n, tls_sum, tls_n, ttfb_sum, ttfb_n,
                   transfer_sum, transfer_n
                 FROM rollups WHERE probe = ?1 AND day >= ?2 AND day <= ?3 ORDER BY day, location",
            )
            .map_err(StoreError::sqlite(&self.path, "reading rollups"))?;
        let rows: Vec<RawRollup> = stmt
            .query_map(params![probe, day_number(from), day_number(to)], |r| {
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
            .and_then(|rows| rows.collect())
            .map_err(StoreError::sqlite(&self.path, "reading rollups"))?;
        let bad =
            |column: &'static str, value: String| StoreError::bad_value(&self.path, column, value);
        let count =
            |v: i64, column: &'static str| u64::try_from(v).map_err(|_| bad(column, v.to_string()));
        rows.into_iter()
            .map(|(probe, location, day, c, latency, p)| {
                Ok(DayRollup {
                    probe,
                    location,
                    day: day_from_number(day).ok_or_else(|| bad("rollups.day", day.to_string()))?,
                    counts: Counts {
                        runs: count(c[0], "rollups.runs")?,
                        up: count(c[1], "rollups.up")?,
                        degraded: count(c[2], "rollups.degraded")?,
                        down: count(c[3], "rollups.down")?,
                        maintenance: count(c[4], "rollups.maintenance")?,
                        maintenance_down: count(c[5], "rollups.maintenance_down")?,
                    },
                    latency: Histogram::decode(&latency)
                        .map_err(|e| bad("rollups.latency", e.to_string()))?,
                    phases: PhaseSums {
                        sums: [
                            (p[0].0, count(p[0].1, "rollups.dns_n")?),
                            (p[1].0, count(p[1].1, "rollups.connect_n")?),
                            (p[2].0, count(p[2].1, "rollups.tls_n")?),
                            (p[3].0, count(p[3].1, "rollups.ttfb_n")?),
                            (p[4].0, count(p[4].1, "rollups.transfer_n")?),
                        ],
                    },
                })
            })
            .collect()
    }

    /// Raw results of `probe` with `from <= started_at < to`, oldest first.
    pub fn results_between(
        &self,
        probe: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ProbeResult>, StoreError> {
        let sql = format!(
            "{SELECT_RESULTS} WHERE probe = ?1 AND started_at >= ?2 AND started_at < ?3 ORDER BY started_at, location"
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(StoreError::sqlite(&self.path, "reading results"))?;
        let raw: Vec<RawResult> = stmt
            .query_map(params![probe, ms(from), ms(to)], RawResult::from_row)
            .and_then(|rows| rows.collect())
            .map_err(StoreError::sqlite(&self.path, "reading results"))?;
        raw.into_iter().map(|r| r.into_result(&self.path)).collect()
    }
}
