//! `outpost run`: probe, store, report, exit code; with `--repeat N --every D`,
//! N such rounds on a fixed beat in one process. The round itself ([`Runner`])
//! is shared with `watch`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{CommandError, Exit};
use crate::alert::outbox::{DeliveryReport, deliver_pending};
use crate::cli::{FailOn, Format, RunArgs};
use crate::clock::Clock;
use crate::config::{self, Config, ProbeSpec};
use crate::engine::{self, RunOptions};
use crate::evaluate::Evaluation;
use crate::evaluate::record::{Retained, record, retain};
use crate::model::{Outcome, ProbeResult};
use crate::probe::ProbeContext;
use crate::report::{self, RunReport};
use crate::schedule::{Slots, Start};
use crate::shutdown::Shutdown;
use crate::store::{Store, StoreError};

/// Progress appears only when a run on a terminal takes longer than this.
const PROGRESS_AFTER: Duration = Duration::from_secs(1);

/// Run every selected probe once, or `--repeat` times on the `--every` beat.
pub async fn run(args: &RunArgs) -> Result<Exit, CommandError> {
    // First: a signal from here on lets the round in flight finish and be stored.
    let shutdown = Shutdown::listen();
    let cfg = config::load(&args.config.config).map_err(|e| {
        if args.format == Format::Github {
            print_stdout(&report::github::config_annotations(&e, &args.config.config));
        }
        CommandError::usage(e.to_string())
    })?;
    let specs = select(&cfg, &args.only)?;
    let rounds = args.repeat.unwrap_or(1);
    let every = match (rounds, args.every) {
        (1, every) => every.unwrap_or_default(),
        (_, Some(every)) => every,
        (_, None) => return Err(CommandError::usage("--repeat needs --every DURATION")),
    };

    // Open the store before probing: a store we cannot use fails the run at once
    // rather than after minutes of probing.
    let store = open_store(&args.db)?;
    let options = run_options(args.location.clone(), args.concurrency, args.now);
    let site = args.render.clone().map(|out| Site {
        out,
        templates: args.templates.clone(),
    });
    let mut runner = Runner::new(cfg, store, options, !args.no_alert, site);

    let slots = Slots::new(std::time::Instant::now(), every);
    let mut exit = Exit::Ok;
    // JUnit is one document for the whole job: rounds are printed together.
    let mut junit_rounds = Vec::new();
    // GitHub caps annotations per step: one per probe and one summary per job.
    let mut github_job = report::github::Job::new();
    for k in 0..rounds {
        if k > 0 {
            match slots.start_of(k, std::time::Instant::now()) {
                Start::At(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at.into()) => {}
                        _ = shutdown.requested() => {}
                    }
                }
                Start::Late(by) => tracing::warn!(
                    round = k + 1,
                    late_ms = by.as_millis() as u64,
                    every = %humantime::format_duration(every),
                    "the previous round overran its slot; starting the next one now"
                ),
            }
        }
        if shutdown.is_requested() {
            tracing::info!(rounds_done = k, "stopping before the next round");
            break;
        }
        let report = runner.run_round(&specs).await?;
        if k > 0 && matches!(args.format, Format::Table | Format::Github) {
            // A blank line between the rounds' tables.
            let _ = writeln!(std::io::stdout());
        }
        if exit_for(&report.results, args.fail_on) == Exit::Failing {
            exit = Exit::Failing;
        }
        match args.format {
            Format::Junit => junit_rounds.push(report),
            Format::Github => {
                // Each round's table as it is stored; the last one after the
                // job's annotations, below.
                if k + 1 < rounds {
                    print_stdout(&report::github::table(&report, &specs));
                }
                github_job.add(&report);
                if k + 1 == rounds {
                    let mut text = github_job.annotations(&specs);
                    text.push_str(&report::github::table(&report, &specs));
                    print_stdout(&text);
                }
            }
            Format::Json | Format::Table => print_report(&report, &specs, args),
        }
    }
    if args.format == Format::Github {
        finish_github_job(&github_job, &specs, rounds);
    }
    if !junit_rounds.is_empty() {
        let text = report::junit::render_rounds(&junit_rounds, &specs, args.fail_on);
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
    Ok(exit)
}

