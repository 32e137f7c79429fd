//! `outpost watch`: the long-running mode for a VM or a container. Each probe
//! runs on its own `interval` (first runs spread over it, later ones jittered),
//! finished results are stored in batches with the same transaction as a run
//! (evaluate, rollups), notifications go out as they are queued, and the site
//! is re-rendered at most every `--render-every`. SIGTERM or Ctrl-C lets the
//! probes in flight finish and be stored, then exits 0.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};

use super::run::{self, Runner, Site};
use super::{CommandError, Exit};
use crate::cli::WatchArgs;
use crate::config::{self, ProbeSpec};
use crate::engine;
use crate::model::ProbeResult;
use crate::schedule::{self, Jitter};
use crate::shutdown::Shutdown;
use crate::store::StoreError;

/// Results finished within this window are written in one transaction.
const TICK: Duration = Duration::from_secs(1);
/// Retention pruning is cheap but need not run on every write.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Notifications a channel refused are tried again this often (a cron run's
/// pace), so a dead channel does not burn through its attempts in minutes.
const RETRY_DELIVERY_EVERY: Duration = Duration::from_secs(300);
/// Consecutive failed writes (each keeping its results for the next) before
/// watch gives up with the store's exit code and lets a supervisor restart it.
const MAX_FAILED_WRITES: u32 = 60;
/// The longest the loop sleeps with nothing scheduled.
const IDLE: Duration = Duration::from_secs(60);

/// Watch every configured probe until stopped.
pub async fn watch(args: &WatchArgs) -> Result<Exit, CommandError> {
    let shutdown = Shutdown::listen();
    let cfg = config::load(&args.config.config).map_err(|e| CommandError::usage(e.to_string()))?;
    let store = run::open_store(&args.db)?;
    let options = run::run_options(args.location.clone(), args.concurrency, args.now);
    let site = args.render.clone().map(|out| Site {
        out,
        templates: args.templates.clone(),
    });
    let runner = Runner::new(cfg, store, options, !args.no_alert, site);
    Watch::new(runner, args.render_every, shutdown).run().await
}

/// A probe that finished (or was skipped because a stop was asked for).
struct Finished {
    index: usize,
    result: Option<ProbeResult>,
}

/// The watch loop's state.
struct Watch {
    runner: Runner,
    specs: Vec<ProbeSpec>,
    shutdown: Shutdown,
    jitter: Jitter,
    /// When each probe (by index in `specs`) next starts.
    due: Vec<Instant>,
    in_flight: Vec<bool>,
    global: Arc<Semaphore>,
    hosts: Arc<engine::HostGates>,
    done_tx: mpsc::UnboundedSender<Finished>,
    done_rx: mpsc::UnboundedReceiver<Finished>,
    /// Finished results not yet stored.
    pending: Vec<ProbeResult>,
    next_flush: Instant,
    next_prune: Instant,
    failed_writes: u32,
    /// The outbox may hold notifications to send (true at start: what an
    /// earlier process left).
    undelivered: bool,
    next_delivery: Instant,
    /// Results were stored since the site was last rendered.
    dirty: bool,
    render_every: Duration,
    next_render: Instant,
}

impl Watch {
    fn new(runner: Runner, render_every: Duration, shutdown: Shutdown) -> Self {
        let specs = runner.cfg.probes.clone();
        let now = Instant::now();
        let mut jitter = Jitter::seeded();
        let due = specs
            .iter()
            .map(|s| now + jitter.first_delay(s.interval))
            .collect();
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Watch {
            global: Arc::new(Semaphore::new(runner.options.concurrency.max(1))),
            hosts: Arc::new(engine::HostGates::new()),
            in_flight: vec![false; specs.len()],
            undelivered: runner.alert,
            runner,
            specs,
            shutdown,
            jitter,
            due,
            done_tx,
            done_rx,
            pending: Vec::new(),
            next_flush: now,
            next_prune: now,
            failed_writes: 0,
            next_delivery: now,
            dirty: false,
            render_every,
            next_render: now,
        }
    }

    async fn run(mut self) -> Result<Exit, CommandError> {
        tracing::info!(
            probes = self.specs.len(),
            location = %self.runner.options.location,
            "watching"
        );
        loop {
            let now = Instant::now();
            self.launch_due(now);
            let wake = self.next_wake(now);
            let finished = tokio::select! {
                _ = self.shutdown.requested() => break,
                Some(done) = self.done_rx.recv() => Some(done),
                _ = tokio::time::sleep_until(wake.into()) => None,
            };
            if let Some(done) = finished {
                self.finished(done);
            }
            let now = Instant::now();
            if !self.pending.is_empty() && now >= self.next_flush {
                self.flush(now).await?;
            }
            if self.undelivered && now >= self.next_delivery {
                self.deliver(now).await;
            }
            if self.dirty && now >= self.next_render {
                self.render(now);
            }
        }

        let in_flight = self.in_flight.iter().filter(|f| **f).count();
        tracing::info!(in_flight, "stopping: waiting for the probes in flight");
        while self.in_flight.iter().any(|f| *f) {
            match self.done_rx.recv().await {
                Some(done) => self.finished(done),
                None => break,
            }
        }
        let now = Instant::now();
        if !self.pending.is_empty() {
            // One last try; the store's busy timeout already waits for other writers.
            self.store_pending(now)
                .await
                .map_err(|e| CommandError::store(e.to_string()))?;
        }
        if self.dirty {
            self.render(now);
        }
        tracing::info!("stopped");
        Ok(Exit::Ok)
    }

