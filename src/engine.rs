//! Running many probes at once: one global bound and at most a few probes per
//! host at a time, so a run is fast without hammering any target.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::config::ProbeSpec;
use crate::model::ProbeResult;
use crate::probe::{self, ProbeContext};

/// At most this many probes talk to one host at once.
pub const PER_HOST: usize = 4;

/// How a run is bounded and where it runs from.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub concurrency: usize,
    pub location: String,
    pub clock: crate::clock::Clock,
}

/// Probe every spec concurrently; results come back in the order of `specs`.
/// `on_done` is called as each probe finishes (progress display).
pub async fn run_all(
    specs: &[ProbeSpec],
    ctx: &ProbeContext,
    options: &RunOptions,
    on_done: impl Fn(&ProbeResult) + Send + Sync + 'static,
) -> Vec<ProbeResult> {
    let global = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut hosts: HashMap<String, Arc<Semaphore>> = HashMap::new();
    let on_done = Arc::new(on_done);
    let mut tasks = Vec::with_capacity(specs.len());
    for (index, spec) in specs.iter().enumerate() {
        let host = hosts
            .entry(spec.host())
            .or_insert_with(|| Arc::new(Semaphore::new(PER_HOST)))
            .clone();
        let global = global.clone();
        let spec = spec.clone();
        let ctx = ctx.clone();
        let location = options.location.clone();
        let clock = options.clock;
        let on_done = on_done.clone();
        tasks.push(tokio::spawn(async move {
            // Host first: a task queued behind a busy host holds no global slot.
            let _host = host.acquire_owned().await;
            let _global = global.acquire_owned().await;
            let started_at = clock.now();
            // Boxed and created only now: a queued task holds no probe future,
            // so memory grows with the concurrency bound, not the probe count.
            let (obs, latency) = Box::pin(probe::execute(&spec, &ctx)).await;
            let result = ProbeResult {
                probe: spec.id.clone(),
                id: crate::model::ResultId::random(),
                location,
                started_at,
                outcome: obs.outcome,
                cause: obs.failure.as_ref().map(|f| f.cause),
                message: obs.failure.map(|f| f.message),
                status: obs.status,
                latency,
                phases: obs.phases,
                cert_expires_at: obs.cert_expires_at,
            };
            on_done(&result);
            (index, result)
        }));
    }
    let mut out: Vec<Option<ProbeResult>> = vec![None; specs.len()];
    for task in tasks {
        match task.await {
            Ok((index, result)) => out[index] = Some(result),
            // A panic inside one probe must not take the run down: report it as
            // that probe's failure (the index is lost, so it is found below).
            Err(e) => tracing::error!("probe task failed: {e}"),
        }
    }
    out.into_iter()
        .zip(specs)
        .map(|(r, spec)| {
            r.unwrap_or_else(|| ProbeResult {
                probe: spec.id.clone(),
                id: crate::model::ResultId::random(),
                location: options.location.clone(),
                started_at: options.clock.now(),
                outcome: crate::model::Outcome::Down,
                cause: Some(crate::model::Cause::Protocol),
                message: Some("internal error while probing (see logs)".to_string()),
                status: None,
                latency: std::time::Duration::ZERO,
                phases: Default::default(),
                cert_expires_at: None,
            })
        })
        .collect()
}
