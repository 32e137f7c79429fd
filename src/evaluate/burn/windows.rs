//! Counting a window from what the store keeps: raw results for windows up
//! to a day (retention keeps at least 24 hours of them), hourly counts for
//! longer ones. A window of up to a day is exact: the results with
//! `now - window < started_at <= now`. A longer window starts at the top of
//! the hour `now - window` falls in (hourly counts cannot split an hour),
//! then runs to `now` exactly (the current hour from raw results, so a
//! result recorded ahead of `now` never counts).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::{Config, ProbeSpec};
use crate::model::burn::{BUDGET_WINDOW, Objective};
use crate::model::{Outcome, ProbeResult};
use crate::store::burn::{HourCounts, Hours, hours_in};
use crate::store::writer::Writer;
use crate::store::{Store, StoreError};

/// The longest window counted from raw results.
pub const RAW_SPAN: Duration = Duration::from_secs(86_400);
const HOUR_MS: i64 = 3_600_000;

/// Where windows are read from: the write transaction (evaluation) or the
/// store (page, report).
pub trait Source {
    fn hours(&self, probe: &str, from: i64, to: i64) -> Result<Hours, StoreError>;
    fn raw(
        &self,
        probe: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ProbeResult>, StoreError>;
}

impl Source for Writer<'_> {
    fn hours(&self, probe: &str, from: i64, to: i64) -> Result<Hours, StoreError> {
        self.burn_hours(probe, from, to)
    }
    fn raw(
        &self,
        probe: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ProbeResult>, StoreError> {
        self.results_in(probe, from, to)
    }
}

impl Source for Store {
    fn hours(&self, probe: &str, from: i64, to: i64) -> Result<Hours, StoreError> {
        self.burn_hours(probe, from, to)
    }
    fn raw(
        &self,
        probe: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ProbeResult>, StoreError> {
        self.results_in(probe, from, to)
    }
}

/// How a result counts against the objectives; `None` inside a maintenance
/// window (it counts neither way). Down spends the availability budget;
/// an available result slower than `latency_slo.under` spends the latency one.
pub fn mark(cfg: &Config, spec: &ProbeSpec, r: &ProbeResult) -> Option<HourCounts> {
    if super::super::record::in_maintenance(cfg, r) {
        return None;
    }
    let down = r.outcome == Outcome::Down;
    let slow = !down && spec.latency_slo.is_some_and(|l| r.latency > l.under);
    Some(HourCounts {
        results: 1,
        down: u64::from(down),
        slow: u64::from(slow),
    })
}

/// A window's counts for one objective.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Results the objective is measured over.
    pub results: u64,
    /// Those that spent its budget.
    pub bad: u64,
}

impl Tally {
    pub fn of(c: HourCounts, objective: Objective) -> Tally {
        match objective {
            Objective::Availability => Tally {
                results: c.results,
                bad: c.down,
            },
            // Down results spend the availability budget; the latency
            // objective is over the results that were served.
            Objective::Latency => Tally {
                results: c.results - c.down,
                bad: c.slow,
            },
        }
    }
}

/// One location's results near `now`, and its longer windows.
#[derive(Debug, Default)]
pub struct Series {
    /// (unix ms, how it counts), oldest first, `raw_from < ms <= now`.
    points: Vec<(i64, HourCounts)>,
    /// Each window longer than the raw results (by its length in ms),
    /// summed over its whole hours before the current one.
    long: BTreeMap<i64, HourCounts>,
    /// The hourly counts of 30 days by ascending hour, when read for the
    /// budget chart.
    hours: Vec<(i64, HourCounts)>,
}

/// What windows of one probe are counted from.
#[derive(Debug)]
pub struct Inputs {
    pub now: DateTime<Utc>,
    now_ms: i64,
    raw_from_ms: i64,
    /// The hourly counts of 30 days were read (the budget chart).
    with_hours: bool,
    pub locations: BTreeMap<String, Series>,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

impl Inputs {
    fn raw(
        src: &dyn Source,
        cfg: &Config,
        spec: &ProbeSpec,
        now: DateTime<Utc>,
        raw_span: Duration,
    ) -> Result<Inputs, StoreError> {
        let raw_span = raw_span.min(RAW_SPAN);
        let span = chrono::Duration::from_std(raw_span).unwrap_or(chrono::Duration::days(1));
        let raw_from = now - span;
        let mut locations: BTreeMap<String, Series> = BTreeMap::new();
        for r in src.raw(&spec.id.0, raw_from, now)? {
            if let Some(c) = mark(cfg, spec, &r) {
                locations
                    .entry(r.location.clone())
                    .or_default()
                    .points
                    .push((r.started_at.timestamp_millis(), c));
            }
        }
        Ok(Inputs {
            now,
            now_ms: now.timestamp_millis(),
            raw_from_ms: raw_from.timestamp_millis(),
            with_hours: false,
            locations,
        })
    }

