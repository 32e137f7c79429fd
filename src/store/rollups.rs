//! Daily rollups in the store, updated incrementally from the results a
//! write adds, and their retention.
//!
//! A rollup is counted once per result because only results the store did
//! not hold yet are added ([`Writer::insert_results`] says which): the same
//! result stored twice (a merged shard, an overlapping run) is never counted
//! twice, and no run re-reads a day of raw results.
//!
//! Sizes: a day's counts are kept [`COUNT_DAYS`] days (the page's bars and a
//! year of months); its phase sums and latency histogram (`detail`, 100–300
//! bytes) only [`DETAIL_DAYS`] days, enough for the 90-day percentiles.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use integer_encoding::VarInt;
use rusqlite::{OptionalExtension, params};

use super::results::{Names, name_key};
use super::writer::Writer;
use super::{Store, StoreError};
use crate::model::ProbeResult;
use crate::rollup::{Counts, DayRollup, Histogram, PhaseSums};

/// Days a day's counts are kept (the page reads a year of months).
pub const COUNT_DAYS: i64 = 400;
/// Days a day's latency histogram and phase sums are kept (90-day windows).
pub const DETAIL_DAYS: i64 = 92;

/// Days since the Unix epoch, the rollups' day key.
pub fn day_number(day: NaiveDate) -> i64 {
    (day - NaiveDate::default()).num_days()
}

fn day_from_number(n: i64) -> Option<NaiveDate> {
    NaiveDate::default().checked_add_signed(Duration::days(n))
}

const DETAIL_V1: u8 = 1;

/// Phase sums (µs) and counts, then the histogram's binary form.
fn encode_detail(phases: &PhaseSums, latency: &Histogram) -> Vec<u8> {
    let mut out = vec![DETAIL_V1];
    let mut buf = [0u8; 10];
    for (sum, n) in phases.sums {
        let micros = (sum * 1000.0).round().max(0.0) as u64;
        for v in [micros, n] {
            let k = v.encode_var(&mut buf);
            out.extend_from_slice(&buf[..k]);
        }
    }
    out.extend_from_slice(&latency.to_bytes());
    out
}

fn decode_detail(data: &[u8]) -> Result<(PhaseSums, Histogram), String> {
    let Some((&DETAIL_V1, mut rest)) = data.split_first() else {
        return Err("unknown detail format".into());
    };
    let mut phases = PhaseSums::default();
    for slot in phases.sums.iter_mut() {
        let mut next = || -> Result<u64, String> {
            let (v, k) = u64::decode_var(rest).ok_or("truncated detail")?;
            rest = &rest[k..];
            Ok(v)
        };
        let (micros, n) = (next()?, next()?);
        *slot = (micros as f64 / 1000.0, n);
    }
    let latency = Histogram::from_bytes(rest).map_err(|e| e.to_string())?;
    Ok((phases, latency))
}

/// A rollup row before its values are checked, its probe and location by
/// number, its detail decoded from the row in place (not copied out first).
type RawRollup = (
    i64,
    i64,
    i64,
    [i64; 6],
    Option<Result<(PhaseSums, Histogram), String>>,
);

/// The names are looked up apart: see `results::raw_blocks` for why.
const SELECT: &str = "SELECT r.probe, r.location, r.day, r.runs, r.up, r.degraded, r.down,
       r.maintenance, r.maintenance_down, r.detail
     FROM day_rollups r";

fn raw_rollup(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRollup> {
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
        r.get_ref(9)?.as_blob_or_null()?.map(decode_detail),
    ))
}

fn rollup_from(
    path: &std::path::Path,
    raw: RawRollup,
    names: &mut Names<'_>,
) -> Result<DayRollup, StoreError> {
    let (probe, location, day, c, detail) = raw;
    let mut name = |key| {
        names
            .get(key)
            .map(str::to_string)
            .map_err(StoreError::sqlite(path, "reading a name"))
    };
    let (probe, location) = (name(probe)?, name(location)?);
    let bad = |column: &'static str, value: String| StoreError::bad_value(path, column, value);
    let count =
        |v: i64, column: &'static str| u64::try_from(v).map_err(|_| bad(column, v.to_string()));
    let (phases, latency) = match detail {
        Some(d) => d.map_err(|e| bad("day_rollups.detail", e))?,
        None => (PhaseSums::default(), Histogram::new()),
    };
    Ok(DayRollup {
        probe,
        location,
        day: day_from_number(day).ok_or_else(|| bad("day_rollups.day", day.to_string()))?,
        counts: Counts {
            runs: count(c[0], "day_rollups.runs")?,
            up: count(c[1], "day_rollups.up")?,
            degraded: count(c[2], "day_rollups.degraded")?,
            down: count(c[3], "day_rollups.down")?,
            maintenance: count(c[4], "day_rollups.maintenance")?,
            maintenance_down: count(c[5], "day_rollups.maintenance_down")?,
        },
        latency,
        phases,
    })
}

