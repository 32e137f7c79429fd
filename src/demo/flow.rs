//! What a simulated `flow` run adds to its result: a record per step, with
//! the flow's latency shared among them, and a failure pinned on one step.

use crate::config::FlowTarget;
use crate::model::{Outcome, ProbeResult, StepRecord};

use super::history::{Rng, http_phases, ms};

/// The steps of a clean run taking `total_ms` in all.
pub(crate) fn steps(flow: &FlowTarget, rng: &mut Rng, total_ms: f64) -> Vec<StepRecord> {
    let weights: Vec<f64> = flow.steps.iter().map(|_| rng.between(0.6, 1.4)).collect();
    let sum: f64 = weights.iter().sum::<f64>().max(f64::EPSILON);
    flow.steps
        .iter()
        .zip(weights)
        .map(|(step, w)| {
            let share = total_ms * w / sum;
            let https = step.target.url.scheme() == "https";
            StepRecord {
                name: step.name.clone(),
                outcome: Some(Outcome::Up),
                cause: None,
                message: None,
                status: Some(if step.target.method == http::Method::POST {
                    201
                } else {
                    200
                }),
                latency: ms(share),
                phases: http_phases(rng, share, https),
                always: step.always,
                captures: step.captures.iter().map(|c| c.name.clone()).collect(),
            }
        })
        .collect()
}

/// A failed run: the failure is the second step's (the first after logging
/// in, where things usually break), later steps are skipped but clean-up,
/// and the flow's message names the step.
pub(crate) fn fail(r: &mut ProbeResult) {
    if r.outcome == Outcome::Up || r.steps.is_empty() {
        return;
    }
    let at = 1.min(r.steps.len() - 1);
    let mut after = false;
    for (i, step) in r.steps.iter_mut().enumerate() {
        if i == at {
            step.outcome = Some(r.outcome);
            step.cause = r.cause;
            step.message = r.message.clone();
            step.status = r.status;
            after = r.outcome == Outcome::Down;
        } else if after && !step.always {
            *step = StepRecord::skipped(step.name.clone(), false);
        }
    }
    if let Some(m) = &r.message {
        r.message = Some(format!("step {} `{}`: {m}", at + 1, r.steps[at].name));
    }
}