    /// For evaluation: raw results back `raw_span` (at most [`RAW_SPAN`]),
    /// and each of the `long` windows from the store's running totals, so a
    /// run's cost does not grow with the window or the store's age.
    pub fn for_run(
        w: &Writer<'_>,
        cfg: &Config,
        spec: &ProbeSpec,
        now: DateTime<Utc>,
        raw_span: Duration,
        long: &[Duration],
    ) -> Result<Inputs, StoreError> {
        let mut inputs = Inputs::raw(w, cfg, spec, now, raw_span)?;
        for (location, _) in w.location_states(&spec.id.0)? {
            inputs.locations.entry(location).or_default();
        }
        let current = inputs.now_ms.div_euclid(HOUR_MS);
        let raw = inputs.now_ms - inputs.raw_from_ms;
        let spans: Vec<i64> = long
            .iter()
            .map(|d| millis(*d))
            .filter(|d| *d > raw)
            .collect();
        let windows: Vec<(i64, i64)> = spans
            .iter()
            .map(|d| (d / HOUR_MS, (inputs.now_ms - d).div_euclid(HOUR_MS)))
            .collect();
        for (location, series) in inputs.locations.iter_mut() {
            let sums = w.window_sums(&spec.id.0, location, &windows, current)?;
            series.long.extend(spans.iter().copied().zip(sums));
        }
        Ok(inputs)
    }

    /// For the page and the report: as [`Inputs::for_run`], with the
    /// hourly counts of the whole 30 days kept for the budget chart.
    pub fn for_outputs(
        src: &dyn Source,
        cfg: &Config,
        spec: &ProbeSpec,
        now: DateTime<Utc>,
        raw_span: Duration,
        long: &[Duration],
    ) -> Result<Inputs, StoreError> {
        let mut inputs = Inputs::raw(src, cfg, spec, now, raw_span)?;
        inputs.with_hours = true;
        let current = inputs.now_ms.div_euclid(HOUR_MS);
        let first = (inputs.now_ms - millis(BUDGET_WINDOW)).div_euclid(HOUR_MS);
        for (location, hours) in src.hours(&spec.id.0, first, current - 1)? {
            inputs.locations.entry(location).or_default().hours = hours;
        }
        let raw = inputs.now_ms - inputs.raw_from_ms;
        for series in inputs.locations.values_mut() {
            for d in long.iter().map(|d| millis(*d)).filter(|d| *d > raw) {
                let first = (inputs.now_ms - d).div_euclid(HOUR_MS);
                let mut sum = HourCounts::default();
                for (_, c) in hours_in(&series.hours, first, current) {
                    sum.add(*c);
                }
                series.long.insert(d, sum);
            }
        }
        Ok(inputs)
    }

    /// How far back raw results were read.
    pub fn raw_span(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.now_ms - self.raw_from_ms).unwrap_or(0))
    }

    /// The counts of `series` over a window of `d` ending now. A window the
    /// raw results cover is exact; a longer one starts at the top of its
    /// first hour (it must be one of the `long` windows read).
    pub fn window(&self, series: &Series, d: Duration) -> HourCounts {
        let d = millis(d);
        if d <= self.now_ms - self.raw_from_ms {
            return self.count(series, self.now_ms - d);
        }
        let mut c = series.long.get(&d).copied().unwrap_or_default();
        let current = self.now_ms.div_euclid(HOUR_MS);
        for (_, p) in series
            .points
            .iter()
            .filter(|(t, _)| t.div_euclid(HOUR_MS) == current)
        {
            c.add(*p);
        }
        c
    }

    /// The raw results of `series` after `start_ms` (within the raw span).
    pub fn count(&self, series: &Series, start_ms: i64) -> HourCounts {
        let mut c = HourCounts::default();
        for (_, p) in series.points.iter().filter(|(t, _)| *t > start_ms) {
            c.add(*p);
        }
        c
    }

    /// What was spent before `at_ms` of a window starting at `from_ms`,
    /// from the hourly counts (outputs only) and raw results: the budget chart.
    pub fn spent_between(&self, series: &Series, from_ms: i64, at_ms: i64) -> HourCounts {
        let mut c = HourCounts::default();
        let first = from_ms.div_euclid(HOUR_MS);
        let end = at_ms
            .div_euclid(HOUR_MS)
            .min(self.now_ms.div_euclid(HOUR_MS));
        for (_, h) in hours_in(&series.hours, first, end) {
            c.add(*h);
        }
        if at_ms > self.now_ms.div_euclid(HOUR_MS) * HOUR_MS {
            for (_, p) in series.points.iter().filter(|(t, _)| {
                t.div_euclid(HOUR_MS) == self.now_ms.div_euclid(HOUR_MS) && *t <= at_ms
            }) {
                c.add(*p);
            }
        }
        c
    }

    /// Whether the hourly counts of the 30 days were read (the chart).
    pub fn has_hours(&self) -> bool {
        self.with_hours
    }

    /// Where a window of `d` starts.
    pub fn start_of(&self, d: Duration) -> i64 {
        self.now_ms - millis(d)
    }
    /// Where a short window of `d` starts once stretched back to hold at
    /// least `min` results of `objective` (never beyond `cap` or the raw
    /// results read), and how long it then is.
    pub fn stretched(
        &self,
        series: &Series,
        objective: Objective,
        d: Duration,
        min: u32,
        cap: Duration,
    ) -> (i64, Duration) {
        let start = self.start_of(d);
        let limit = self.start_of(cap.max(d)).max(self.raw_from_ms);
        if limit >= start {
            return (start, d);
        }
        let mut held = 0u64;
        let mut from = limit;
        for (t, p) in series.points.iter().rev() {
            if *t <= limit {
                break;
            }
            held += Tally::of(*p, objective).results;
            if held >= u64::from(min) {
                // Just before the oldest result it needs.
                from = t - 1;
                break;
            }
        }
        let from = from.min(start);
        let len = Duration::from_millis(u64::try_from(self.now_ms - from).unwrap_or(0));
        (from, len)
    }
}
