//! The store at real size: file size, the cost of a run's non-probing part
//! and of rendering, at several store ages (issue "Run from CI at real size").
//!
//! Run with `cargo bench --bench store_scale`. For each age it simulates 100
//! HTTP probes at one-minute resolution from one location (`outpost demo
//! --probes 100 --days AGE --every 1m --db FILE` does the same), then:
//! - size: the file as the simulation leaves it;
//! - run: `STORE_BENCH_ROUNDS` further rounds of 100 results written as
//!   `outpost run` writes them (results, evaluation, rollups, retention, and
//!   the daily vacuum when a round crosses midnight), median and worst;
//! - steady state: one more simulated day of one-minute rounds, each written
//!   as a run writes it, and the largest the file got during that day;
//! - render: `gather` + `render` of the whole site, median of 3.
//!
//! Then 100 probes × 5 locations (the merged store of a five-runner matrix):
//! size only. Budgets: 10 MB for one location, 50 MB for five, under 0.3 s
//! per run and 1 s per render at any age.
//!
//! Knobs: `STORE_BENCH_AGES` (default "1,30,365"), `STORE_BENCH_ROUNDS` (20),
//! `STORE_BENCH_LOCATIONS_DAYS` (365; 0 skips the five-location store),
//! `STORE_BENCH_STEADY` (1; 0 skips the steady-state day).

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use outpost::config::{self, Config};
use outpost::demo::simulate::{self, Plan};
use outpost::evaluate::record::{record, retain};
use outpost::model::{ProbeId, ProbeResult, ResultId};
use outpost::render;
use outpost::store::Store;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("store_scale bench: skipped (run with `cargo bench --bench store_scale`)");
        return;
    }
    let num = |name: &str, default: &str| -> Vec<u32> {
        std::env::var(name)
            .unwrap_or_else(|_| default.into())
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect()
    };
    let ages = num("STORE_BENCH_AGES", "1,30,365");
    let rounds = num("STORE_BENCH_ROUNDS", "20")
        .first()
        .copied()
        .unwrap_or(20);
    let five_days = num("STORE_BENCH_LOCATIONS_DAYS", "365")
        .first()
        .copied()
        .unwrap_or(365);
    let steady = num("STORE_BENCH_STEADY", "1").first().copied().unwrap_or(1) > 0;

    println!(
        "| store age | simulate s | size MB | run ms (median / worst of {rounds}) | steady-state max MB | render ms |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for age in ages {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cfg, mut store, plan, took) = simulated(dir.path(), 100, age, 1);
        let db = dir.path().join("sim.db");
        let size = mb(&db);
        let mut clock = plan.now;
        let mut times = Vec::new();
        for _ in 0..rounds {
            clock += chrono::Duration::minutes(1);
            times.push(one_round(&cfg, &mut store, clock));
        }
        times.sort();
        let steady_max = if steady {
            let mut max = mb(&db);
            for _ in 0..24 * 60 {
                clock += chrono::Duration::minutes(1);
                one_round(&cfg, &mut store, clock);
                max = max.max(mb(&db));
            }
            format!("{max:.2}")
        } else {
            "-".into()
        };
        let mut renders = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            let site = render::gather::gather(&cfg, &store, &[], clock).expect("gather");
            let files = render::render(&site, None).expect("render");
            assert!(!files.is_empty());
            renders.push(t.elapsed());
        }
        renders.sort();
        println!(
            "| {age} d | {:.1} | {size:.2} | {:.0} / {:.0} | {steady_max} | {:.0} |",
            took.as_secs_f64(),
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1]),
            ms(renders[1]),
        );
    }
    if five_days > 0 {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_, store, _, took) = simulated(dir.path(), 100, five_days, 5);
        drop(store);
        println!(
            "\n100 probes × 5 locations × {five_days} days (merged store): {:.2} MB, simulated in {:.1} s",
            mb(&dir.path().join("sim.db")),
            took.as_secs_f64()
        );
    }
}

/// The main file's size: what the save step commits after checkpointing.
fn mb(path: &Path) -> f64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) as f64 / 1_000_000.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn simulated(
    dir: &Path,
    probes: u32,
    days: u32,
    locations: u32,
) -> (Config, Store, Plan, Duration) {
    let plan = Plan {
        probes,
        days,
        every: Duration::from_secs(60),
        locations,
        now: Utc::now(),
        seed: 0x0075_7470_6f73_7421,
    };
    let text = simulate::config_text(&plan);
    let cfg = config::parse(&dir.join("probes.toml"), &text, |_| None).expect("config");
    let mut store = Store::open(&dir.join("sim.db")).expect("store");
    let t = Instant::now();
    simulate::simulate(&mut store, &cfg, &plan).expect("simulate");
    (cfg, store, plan, t.elapsed())
}

/// What `outpost run` does after probing, for a round of one result per
/// probe at `now` (copies of each probe's latest result, with a new identity).
fn one_round(cfg: &Config, store: &mut Store, now: DateTime<Utc>) -> Duration {
    let results: Vec<ProbeResult> = cfg
        .probes
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let mut r = store
                .results_for(&ProbeId(spec.id.0.clone()), 1)
                .expect("latest")
                .pop()
                .expect("a result");
            r.id = ResultId(now.timestamp() as u32 ^ i as u32);
            r.started_at = now + chrono::Duration::milliseconds(i as i64);
            r
        })
        .collect();
    let t = Instant::now();
    let retained = store
        .write(|w| {
            record(w, cfg, &results, now, true)?;
            retain(w, cfg, now)
        })
        .expect("write");
    if retained.vacuum {
        store.vacuum().expect("vacuum");
    }
    t.elapsed()
}
