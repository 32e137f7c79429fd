//! Render time and page size against the number of probes.
//!
//! Run with `cargo bench --bench render`. For 250, 500 and 1,000 probes it
//! builds a store with 90 days of history (a result per probe every 6 hours,
//! rolled up through the real store code, and an incident every few probes),
//! then times `gather` + `render` (the same path as `outpost render`, without
//! the disk writes) and prints the time, the size of index.html and of the
//! whole site. The aim: under one second for 1,000 probes, linear in probes.
//!
//! Knobs: `RENDER_BENCH_SIZES` (default "250,500,1000"), `RENDER_BENCH_RUNS` (3).
//!
//! Then, on stores from the simulation (`outpost demo --probes N --days D
//! --every E --db FILE`), it runs the release binary's `outpost render` under
//! `/usr/bin/time`, `RENDER_BENCH_RUNS` times, each into a fresh folder as
//! the workflow does, and prints the best and median wall time, the median
//! run's CPU, peak memory and sizes, disk writes included.
//! `RENDER_BENCH_SIMULATED` lists the stores as `probes:days:every` (default
//! "1000:30:5m,10000:90:1h"; simulating the 10,000 takes about five
//! minutes); an empty value skips them. `RENDER_BENCH_OUT` is the folder the
//! sites go in (default: the temporary folder).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use outpost::config;
use outpost::model::{Cause, Outcome, Phases, ProbeId, ProbeResult, ResultId};
use outpost::render;
use outpost::store::Store;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("render bench: skipped (run with `cargo bench --bench render`)");
        return;
    }
    let sizes: Vec<usize> = std::env::var("RENDER_BENCH_SIZES")
        .unwrap_or_else(|_| "250,500,1000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs: usize = std::env::var("RENDER_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    println!(
        "| probes | render ms (median of {runs}) | ms / probe | index.html KB | site MB | files |"
    );
    println!("| -----: | -----: | -----: | -----: | -----: | -----: |");
    for n in sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cfg, store) = build(dir.path(), n);
        let now = Utc
            .with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
            .single()
            .expect("now");
        let mut times = Vec::new();
        let mut last = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let site = render::gather::gather(&cfg, &store, &[], now).expect("gather");
            let files = render::render(&site, None).expect("render");
            times.push(t.elapsed());
            last = files;
        }
        times.sort();
        let median: Duration = times[times.len() / 2];
        let index = last
            .iter()
            .find(|f| f.path == "index.html")
            .map(|f| f.bytes.len())
            .unwrap_or(0);
        let total: usize = last.iter().map(|f| f.bytes.len()).sum();
        println!(
            "| {n} | {:.0} | {:.2} | {:.0} | {:.1} | {} |",
            median.as_secs_f64() * 1000.0,
            median.as_secs_f64() * 1000.0 / n as f64,
            index as f64 / 1024.0,
            total as f64 / 1024.0 / 1024.0,
            last.len()
        );
    }
    simulated();
}

const BIN: &str = env!("CARGO_BIN_EXE_outpost");

