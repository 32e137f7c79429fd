//! What a run's write costs must not grow with the store's history: counted
//! in SQLite instructions (the same on any machine, loaded or not), on stores
//! simulated through the real code with a few days and with a month behind them.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use outpost::config::{self, Config};
use outpost::demo::simulate::{self, Plan};
use outpost::evaluate::record::{record, retain};
use outpost::model::{Cause, Outcome, ProbeId, ProbeResult, ResultId};
use outpost::store::Store;

/// Noon, so no round below crosses a UTC midnight (the once-a-day rollup
/// retention is not a per-run cost).
fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0)
        .single()
        .expect("date")
}

fn simulated(dir: &std::path::Path, days: u32) -> (Config, Store) {
    let plan = Plan {
        probes: 10,
        days,
        every: Duration::from_secs(600),
        locations: 2,
        now: noon(),
        seed: 7,
    };
    let text = simulate::config_text(&plan);
    let cfg = config::parse(&dir.join("probes.toml"), &text, |_| None).expect("config");
    let mut store = Store::open(&dir.join("s.db")).expect("store");
    simulate::simulate(&mut store, &cfg, &plan).expect("simulate");
    (cfg, store)
}

/// A round at `at` of every probe from both locations, all up or all down.
fn round(cfg: &Config, store: &Store, at: DateTime<Utc>, down: bool) -> Vec<ProbeResult> {
    let mut out = Vec::new();
    for (i, spec) in cfg.probes.iter().enumerate() {
        let latest = store
            .results_for(&ProbeId(spec.id.0.clone()), 1)
            .expect("latest")
            .pop()
            .expect("a result");
        for (l, location) in ["sim-1", "sim-2"].into_iter().enumerate() {
            let mut r = latest.clone();
            r.location = location.to_string();
            r.id = ResultId((at.timestamp() as u32) ^ ((i * 2 + l) as u32));
            r.started_at = at + chrono::Duration::milliseconds(i as i64);
            if down {
                r.outcome = Outcome::Down;
                r.cause = Some(Cause::Status);
                r.message = Some("expected status 2xx, got 503".into());
                r.status = Some(503);
            } else {
                r.outcome = Outcome::Up;
                r.cause = None;
                r.message = None;
                r.status = Some(200);
            }
            out.push(r);
        }
    }
    out
}

/// Instructions to write one round as `run` writes it.
fn write(cfg: &Config, store: &mut Store, results: &[ProbeResult], at: DateTime<Utc>) -> u64 {
    let (written, n) = store
        .instructions_during(|s| {
            s.write(|w| {
                record(w, cfg, results, at, false)?;
                retain(w, cfg, at)
            })
        })
        .expect("count");
    written.expect("write");
    n
}

/// Three rounds after the history: healthy, then all down twice (the second
/// crosses `failure_threshold = 2`: every probe opens an incident at once).
fn costs(days: u32) -> [u64; 3] {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cfg, mut store) = simulated(dir.path(), days);
    let mut out = [0; 3];
    for (k, down) in [false, true, true].into_iter().enumerate() {
        let at = noon() + chrono::Duration::minutes(5 * (k as i64 + 1));
        let results = round(&cfg, &store, at, down);
        out[k] = write(&cfg, &mut store, &results, at);
    }
    let open = store
        .incidents()
        .expect("incidents")
        .iter()
        .filter(|i| i.resolved_at.is_none())
        .count();
    assert!(
        open >= cfg.probes.len(),
        "every probe has an open incident: {open}"
    );
    out
}

#[test]
fn a_rounds_write_and_a_mass_outage_cost_the_same_at_any_store_age() {
    let young = costs(2);
    let old = costs(30);
    for (what, (y, o)) in ["healthy round", "first failures", "10 incidents opened"]
        .into_iter()
        .zip(young.into_iter().zip(old))
    {
        // The same work: a store fifteen times older may differ only in the
        // odd varint or page split, never by a scan of its history.
        let ratio = o as f64 / y as f64;
        assert!(
            (0.8..1.25).contains(&ratio),
            "{what}: {y} instructions with 2 days of history, {o} with 30"
        );
    }
}