    /// Start every probe that is due and not still running (one run of a
    /// probe at a time: a probe slower than its interval starts again as soon
    /// as it finishes).
    fn launch_due(&mut self, now: Instant) {
        for i in 0..self.specs.len() {
            if self.in_flight[i] || self.due[i] > now {
                continue;
            }
            let interval = self.specs[i].interval;
            self.due[i] = schedule::next_due(self.due[i], now, interval, &mut self.jitter);
            self.in_flight[i] = true;
            self.launch(i);
        }
    }

    fn launch(&mut self, index: usize) {
        let spec = self.specs[index].clone();
        let hosts = self.hosts.clone();
        let global = self.global.clone();
        let ctx = self.runner.ctx.clone();
        let options = self.runner.options.clone();
        let shutdown = self.shutdown.clone();
        let done = self.done_tx.clone();
        tokio::spawn(async move {
            // The same bounds as a run, held across all probes of the process.
            let _host = hosts.enter(&spec.host(), spec.host_concurrency).await;
            let _global = global.acquire_owned().await;
            // Queued behind the bounds when a stop came: not started, so skipped.
            let result = if shutdown.is_requested() {
                None
            } else {
                engine::run_all(std::slice::from_ref(&spec), &ctx, &options, |_| {})
                    .await
                    .pop()
            };
            let _ = done.send(Finished { index, result });
        });
    }

    fn finished(&mut self, done: Finished) {
        self.in_flight[done.index] = false;
        if let Some(mut result) = done.result {
            self.runner.redact(&mut result);
            tracing::debug!(probe = %result.probe, outcome = ?result.outcome, "probe finished");
            self.pending.push(result);
        }
    }

    /// The next moment something is due: a probe start, a batch write, a
    /// delivery retry or a render.
    fn next_wake(&self, now: Instant) -> Instant {
        let mut wake = now + IDLE;
        for (due, busy) in self.due.iter().zip(&self.in_flight) {
            if !busy {
                wake = wake.min(*due);
            }
        }
        if !self.pending.is_empty() {
            wake = wake.min(self.next_flush);
        }
        if self.undelivered {
            wake = wake.min(self.next_delivery);
        }
        if self.dirty {
            wake = wake.min(self.next_render);
        }
        wake
    }

    /// Store the pending results; on failure keep them for the next tick.
    async fn flush(&mut self, now: Instant) -> Result<(), CommandError> {
        self.next_flush = now + TICK;
        match self.store_pending(now).await {
            Ok(()) => {
                self.failed_writes = 0;
                Ok(())
            }
            Err(e) => {
                self.failed_writes += 1;
                if self.failed_writes >= MAX_FAILED_WRITES {
                    return Err(CommandError::store(e.to_string()));
                }
                tracing::error!(error = %e, results = self.pending.len(), "could not store results; retrying");
                Ok(())
            }
        }
    }

    /// The pending results, evaluation and rollups in one transaction (as a
    /// run writes them), then the notifications that queued.
    async fn store_pending(&mut self, now: Instant) -> Result<(), StoreError> {
        let prune = now >= self.next_prune;
        let evaluation = self.runner.record(&self.pending, prune)?;
        tracing::info!(results = self.pending.len(), "results stored");
        self.pending.clear();
        self.dirty |= self.runner.site.is_some();
        if prune {
            self.next_prune = now + PRUNE_EVERY;
        }
        if evaluation.queued > 0 {
            self.deliver(now).await;
        }
        Ok(())
    }

    async fn deliver(&mut self, now: Instant) {
        self.next_delivery = now + RETRY_DELIVERY_EVERY;
        match self.runner.deliver().await {
            Ok(report) => self.undelivered = report.pending > 0,
            Err(e) => {
                tracing::error!(error = %e.message, "could not read the outbox");
                self.undelivered = true;
            }
        }
    }

    /// Render the site; a failure is logged and watching goes on.
    fn render(&mut self, now: Instant) {
        self.dirty = false;
        self.next_render = now + self.render_every;
        if let Err(e) = self.runner.render() {
            tracing::error!(error = %e.message, "could not render the site");
        }
    }
}
