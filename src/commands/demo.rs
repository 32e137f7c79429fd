//! `outpost demo`: a complete status page with nothing to set up and no network.
//!
//! Local endpoints are started in this process, a config pointing at them is
//! written and loaded like any other, 90 days of simulated results go through
//! the real store and state machine (so incidents, states and rollups are the
//! ones `run` would have made), one live run probes the endpoints with the real
//! engine, and the site is rendered as `render` does.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::{CommandError, Exit};
use crate::cli::DemoArgs;
use crate::clock::Clock;
use crate::config::{self, Config};
use crate::demo::history::{self, Script, Simulation};
use crate::demo::simulate;
use crate::demo::{self, LOCATION, ScratchDir, endpoints};
use crate::engine::{self, RunOptions};
use crate::evaluate::evaluate;
use crate::evaluate::record::{in_maintenance, retain};
use crate::model::ProbeResult;
use crate::probe::ProbeContext;
use crate::store::{Store, StoreError};

/// Build the demo site into `args.out`.
pub async fn demo(args: &DemoArgs) -> Result<Exit, CommandError> {
    let started = Instant::now();
    if let Some(db) = &args.db
        && db.exists()
    {
        return Err(CommandError::usage(format!(
            "--db {}: the file exists; the demo writes a new store, so name one that does not exist",
            db.display()
        )));
    }

    if let Some(probes) = args.probes {
        return simulated(args, probes);
    }
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("public"));

    let endpoints = endpoints::start()
        .await
        .map_err(|e| CommandError::usage(format!("cannot start the demo endpoints: {e}")))?;
    let scratch = ScratchDir::new().map_err(|e| {
        CommandError::usage(format!(
            "cannot create a temporary folder for the demo: {e}"
        ))
    })?;
    let now = Utc::now();
    let script = Script::new(now);
    let cfg = write_config(scratch.path(), &endpoints, &script)?;

    let db = args
        .db
        .clone()
        .unwrap_or_else(|| scratch.path().join("demo.db"));
    let mut store = Store::open(&db).map_err(|e| CommandError::store(e.to_string()))?;

    // History, a simulated day per transaction: each run is inserted and
    // evaluated in turn as `run` does, and the day's rollups are rebuilt once
    // at its end (they are rebuilt from the raw results, so the outcome is the
    // same as rebuilding them after every run, 96 times cheaper).
    let simulated = Instant::now();
    let times = history::run_times(now);
    let mut sim = Simulation::new(
        &cfg,
        &script,
        endpoints.cert_expires_at,
        LOCATION,
        history::SEED,
    );
    // Burn-rate alerts are judged from where the longest burn window before
    // now begins: earlier rounds could only raise alerts long over.
    let longest = cfg
        .probes
        .iter()
        .flat_map(|p| p.burn.rules.iter().map(|r| r.long))
        .max()
        .unwrap_or_default();
    let burn_from = now - chrono::Duration::from_std(longest).unwrap_or(chrono::Duration::MAX);
    for day in times.chunk_by(|a, b| a.date_naive() == b.date_naive()) {
        let runs: Vec<(DateTime<Utc>, Vec<ProbeResult>)> =
            day.iter().map(|&at| (at, sim.run(at))).collect();
        store_runs(&mut store, &cfg, &runs, burn_from)
            .map_err(|e| CommandError::store(e.to_string()))?;
    }
    let simulated = simulated.elapsed();

    // The last run is real: the engine probes the endpoints.
    let live = Instant::now();
    let clock = Clock::system();
    let options = RunOptions {
        concurrency: 16,
        location: LOCATION.to_string(),
        clock,
    };
    let results = engine::run_all(&cfg.probes, &ProbeContext::new(), &options, |_| {}).await;
    let runs = [(clock.now(), results)];
    store_runs(&mut store, &cfg, &runs, burn_from)
        .map_err(|e| CommandError::store(e.to_string()))?;
    let [(_, results)] = runs;
    let live = live.elapsed();
    drop(endpoints);

    let rendered = super::render::render_site(&cfg, &store, &out, None, clock.now())?;
    let incidents = store
        .incidents()
        .map_err(|e| CommandError::store(e.to_string()))?;
    let open = incidents.iter().filter(|i| i.resolved_at.is_none()).count();

    let summary = Summary {
        probes: cfg.probes.len(),
        runs: times.len(),
        first: times.first().copied().unwrap_or(now),
        results: times.len() * cfg.probes.len() + results.len(),
        incidents: incidents.len(),
        open,
        notes: demo::incident_notes(&script).len(),
        simulated_ms: simulated.as_millis(),
        live_ms: live.as_millis(),
        total_ms: started.elapsed().as_millis(),
        rendered,
        out: &out,
        db: args.db.as_deref(),
        live: &results,
    };
    let _ = std::io::stdout()
        .lock()
        .write_all(summary.text().as_bytes());
    Ok(Exit::Ok)
}