impl Writer<'_> {
    /// The stored rollup of `probe` at `location` on `day`, if any.
    pub fn rollup(
        &self,
        probe: &str,
        location: &str,
        day: NaiveDate,
    ) -> Result<Option<DayRollup>, StoreError> {
        let sql = format!("{SELECT} WHERE r.probe = ?1 AND r.location = ?2 AND r.day = ?3");
        let (Some(p), Some(l)) = (
            name_key(self.tx, probe).map_err(self.err("reading a name"))?,
            name_key(self.tx, location).map_err(self.err("reading a name"))?,
        ) else {
            return Ok(None);
        };
        let raw = self
            .tx
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_row(params![p, l, day_number(day)], raw_rollup)
                    .optional()
            })
            .map_err(self.err("reading a rollup"))?;
        raw.map(|r| rollup_from(self.path, r, &mut Names::new(self.tx)))
            .transpose()
    }

    /// Write `r` over whatever rollup its probe, location and day had.
    pub fn put_rollup(&self, r: &DayRollup) -> Result<(), StoreError> {
        let (p, l) = (self.key_of(&r.probe)?, self.key_of(&r.location)?);
        let c = &r.counts;
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let detail = (r.latency.count() > 0 || r.phases.sums.iter().any(|s| s.1 > 0))
            .then(|| encode_detail(&r.phases, &r.latency));
        self.tx
            .prepare_cached(
                "INSERT INTO day_rollups (probe, location, day, runs, up, degraded, down,
                   maintenance, maintenance_down, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (probe, location, day) DO UPDATE SET
                   runs = excluded.runs, up = excluded.up, degraded = excluded.degraded,
                   down = excluded.down, maintenance = excluded.maintenance,
                   maintenance_down = excluded.maintenance_down, detail = excluded.detail",
            )
            .and_then(|mut s| {
                s.execute(params![
                    p,
                    l,
                    day_number(r.day),
                    n(c.runs),
                    n(c.up),
                    n(c.degraded),
                    n(c.down),
                    n(c.maintenance),
                    n(c.maintenance_down),
                    detail
                ])
            })
            .map_err(self.err("writing a rollup"))?;
        Ok(())
    }

    /// Store `results` and count the ones that were new in their days'
    /// rollups: the one way results enter the store. Returns the indexes of
    /// the new ones (see [`Writer::insert_results`]).
    pub fn record_results(
        &self,
        results: &[ProbeResult],
        in_maintenance: &dyn Fn(&ProbeResult) -> bool,
    ) -> Result<Vec<usize>, StoreError> {
        let added = self.insert_results(results)?;
        let new: Vec<&ProbeResult> = added.iter().map(|i| &results[*i]).collect();
        self.add_to_rollups(&new, in_maintenance)?;
        Ok(added)
    }

    /// Count `results` (new to the store: see [`Writer::insert_results`]) in
    /// the rollups of their days. `in_maintenance` says which results fall
    /// in a maintenance window.
    pub fn add_to_rollups(
        &self,
        results: &[&ProbeResult],
        in_maintenance: &dyn Fn(&ProbeResult) -> bool,
    ) -> Result<(), StoreError> {
        let mut by_day: BTreeMap<(&str, &str, NaiveDate), Vec<&ProbeResult>> = BTreeMap::new();
        for r in results {
            by_day
                .entry((&r.probe.0, &r.location, r.started_at.date_naive()))
                .or_default()
                .push(r);
        }
        for ((probe, location, day), rs) in by_day {
            let mut rollup = self
                .rollup(probe, location, day)?
                .unwrap_or_else(|| DayRollup::empty(probe, location, day));
            for r in rs {
                rollup.record(r, in_maintenance(r));
            }
            self.put_rollup(&rollup)?;
        }
        Ok(())
    }

    /// Apply rollup retention as of `today`: counts older than
    /// `max(COUNT_DAYS, keep_days)` days go, details older than
    /// [`DETAIL_DAYS`]. Done once per day (the store remembers the last day
    /// it was done for), so a run costs nothing here most of the time.
    /// Returns whether it was done: then the caller vacuums the store after
    /// the transaction ([`Store::vacuum`]), since rows that shrank leave their
    /// pages mostly empty.
    pub fn prune_rollups(&self, today: NaiveDate, keep_days: u32) -> Result<bool, StoreError> {
        let today = day_number(today);
        let done: Option<i64> = self
            .tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'rollups_pruned_for'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err("reading the store's bookkeeping"))?;
        if done.is_some_and(|d| d >= today) {
            return Ok(false);
        }
        let keep = COUNT_DAYS.max(i64::from(keep_days));
        self.tx
            .execute(
                "DELETE FROM day_rollups WHERE day <= ?1",
                params![today - keep],
            )
            .map_err(self.err("pruning old rollups"))?;
        self.tx
            .execute(
                "UPDATE day_rollups SET detail = NULL WHERE day <= ?1 AND detail IS NOT NULL",
                params![today - DETAIL_DAYS],
            )
            .map_err(self.err("pruning old rollups"))?;
        self.tx
            .execute(
                "INSERT INTO meta (key, value) VALUES ('rollups_pruned_for', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![today],
            )
            .map_err(self.err("writing the store's bookkeeping"))?;
        Ok(true)
    }
}

