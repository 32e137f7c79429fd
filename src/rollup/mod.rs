//! Daily rollups: per probe, location and UTC day, kept forever after raw
//! results are pruned, merged into windows for uptime and percentiles.

pub mod histogram;

use chrono::NaiveDate;

pub use histogram::Histogram;

use crate::model::{Outcome, ProbeResult, millis};

/// Phases summed over a day, for mean phase times on the 30-day chart.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PhaseSums {
    /// dns, connect, tls, ttfb, transfer: (sum of ms, count).
    pub sums: [(f64, u64); 5],
}

impl PhaseSums {
    /// Mean of each phase, None where it never happened.
    pub fn means(&self) -> [Option<f64>; 5] {
        self.sums.map(|(s, n)| (n > 0).then(|| s / n as f64))
    }

    fn merge(&mut self, other: &PhaseSums) {
        for (a, b) in self.sums.iter_mut().zip(other.sums) {
            a.0 += b.0;
            a.1 += b.1;
        }
    }
}

/// One probe's day at one location.
#[derive(Debug, Clone, PartialEq)]
pub struct DayRollup {
    pub probe: String,
    pub location: String,
    pub day: NaiveDate,
    pub counts: Counts,
    pub latency: Histogram,
    pub phases: PhaseSums,
}

impl DayRollup {
    /// An empty day of `probe` at `location`.
    pub fn empty(probe: &str, location: &str, day: NaiveDate) -> DayRollup {
        DayRollup {
            probe: probe.to_string(),
            location: location.to_string(),
            day,
            counts: Counts::default(),
            latency: Histogram::new(),
            phases: PhaseSums::default(),
        }
    }

    /// Count one result of this day; `in_maintenance` when it fell inside a
    /// maintenance window. Every path that rolls results up (a run, a merge,
    /// the simulation) goes through here.
    pub fn record(&mut self, r: &ProbeResult, in_maintenance: bool) {
        let c = &mut self.counts;
        c.runs += 1;
        match r.outcome {
            Outcome::Up => c.up += 1,
            Outcome::Degraded => c.degraded += 1,
            Outcome::Down => c.down += 1,
        }
        if in_maintenance {
            c.maintenance += 1;
            if r.outcome == Outcome::Down {
                c.maintenance_down += 1;
            }
        }
        self.latency.record(millis(r.latency));
        let p = [
            r.phases.dns,
            r.phases.connect,
            r.phases.tls,
            r.phases.ttfb,
            r.phases.transfer,
        ];
        for (sum, phase) in self.phases.sums.iter_mut().zip(p) {
            if let Some(d) = phase {
                sum.0 += millis(d);
                sum.1 += 1;
            }
        }
    }
}

/// Result counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub runs: u64,
    pub up: u64,
    pub degraded: u64,
    pub down: u64,
    /// Results inside a maintenance window (excluded from uptime).
    pub maintenance: u64,
    /// Of those, the ones that were down.
    pub maintenance_down: u64,
}

impl Counts {
    fn merge(&mut self, o: &Counts) {
        self.runs += o.runs;
        self.up += o.up;
        self.degraded += o.degraded;
        self.down += o.down;
        self.maintenance += o.maintenance;
        self.maintenance_down += o.maintenance_down;
    }

    /// Percent of results outside maintenance that were not down (degraded
    /// counts as available); None without such results.
    pub fn uptime(&self) -> Option<f64> {
        let counted = self.runs.saturating_sub(self.maintenance);
        let down = self.down.saturating_sub(self.maintenance_down);
        (counted > 0).then(|| 100.0 * (counted - down) as f64 / counted as f64)
    }
}

/// Days and locations merged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub counts: Counts,
    pub latency: Histogram,
    pub phases: PhaseSums,
}

impl Summary {
    /// Add one day of one location.
    pub fn add(&mut self, r: &DayRollup) {
        self.counts.merge(&r.counts);
        self.latency.merge(&r.latency);
        self.phases.merge(&r.phases);
    }

    /// Percent of results outside maintenance that were not down.
    pub fn uptime(&self) -> Option<f64> {
        self.counts.uptime()
    }

    /// Latency percentile (`q` in 0..=1) in ms from the merged histogram.
    pub fn percentile(&self, q: f64) -> Option<f64> {
        self.latency.percentile(q)
    }
}

