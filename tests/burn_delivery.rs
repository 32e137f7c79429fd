//! Burn alerts through the real binary: `outpost run` with `--now` against a
//! target the test switches off and on, a webhook receiver that records what
//! it is sent, then the outputs (`--format json`, `outpost report`,
//! `metrics.prom`, the probe page) as they show the objectives.

mod support;

use std::sync::atomic::Ordering;

use support::{Workspace, http, outpost};

fn config(target: std::net::SocketAddr, hook: std::net::SocketAddr) -> String {
    format!(
        r#"[defaults]
interval = "1m"
slo = 99.9

[[probe]]
id = "api"
name = "Public API"
url = "http://{target}/health"
latency_slo = {{ under = "2s", percent = 99 }}
burn = {{ short_min_results = 5 }}

[[channel]]
name = "hook"
kind = "webhook"
url = "http://{hook}/outpost"
on = ["burn-fast"]
"#
    )
}

fn at(minutes: i64) -> String {
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z").expect("t0");
    (t0 + chrono::Duration::minutes(minutes)).to_rfc3339()
}

#[test]
fn a_fast_burn_is_sent_once_with_its_details_then_its_end() {
    let (target, healthy) = http::switchable();
    let rx = http::Receiver::start();
    let ws = Workspace::new();
    let toml = config(target, rx.addr);
    // Ten minutes down (min_results is 10: the tenth result may page), then
    // healthy: the 5-minute window holds five results, so about five clean
    // minutes end the alert.
    let mut last = serde_json::Value::Null;
    for minute in 0..18 {
        healthy.store(minute >= 10, Ordering::SeqCst);
        let (_, doc) = ws.run_json(&toml, &["--now", &at(minute)]);
        let want: &[&str] = match minute {
            0..=8 => &[],
            9..=13 => &["burn-fast"],
            // The result of minute 9 leaves the 5-minute window at minute 14
            // or 15, as the runs' milliseconds fall.
            14 | 15 => &[],
            _ => &["burn-fast", "burn-ok"],
        };
        if !(14..=15).contains(&minute) {
            assert_eq!(rx.events(), want, "minute {minute}: {doc:#}");
        }
        if minute == 9 {
            let burn = &doc["burn"]["api"]["objectives"][0];
            assert_eq!(burn["objective"], "availability");
            assert_eq!(burn["firing"][0], "fast");
        }
        last = doc;
    }
    let avail = &last["burn"]["api"]["objectives"][0];
    // Fast has ended; slow and ticket fire on (their short windows still
    // hold the outage) and were never sent: the channel is on burn-fast only.
    assert_eq!(
        avail["firing"],
        serde_json::json!(["slow", "ticket"]),
        "{last:#}"
    );

    let got = rx.got.lock().expect("lock").clone();
    let fast = &got[0];
    assert_eq!(fast["version"], 1);
    assert_eq!(fast["event"], "burn-fast");
    assert_eq!(fast["dedup_key"], "outpost/api/slo-availability");
    let burn = &fast["burn"];
    assert_eq!(burn["objective"], "availability");
    assert_eq!(burn["alert"], "fast");
    assert_eq!(burn["target"], 99.9);
    assert_eq!(burn["threshold"], 14.4);
    let windows = burn["windows"].as_array().expect("windows");
    assert_eq!(windows[0]["window"], "1h");
    assert_eq!(windows[1]["window"], "5m");
    assert!(windows[0]["burn_rate"].as_f64().expect("rate") > 900.0);
    assert!(burn["budget_left"].as_f64().expect("budget") < 1.0);
    assert!(burn["exhausted_in_seconds"].as_i64().is_some());
    let ok = &got[1];
    assert_eq!(ok["event"], "burn-ok");
    assert_eq!(ok["burn"]["alert"], "fast");
    assert_eq!(ok["dedup_key"], fast["dedup_key"]);

    // The report, the metrics and the page show the objectives.
    let report = outpost()
        .args(["report", "--format", "json", "--now", &at(18), "-c"])
        .arg(ws.path().join("probes.toml"))
        .arg("--db")
        .arg(ws.db())
        .output()
        .expect("report");
    assert!(report.status.success(), "{report:?}");
    let doc: serde_json::Value = serde_json::from_slice(&report.stdout).expect("json");
    let row = &doc["probes"][0];
    assert!(row["burn_rate_1h"].as_f64().expect("1h") > 14.4, "{doc:#}");
    assert_eq!(row["objectives"][1]["objective"], "latency");

    let site = ws.path().join("site");
    let render = outpost()
        .args(["render", "--now", &at(18), "-c"])
        .arg(ws.path().join("probes.toml"))
        .arg("--db")
        .arg(ws.db())
        .arg("--out")
        .arg(&site)
        .output()
        .expect("render");
    assert!(render.status.success(), "{render:?}");
    let metrics = std::fs::read_to_string(site.join("metrics.prom")).expect("metrics");
    assert!(
        metrics.contains("outpost_slo_objective{probe=\"api\",objective=\"availability\"} 0.999")
    );
    assert!(
        metrics
            .contains("outpost_slo_error_budget_remaining{probe=\"api\",objective=\"latency\"} 1")
    );
    assert!(
        metrics.contains(
            "outpost_slo_burn_rate{probe=\"api\",objective=\"availability\",window=\"1h\"}"
        )
    );
    let page = std::fs::read_to_string(site.join("probe/api.html")).expect("page");
    assert!(page.contains("Availability objective: 99.9% of results available"));
    assert!(page.contains("Latency objective: 99% of results faster than"));
    assert!(page.contains("<polyline points="), "a budget chart");
}

#[test]
fn the_index_flags_a_probe_burning_fast() {
    let (target, healthy) = http::switchable();
    healthy.store(false, Ordering::SeqCst);
    let rx = http::Receiver::start();
    let ws = Workspace::new();
    let toml = config(target, rx.addr);
    for minute in 0..10 {
        ws.run_json(&toml, &["--now", &at(minute)]);
    }
    let site = ws.path().join("site");
    let render = outpost()
        .args(["render", "--now", &at(10), "-c"])
        .arg(ws.path().join("probes.toml"))
        .arg("--db")
        .arg(ws.db())
        .arg("--out")
        .arg(&site)
        .output()
        .expect("render");
    assert!(render.status.success(), "{render:?}");
    let index = std::fs::read_to_string(site.join("index.html")).expect("index");
    assert!(index.contains("Burning error budget fast"));
}
