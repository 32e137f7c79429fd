//! A probe's objectives as the outputs show them: budget left over 30 days,
//! the burn rate per window, the alerts firing, and the budget over time.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::windows::{Inputs, Source, Tally};
use super::{Target, quorum_pick, targets, window_burn};
use crate::config::{Config, ProbeSpec};
use crate::model::burn::{
    BUDGET_WINDOW, BurnAlert, Objective, WindowBurn, burn_rate, exhaustion_seconds,
};
use crate::store::burn::HourCounts;
use crate::store::{Store, StoreError};

/// Every objective of one probe.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProbeBurn {
    pub objectives: Vec<ObjectiveStatus>,
}

impl ProbeBurn {
    /// Whether a `fast` alert of any objective fires.
    pub fn burning_fast(&self) -> bool {
        self.objectives
            .iter()
            .any(|o| o.firing.contains(&BurnAlert::Fast))
    }

    pub fn objective(&self, o: Objective) -> Option<&ObjectiveStatus> {
        self.objectives.iter().find(|s| s.objective == o)
    }
}

/// One objective now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectiveStatus {
    pub objective: Objective,
    /// Percent.
    pub target: f64,
    pub under_ms: Option<f64>,
    /// Share of the 30-day budget left; `None` without results.
    pub budget_left: Option<f64>,
    /// Results over 30 days and those that spent budget.
    pub results: u64,
    pub bad: u64,
    /// The burn rate over each window the alerts use, shortest first.
    pub windows: Vec<WindowBurn>,
    pub firing: Vec<BurnAlert>,
    /// At the 1-hour rate (the shortest long window).
    pub exhausted_in_seconds: Option<i64>,
    /// Budget left at each UTC day boundary of the 30 days, then now.
    #[serde(skip)]
    pub chart: Vec<(DateTime<Utc>, f64)>,
}

/// The 30-day budget of one objective, at the quorum-th lowest location.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    pub left: Option<f64>,
    pub tally: Tally,
    location: Option<String>,
}

pub(super) fn budget(inputs: &Inputs, spec: &ProbeSpec, target: Target) -> Budget {
    let spent: Vec<(f64, (Tally, String))> = inputs
        .locations
        .iter()
        .map(|(l, s)| {
            (
                Tally::of(inputs.window(s, BUDGET_WINDOW), target.objective),
                l,
            )
        })
        .filter(|(t, _)| t.results > 0)
        .map(|(t, l)| {
            let base = t.results.max(expected_results(spec));
            (burn_rate(t.bad, base, target.percent), (t, l.clone()))
        })
        .collect();
    match quorum_pick(spent, spec.quorum) {
        Some((spent, (tally, location))) => Budget {
            left: Some(1.0 - spent),
            tally,
            location: Some(location),
        },
        None => Budget::default(),
    }
}

/// Results the 30 days hold at the probe's interval. A probe younger than
/// that is measured against them (the results still to come counted as
/// good), as the page's SLO card is: one failed first minute is not the
/// month's budget.
fn expected_results(spec: &ProbeSpec) -> u64 {
    let interval = spec.interval.as_secs_f64().max(1.0);
    (BUDGET_WINDOW.as_secs_f64() / interval) as u64
}

