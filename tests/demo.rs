//! `outpost demo`: local endpoints, simulated history and a rendered page, with
//! no config and no network.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::{Workspace, outpost};

/// The probes of the demo config.
const PROBES: &[&str] = &[
    "website", "checkout", "api", "search", "payments", "orders", "postgres", "jobs", "dns",
];

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Every file SPEC §7 lists is there, and the page shows trouble.
fn check_site(site: &Path) {
    for file in [
        "index.html",
        "history.html",
        "history.atom",
        "history.rss",
        "metrics.prom",
        "api/v2/summary.json",
        "api/v2/status.json",
        "api/v2/components.json",
        "api/v2/incidents.json",
        "api/v2/incidents/unresolved.json",
        "api/v2/scheduled-maintenances.json",
    ] {
        assert!(site.join(file).is_file(), "missing {file}");
    }
    for id in PROBES {
        for file in [
            format!("probe/{id}.html"),
            format!("badge/{id}.svg"),
            format!("badge/{id}.json"),
        ] {
            assert!(site.join(&file).is_file(), "missing {file}");
        }
    }

    // The flow's page has its table of steps.
    assert!(read(&site.join("probe/orders.html")).contains("Steps, 24 hours"));

    let summary: serde_json::Value =
        serde_json::from_str(&read(&site.join("api/v2/summary.json"))).expect("summary.json");
    assert_eq!(summary["page"]["name"], "Outpost Demo");
    let indicator = summary["status"]["indicator"].as_str().unwrap_or("");
    assert!(
        ["minor", "major", "critical"].contains(&indicator),
        "the demo shows trouble: {}",
        summary["status"]
    );
    let components = summary["components"].as_array().expect("components");
    for id in PROBES {
        assert!(
            components.iter().any(|c| c["id"] == *id),
            "no component {id}"
        );
    }
    let troubled: Vec<&str> = components
        .iter()
        .filter_map(|c| c["status"].as_str())
        .filter(|s| *s != "operational" && *s != "under_maintenance")
        .collect();
    assert!(!troubled.is_empty(), "a probe is degraded or down");
    let incidents = summary["incidents"].as_array().expect("incidents");
    assert!(!incidents.is_empty(), "an incident is open");

    // The written note joins the automatic incident of the same probe and time.
    let index = read(&site.join("index.html"));
    assert!(
        index.contains("Payments API returning errors"),
        "written note"
    );
    assert!(index.contains("Partial Outage") || index.contains("Major Outage"));
    let history = read(&site.join("history.html"));
    assert!(history.contains("Payments API unavailable"), "postmortem");

    let metrics = read(&site.join("metrics.prom"));
    assert!(metrics.contains("probe_success{"), "{metrics}");
}

#[test]
fn demo_renders_a_complete_site_and_can_run_again() {
    let ws = Workspace::new();

    // As the README says: no arguments, from the project folder, into public/.
    let started = Instant::now();
    let out = outpost()
        .arg("demo")
        .current_dir(ws.path())
        .timeout(Duration::from_secs(120))
        .output()
        .expect("run outpost demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("outpost demo took {:?}", started.elapsed());
    assert!(
        stdout.contains("index.html"),
        "says where the page is: {stdout}"
    );
    assert!(stdout.contains("incidents"), "{stdout}");
    let site = ws.path().join("public");
    check_site(&site);
    let first = read(&site.join("index.html"));

    // Again into the same folder, keeping the store this time.
    let db = ws.path().join("kept.db");
    let out = outpost()
        .arg("demo")
        .arg("--out")
        .arg(&site)
        .arg("--db")
        .arg(&db)
        .timeout(Duration::from_secs(120))
        .output()
        .expect("run outpost demo again");
    assert!(
        out.status.success(),
        "second run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_site(&site);
    assert!(db.is_file(), "--db keeps the store");
    assert!(!read(&site.join("index.html")).is_empty() && !first.is_empty());

    // A store that exists is never reused or overwritten.
    let before = std::fs::read(&db).expect("read kept.db");
    let out = outpost()
        .arg("demo")
        .arg("--out")
        .arg(&site)
        .arg("--db")
        .arg(&db)
        .output()
        .expect("run outpost demo a third time");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists"));
    assert_eq!(std::fs::read(&db).expect("read kept.db"), before);
}

/// `demo --probes N --days D --every E --locations L --db FILE`: a store at
/// real size through the real code, with its config beside it, readable by
/// `report` and `render` like any store; no page unless `--out` is given.
#[test]
fn the_simulation_writes_a_store_at_size_and_its_config() {
    let ws = Workspace::new();
    let db = ws.path().join("sim.db");
    let out = outpost()
        .current_dir(ws.path())
        .args(["demo", "--probes", "3", "--days", "4", "--every", "10m"])
        .args(["--locations", "2", "--db"])
        .arg(&db)
        .output()
        .expect("run demo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    // 4 days of 144 rounds, 3 probes, 2 locations.
    assert!(
        stdout.contains("3 probes x 2 locations x 4 days every 10m: 3456 results"),
        "{stdout}"
    );
    assert!(stdout.contains(" bytes ("), "the size is printed: {stdout}");
    assert!(!ws.path().join("public").exists(), "no page without --out");
    let cfg = ws.path().join("sim.db.toml");
    assert!(read(&cfg).contains("id = \"p3\""));

    // Raw results: the last day only (retention_days defaults to 1), from both
    // locations; rollups: every day.
    let store = outpost::store::Store::open_read_only(&db).expect("a store");
    let raw = store.count_results().expect("count");
    assert!((852..=900).contains(&raw), "{raw} raw results");
    let recent = store
        .results_for(&outpost::model::ProbeId("p1".into()), 500)
        .expect("p1");
    let mut locations: Vec<&str> = recent.iter().map(|r| r.location.as_str()).collect();
    locations.sort();
    locations.dedup();
    assert_eq!(locations, ["sim-1", "sim-2"]);
    drop(store);

    let report = outpost()
        .args(["report", "--format", "json", "--days", "10", "-c"])
        .arg(&cfg)
        .arg("--db")
        .arg(&db)
        .output()
        .expect("report");
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&report.stdout).expect("json");
    let total: u64 = doc["probes"]
        .as_array()
        .expect("probes")
        .iter()
        .map(|p| p["results"].as_u64().expect("results"))
        .sum();
    assert_eq!(total, 3456, "every simulated result is in the rollups");

    let site = ws.path().join("site");
    let render = outpost()
        .args(["render", "-c"])
        .arg(&cfg)
        .arg("--db")
        .arg(&db)
        .arg("--out")
        .arg(&site)
        .output()
        .expect("render");
    assert!(
        render.status.success(),
        "{}",
        String::from_utf8_lossy(&render.stderr)
    );
    assert!(site.join("probe/p3.html").is_file());
}
