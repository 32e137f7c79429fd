//! `flow` probes: steps run in order, each an `http` probe with templates
//! filled from earlier captures, sharing one cookie jar. The first failing
//! step ends the flow except for `always` (clean-up) steps; the flow's
//! timeout bounds the whole run, and a step's own timeout only its step.
//!
//! Captured values and cookies are secrets: every message leaving here has
//! them replaced by `{{name}}` (or `{{cookie}}`), so they never reach the
//! store, the page, logs or alerts.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use http::HeaderValue;
use url::Url;

use super::http::{check, fetch_with};
use super::{ProbeContext, Progress};
use crate::config::{FlowStep, FlowTarget, HttpTarget, ProbeSpec};
use crate::model::{Cause, Failure, Observation, Outcome, Phases, StepRecord};
use crate::redact::Secrets;

mod capture;
mod cookies;
mod template;

pub use cookies::Jar;
use template::{Values, expand};

/// Values shorter than this are not blanked: a captured `201` or `42` would
/// otherwise turn every "got 201" into "got {{status}}", and is no secret.
const MIN_SECRET_LEN: usize = 4;

/// What one step did, with what it measured.
struct StepRun {
    record: StepRecord,
    /// The observation of the step, for the flow's own fields (the address,
    /// the certificate, the HTTP version).
    observation: Observation,
}

/// Run `flow` until `deadline` (the flow's timeout from its start).
pub async fn probe(
    flow: &FlowTarget,
    spec: &ProbeSpec,
    ctx: &ProbeContext,
    deadline: Instant,
) -> Observation {
    let mut captured: HashMap<String, String> = HashMap::new();
    let mut jar = Jar::new();
    let mut runs: Vec<StepRun> = Vec::with_capacity(flow.steps.len());
    // Whether a step that is not clean-up went down: the rest is skipped.
    let mut failed = false;
    for step in &flow.steps {
        let now = Instant::now();
        if (failed && !step.always) || now >= deadline {
            runs.push(StepRun {
                record: StepRecord::skipped(&step.name, step.always),
                observation: Observation::up(),
            });
            continue;
        }
        // A clean-up step that needs what a failed step did not capture
        // (the id of an order never created) has nothing to clean up.
        if let Some(missing) = step.references().find(|n| !captured.contains_key(*n)) {
            let mut record = StepRecord::skipped(&step.name, step.always);
            record.message = Some(format!("not run: `{{{{{missing}}}}}` was not captured"));
            runs.push(StepRun {
                record,
                observation: Observation::up(),
            });
            continue;
        }
        let run = run_step(step, spec, ctx, &mut captured, &mut jar, deadline).await;
        if !step.always && run.record.outcome == Some(Outcome::Down) {
            failed = true;
        }
        runs.push(run);
    }
    let secrets = Secrets::captured(
        captured
            .into_iter()
            .chain(jar.values().map(|v| ("cookie".to_string(), v.to_string())))
            .filter(|(_, v)| v.len() >= MIN_SECRET_LEN),
    );
    summarize(runs, &secrets)
}

/// One step under the smaller of its own timeout and the flow's remaining time.
async fn run_step(
    step: &FlowStep,
    spec: &ProbeSpec,
    ctx: &ProbeContext,
    captured: &mut HashMap<String, String>,
    jar: &mut Jar,
    deadline: Instant,
) -> StepRun {
    let started = Instant::now();
    let remaining = deadline.saturating_duration_since(started);
    let (bound, whose) = match step.timeout {
        Some(t) if t < remaining => (t, "the step's timeout"),
        _ => (remaining, "the flow's timeout"),
    };
    let mut progress = Progress::default();
    let mut names = Vec::new();
    let work = attempt(step, spec, ctx, captured, jar, &mut progress, &mut names);
    let observation = match tokio::time::timeout(bound, work).await {
        Ok(o) => o,
        Err(_) => progress.fail(
            Cause::Timeout,
            format!(
                "timed out after {} ({whose}) during {}",
                humantime::format_duration(round_ms(started.elapsed())),
                progress.stage.as_str()
            ),
        ),
    };
    let failure = observation.failure.clone();
    StepRun {
        record: StepRecord {
            name: step.name.clone(),
            outcome: Some(observation.outcome),
            cause: failure.as_ref().map(|f| f.cause),
            message: failure.map(|f| f.message),
            status: observation.status,
            latency: started.elapsed(),
            phases: observation.phases,
            always: step.always,
            captures: names,
        },
        observation,
    }
}

