//! What burn-rate windows read from the store: hourly counts per probe,
//! location and UTC hour (results, down, slower than the latency
//! objective), running totals of the long windows, and the recent raw
//! results. The alerts' episodes are in `burn_alerts.rs`.
//!
//! The hourly counts are what makes a 3-day window and a 30-day budget
//! readable from a store that keeps one day of raw results. Like the daily
//! rollups they are updated from the results each write adds (each counted
//! once), never rebuilt. A day of one probe and location is one row: the
//! hours that had results, four varints each (about 100 bytes a day), kept
//! [`HOUR_DAYS`] days.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use integer_encoding::VarInt;
use rusqlite::{Connection, OptionalExtension, params};

use super::block::{self, hour_of};
use super::results::{Names, name_key, raw_blocks};
use super::rollups::day_number;
use super::writer::{Writer, ms};
use super::{Store, StoreError};
use crate::model::{ProbeId, ProbeResult};

/// Days of hourly counts kept: the 30-day budget, its chart, and a day of slack.
pub const HOUR_DAYS: i64 = 32;

const HOURS_V1: u8 = 1;

/// Results of one hour (maintenance left out) and how many spent budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourCounts {
    pub results: u64,
    pub down: u64,
    /// Available results slower than the latency objective.
    pub slow: u64,
}

impl HourCounts {
    pub fn add(&mut self, o: HourCounts) {
        self.results += o.results;
        self.down += o.down;
        self.slow += o.slow;
    }

    /// `self` less `o`, never below zero.
    pub fn less(self, o: HourCounts) -> HourCounts {
        HourCounts {
            results: self.results.saturating_sub(o.results),
            down: self.down.saturating_sub(o.down),
            slow: self.slow.saturating_sub(o.slow),
        }
    }
}

/// How far a running total slides by subtraction before it is rebuilt
/// instead (hours older than [`HOUR_DAYS`] are gone).
const MAX_SLIDE_HOURS: i64 = 48;

/// How one result counts: `None` for a result that does not count at all
/// (inside a maintenance window).
pub type Mark<'a> = dyn Fn(&ProbeResult) -> Option<HourCounts> + 'a;

/// Hourly counts by location: (hour, counts) by ascending hour (unix ms /
/// 3600000), each hour once. Sorted runs rather than a map per location:
/// a page reads 30 days of them per probe, and inserting 720 nodes was a
/// twelfth of rendering 10,000 probes.
pub type Hours = BTreeMap<String, Vec<(i64, HourCounts)>>;

/// The hours of a location's sorted counts with `first <= hour < end`.
pub fn hours_in(hours: &[(i64, HourCounts)], first: i64, end: i64) -> &[(i64, HourCounts)] {
    let a = hours.partition_point(|(h, _)| *h < first);
    let b = hours.partition_point(|(h, _)| *h < end);
    hours.get(a..b.max(a)).unwrap_or(&[])
}

fn encode_hours(hours: &BTreeMap<u8, HourCounts>) -> Vec<u8> {
    let mut out = vec![HOURS_V1];
    let mut buf = [0u8; 10];
    for (h, c) in hours {
        out.push(*h);
        for v in [c.results, c.down, c.slow] {
            let k = v.encode_var(&mut buf);
            out.extend_from_slice(&buf[..k]);
        }
    }
    out
}

fn decode_hours(data: &[u8]) -> Result<BTreeMap<u8, HourCounts>, &'static str> {
    let mut out = BTreeMap::new();
    each_hour(data, |h, c| {
        out.insert(h, c);
    })?;
    Ok(out)
}

/// Hand each hour of a stored day to `f`, in stored (ascending) order.
fn each_hour(data: &[u8], mut f: impl FnMut(u8, HourCounts)) -> Result<(), &'static str> {
    let Some((&HOURS_V1, mut rest)) = data.split_first() else {
        return Err("unknown hourly counts format");
    };
    while let Some((&h, tail)) = rest.split_first() {
        if h >= 24 {
            return Err("hour out of range");
        }
        rest = tail;
        let mut next = || -> Result<u64, &'static str> {
            let (v, k) = u64::decode_var(rest).ok_or("truncated hourly counts")?;
            rest = &rest[k..];
            Ok(v)
        };
        let c = HourCounts {
            results: next()?,
            down: next()?,
            slow: next()?,
        };
        if c.down > c.results || c.slow > c.results {
            return Err("more bad results than results");
        }
        f(h, c);
    }
    Ok(())
}