impl Store {
    /// Rollups of `probe` (every location) for days `from..=to`, oldest first.
    pub fn rollups(
        &self,
        probe: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayRollup>, StoreError> {
        let path = self.path.as_path();
        let Some(p) = self.key(probe)? else {
            return Ok(Vec::new());
        };
        let sql = format!("{SELECT} WHERE r.probe = ?1 AND r.day >= ?2 AND r.day <= ?3");
        let rows: Vec<RawRollup> = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map(params![p, day_number(from), day_number(to)], raw_rollup)?
                    .collect()
            })
            .map_err(StoreError::sqlite(path, "reading rollups"))?;
        let mut names = Names::new(&self.conn);
        let mut out = rows
            .into_iter()
            .map(|r| rollup_from(path, r, &mut names))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.day.cmp(&b.day).then_with(|| a.location.cmp(&b.location)));
        Ok(out)
    }

    /// The rollups of one probe (`probe_key`) at one location
    /// (`location_key`), by the store's own numbers for the names, from day
    /// number `from_day` on, oldest first, one at a time (a merge reads a
    /// shard so). `each` returning an error stops.
    pub(super) fn each_rollup_of(
        &self,
        probe_key: i64,
        location_key: i64,
        from_day: i64,
        mut each: impl FnMut(DayRollup) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let path = self.path.as_path();
        let sql = format!(
            "{SELECT} WHERE r.probe = ?1 AND r.location = ?2 AND r.day >= ?3 ORDER BY r.day"
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(StoreError::sqlite(path, "reading rollups"))?;
        let mut rows = stmt
            .query(params![probe_key, location_key, from_day])
            .map_err(StoreError::sqlite(path, "reading rollups"))?;
        let mut names = Names::new(&self.conn);
        while let Some(row) = rows
            .next()
            .map_err(StoreError::sqlite(path, "reading rollups"))?
        {
            let raw = raw_rollup(row).map_err(StoreError::sqlite(path, "reading rollups"))?;
            each(rollup_from(path, raw, &mut names)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_round_trips() {
        let mut h = Histogram::new();
        h.record(41.7);
        h.record(900.0);
        let phases = PhaseSums {
            sums: [(1.5, 3), (0.0, 0), (12.25, 2), (100.001, 3), (0.3, 1)],
        };
        let (p, back) = decode_detail(&encode_detail(&phases, &h)).expect("decodes");
        assert_eq!(back, h);
        assert_eq!(p, phases);
        assert!(decode_detail(&[]).is_err());
        assert!(decode_detail(&[DETAIL_V1, 0x80]).is_err());
    }
}
