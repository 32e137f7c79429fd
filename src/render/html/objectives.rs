//! The objectives section of a probe page: each objective, its 30-day
//! budget, the burn rate per alerting window, the burn alerts firing, and a
//! chart of the budget burning down over the 30 days (inline SVG, no script).

use serde::Serialize;

use super::format;
use crate::evaluate::burn::status::{ObjectiveStatus, ProbeBurn};
use crate::model::burn::Objective;

/// Chart size in SVG user units (scaled by CSS).
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 120.0;

/// One objective, ready to show.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectiveView {
    pub name: &'static str,
    /// "99.9% of results available", "99% of results under 300 ms".
    pub target: String,
    pub budget: String,
    pub budget_key: &'static str,
    pub windows: Vec<BurnWindowView>,
    /// "fast", "slow", "ticket": the burn alerts firing.
    pub firing: Vec<String>,
    /// "Budget gone in 3d 4h at the last hour's rate".
    pub exhaustion: Option<String>,
    pub chart: Option<BudgetChart>,
}

/// One window's burn rate.
#[derive(Debug, Clone, Serialize)]
pub struct BurnWindowView {
    pub window: String,
    pub rate: String,
    /// `warn` at 1× or more (the budget would not last 30 days).
    pub key: &'static str,
}

/// The polyline of budget left over the 30 days, and its zero line.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetChart {
    pub width: u32,
    pub height: u32,
    /// `x,y x,y …`: numbers only.
    pub points: String,
    /// Where 0% budget left is drawn.
    pub zero_y: String,
    pub label: String,
}

/// The views of every objective of a probe.
pub fn objectives(burn: &ProbeBurn) -> Vec<ObjectiveView> {
    burn.objectives.iter().map(view).collect()
}

fn view(o: &ObjectiveStatus) -> ObjectiveView {
    let target = match o.under_ms {
        Some(ms) => format!(
            "{} of results faster than {}",
            format::percent(o.target),
            format::latency(Some(ms))
        ),
        None => format!("{} of results available", format::percent(o.target)),
    };
    let budget_key = match o.budget_left.filter(|l| l.is_finite()) {
        None => "unknown",
        Some(l) if l > 0.25 => "ok",
        Some(l) if l > 0.0 => "warn",
        Some(_) => "down",
    };
    ObjectiveView {
        name: match o.objective {
            Objective::Availability => "Availability",
            Objective::Latency => "Latency",
        },
        target,
        budget: format::budget(o.budget_left),
        budget_key,
        windows: o
            .windows
            .iter()
            .map(|w| BurnWindowView {
                window: w.window.clone(),
                rate: if w.results == 0 {
                    "no data".to_string()
                } else if w.burn_rate.is_finite() {
                    format!("{:.1}×", w.burn_rate)
                } else {
                    "∞".to_string()
                },
                key: if w.burn_rate >= 1.0 { "warn" } else { "ok" },
            })
            .collect(),
        firing: o.firing.iter().map(|a| a.as_str().to_string()).collect(),
        exhaustion: o.exhausted_in_seconds.map(|s| {
            format!(
                "At the last hour's rate the budget is gone in {}.",
                crate::alert::message::human_duration(chrono::Duration::seconds(s))
            )
        }),
        chart: chart(o),
    }
}

fn chart(o: &ObjectiveStatus) -> Option<BudgetChart> {
    let (first, last) = (o.chart.first()?, o.chart.last()?);
    let span = (last.0 - first.0).num_seconds().max(1) as f64;
    // From 100% down to 0%, or lower when overspent (cut at -100%).
    let low = o
        .chart
        .iter()
        .map(|(_, v)| v.max(-1.0))
        .fold(0.0f64, f64::min);
    let y = |v: f64| HEIGHT - (v.clamp(low, 1.0) - low) / (1.0 - low) * HEIGHT;
    let points: Vec<String> = o
        .chart
        .iter()
        .map(|(t, v)| {
            let x = (*t - first.0).num_seconds() as f64 / span * WIDTH;
            format!("{x:.1},{:.1}", y(*v))
        })
        .collect();
    Some(BudgetChart {
        width: WIDTH as u32,
        height: HEIGHT as u32,
        points: points.join(" "),
        zero_y: format!("{:.1}", y(0.0)),
        label: format!(
            "Error budget left over the last 30 days, from {} to {}",
            format::budget_short(Some(first.1)),
            format::budget_short(Some(last.1))
        ),
    })
}
