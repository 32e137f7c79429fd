//! What a simulated `flow` run adds to its result: a record per step, with
//! the flow's latency shared among them, and a failure pinned on one step.

use crate::config::FlowTarget;
use crate::model::{Outcome, ProbeResult, StepRecord, millis};

use super::history::{Rng, http_phases, ms};

/// A simulated store's flow `p{i}`: log in, create, read, delete.
pub(crate) fn config_text(i: u32, group: u32) -> String {
    let base = format!("https://p{i}.sim.invalid");
    format!(
        r#"
[[probe]]
id = "p{i}"
name = "Service {i} orders"
group = "Group {group}"
kind = "flow"

[[probe.step]]
name = "log in"
url = "{base}/login"
method = "POST"
capture = {{ token = {{ json = "$.access_token" }} }}

[[probe.step]]
name = "create order"
url = "{base}/orders"
method = "POST"
headers = {{ Authorization = "Bearer {{{{token}}}}" }}
capture = {{ id = {{ json = "$.id" }} }}

[[probe.step]]
name = "read order"
url = "{base}/orders/{{{{id}}}}"
headers = {{ Authorization = "Bearer {{{{token}}}}" }}

[[probe.step]]
name = "delete order"
always = true
method = "DELETE"
url = "{base}/orders/{{{{id}}}}"
headers = {{ Authorization = "Bearer {{{{token}}}}" }}
"#
    )
}

/// Give a simulated flow result its steps, sharing out its latency.
pub(crate) fn fill(r: &mut ProbeResult, flow: &FlowTarget, rng: &mut Rng) {
    r.steps = steps(flow, rng, millis(r.latency));
    fail(r);
}

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
    // A degraded flow is a slow one: every step still passed.
    if r.outcome != Outcome::Down || r.steps.is_empty() {
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
            after = true;
        } else if after && !step.always {
            *step = StepRecord::skipped(step.name.clone(), false);
        }
    }
    if let Some(m) = &r.message {
        r.message = Some(format!("step {} `{}`: {m}", at + 1, r.steps[at].name));
    }
}