/// `demo --probes N`: a store at real size, simulated (see demo/simulate.rs);
/// its config is written beside it as `FILE.toml`, so `render` and `report`
/// can read the store afterwards.
fn simulated(args: &DemoArgs, probes: u32) -> Result<Exit, CommandError> {
    let started = Instant::now();
    // `requires = "db"` in the arguments: always present here.
    let Some(db) = args.db.as_deref() else {
        return Err(CommandError::usage("--probes needs --db FILE"));
    };
    let plan = simulate::Plan {
        probes,
        days: args.days,
        every: args.every,
        locations: args.locations,
        now: Utc::now(),
        seed: history::SEED,
    };
    let text = simulate::config_text(&plan);
    let config_path = PathBuf::from(format!("{}.toml", db.display()));
    std::fs::write(&config_path, &text)
        .map_err(|e| CommandError::usage(format!("cannot write {}: {e}", config_path.display())))?;
    let cfg = config::parse(&config_path, &text, |_| None).map_err(|e| {
        CommandError::usage(format!("the simulated config does not load (a bug): {e}"))
    })?;
    let mut store = Store::open(db).map_err(|e| CommandError::store(e.to_string()))?;
    let sim = simulate::simulate(&mut store, &cfg, &plan)
        .map_err(|e| CommandError::store(e.to_string()))?;
    let simulated_s = started.elapsed().as_secs_f64();
    if let Some(out) = &args.out {
        let rendered = super::render::render_site(&cfg, &store, out, None, plan.now)?;
        tracing::info!("{rendered}");
    }
    drop(store);
    let size = std::fs::metadata(db).map(|m| m.len()).unwrap_or(0);
    let text = format!(
        "simulated {} probes x {} locations x {} days every {}: {} results ({} kept raw), {} incidents in {:.1} s\n\
         {}: {} bytes ({:.2} MB); config {}\n",
        plan.probes,
        plan.locations,
        plan.days,
        humantime::format_duration(plan.every),
        sim.results,
        sim.recorded,
        sim.incidents,
        simulated_s,
        db.display(),
        size,
        size as f64 / 1_000_000.0,
        config_path.display(),
    );
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(Exit::Ok)
}

/// Write probes.toml, the CA and the incident notes into `dir` and load the config.
fn write_config(
    dir: &Path,
    endpoints: &endpoints::Endpoints,
    script: &Script,
) -> Result<Config, CommandError> {
    let io = |what: &str, e: std::io::Error| {
        CommandError::usage(format!(
            "cannot write the demo's {what} in {}: {e}",
            dir.display()
        ))
    };
    std::fs::write(dir.join("ca.pem"), &endpoints.ca_pem).map_err(|e| io("ca.pem", e))?;
    let path = dir.join("probes.toml");
    let text = demo::config_text(endpoints, script);
    std::fs::write(&path, &text).map_err(|e| io("probes.toml", e))?;
    let notes = dir.join("incidents");
    std::fs::create_dir_all(&notes).map_err(|e| io("incidents folder", e))?;
    for (name, note) in demo::incident_notes(script) {
        std::fs::write(notes.join(name), note).map_err(|e| io(name, e))?;
    }
    // The environment is not consulted: the demo config uses no ${NAME}.
    config::parse(&path, &text, |_| None)
        .map_err(|e| CommandError::usage(format!("the demo config does not load (a bug): {e}")))
}

/// Write runs of one day in one transaction: the day's results stored and
/// rolled up at once (each counted once, as `run` counts them), then each run
/// evaluated in turn as `run` evaluates it (alerts off: the demo has no
/// channels; evaluation reads no raw results, so the order is the same), then
/// retention as of the last run. Burn-rate alerts are judged for runs from
/// `burn_from` on.
fn store_runs(
    store: &mut Store,
    cfg: &Config,
    runs: &[(DateTime<Utc>, Vec<ProbeResult>)],
    burn_from: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(last) = runs.last().map(|(at, _)| *at) else {
        return Ok(());
    };
    let all: Vec<ProbeResult> = runs.iter().flat_map(|(_, rs)| rs.iter().cloned()).collect();
    store.write(|w| {
        let added = w.record_results(&all, &|r| in_maintenance(cfg, r))?;
        crate::evaluate::record::add_to_burn_hours(w, cfg, &all, &added)?;
        for (at, results) in runs {
            if *at >= burn_from {
                evaluate(w, cfg, results, *at, false)?;
            } else {
                crate::evaluate::evaluate_history(w, cfg, results, *at)?;
            }
        }
        retain(w, cfg, last)?;
        Ok(())
    })
}

/// What the demo prints when it is done.
struct Summary<'a> {
    probes: usize,
    runs: usize,
    first: DateTime<Utc>,
    results: usize,
    incidents: usize,
    open: usize,
    notes: usize,
    simulated_ms: u128,
    live_ms: u128,
    total_ms: u128,
    rendered: String,
    out: &'a Path,
    db: Option<&'a Path>,
    live: &'a [ProbeResult],
}

impl Summary<'_> {
    fn text(&self) -> String {
        let days = (Utc::now() - self.first).num_days() + 1;
        let live: Vec<String> = self
            .live
            .iter()
            .map(|r| format!("{} {}", r.probe, r.outcome))
            .collect();
        let index = self.out.join("index.html");
        let url = std::fs::canonicalize(&index)
            .map(|p| format!("file://{}", p.display()))
            .unwrap_or_else(|_| index.display().to_string());
        let mut out = format!(
            "Outpost demo: {} probes on 127.0.0.1, {} simulated runs over {days} days ({} results) in {:.1} s\n\
             live run in {:.1} s: {}\n\
             {} incidents ({} still open), {} written incident notes\n\
             {}\n\
             done in {:.1} s\n\n\
             Open the page:  open {}\n\
             \x20           or {url}\n",
            self.probes,
            self.runs,
            self.results,
            self.simulated_ms as f64 / 1000.0,
            self.live_ms as f64 / 1000.0,
            live.join(", "),
            self.incidents,
            self.open,
            self.notes,
            self.rendered,
            self.total_ms as f64 / 1000.0,
            index.display(),
        );
        if let Some(db) = self.db {
            out.push_str(&format!(
                "The store is kept at {}; the config was temporary.\n",
                db.display()
            ));
        }
        out
    }
}
