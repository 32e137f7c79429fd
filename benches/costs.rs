//! Costs that must not grow with history (issue 14), on simulated stores:
//!
//! 1. a mass outage: the write of the round in which every probe opens an
//!    incident, and of the one in which they all resolve, for 100 probes with
//!    a year at one minute and 1,000 probes with 30 days at five minutes;
//! 2. merge: the steady-state CI merge (3 locations × 100 probes, each
//!    runner's shard the saved store plus 5 rounds of its own) into the saved
//!    store, the same merge again, and the three full shards into an empty
//!    store, each with the release binary (`outpost merge`) under
//!    `/usr/bin/time` for its peak memory;
//! 3. the peak memory of `outpost run` of 100 probes (against a local HTTP
//!    server) on the year-old store.
//!
//! Run with `cargo bench --bench costs` (about 6 minutes on 2 loaded cores,
//! most of it simulating). Knobs: `COSTS_BENCH_DAYS` (365: the age of the
//! 100-probe stores), `COSTS_BENCH_BIG_DAYS` (30: the 1,000-probe store; 0
//! skips it). The merge's three-location store is simulated at five minutes,
//! the cron cadence of the CI matrix (at one minute it takes three times as
//! long to simulate and holds the same number of rollups).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use outpost::config::{self, Config};
use outpost::demo::simulate::{self, Plan};
use outpost::evaluate::record::{record, retain};
use outpost::model::{Cause, Outcome, ProbeId, ProbeResult, ResultId};
use outpost::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_outpost");

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("costs bench: skipped (run with `cargo bench --bench costs`)");
        return;
    }
    let num = |name: &str, default: u32| -> u32 {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default)
    };
    let days = num("COSTS_BENCH_DAYS", 365);
    let big_days = num("COSTS_BENCH_BIG_DAYS", 30);
    let started = Instant::now();

    println!("## Mass outage: the write of one round (results, evaluation, rollups, retention)\n");
    println!(
        "| store | simulate s | healthy ms | all down ms | incidents opened ms | all resolved ms |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let year = tempfile::tempdir().expect("tempdir");
    let (cfg, mut store, plan, took) = simulated(year.path(), 100, days, 60, 1);
    outage_row(
        &format!("100 probes, {days} d at 1 m"),
        &cfg,
        &mut store,
        &plan,
        took,
    );
    let year_db = store.path().to_path_buf();
    drop(store);
    if big_days > 0 {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cfg, mut store, plan, took) = simulated(dir.path(), 1000, big_days, 300, 1);
        outage_row(
            &format!("1,000 probes, {big_days} d at 5 m"),
            &cfg,
            &mut store,
            &plan,
            took,
        );
    }

    println!("\n## `outpost run` of 100 probes on the {days}-day store (local HTTP server)\n");
    let (wall, rss) = run_once(year.path(), &year_db, days);
    println!("wall {:.2} s, peak RSS {rss}", wall.as_secs_f64());

    println!(
        "\n## Merge: 3 locations × 100 probes, {days} d at 5 m; shards = saved store + 5 rounds\n"
    );
    merge_rows(days);
    println!("\nwhole bench: {:.0} s", started.elapsed().as_secs_f64());
}

fn simulated(
    dir: &Path,
    probes: u32,
    days: u32,
    every_s: u64,
    locations: u32,
) -> (Config, Store, Plan, Duration) {
    let plan = Plan {
        probes,
        days,
        every: Duration::from_secs(every_s),
        locations,
        now: Utc::now(),
        seed: 0x0075_7470_6f73_7421,
    };
    let text = simulate::config_text(&plan);
    std::fs::write(dir.join("probes.toml"), &text).expect("write config");
    let cfg = config::parse(&dir.join("probes.toml"), &text, |_| None).expect("config");
    let mut store = Store::open(&dir.join("sim.db")).expect("store");
    let t = Instant::now();
    simulate::simulate(&mut store, &cfg, &plan).expect("simulate");
    (cfg, store, plan, t.elapsed())
}

/// A round at `at` of every probe from `location`: copies of each probe's
/// latest result with a new identity, up or down.
fn round(
    cfg: &Config,
    store: &Store,
    location: &str,
    at: DateTime<Utc>,
    down: bool,
) -> Vec<ProbeResult> {
    cfg.probes
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let mut r = store
                .results_for(&ProbeId(spec.id.0.clone()), 1)
                .expect("latest")
                .pop()
                .expect("a result");
            r.location = location.to_string();
            r.id = ResultId(at.timestamp() as u32 ^ i as u32);
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
            r
        })
        .collect()
}

/// What `outpost run` does after probing: one transaction.
fn write(cfg: &Config, store: &mut Store, results: &[ProbeResult], now: DateTime<Utc>) -> Duration {
    let t = Instant::now();
    let retained = store
        .write(|w| {
            record(w, cfg, results, now, true)?;
            retain(w, cfg, now)
        })
        .expect("write");
    if retained.vacuum {
        store.vacuum().expect("vacuum");
    }
    t.elapsed()
}