/// The status of every objective of `spec` from `inputs`; `open` lists the
/// alerts firing.
pub fn from_inputs(
    inputs: &Inputs,
    spec: &ProbeSpec,
    open: &[(Objective, BurnAlert)],
) -> ProbeBurn {
    let windows: BTreeSet<std::time::Duration> = spec
        .burn
        .rules
        .iter()
        .flat_map(|r| [r.short, r.long])
        .collect();
    let objectives = targets(spec)
        .into_iter()
        .map(|target| {
            let b = budget(inputs, spec, target);
            let shown: Vec<WindowBurn> = windows
                .iter()
                .map(|d| window_burn(inputs, spec, target, *d))
                .collect();
            let hour_rate = shown
                .iter()
                .find(|w| w.seconds == 3600)
                .map_or(0.0, |w| w.burn_rate);
            ObjectiveStatus {
                objective: target.objective,
                target: target.percent,
                under_ms: target.under_ms,
                budget_left: b.left,
                results: b.tally.results,
                bad: b.tally.bad,
                exhausted_in_seconds: b.left.and_then(|l| exhaustion_seconds(l, hour_rate)),
                chart: chart(inputs, spec, target, &b),
                windows: shown,
                firing: open
                    .iter()
                    .filter(|(o, _)| *o == target.objective)
                    .map(|(_, a)| *a)
                    .collect(),
            }
        })
        .collect();
    ProbeBurn { objectives }
}

/// The budget burning down over the 30 days: at each day boundary, the
/// share left of the window's budget after what the window spent so far.
fn chart(
    inputs: &Inputs,
    spec: &ProbeSpec,
    target: Target,
    b: &Budget,
) -> Vec<(DateTime<Utc>, f64)> {
    let (Some(location), true) = (&b.location, b.tally.results > 0 && inputs.has_hours()) else {
        return Vec::new();
    };
    let Some(series) = inputs.locations.get(location) else {
        return Vec::new();
    };
    let base = b.tally.results.max(expected_results(spec));
    let allowed = (100.0 - target.percent) / 100.0 * base as f64;
    let start = inputs.start_of(BUDGET_WINDOW);
    let whole_bad = b.tally.bad;
    let mut out = Vec::new();
    let day = chrono::Duration::days(1);
    let Some(mut at) = DateTime::from_timestamp_millis(start).and_then(|t| t.duration_trunc_day())
    else {
        return out;
    };
    // Spent up to each day boundary, added a day at a time (summing the
    // whole span again for each of 31 boundaries was a tenth of a render).
    let (mut spent, mut from) = (HourCounts::default(), start);
    while at < inputs.now {
        let to = at.timestamp_millis();
        if to > from {
            spent.add(inputs.spent_between(series, from, to));
            from = to;
        }
        let bad = Tally::of(spent, target.objective).bad;
        out.push((at, left_of(bad, allowed)));
        at += day;
    }
    out.push((inputs.now, left_of(whole_bad, allowed)));
    out
}

fn left_of(spent: u64, allowed: f64) -> f64 {
    if allowed > 0.0 {
        1.0 - spent as f64 / allowed
    } else if spent > 0 {
        f64::NEG_INFINITY
    } else {
        1.0
    }
}

trait TruncDay {
    fn duration_trunc_day(self) -> Option<DateTime<Utc>>;
}

impl TruncDay for DateTime<Utc> {
    fn duration_trunc_day(self) -> Option<DateTime<Utc>> {
        use chrono::DurationRound;
        (self + chrono::Duration::days(1))
            .duration_trunc(chrono::Duration::days(1))
            .ok()
    }
}

/// The status of `spec`'s objectives from the store, as of `now` (page,
/// report, metrics).
pub fn read(
    store: &Store,
    cfg: &Config,
    spec: &ProbeSpec,
    now: DateTime<Utc>,
) -> Result<ProbeBurn, StoreError> {
    read_from(store, store, cfg, spec, now)
}

/// [`read`], with the windows' counts and raw results from `src` (a render
/// hands over the results it has just read for the page).
pub fn read_from(
    store: &Store,
    src: &dyn Source,
    cfg: &Config,
    spec: &ProbeSpec,
    now: DateTime<Utc>,
) -> Result<ProbeBurn, StoreError> {
    let inputs = super::inputs(src, cfg, spec, now)?;
    let open: Vec<(Objective, BurnAlert)> = store
        .open_burn_alerts(&spec.id.0)?
        .into_iter()
        .map(|e| (e.objective, e.alert))
        .collect();
    Ok(from_inputs(&inputs, spec, &open))
}