/// Open (creating if needed) the store, as a command error.
pub fn open_store(path: &Path) -> Result<Store, CommandError> {
    Store::open(path).map_err(|e| CommandError::store(e.to_string()))
}

/// How probes run: the concurrency bound (lowered to fit the open-file limit),
/// the location (default: the host name), the clock (`--now` or the system's).
pub fn run_options(
    location: Option<String>,
    concurrency: u32,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> RunOptions {
    let fitted = crate::fd_limit::fit_concurrency(concurrency as usize);
    if fitted < concurrency as usize {
        tracing::warn!(
            wanted = concurrency,
            concurrency = fitted,
            "concurrency lowered to fit the open-file limit (ulimit -n)"
        );
    }
    RunOptions {
        concurrency: fitted,
        location: location.unwrap_or_else(default_location),
        // Set once: a `--now` clock then advances with real time across rounds.
        clock: match now {
            Some(t) => Clock::starting_at(t),
            None => Clock::system(),
        },
    }
}

/// Where `--render` writes the status site.
#[derive(Debug, Clone)]
pub struct Site {
    pub out: PathBuf,
    pub templates: Option<PathBuf>,
}

/// What a process keeps from one round to the next: the config, the open
/// store, how probes run, whether to alert and where to render.
pub struct Runner {
    pub cfg: Config,
    pub store: Store,
    pub ctx: ProbeContext,
    pub options: RunOptions,
    pub alert: bool,
    pub site: Option<Site>,
}

impl Runner {
    /// A runner over an open store; loads the system trust roots once.
    pub fn new(
        cfg: Config,
        store: Store,
        options: RunOptions,
        alert: bool,
        site: Option<Site>,
    ) -> Self {
        Runner {
            cfg,
            store,
            ctx: ProbeContext::new(),
            options,
            alert,
            site,
        }
    }

    /// One round: probe `specs` concurrently, record the results, deliver
    /// notifications, render if asked. The report is what `run` prints.
    pub async fn run_round(&mut self, specs: &[ProbeSpec]) -> Result<RunReport, CommandError> {
        let started_at = self.options.clock.now();
        let mut results = self.probe_all(specs).await;
        for r in &mut results {
            self.redact(r);
        }
        tracing::info!(probes = results.len(), location = %self.options.location, "run finished");

        let evaluation = self
            .record(&results, true)
            .map_err(|e| CommandError::store(e.to_string()))?;
        let delivery = self.deliver().await?;
        self.render()?;

        Ok(RunReport {
            location: self.options.location.clone(),
            started_at,
            results,
            evaluation,
            delivery,
        })
    }

    /// Probe every spec at once (within the bounds), with a progress bar on a
    /// terminal when it takes a while.
    async fn probe_all(&self, specs: &[ProbeSpec]) -> Vec<ProbeResult> {
        let bar = progress_bar(specs.len());
        let on_done = {
            let bar = bar.clone();
            move |r: &ProbeResult| {
                bar.inc(1);
                bar.set_message(r.probe.0.clone());
            }
        };
        let reveal = {
            let bar = bar.clone();
            tokio::spawn(async move {
                tokio::time::sleep(PROGRESS_AFTER).await;
                if std::io::stderr().is_terminal() {
                    bar.set_draw_target(ProgressDrawTarget::stderr());
                }
            })
        };
        let results = engine::run_all(specs, &self.ctx, &self.options, on_done).await;
        reveal.abort();
        bar.finish_and_clear();
        results
    }

    /// Mask the config's secrets in a result's messages (a flow's steps
    /// included) before they are stored or shown.
    pub fn redact(&self, r: &mut ProbeResult) {
        r.message = r.message.as_deref().map(|m| self.cfg.secrets.redact(m));
        for s in &mut r.steps {
            s.message = s.message.as_deref().map(|m| self.cfg.secrets.redact(m));
        }
    }

    /// Results, the state changes they cause, the notifications those queue,
    /// rollups and (with `prune`) retention: one transaction, so a crash
    /// leaves the store as it was.
    pub fn record(
        &mut self,
        results: &[ProbeResult],
        prune: bool,
    ) -> Result<Evaluation, StoreError> {
        let now = self.options.clock.now();
        let cfg = &self.cfg;
        let alert = self.alert;
        let (evaluation, retained) = self.store.write(|w| {
            let evaluation = record(w, cfg, results, now, alert)?;
            let retained = if prune {
                retain(w, cfg, now)?
            } else {
                Retained::default()
            };
            Ok((evaluation, retained))
        })?;
        if retained.vacuum {
            self.store.vacuum()?;
        }
        for c in &evaluation.changes {
            tracing::info!(probe = %c.probe, from = %c.from, to = %c.to, "state changed");
        }
        Ok(evaluation)
    }

    /// Deliver what the outbox holds (nothing with alerts off).
    pub async fn deliver(&self) -> Result<DeliveryReport, CommandError> {
        if !self.alert {
            return Ok(DeliveryReport::default());
        }
        deliver_pending(&self.store, &self.cfg, &self.options.clock)
            .await
            .map_err(|e| CommandError::store(e.to_string()))
    }

    /// Write the status site, if this runner has one.
    pub fn render(&self) -> Result<(), CommandError> {
        if let Some(site) = &self.site {
            let summary = super::render::render_site(
                &self.cfg,
                &self.store,
                &site.out,
                site.templates.as_deref(),
                self.options.clock.now(),
            )?;
            tracing::info!("{summary}");
        }
        Ok(())
    }
}

/// Print one round's report on stdout in the chosen format. With `--repeat`,
/// each round prints its own: a JSON document per round (each followed by a
/// newline), a table per round, and so on.
fn print_report(report: &RunReport, specs: &[ProbeSpec], args: &RunArgs) {
    let text = match args.format {
        Format::Json => report::json::render(report),
        Format::Table => report::table::render(report, specs, std::io::stdout().is_terminal()),
        Format::Junit => report::junit::render(report, specs, args.fail_on),
        Format::Github => report::github::render(report, specs),
    };
    print_stdout(&text);
}

/// The end of a `--format github` job: when it stopped before its last round,
/// the annotations it has not printed yet; then the one job summary.
fn finish_github_job(job: &report::github::Job, specs: &[ProbeSpec], rounds: u32) {
    if job.rounds() == 0 {
        return;
    }
    if job.rounds() < rounds {
        print_stdout(&job.annotations(specs));
    }
    // Set by GitHub Actions for each step; other steps append there too.
    let summary = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty());
    if let Some(path) = summary.as_deref().map(Path::new) {
        let markdown = job.summary(specs);
        if let Err(e) = report::github::append_summary(path, &markdown) {
            let path = path.display();
            tracing::warn!(%path, error = %e, "could not write the job summary");
        }
    }
}

fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn select(cfg: &Config, only: &[String]) -> Result<Vec<ProbeSpec>, CommandError> {
    if only.is_empty() {
        return Ok(cfg.probes.clone());
    }
    for id in only {
        if !cfg.probes.iter().any(|p| p.id.0 == *id) {
            let known: Vec<&str> = cfg.probes.iter().map(|p| p.id.0.as_str()).collect();
            return Err(CommandError::usage(format!(
                "--only {id}: no probe has this id (known: {})",
                known.join(", ")
            )));
        }
    }
    Ok(cfg
        .probes
        .iter()
        .filter(|p| only.contains(&p.id.0))
        .cloned()
        .collect())
}

/// The host name, the default location.
pub fn default_location() -> String {
    gethostname::gethostname()
        .into_string()
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "local".to_string())
}

fn progress_bar(len: usize) -> Arc<ProgressBar> {
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::hidden());
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} probing {pos}/{len} {wide_bar} {msg}")
    {
        bar.set_style(style);
    }
    Arc::new(bar)
}

fn exit_for(results: &[ProbeResult], fail_on: FailOn) -> Exit {
    let failing = |o: Outcome| match fail_on {
        FailOn::Down => o == Outcome::Down,
        FailOn::Degraded => o >= Outcome::Degraded,
        FailOn::Never => false,
    };
    if results.iter().any(|r| failing(r.outcome)) {
        Exit::Failing
    } else {
        Exit::Ok
    }
}
