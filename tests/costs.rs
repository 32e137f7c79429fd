//! What a run's write and a CI merge cost must not grow with the store's
//! history, nor a run's write with the time of day: counted in SQLite
//! instructions (the same on any machine, loaded or not) and in rows read, on
//! stores simulated through the real code with a few days and with a month
//! behind them.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use outpost::commands::merge::fold;
use outpost::config::{self, Config};
use outpost::demo::simulate::{self, Plan};
use outpost::evaluate::record::{record, retain};
use outpost::model::{Cause, Outcome, ProbeId, ProbeResult, ResultId};
use outpost::store::Store;
use outpost::store::merge::SeriesMerged;

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

/// The CI matrix at `days` of history: the saved store (both locations) is
/// each runner's starting point; runner `sim-N` adds `rounds` rounds of its
/// own; the shards are merged back into the saved store, one after the
/// other. Returns the instructions of the merge (target and shards), what
/// it read and added, and what merging the same shards again added.
fn merge_costs(days: u32, rounds: i64) -> (u64, SeriesMerged, SeriesMerged) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cfg, store) = simulated(dir.path(), days);
    let saved = store.path().to_path_buf();
    let rounds: Vec<(DateTime<Utc>, Vec<ProbeResult>)> = (0..rounds)
        .map(|k| {
            let at = noon() + chrono::Duration::minutes(10 * (k + 1));
            (at, round(&cfg, &store, at, k % 3 == 2))
        })
        .collect();
    // Closed, so the whole store is in the main file the runners copy.
    drop(store);
    let mut shards = Vec::new();
    for location in ["sim-1", "sim-2"] {
        let path = dir.path().join(format!("{location}.db"));
        // The runner starts from the saved store, as the workflow restores it.
        std::fs::copy(&saved, &path).expect("copy the saved store");
        let mut shard = Store::open(&path).expect("shard");
        for (at, results) in &rounds {
            let own: Vec<ProbeResult> = results
                .iter()
                .filter(|r| r.location == location)
                .cloned()
                .collect();
            write(&cfg, &mut shard, &own, *at);
        }
        drop(shard);
        shards.push(path);
    }
    let mut target = Store::open(&saved).expect("target");
    let at = rounds.last().map_or(noon(), |r| r.0) + chrono::Duration::minutes(5);
    let merge_all = |target: &mut Store| {
        let mut total = SeriesMerged::default();
        let mut instructions = 0;
        for path in &shards {
            let mut shard = Store::open_read_only(path).expect("open shard");
            let ((merged, n_target), n_shard) = shard
                .instructions_during(|shard| {
                    target
                        .instructions_during(|t| {
                            t.write(|w| fold(w, Some(&cfg), std::slice::from_ref(shard), at, false))
                        })
                        .expect("count")
                })
                .expect("count");
            let merged = merged.expect("merge");
            total += merged.total();
            instructions += n_target + n_shard;
        }
        (instructions, total)
    };
    let (instructions, first) = merge_all(&mut target);
    let (_, again) = merge_all(&mut target);
    (instructions, first, again)
}

#[test]
fn a_ci_merge_reads_what_is_new_not_the_history() {
    let rounds = 5;
    let (young, read_young, _) = merge_costs(2, rounds);
    let (old, read_old, again) = merge_costs(30, rounds);
    let ratio = old as f64 / young as f64;
    assert!(
        (0.8..1.25).contains(&ratio),
        "merge: {young} instructions with 2 days of history, {old} with 30"
    );
    // 10 probes × 2 locations × 5 rounds, from their own shard only.
    assert_eq!(read_old.added, 100, "{read_old:?}");
    assert_eq!(read_young.added, 100, "{read_young:?}");
    // Each shard holds 10 probes × 2 locations = 20 series. Of each, the merge
    // reads the newest block the target holds and the new hour, and the
    // target's latest day of rollups: a handful of rows, whatever the age.
    for read in [read_young, read_old] {
        assert!(read.blocks_read <= 2 * 20 * 2, "{read:?}");
        assert!(read.rollups_read <= 2 * 20, "{read:?}");
        assert_eq!(read.rollups_copied, 0, "{read:?}");
    }
    assert_eq!(read_old.blocks_read, read_young.blocks_read);
    // Merging the same shards again adds nothing and copies nothing.
    assert_eq!(
        (again.added, again.rollups_updated, again.rollups_copied),
        (0, 0, 0),
        "{again:?}"
    );
}

/// Instructions of rounds written through one UTC day, every ten minutes,
/// sampled at `hh:15` (after the once-a-day retention of the first round).
fn through_a_day() -> Vec<(u32, u64)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cfg, mut store) = simulated(dir.path(), 3);
    // Start at the next midnight after the history.
    let midnight = Utc
        .with_ymd_and_hms(2026, 11, 21, 0, 5, 0)
        .single()
        .expect("date");
    let mut out = Vec::new();
    for k in 0..144 {
        let at = midnight + chrono::Duration::minutes(10 * k);
        let results = round(&cfg, &store, at, false);
        let n = write(&cfg, &mut store, &results, at);
        if at.format("%M").to_string() == "15" {
            out.push((at.format("%H").to_string().parse().expect("hour"), n));
        }
    }
    out
}

#[test]
fn a_rounds_write_costs_the_same_at_any_time_of_day() {
    let day = through_a_day();
    assert_eq!(day.len(), 24);
    let first = day[0].1;
    for (hour, n) in &day {
        let ratio = *n as f64 / first as f64;
        assert!(
            (0.8..1.25).contains(&ratio),
            "{hour:02}:15 costs {n} instructions, 00:15 {first}: {day:?}"
        );
    }
}
