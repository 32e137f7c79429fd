//! Running many probes at once: one global bound and at most a few probes per
//! host at a time, so a run is fast without hammering any target.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, Semaphore};

use crate::config::ProbeSpec;
use crate::model::ProbeResult;
use crate::probe::{self, ProbeContext};

/// How a run is bounded and where it runs from.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub concurrency: usize,
    pub location: String,
    pub clock: crate::clock::Clock,
}

/// Per-host politeness: a probe with `host_concurrency = N` starts only while
/// fewer than N probes run against its host. Each probe brings its own bound,
/// so one probe's larger bound never lets the others exceed theirs.
#[derive(Debug, Default)]
pub struct HostGates {
    gates: Mutex<HashMap<String, Arc<Gate>>>,
}

#[derive(Debug, Default)]
struct Gate {
    running: Mutex<usize>,
    freed: Notify,
}

/// A probe's place on its host; dropping it lets the next probe in.
#[derive(Debug)]
pub struct HostPermit {
    gate: Arc<Gate>,
}

impl Drop for HostPermit {
    fn drop(&mut self) {
        let mut running = self.gate.running.lock().unwrap_or_else(|e| e.into_inner());
        *running = running.saturating_sub(1);
        drop(running);
        self.gate.freed.notify_waiters();
    }
}

impl HostGates {
    pub fn new() -> Self {
        Self::default()
    }

    /// Wait until fewer than `bound` probes run against `host`, then count this one.
    pub async fn enter(&self, host: &str, bound: usize) -> HostPermit {
        let gate = self
            .gates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(host.to_string())
            .or_default()
            .clone();
        loop {
            // Registered before the check, so a permit dropped in between still wakes us.
            let freed = gate.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut running = gate.running.lock().unwrap_or_else(|e| e.into_inner());
                if *running < bound.max(1) {
                    *running += 1;
                    return HostPermit { gate: gate.clone() };
                }
            }
            freed.await;
        }
    }
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
    let hosts = Arc::new(HostGates::new());
    let on_done = Arc::new(on_done);
    let mut tasks = Vec::with_capacity(specs.len());
    for (index, spec) in specs.iter().enumerate() {
        let hosts = hosts.clone();
        let global = global.clone();
        let spec = spec.clone();
        let ctx = ctx.clone();
        let location = options.location.clone();
        let clock = options.clock;
        let on_done = on_done.clone();
        tasks.push(tokio::spawn(async move {
            // Host first: a task queued behind a busy host holds no global slot.
            let _host = hosts.enter(&spec.host(), spec.host_concurrency).await;
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
                body_bytes: obs.body_bytes,
                body_decoded_bytes: obs.body_decoded_bytes,
                http_version: obs.http_version,
                ip: obs.ip,
                steps: obs.steps,
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
                body_bytes: None,
                body_decoded_bytes: None,
                http_version: None,
                ip: None,
                steps: Vec::new(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn each_probe_keeps_its_own_host_bound() {
        let gates = Arc::new(HostGates::new());
        let now = Arc::new(AtomicUsize::new(0));
        let peak_strict = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..24 {
            let (gates, now, peak_strict) = (gates.clone(), now.clone(), peak_strict.clone());
            // Every third probe insists on running alone on the host.
            let bound = if i % 3 == 0 { 1 } else { 3 };
            tasks.push(tokio::spawn(async move {
                let _p = gates.enter("api.test", bound).await;
                let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                assert!(running <= 3, "{running} at once");
                if bound == 1 {
                    peak_strict.fetch_max(running, Ordering::SeqCst);
                }
                tokio::task::yield_now().await;
                now.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(peak_strict.load(Ordering::SeqCst), 1);
        // Another host is not held up by this one.
        let _a = gates.enter("api.test", 1).await;
        let _b = gates.enter("other.test", 1).await;
    }
}
