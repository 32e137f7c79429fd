//! `outpost run`: probe, store, report, exit code.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{CommandError, Exit};
use crate::alert::outbox::{DeliveryReport, deliver_pending};
use crate::cli::{FailOn, Format, RunArgs};
use crate::clock::Clock;
use crate::config::{self, Config, ProbeSpec};
use crate::engine::{self, RunOptions};
use crate::evaluate::evaluate;
use crate::model::{Outcome, ProbeResult};
use crate::probe::ProbeContext;
use crate::report::{self, RunReport};
use crate::store::Store;

/// Progress appears only when a run on a terminal takes longer than this.
const PROGRESS_AFTER: Duration = Duration::from_secs(1);

/// Run every selected probe once.
pub async fn run(args: &RunArgs) -> Result<Exit, CommandError> {
    let cfg = config::load(&args.config.config).map_err(|e| CommandError::usage(e.to_string()))?;
    let specs = select(&cfg, &args.only)?;
    let location = args.location.clone().unwrap_or_else(default_location);

    // Open the store before probing: a store we cannot use fails the run at once
    // rather than after minutes of probing.
    let mut store = Store::open(&args.db).map_err(|e| CommandError::store(e.to_string()))?;

    let clock = match args.now {
        Some(t) => Clock::starting_at(t),
        None => Clock::system(),
    };
    let started_at = clock.now();
    let ctx = ProbeContext::new();
    let bar = progress_bar(specs.len());
    let concurrency = crate::fd_limit::fit_concurrency(args.concurrency as usize);
    if concurrency < args.concurrency as usize {
        tracing::warn!(
            wanted = args.concurrency,
            concurrency,
            "concurrency lowered to fit the open-file limit (ulimit -n)"
        );
    }
    let options = RunOptions {
        concurrency,
        location: location.clone(),
        clock,
    };
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
    let mut results = engine::run_all(&specs, &ctx, &options, on_done).await;
    reveal.abort();
    bar.finish_and_clear();

    for r in &mut results {
        r.message = r.message.as_deref().map(|m| cfg.secrets.redact(m));
    }
    tracing::info!(probes = results.len(), location = %location, "run finished");

    // Results, state changes, the notifications they queue, rollups and
    // retention: one transaction, so a crash leaves the store as it was.
    let now = clock.now();
    let evaluation = store
        .write(|w| {
            w.insert_results(&results)?;
            let evaluation = evaluate(w, &cfg, &results, now, !args.no_alert)?;
            let in_maintenance = |r: &ProbeResult| {
                cfg.maintenance
                    .iter()
                    .any(|m| m.covers(&r.probe, r.started_at))
            };
            w.update_rollups(&results, &in_maintenance)?;
            for spec in &specs {
                let keep = chrono::Duration::days(i64::from(spec.retention_days));
                w.prune(&spec.id.0, now - keep)?;
            }
            Ok(evaluation)
        })
        .map_err(|e| CommandError::store(e.to_string()))?;
    for c in &evaluation.changes {
        tracing::info!(probe = %c.probe, from = %c.from, to = %c.to, "state changed");
    }

    let delivery = if args.no_alert {
        DeliveryReport::default()
    } else {
        deliver_pending(&store, &cfg, &clock)
            .await
            .map_err(|e| CommandError::store(e.to_string()))?
    };

    if let Some(out) = &args.render {
        let summary =
            super::render::render_site(&cfg, &store, out, args.templates.as_deref(), clock.now())?;
        tracing::info!("{summary}");
    }

    let report = RunReport {
        location,
        started_at,
        results,
        evaluation,
        delivery,
    };
    let text = match args.format {
        Format::Json => report::json::render(&report),
        Format::Table => report::table::render(&report, &specs, std::io::stdout().is_terminal()),
        Format::Junit => report::junit::render(&report, &specs, args.fail_on),
        Format::Github => {
            // Set by GitHub Actions for each step; other steps append there too.
            let summary = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty());
            if let Some(path) = summary.as_deref().map(Path::new) {
                let markdown = report::github::summary(&report, &specs);
                if let Err(e) = report::github::append_summary(path, &markdown) {
                    let path = path.display();
                    tracing::warn!(%path, error = %e, "could not write the job summary");
                }
            }
            report::github::render(&report, &specs)
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();

    Ok(exit_for(&report.results, args.fail_on))
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