/// `outpost render` of simulated stores, as a user runs it.
fn simulated() {
    let list =
        std::env::var("RENDER_BENCH_SIMULATED").unwrap_or_else(|_| "1000:30:5m,10000:90:1h".into());
    let stores: Vec<(String, String, String)> = list
        .split(',')
        .filter_map(|s| {
            let mut it = s.trim().split(':');
            Some((
                it.next()?.to_string(),
                it.next()?.to_string(),
                it.next()?.to_string(),
            ))
        })
        .collect();
    if stores.is_empty() {
        return;
    }
    let runs: usize = std::env::var("RENDER_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    // Where the sites go: a CI runner renders into a fresh folder on a
    // journaled ext4; point this at one when the temporary folder's file
    // system is not like that (see the README's Rendering section).
    let out_root = std::env::var_os("RENDER_BENCH_OUT").map(std::path::PathBuf::from);
    println!();
    println!(
        "| simulated store | store MB | render wall s, best / median of {runs} | CPU s (user + sys), median run | peak memory MB | index.html KB | site MB | files |"
    );
    println!("| --- | -----: | -----: | -----: | -----: | -----: | -----: | -----: |");
    for (probes, days, every) in stores {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("sim.db");
        let status = Command::new(BIN)
            .args([
                "demo", "--probes", &probes, "--days", &days, "--every", &every, "--db",
            ])
            .arg(&db)
            .stdout(Stdio::null())
            .status()
            .expect("outpost demo");
        assert!(status.success(), "simulating {probes} probes failed");
        let sites = match &out_root {
            Some(root) => tempfile::tempdir_in(root).expect("RENDER_BENCH_OUT is a folder"),
            None => tempfile::tempdir().expect("tempdir"),
        };
        // Each run renders into a fresh folder, as the workflow does.
        let mut measured: Vec<Run> = (0..runs)
            .map(|i| render_once(&db, &sites.path().join(format!("site-{i}")), dir.path()))
            .collect();
        measured.sort_by(|a, b| a.wall.total_cmp(&b.wall));
        let (best, median) = (&measured[0], &measured[measured.len() / 2]);
        let out = sites.path().join("site-0");
        let (files, bytes) = walk(&out);
        let index = std::fs::metadata(out.join("index.html")).map_or(0, |m| m.len());
        let store = std::fs::metadata(&db).map_or(0, |m| m.len());
        let peak = measured.iter().map(|r| r.peak_kb).fold(0.0, f64::max);
        println!(
            "| {probes} probes × {days} d every {every} | {:.1} | {:.2} / {:.2} | {:.1} + {:.1} | {:.0} | {:.0} | {:.1} | {files} |",
            store as f64 / 1e6,
            best.wall,
            median.wall,
            median.user,
            median.sys,
            peak / 1024.0,
            index as f64 / 1024.0,
            bytes as f64 / 1024.0 / 1024.0,
        );
    }
}

/// One `outpost render` as `/usr/bin/time` saw it.
struct Run {
    wall: f64,
    user: f64,
    sys: f64,
    peak_kb: f64,
}

/// Render the simulated store `db` into `out`, timed; `scratch` holds the report.
fn render_once(db: &Path, out: &Path, scratch: &Path) -> Run {
    let report = scratch.join("time.txt");
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%e %U %S %M", "-o"])
        .arg(&report)
        .arg(BIN)
        .arg("render")
        .arg("-c")
        .arg(db.with_extension("db.toml"))
        .arg("--db")
        .arg(db)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .status()
        .expect("/usr/bin/time outpost render");
    assert!(status.success(), "render of {} failed", db.display());
    let time = std::fs::read_to_string(&report).unwrap_or_default();
    let mut fields = time
        .split_whitespace()
        .map(|v| v.parse::<f64>().unwrap_or(0.0));
    let mut next = || fields.next().unwrap_or(0.0);
    Run {
        wall: next(),
        user: next(),
        sys: next(),
        peak_kb: next(),
    }
}

/// Files and bytes under `dir`.
fn walk(dir: &Path) -> (usize, u64) {
    let mut files = 0;
    let mut bytes = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(path),
                Ok(m) => {
                    files += 1;
                    bytes += m.len();
                }
                Err(_) => {}
            }
        }
    }
    (files, bytes)
}

fn build(dir: &Path, n: usize) -> (config::Config, Store) {
    let mut toml = String::from(
        "[page]\ntitle = \"Bench\"\nurl = \"https://status.example.test\"\n\n[defaults]\ninterval = \"6h\"\nfailure_threshold = 1\n",
    );
    for i in 0..n {
        toml.push_str(&format!(
            "\n[[probe]]\nid = \"p{i}\"\nname = \"Service {i}\"\ngroup = \"Group {}\"\nurl = \"https://svc{i}.example.test/health\"\n",
            i % 10
        ));
    }
    let cfg = config::parse(&dir.join("probes.toml"), &toml, |_| None).expect("config");
    let mut store = Store::open(&dir.join("bench.db")).expect("store");
    let start = Utc
        .with_ymd_and_hms(2026, 8, 27, 0, 0, 0)
        .single()
        .expect("start");
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % 10_000) as f64 / 10_000.0
    };
    for slot in 0..(90 * 4) {
        let at = start + chrono::Duration::hours(6 * slot);
        let results: Vec<ProbeResult> = (0..n)
            .map(|i| {
                // Every 7th probe has a bad quarter-day now and then: incidents.
                let down = i % 7 == 0 && slot % 37 == i as i64 % 37;
                let ms = 20.0 + 200.0 * rand();
                ProbeResult {
                    probe: ProbeId(format!("p{i}")),
                    id: ResultId(slot as u32),
                    location: "bench".into(),
                    started_at: at,
                    outcome: if down { Outcome::Down } else { Outcome::Up },
                    cause: down.then_some(Cause::Status),
                    message: down.then(|| "expected status 2xx, got 503".to_string()),
                    status: Some(if down { 503 } else { 200 }),
                    latency: Duration::from_secs_f64(ms / 1000.0),
                    phases: Phases {
                        dns: Some(Duration::from_micros(300)),
                        connect: Some(Duration::from_millis(2)),
                        tls: Some(Duration::from_millis(8)),
                        ttfb: Some(Duration::from_secs_f64(ms / 1000.0 * 0.8)),
                        transfer: Some(Duration::from_micros(400)),
                    },
                    cert_expires_at: None,
                    body_bytes: None,
                    body_decoded_bytes: None,
                    http_version: None,
                    ip: None,
                    steps: Vec::new(),
                }
            })
            .collect();
        store
            .write(|w| outpost::evaluate::record::record(w, &cfg, &results, at, false).map(|_| ()))
            .expect("write");
    }
    (cfg, store)
}