fn outage_row(what: &str, cfg: &Config, store: &mut Store, plan: &Plan, took: Duration) {
    let mut at = plan.now;
    let mut step = |down: bool, store: &mut Store| {
        at += chrono::Duration::from_std(plan.every).expect("every");
        let results = round(cfg, store, "sim-1", at, down);
        write(cfg, store, &results, at)
    };
    // Settle first: every probe healthy, so the outage opens one incident each.
    for _ in 0..3 {
        step(false, store);
    }
    let healthy = step(false, store);
    let down = step(true, store);
    // failure_threshold = 2: the second failed round opens the incidents.
    let opened = step(true, store);
    let open = store
        .probe_states()
        .expect("states")
        .values()
        .filter(|s| s.incident_id.is_some())
        .count();
    assert_eq!(open, cfg.probes.len(), "every probe has an open incident");
    let mut resolved = Duration::ZERO;
    for _ in 0..3 {
        resolved = step(false, store);
        let still = store
            .probe_states()
            .expect("states")
            .values()
            .filter(|s| s.incident_id.is_some())
            .count();
        if still == 0 {
            break;
        }
    }
    println!(
        "| {what} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
        took.as_secs_f64(),
        ms(healthy),
        ms(down),
        ms(opened),
        ms(resolved)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A local HTTP server answering 200 to everything, for as long as the bench runs.
fn serve() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut conn = conn;
                let mut buf = [0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                );
            });
        }
    });
    port
}

/// `/usr/bin/time -f "%e %M" CMD`: wall seconds and peak RSS (MB), or a
/// note when GNU time is missing. Stdout goes to `out`.
fn timed(cmd: &[&std::ffi::OsStr], out: &Path) -> (Duration, String) {
    let report = out.with_extension("time");
    let t = Instant::now();
    let status = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%e %M")
        .arg("-o")
        .arg(&report)
        .args(cmd)
        .stdout(Stdio::from(
            std::fs::File::create(out).expect("stdout file"),
        ))
        .stderr(Stdio::null())
        .status();
    let wall = t.elapsed();
    match status {
        Ok(s) => {
            assert!(
                matches!(s.code(), Some(0 | 1)),
                "{cmd:?} failed: {s}; output in {}",
                out.display()
            );
            let text = std::fs::read_to_string(&report).unwrap_or_default();
            let kb: f64 = text
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0);
            (wall, format!("{:.0} MB", kb / 1024.0))
        }
        Err(e) => (wall, format!("- (/usr/bin/time: {e})")),
    }
}

/// `outpost run` of the simulated probes, pointed at a local server.
fn run_once(dir: &Path, db: &Path, days: u32) -> (Duration, String) {
    let port = serve();
    let plan = Plan {
        probes: 100,
        days,
        every: Duration::from_secs(60),
        locations: 1,
        now: Utc::now(),
        seed: 0,
    };
    let urls = regex::Regex::new(r"https?://p(\d+)\.sim\.invalid/health").expect("regex");
    let text = urls
        .replace_all(
            &simulate::config_text(&plan),
            format!("http://127.0.0.1:{port}/p$1").as_str(),
        )
        .into_owned();
    let cfg = dir.join("local.toml");
    std::fs::write(&cfg, text).expect("write config");
    let args: Vec<std::ffi::OsString> = vec![
        BIN.into(),
        "run".into(),
        "-c".into(),
        cfg.into_os_string(),
        "--db".into(),
        db.as_os_str().to_owned(),
        "--location".into(),
        "sim-1".into(),
        "--no-alert".into(),
        "--format".into(),
        "json".into(),
    ];
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    timed(&refs, &dir.join("run.out"))
}

fn merge_rows(days: u32) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cfg, store, plan, took) = simulated(dir.path(), 100, days, 300, 3);
    println!("simulated in {:.0} s", took.as_secs_f64());
    // Each runner's rounds, made from the saved store before it is closed.
    let rounds: Vec<(DateTime<Utc>, Vec<Vec<ProbeResult>>)> = (1..=5)
        .map(|k| {
            let at = plan.now + chrono::Duration::minutes(5 * k);
            let of_location = (1..=3)
                .map(|l| round(&cfg, &store, &format!("sim-{l}"), at, false))
                .collect();
            (at, of_location)
        })
        .collect();
    let saved = store.path().to_path_buf();
    drop(store);
    let shards: Vec<PathBuf> = (1..=3)
        .map(|l| {
            let path = dir.path().join(format!("shard-{l}.db"));
            std::fs::copy(&saved, &path).expect("copy");
            let mut shard = Store::open(&path).expect("shard");
            for (at, of_location) in &rounds {
                write(&cfg, &mut shard, &of_location[l - 1], *at);
            }
            path
        })
        .collect();
    let now = rounds.last().map_or(plan.now, |r| r.0) + chrono::Duration::minutes(1);
    let merge = |into: &Path, name: &str| -> (Duration, String, String) {
        let mut args: Vec<std::ffi::OsString> = vec![BIN.into(), "merge".into()];
        args.extend(shards.iter().map(|s| s.as_os_str().to_owned()));
        args.extend([
            "--into".into(),
            into.as_os_str().to_owned(),
            "-c".into(),
            dir.path().join("probes.toml").into_os_string(),
            "--no-alert".into(),
            "--now".into(),
            now.to_rfc3339_opts(SecondsFormat::Secs, true).into(),
        ]);
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let out = dir.path().join(format!("{name}.out"));
        let (wall, rss) = timed(&refs, &out);
        let summary = std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("merged"))
            .map(|l| l.split(": ").nth(1).unwrap_or(l).to_string())
            .unwrap_or_default();
        (wall, rss, summary)
    };
    println!("\n| merge | wall s | peak RSS | what it did |");
    println!("| --- | ---: | ---: | --- |");
    let target = dir.path().join("target.db");
    std::fs::copy(&saved, &target).expect("copy");
    for (what, into, name) in [
        (
            "steady state: 3 shards into the saved store",
            &target,
            "steady",
        ),
        ("the same shards again", &target, "again"),
        (
            "3 full shards into an empty store",
            &dir.path().join("empty.db"),
            "empty",
        ),
    ] {
        let (wall, rss, summary) = merge(into, name);
        println!("| {what} | {:.2} | {rss} | {summary} |", wall.as_secs_f64());
    }
}
