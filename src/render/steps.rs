//! A flow's steps over the last 24 hours, for its page and metrics.prom:
//! each step's latency, how often it failed, and how its latest run went.

use std::collections::BTreeMap;

use serde::Serialize;

use super::gather::{exact_percentile, public_message};
use crate::model::{Outcome, ProbeResult, StepRecord, millis};

/// One step of a flow over 24 hours.
#[derive(Debug, Clone, Serialize)]
pub struct StepStats {
    pub name: String,
    /// Clean-up (`always = true`).
    pub always: bool,
    /// Runs in which the step ran (skipped ones are not counted).
    pub runs: u64,
    pub down: u64,
    pub degraded: u64,
    /// Runs in which it did not run because an earlier step failed.
    pub skipped: u64,
    /// Latency percentiles in ms over the runs in which it ran.
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    /// The latest run: `up`, `degraded`, `down` or `skipped`.
    pub last: &'static str,
    /// Why the latest run was not up (addresses hidden unless public).
    pub last_message: Option<String>,
}

/// A step of the latest result, for metrics.prom.
#[derive(Debug, Clone, Serialize)]
pub struct LatestStep {
    pub name: String,
    pub outcome: Option<Outcome>,
    pub latency_ms: f64,
}

/// Steps of the latest result.
pub fn latest_steps(r: &ProbeResult) -> Vec<LatestStep> {
    r.steps
        .iter()
        .map(|s| LatestStep {
            name: s.name.clone(),
            outcome: s.outcome,
            latency_ms: millis(s.latency),
        })
        .collect()
}

/// Per-step figures of `recent` (oldest first), in the order of the newest
/// run's steps (a step renamed or removed since comes after them).
pub fn step_stats(recent: &[ProbeResult], public_target: bool) -> Vec<StepStats> {
    let mut order: Vec<&str> = Vec::new();
    if let Some(latest) = recent.iter().rev().find(|r| !r.steps.is_empty()) {
        order.extend(latest.steps.iter().map(|s| s.name.as_str()));
    }
    let mut by: BTreeMap<&str, Vec<&StepRecord>> = BTreeMap::new();
    for s in recent.iter().flat_map(|r| &r.steps) {
        if !order.contains(&s.name.as_str()) {
            order.push(s.name.as_str());
        }
        by.entry(s.name.as_str()).or_default().push(s);
    }
    order
        .into_iter()
        .filter_map(|name| {
            let runs = by.get(name)?;
            let last = runs.last()?;
            let mut ms: Vec<f64> = runs
                .iter()
                .filter(|s| s.outcome.is_some())
                .map(|s| millis(s.latency))
                .collect();
            ms.sort_by(f64::total_cmp);
            let count = |o: Option<Outcome>| runs.iter().filter(|s| s.outcome == o).count() as u64;
            Some(StepStats {
                name: name.to_string(),
                always: last.always,
                runs: ms.len() as u64,
                down: count(Some(Outcome::Down)),
                degraded: count(Some(Outcome::Degraded)),
                skipped: count(None),
                p50: exact_percentile(&ms, 0.50),
                p95: exact_percentile(&ms, 0.95),
                last: last.outcome_str(),
                last_message: public_message(last.message.as_ref(), public_target),
            })
        })
        .collect()
}
