//! The words of burn-rate alerting (SRE Workbook, "Alerting on SLOs"), shared
//! by the config, the store, evaluation, alerts and the page.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The window every objective is measured over, and its budget spent over.
pub const BUDGET_WINDOW: Duration = Duration::from_secs(30 * 86_400);

/// What an objective promises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// `slo`: the share of results that are not `down`.
    Availability,
    /// `latency_slo`: the share of available results faster than `under`.
    Latency,
}

impl Objective {
    pub const ALL: [Objective; 2] = [Objective::Availability, Objective::Latency];

    pub fn as_str(self) -> &'static str {
        match self {
            Objective::Availability => "availability",
            Objective::Latency => "latency",
        }
    }

    pub fn parse(s: &str) -> Option<Objective> {
        Objective::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The three alerts of the Workbook's table, each its own alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BurnAlert {
    /// 2% of the budget in an hour: page.
    Fast,
    /// 5% in six hours: page.
    Slow,
    /// 10% in three days: a ticket.
    Ticket,
}

impl BurnAlert {
    pub const ALL: [BurnAlert; 3] = [BurnAlert::Fast, BurnAlert::Slow, BurnAlert::Ticket];

    pub fn as_str(self) -> &'static str {
        match self {
            BurnAlert::Fast => "fast",
            BurnAlert::Slow => "slow",
            BurnAlert::Ticket => "ticket",
        }
    }

    pub fn parse(s: &str) -> Option<BurnAlert> {
        BurnAlert::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The Workbook's defaults: burn rate, long window, short window.
    pub fn defaults(self) -> (f64, Duration, Duration) {
        const MIN: u64 = 60;
        const HOUR: u64 = 3600;
        match self {
            BurnAlert::Fast => (
                14.4,
                Duration::from_secs(HOUR),
                Duration::from_secs(5 * MIN),
            ),
            BurnAlert::Slow => (
                6.0,
                Duration::from_secs(6 * HOUR),
                Duration::from_secs(30 * MIN),
            ),
            BurnAlert::Ticket => (
                1.0,
                Duration::from_secs(72 * HOUR),
                Duration::from_secs(6 * HOUR),
            ),
        }
    }
}

impl fmt::Display for BurnAlert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The burn rate over one window: how many times faster than "exactly the
/// budget in 30 days" the budget went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowBurn {
    /// `"1h"`, `"5m"`: the configured window.
    pub window: String,
    /// The window actually measured, stretched to hold enough results.
    pub seconds: i64,
    pub burn_rate: f64,
    /// Results in the window, and how many of them spent budget.
    pub results: u64,
    pub bad: u64,
}

/// What a burn notification says on top of a state notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BurnDetails {
    pub objective: Objective,
    pub alert: BurnAlert,
    /// The objective, percent.
    pub target: f64,
    /// The latency objective's threshold, ms.
    pub under_ms: Option<f64>,
    /// The burn rate both windows must reach for the alert to fire.
    pub threshold: f64,
    /// The alert's long and short windows.
    pub windows: Vec<WindowBurn>,
    /// Share of the 30-day budget left (may be negative: overspent).
    pub budget_left: f64,
    /// Seconds until the budget is gone at the long window's rate; `None`
    /// when nothing burns.
    pub exhausted_in_seconds: Option<i64>,
    /// The objective's other alerts still firing after this event.
    pub still_firing: Vec<BurnAlert>,
}

/// A burn rate: the share of bad results over the share the objective allows.
pub fn burn_rate(bad: u64, results: u64, target_percent: f64) -> f64 {
    let allowed = (100.0 - target_percent) / 100.0;
    if results == 0 {
        return 0.0;
    }
    let share = bad as f64 / results as f64;
    if allowed <= 0.0 {
        // A 100% objective: any bad result burns without bound.
        return if bad > 0 { f64::INFINITY } else { 0.0 };
    }
    share / allowed
}

/// Seconds until `budget_left` (a share of the 30-day budget) is gone at `rate`.
pub fn exhaustion_seconds(budget_left: f64, rate: f64) -> Option<i64> {
    if rate.is_nan() || rate <= 0.0 || !budget_left.is_finite() {
        return None;
    }
    if budget_left <= 0.0 {
        return Some(0);
    }
    let secs = budget_left * BUDGET_WINDOW.as_secs_f64() / rate;
    secs.is_finite().then(|| secs.min(i64::MAX as f64) as i64)
}

/// `"5m"`, `"1h"`, `"3d"`: a window as the Workbook writes it.
pub fn window_label(d: Duration) -> String {
    let s = d.as_secs();
    if s > 0 && s.is_multiple_of(86_400) {
        format!("{}d", s / 86_400)
    } else if s > 0 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s > 0 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burn_rates_follow_the_workbook() {
        // 2 bad of 60 against 99.5: 6.7; against 99.9: 33.
        assert!((burn_rate(2, 60, 99.5) - 6.666).abs() < 0.01);
        assert!((burn_rate(2, 60, 99.9) - 33.33).abs() < 0.01);
        assert_eq!(burn_rate(0, 0, 99.9), 0.0);
        assert_eq!(burn_rate(1, 10, 100.0), f64::INFINITY);
        // 14.4 for an hour spends 2% of a 30-day budget.
        let spent = 14.4 * 3600.0 / BUDGET_WINDOW.as_secs_f64();
        assert!((spent - 0.02).abs() < 1e-9);
        assert_eq!(exhaustion_seconds(1.0, 1.0), Some(30 * 86_400));
        assert_eq!(exhaustion_seconds(0.5, 0.0), None);
        assert_eq!(window_label(Duration::from_secs(259_200)), "3d");
        assert_eq!(window_label(Duration::from_secs(300)), "5m");
    }
}