/// A [`Summary`] of many days being summed (see [`histogram::DenseSum`]).
#[derive(Debug, Clone, Default)]
pub struct SummarySum {
    counts: Counts,
    latency: histogram::DenseSum,
    phases: PhaseSums,
}

impl SummarySum {
    /// Add one day of one location.
    pub fn add(&mut self, r: &DayRollup) {
        self.counts.merge(&r.counts);
        self.latency.add(&r.latency);
        self.phases.merge(&r.phases);
    }

    pub fn summary(&self) -> Summary {
        Summary {
            counts: self.counts,
            latency: self.latency.histogram(),
            phases: self.phases,
        }
    }
}

/// Merge the rollups whose day is within `from..=to`.
pub fn summarize<'a>(
    rollups: impl IntoIterator<Item = &'a DayRollup>,
    from: NaiveDate,
    to: NaiveDate,
) -> Summary {
    let mut s = Summary::default();
    for r in rollups.into_iter().filter(|r| r.day >= from && r.day <= to) {
        s.add(r);
    }
    s
}

/// The rollups of days `from..=to` in `rollups`, which is sorted by day (as
/// the store returns them): found by binary search, so a page that asks for
/// many windows of a long history reads each day a few times, not every day
/// for every window.
pub fn days_between(rollups: &[DayRollup], from: NaiveDate, to: NaiveDate) -> &[DayRollup] {
    let start = rollups.partition_point(|r| r.day < from);
    let end = rollups.partition_point(|r| r.day <= to);
    rollups.get(start..end.max(start)).unwrap_or(&[])
}

/// Counts only (no histogram merge) of days `from..=to` of sorted `rollups`:
/// what uptime over a week, a month or a day bar needs.
pub fn counts_between(rollups: &[DayRollup], from: NaiveDate, to: NaiveDate) -> Counts {
    let mut c = Counts::default();
    for r in days_between(rollups, from, to) {
        c.merge(&r.counts);
    }
    c
}

/// [`summarize`] for sorted `rollups`, reading only days `from..=to`.
pub fn summarize_sorted(rollups: &[DayRollup], from: NaiveDate, to: NaiveDate) -> Summary {
    let mut s = Summary::default();
    for r in days_between(rollups, from, to) {
        s.add(r);
    }
    s
}

/// Error budget left: 1.0 untouched, 0.0 spent, negative overspent.
pub fn budget_left(slo_percent: f64, uptime_percent: f64) -> f64 {
    let allowed = 100.0 - slo_percent;
    if allowed <= 0.0 {
        return if uptime_percent >= 100.0 { 1.0 } else { -1.0 };
    }
    1.0 - (100.0 - uptime_percent) / allowed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget() {
        assert!((budget_left(99.9, 100.0) - 1.0).abs() < 1e-9);
        assert!((budget_left(99.9, 99.95) - 0.5).abs() < 1e-9);
        assert!(budget_left(99.9, 99.0) < 0.0);
        assert_eq!(budget_left(100.0, 100.0), 1.0);
    }

    #[test]
    fn sorted_windows_read_only_their_days() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default();
        let mut rollups = Vec::new();
        for d in 1..=10 {
            for location in ["eu", "us"] {
                let mut r = DayRollup::empty("api", location, day(d));
                r.counts.runs = u64::from(d);
                rollups.push(r);
            }
        }
        assert_eq!(days_between(&rollups, day(3), day(4)).len(), 4);
        assert_eq!(counts_between(&rollups, day(3), day(4)).runs, 14);
        assert_eq!(
            summarize_sorted(&rollups, day(1), day(10)),
            summarize(&rollups, day(1), day(10))
        );
        assert!(days_between(&rollups, day(12), day(20)).is_empty());
        assert!(days_between(&rollups, day(5), day(4)).is_empty());
    }

    #[test]
    fn uptime_excludes_maintenance() {
        let c = Counts {
            runs: 10,
            up: 6,
            degraded: 1,
            down: 3,
            maintenance: 2,
            maintenance_down: 2,
        };
        assert_eq!(c.uptime(), Some(100.0 * 7.0 / 8.0));
        assert_eq!(Counts::default().uptime(), None);
    }
}