fn day_row(
    conn: &Connection,
    path: &Path,
    probe: i64,
    location: i64,
    day: i64,
) -> Result<Option<BTreeMap<u8, HourCounts>>, StoreError> {
    let data: Option<Vec<u8>> = conn
        .prepare_cached(
            "SELECT hours FROM burn_hours WHERE probe = ?1 AND location = ?2 AND day = ?3",
        )
        .and_then(|mut s| {
            s.query_row(params![probe, location, day], |r| r.get(0))
                .optional()
        })
        .map_err(StoreError::sqlite(path, "reading hourly counts"))?;
    data.map(|d| decode_hours(&d).map_err(|e| StoreError::bad_value(path, "burn_hours.hours", e)))
        .transpose()
}

/// Hourly counts of the probe stored under `key`, every location, for
/// hours `from..=to`.
fn hours_between(
    conn: &Connection,
    path: &Path,
    key: Option<i64>,
    from: i64,
    to: i64,
) -> Result<Hours, StoreError> {
    let Some(p) = key else {
        return Ok(Hours::new());
    };
    let (first_day, last_day) = (from.div_euclid(24), to.div_euclid(24));
    let rows: Vec<(i64, i64, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT location, day, hours FROM burn_hours
             WHERE probe = ?1 AND day >= ?2 AND day <= ?3",
        )
        .and_then(|mut stmt| {
            stmt.query_map(params![p, first_day, last_day], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect()
        })
        .map_err(StoreError::sqlite(path, "reading hourly counts"))?;
    // Names looked up apart: see `results::raw_blocks`.
    let mut names = Names::new(conn);
    let mut by_key: Vec<(i64, Vec<(i64, HourCounts)>)> = Vec::new();
    for (location, day, data) in rows {
        let at = match by_key.iter().position(|(k, _)| *k == location) {
            Some(i) => i,
            None => {
                by_key.push((location, Vec::with_capacity(24 * 31)));
                by_key.len() - 1
            }
        };
        let slot = &mut by_key[at].1;
        each_hour(&data, |h, c| {
            let hour = day * 24 + i64::from(h);
            if (from..=to).contains(&hour) {
                slot.push((hour, c));
            }
        })
        .map_err(|e| StoreError::bad_value(path, "burn_hours.hours", e))?;
    }
    let mut out = Hours::new();
    for (location, mut hours) in by_key {
        // Rows come in key order, days ascending; a day holds each hour once.
        if !hours.is_sorted_by_key(|(h, _)| *h) {
            hours.sort_by_key(|(h, _)| *h);
        }
        let name = names
            .get(location)
            .map_err(StoreError::sqlite(path, "reading a name"))?;
        out.insert(name.to_string(), hours);
    }
    Ok(out)
}

/// Raw results of `probe` with `from < started_at <= to`, oldest first.
fn results_in(
    conn: &Connection,
    path: &Path,
    (probe, key): (&str, Option<i64>),
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ProbeResult>, StoreError> {
    let Some(p) = key else {
        return Ok(Vec::new());
    };
    let (from_ms, to_ms) = (ms(from), ms(to));
    let id = ProbeId(probe.to_string());
    let mut out = Vec::new();
    for b in raw_blocks(conn, path, p, hour_of(from_ms), hour_of(to_ms), false)? {
        let rs = block::decode(&b.data, &id, &b.location, b.hour)
            .map_err(|e| StoreError::bad_value(path, "result_blocks.data", e))?;
        out.extend(rs.into_iter().filter(|r| {
            let t = r.started_at.timestamp_millis();
            t > from_ms && t <= to_ms
        }));
    }
    out.sort_by(|a, b| {
        a.started_at
            .cmp(&b.started_at)
            .then_with(|| a.location.cmp(&b.location))
    });
    Ok(out)
}

impl Writer<'_> {
    /// Count `results` (new to the store) in their hours. `mark` says how
    /// each counts; see [`Mark`].
    pub fn add_to_burn_hours(
        &self,
        results: &[&ProbeResult],
        mark: &Mark<'_>,
    ) -> Result<(), StoreError> {
        let mut by_day: BTreeMap<(&str, &str, i64), BTreeMap<u8, HourCounts>> = BTreeMap::new();
        for r in results {
            let Some(c) = mark(r) else { continue };
            let hour = hour_of(r.started_at.timestamp_millis());
            let (day, h) = (hour.div_euclid(24), hour.rem_euclid(24) as u8);
            by_day
                .entry((&r.probe.0, &r.location, day))
                .or_default()
                .entry(h)
                .or_default()
                .add(c);
        }
        for ((probe, location, day), add) in by_day {
            let (p, l) = (self.key_of(probe)?, self.key_of(location)?);
            let mut hours = day_row(self.tx, self.path, p, l, day)?.unwrap_or_default();
            for (h, c) in &add {
                hours.entry(*h).or_default().add(*c);
                self.add_to_totals(p, l, day * 24 + i64::from(*h), *c)?;
            }
            self.put_hours(p, l, day, &hours)?;
        }
        Ok(())
    }

    /// Count `c` (results of `hour`) in the running totals that cover it.
    fn add_to_totals(
        &self,
        probe: i64,
        location: i64,
        hour: i64,
        c: HourCounts,
    ) -> Result<(), StoreError> {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.tx
            .prepare_cached(
                "UPDATE burn_totals SET results = results + ?4, down = down + ?5, slow = slow + ?6
                 WHERE probe = ?1 AND location = ?2 AND from_hour <= ?3",
            )
            .and_then(|mut s| {
                s.execute(params![
                    probe,
                    location,
                    hour,
                    n(c.results),
                    n(c.down),
                    n(c.slow)
                ])
            })
            .map_err(self.err("updating burn totals"))?;
        Ok(())
    }

    /// The hourly counts of `probe` at `location` summed, for each
    /// `(span, first)` of `windows`, over hours `first..current` (a long
    /// window before its current hour). A running total per window length
    /// (`span` hours) is kept from `first` on, slid forward by subtracting
    /// the hours it leaves, so a run reads a day row or two whatever the
    /// window's length or the store's age.
    pub fn window_sums(
        &self,
        probe: &str,
        location: &str,
        windows: &[(i64, i64)],
        current: i64,
    ) -> Result<Vec<HourCounts>, StoreError> {
        let (Some(p), Some(l)) = (
            name_key(self.tx, probe).map_err(self.err("reading a name"))?,
            name_key(self.tx, location).map_err(self.err("reading a name"))?,
        ) else {
            return Ok(vec![HourCounts::default(); windows.len()]);
        };
        let held: BTreeMap<i64, (i64, HourCounts)> = self
            .tx
            .prepare_cached(
                "SELECT span, from_hour, results, down, slow FROM burn_totals
                 WHERE probe = ?1 AND location = ?2",
            )
            .and_then(|mut s| {
                s.query_map(params![p, l], |r| {
                    let count = |v: i64| u64::try_from(v).unwrap_or(0);
                    Ok((
                        r.get::<_, i64>(0)?,
                        (
                            r.get::<_, i64>(1)?,
                            HourCounts {
                                results: count(r.get(2)?),
                                down: count(r.get(3)?),
                                slow: count(r.get(4)?),
                            },
                        ),
                    ))
                })?
                .collect()
            })
            .map_err(self.err("reading burn totals"))?;
        // The totals run on past `current` (the current hour, and results
        // recorded ahead of the clock): those hours are not in a window.
        let ahead = self.sum_hours(p, l, current, i64::MAX)?;
        let mut out = Vec::with_capacity(windows.len());
        for &(span, first) in windows {
            let total = match held.get(&span) {
                Some((from, c)) if *from == first => *c,
                Some((from, c)) if *from < first && first - from <= MAX_SLIDE_HOURS => {
                    let t = c.less(self.sum_hours(p, l, *from, first - 1)?);
                    self.put_total(p, l, span, first, t)?;
                    t
                }
                _ => {
                    let t = self.sum_hours(p, l, first, i64::MAX)?;
                    self.put_total(p, l, span, first, t)?;
                    t
                }
            };
            out.push(total.less(ahead));
        }
        Ok(out)
    }

    fn put_total(
        &self,
        probe: i64,
        location: i64,
        span: i64,
        first: i64,
        t: HourCounts,
    ) -> Result<(), StoreError> {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.tx
            .prepare_cached(
                "INSERT INTO burn_totals (probe, location, span, from_hour, results, down, slow)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (probe, location, span) DO UPDATE SET
                   from_hour = excluded.from_hour, results = excluded.results,
                   down = excluded.down, slow = excluded.slow",
            )
            .and_then(|mut s| {
                s.execute(params![
                    probe,
                    location,
                    span,
                    first,
                    n(t.results),
                    n(t.down),
                    n(t.slow)
                ])
            })
            .map_err(self.err("writing burn totals"))?;
        Ok(())
    }

    /// Hourly counts of one probe and location summed over hours `from..=to`.
    fn sum_hours(
        &self,
        probe: i64,
        location: i64,
        from: i64,
        to: i64,
    ) -> Result<HourCounts, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT day, hours FROM burn_hours
                 WHERE probe = ?1 AND location = ?2 AND day >= ?3 AND day <= ?4",
            )
            .map_err(self.err("reading hourly counts"))?;
        let rows: Vec<(i64, Vec<u8>)> = stmt
            .query_map(
                params![probe, location, from.div_euclid(24), to.div_euclid(24)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .and_then(|rows| rows.collect())
            .map_err(self.err("reading hourly counts"))?;
        let mut sum = HourCounts::default();
        for (day, data) in rows {
            let hours = decode_hours(&data).map_err(|e| self.bad("burn_hours.hours", e))?;
            for (h, c) in hours {
                if (from..=to).contains(&(day * 24 + i64::from(h))) {
                    sum.add(c);
                }
            }
        }
        Ok(sum)
    }

    fn put_hours(
        &self,
        probe: i64,
        location: i64,
        day: i64,
        hours: &BTreeMap<u8, HourCounts>,
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO burn_hours (probe, location, day, hours) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (probe, location, day) DO UPDATE SET hours = excluded.hours",
            )
            .and_then(|mut s| s.execute(params![probe, location, day, encode_hours(hours)]))
            .map_err(self.err("writing hourly counts"))?;
        Ok(())
    }

    /// Hourly counts of `probe`, every location, for hours `from..=to`.
    pub fn burn_hours(&self, probe: &str, from: i64, to: i64) -> Result<Hours, StoreError> {
        let key = name_key(self.tx, probe).map_err(self.err("reading a name"))?;
        hours_between(self.tx, self.path, key, from, to)
    }

    /// Raw results of `probe` with `from < started_at <= to`, oldest first.
    pub fn results_in(
        &self,
        probe: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ProbeResult>, StoreError> {
        let key = name_key(self.tx, probe).map_err(self.err("reading a name"))?;
        results_in(self.tx, self.path, (probe, key), from, to)
    }

    /// Drop hourly counts older than [`HOUR_DAYS`] before `today`.
    pub fn prune_burn_hours(&self, today: NaiveDate) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("DELETE FROM burn_hours WHERE day < ?1")
            .and_then(|mut s| s.execute(params![day_number(today) - HOUR_DAYS]))
            .map_err(self.err("pruning hourly counts"))?;
        Ok(())
    }

    /// The latest day of hourly counts the store holds of series `s`: read
    /// before a merge adds to it, for [`Writer::merge_burn_hours_of`].
    pub fn burn_latest_day(&self, s: &super::merge::Series) -> Result<Option<i64>, StoreError> {
        let (p, l) = (self.key_of(&s.probe)?, self.key_of(&s.location)?);
        self.tx
            .prepare_cached("SELECT MAX(day) FROM burn_hours WHERE probe = ?1 AND location = ?2")
            .and_then(|mut st| st.query_row(params![p, l], |r| r.get(0)))
            .map_err(self.err("reading hourly counts"))
    }

    /// After a merge of series `s`: a shard's day of hourly counts that
    /// holds more results than the target's is taken as it is (a location is
    /// probed by one runner, so the shard that knows most of its day has all
    /// of it), as the daily rollups are. Only days from `held`, the target's
    /// latest day of the series before the merge, are read: earlier ones came
    /// from such a shard already, so a merge's cost does not grow with the 32
    /// days kept. Returns how many days were copied.
    pub fn merge_burn_hours_of(
        &self,
        shard: &Store,
        s: &super::merge::Series,
        held: Option<i64>,
    ) -> Result<u64, StoreError> {
        let (p, l) = (self.key_of(&s.probe)?, self.key_of(&s.location)?);
        let path = shard.path.as_path();
        let read = |e| StoreError::sqlite(path, "reading the shard's hourly counts")(e);
        let rows: Vec<(i64, Vec<u8>)> = shard
            .conn
            .prepare_cached(
                "SELECT day, hours FROM burn_hours
                 WHERE probe = ?1 AND location = ?2 AND day >= ?3 ORDER BY day",
            )
            .and_then(|mut st| {
                st.query_map(
                    params![s.probe_key, s.location_key, held.unwrap_or(i64::MIN)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?
                .collect()
            })
            .map_err(read)?;
        let mut copied = 0;
        for (day, data) in rows {
            let theirs = decode_hours(&data)
                .map_err(|e| StoreError::bad_value(path, "burn_hours.hours", e))?;
            let ours = day_row(self.tx, self.path, p, l, day)?.unwrap_or_default();
            let total = |h: &BTreeMap<u8, HourCounts>| h.values().map(|c| c.results).sum::<u64>();
            if total(&theirs) > total(&ours) {
                self.put_hours(p, l, day, &theirs)?;
                // Rebuilt from the hours when next read.
                self.tx
                    .prepare_cached("DELETE FROM burn_totals WHERE probe = ?1 AND location = ?2")
                    .and_then(|mut st| st.execute(params![p, l]))
                    .map_err(self.err("resetting burn totals"))?;
                copied += 1;
            }
        }
        Ok(copied)
    }
}

impl Store {
    /// Hourly counts of `probe`, every location, for hours `from..=to`.
    pub fn burn_hours(&self, probe: &str, from: i64, to: i64) -> Result<Hours, StoreError> {
        hours_between(&self.conn, &self.path, self.key(probe)?, from, to)
    }

    /// Raw results of `probe` with `from < started_at <= to`, oldest first.
    pub fn results_in(
        &self,
        probe: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ProbeResult>, StoreError> {
        results_in(&self.conn, &self.path, (probe, self.key(probe)?), from, to)
    }
}

/// v6: hourly counts for burn-rate windows, and burn alert episodes. An
/// episode's id, negated, is the outbox's `incident_id` for its
/// notifications, so they keep their order per channel and never meet an
/// incident's.
pub const SCHEMA: &str = "
CREATE TABLE burn_hours (
    probe    INTEGER NOT NULL,
    location INTEGER NOT NULL,
    day      INTEGER NOT NULL,
    hours    BLOB    NOT NULL,
    PRIMARY KEY (probe, location, day)
) STRICT, WITHOUT ROWID;

-- Running sums of the hours from `from_hour` on, per window length (`span`
-- hours): what makes a 3-day or 30-day window cost the same at any age.
CREATE TABLE burn_totals (
    probe     INTEGER NOT NULL,
    location  INTEGER NOT NULL,
    span      INTEGER NOT NULL,
    from_hour INTEGER NOT NULL,
    results   INTEGER NOT NULL,
    down      INTEGER NOT NULL,
    slow      INTEGER NOT NULL,
    PRIMARY KEY (probe, location, span)
) STRICT, WITHOUT ROWID;

CREATE TABLE burn_alerts (
    id         INTEGER PRIMARY KEY,
    probe      TEXT    NOT NULL,
    objective  TEXT    NOT NULL,
    alert      TEXT    NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER
) STRICT;
CREATE INDEX burn_alerts_open ON burn_alerts (probe, ended_at);
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_round_trip_and_refuse_nonsense() {
        let mut h = BTreeMap::new();
        h.insert(
            0,
            HourCounts {
                results: 60,
                down: 3,
                slow: 1,
            },
        );
        h.insert(
            23,
            HourCounts {
                results: 180,
                down: 0,
                slow: 180,
            },
        );
        assert_eq!(decode_hours(&encode_hours(&h)), Ok(h));
        assert!(decode_hours(&[]).is_err());
        assert!(decode_hours(&[HOURS_V1, 24, 1, 0, 0]).is_err());
        assert!(decode_hours(&[HOURS_V1, 1, 1, 2, 0]).is_err());
        assert!(decode_hours(&[HOURS_V1, 1, 0x80]).is_err());
    }
}