/// The request, the hard checks, the captures, then the soft checks (so a
/// degraded step still binds what later steps need).
async fn attempt(
    step: &FlowStep,
    spec: &ProbeSpec,
    ctx: &ProbeContext,
    captured: &mut HashMap<String, String>,
    jar: &mut Jar,
    progress: &mut Progress,
    names: &mut Vec<String>,
) -> Observation {
    let target = match request(step, captured) {
        Ok(t) => t,
        Err(f) => return progress.observation().down(f),
    };
    let keep = if step.needs_body() {
        target.max_body
    } else {
        0
    };
    let fetched = match fetch_with(&target, spec.ip_version, ctx, progress, keep, Some(jar)).await {
        Ok(f) => f,
        Err(f) => return progress.observation().down(f),
    };
    let observation = progress.observation();
    let cert = progress.cert_expires_at;
    if let Err(f) = check(&step.expect, &fetched, cert, true) {
        return observation.down(f);
    }
    for c in &step.captures {
        match capture::take(c, &fetched) {
            Ok(v) => {
                captured.insert(c.name.clone(), v);
                names.push(c.name.clone());
            }
            Err(f) => return observation.down(f),
        }
    }
    match check(&step.degraded, &fetched, cert, false) {
        Ok(()) => observation,
        Err(f) => observation.degrade(f),
    }
}

/// The step's request with its templates filled in.
fn request(step: &FlowStep, captured: &HashMap<String, String>) -> Result<HttpTarget, Failure> {
    let values = Values {
        captured,
        now: chrono::Utc::now(),
    };
    let fill = |t, what: &str| {
        expand(t, &values).map_err(|m| Failure::new(Cause::Assertion, format!("{what}: {m}")))
    };
    let mut target = step.target.clone();
    let url = fill(&step.url, "url")?;
    target.url = match Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
        // The value may be a secret: name the problem, not the text.
        _ => {
            return Err(Failure::new(
                Cause::Assertion,
                "url: not a valid http(s) URL once its {{names}} are filled in",
            ));
        }
    };
    target.headers = Vec::with_capacity(step.headers.len());
    for (name, template, sensitive) in &step.headers {
        let value = fill(template, name.as_str())?;
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            Failure::new(
                Cause::Assertion,
                format!(
                    "header {name}: not a valid header value once its {{{{names}}}} are filled in"
                ),
            )
        })?;
        value.set_sensitive(*sensitive);
        target.headers.push((name.clone(), value));
    }
    if let Some(body) = &step.body {
        target.body = Some(fill(body, "body")?.into_bytes());
    }
    Ok(target)
}

/// The flow's observation from its steps: the outcome of the worst step that
/// is not clean-up, the message of the first such step at that outcome
/// (named), phases summed, status and address of that step (or the last
/// step run).
fn summarize(runs: Vec<StepRun>, secrets: &Secrets) -> Observation {
    let counted = runs
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.record.always && r.record.outcome.is_some());
    let worst = counted
        .clone()
        .map(|(_, r)| r.record.outcome.unwrap_or(Outcome::Up))
        .max()
        .unwrap_or(Outcome::Up);
    let culprit = counted
        .clone()
        .find(|(_, r)| r.record.outcome == Some(worst) && worst != Outcome::Up)
        .map(|(i, _)| i)
        .or_else(|| counted.clone().next_back().map(|(i, _)| i));

    let mut obs = Observation::up();
    let mut phases = Phases::default();
    for r in &runs {
        let p = r.record.phases;
        for (sum, part) in [
            (&mut phases.dns, p.dns),
            (&mut phases.connect, p.connect),
            (&mut phases.tls, p.tls),
            (&mut phases.ttfb, p.ttfb),
            (&mut phases.transfer, p.transfer),
        ] {
            if let Some(d) = part {
                *sum = Some(sum.unwrap_or_default() + d);
            }
        }
        // The certificate closest to expiry of any step, for `cert_days` alerts.
        if let Some(t) = r.observation.cert_expires_at {
            obs.cert_expires_at = Some(obs.cert_expires_at.map_or(t, |c| c.min(t)));
        }
    }
    obs.phases = phases;
    if let Some(i) = culprit {
        let o = &runs[i].observation;
        obs.status = o.status;
        obs.ip = o.ip;
        obs.http_version = o.http_version;
        obs.body_bytes = o.body_bytes;
        obs.body_decoded_bytes = o.body_decoded_bytes;
        if worst != Outcome::Up {
            let r = &runs[i].record;
            let failure = Failure::new(
                r.cause.unwrap_or(Cause::Assertion),
                format!(
                    "step {} `{}`: {}",
                    i + 1,
                    r.name,
                    r.message.as_deref().unwrap_or("failed")
                ),
            );
            obs = if worst == Outcome::Down {
                obs.down(failure)
            } else {
                obs.degrade(failure)
            };
        }
    }
    obs.failure = obs
        .failure
        .map(|f| Failure::new(f.cause, secrets.redact(&f.message)));
    obs.steps = runs
        .into_iter()
        .map(|r| StepRecord {
            message: r.record.message.as_deref().map(|m| secrets.redact(m)),
            ..r.record
        })
        .collect();
    obs
}

/// To the millisecond, for messages.
fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}
