//! Burn-rate alerts over simulated histories (issue 13): results go through
//! the real recording path (`evaluate::record::record`) into a real SQLite
//! file, the clock is each round's time, and what the outbox holds is what
//! channels are sent. The windows agree exactly with a brute-force count
//! over the raw results.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use outpost::config::Config;
use outpost::evaluate::burn;
use outpost::evaluate::record::record;
use outpost::model::burn::Objective;
use outpost::model::{Outcome, Phases, ProbeId, ProbeResult, ResultId};
use outpost::store::Store;

struct Sim {
    _dir: tempfile::TempDir,
    store: Store,
    cfg: Config,
}

fn config(probe: &str, channel_on: &str) -> String {
    format!(
        r#"[[probe]]
id = "api"
url = "http://127.0.0.1:9/health"
{probe}

[[channel]]
name = "pager"
kind = "webhook"
url = "http://127.0.0.1:9/hook"
on = {channel_on}
"#
    )
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0)
        .single()
        .expect("t0")
}

fn result(location: &str, at: DateTime<Utc>, outcome: Outcome, ms: u64) -> ProbeResult {
    ProbeResult {
        probe: ProbeId("api".into()),
        id: ResultId(0),
        location: location.into(),
        started_at: at,
        outcome,
        cause: None,
        message: None,
        status: Some(200),
        latency: Duration::from_millis(ms),
        phases: Phases::default(),
        cert_expires_at: None,
        body_bytes: None,
        body_decoded_bytes: None,
        http_version: None,
        ip: None,
        steps: Vec::new(),
    }
}

impl Sim {
    fn new(toml: &str) -> Sim {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("probes.toml");
        std::fs::write(&path, toml).expect("config");
        let cfg = outpost::config::parse(&path, toml, |_| None).expect("config loads");
        let store = Store::open(&dir.path().join("outpost.db")).expect("store");
        Sim {
            _dir: dir,
            store,
            cfg,
        }
    }

    /// Record one round (the results of one run) as `run` does, a second
    /// after the last result started.
    fn round(&mut self, results: &[ProbeResult]) {
        let now = results
            .iter()
            .map(|r| r.started_at)
            .max()
            .expect("a result")
            + chrono::Duration::seconds(1);
        let cfg = &self.cfg;
        self.store
            .write(|w| record(w, cfg, results, now, true).map(|_| ()))
            .expect("record");
    }

    /// (event, objective, at) of every queued notification, in order.
    fn events(&self) -> Vec<(String, Option<Objective>, DateTime<Utc>)> {
        self.store
            .pending()
            .expect("outbox")
            .into_iter()
            .map(|q| {
                let n = q.notification;
                (
                    n.event.as_str().to_string(),
                    n.burn.map(|b| b.objective),
                    n.at,
                )
            })
            .collect()
    }

    fn names(&self) -> Vec<String> {
        self.events().into_iter().map(|e| e.0).collect()
    }
}

#[test]
fn a_steady_five_percent_burn_pages_once_and_ends_soon_after_it_stops() {
    let mut sim = Sim::new(&config(
        "interval = \"20s\"\nslo = 99.9",
        r#"["burn-fast"]"#,
    ));
    let step = chrono::Duration::seconds(20);
    // An hour clean, 90 minutes with every 20th result down (5%, isolated),
    // then 30 minutes clean; evaluated after every result.
    let (clean, burning, after) = (180, 270, 90);
    let mut last_failure = t0();
    for i in 0..clean + burning + after {
        let at = t0() + step * i;
        let failing = i >= clean && i < clean + burning && (i - clean) % 20 == 19;
        if failing {
            last_failure = at;
        }
        let outcome = if failing { Outcome::Down } else { Outcome::Up };
        sim.round(&[result("eu", at, outcome, 80)]);
    }
    let events = sim.events();
    let names: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names, ["burn-fast", "burn-ok"], "{events:?}");
    let ok_at = events[1].2;
    assert!(
        ok_at - last_failure <= chrono::Duration::minutes(10),
        "burn-ok {} minutes after the last error",
        (ok_at - last_failure).num_minutes()
    );
    assert!(events.iter().all(|e| e.1 == Some(Objective::Availability)));
}

#[test]
fn half_a_percent_for_three_days_opens_a_ticket_only() {
    let mut sim = Sim::new(&config(
        "interval = \"20s\"\nslo = 99.9",
        r#"["burn-fast", "burn-slow", "burn-ticket"]"#,
    ));
    let step = chrono::Duration::seconds(20);
    // One result in 200 down (0.5%: a burn rate of 5 against 99.9), recorded
    // a minute (three results) at a time, as `--repeat 3 --every 20s` does.
    let mut batch = Vec::new();
    for i in 0..3 * 24 * 180 {
        let at = t0() + step * i;
        let outcome = if i % 200 == 199 {
            Outcome::Down
        } else {
            Outcome::Up
        };
        batch.push(result("eu", at, outcome, 80));
        if batch.len() == 3 {
            sim.round(&batch);
            batch.clear();
        }
    }
    assert_eq!(sim.names(), ["burn-ticket"]);
}

#[test]
fn a_two_minute_outage_pages_against_99_9_but_not_against_99_5() {
    for (slo, expected) in [("99.5", &[][..]), ("99.9", &["burn-fast", "burn-ok"][..])] {
        let mut sim = Sim::new(&config(
            &format!("interval = \"1m\"\nslo = {slo}"),
            r#"["burn-fast"]"#,
        ));
        // 90 clean minutes, two down, 60 clean.
        for i in 0..152 {
            let at = t0() + chrono::Duration::minutes(i);
            let outcome = if i == 90 || i == 91 {
                Outcome::Down
            } else {
                Outcome::Up
            };
            sim.round(&[result("eu", at, outcome, 80)]);
        }
        assert_eq!(sim.names(), expected, "slo = {slo}");
    }
}

#[test]
fn a_new_probe_with_three_results_fires_nothing() {
    let mut sim = Sim::new(&config(
        "interval = \"1m\"\nslo = 99.9\nlatency_slo = { under = \"300ms\", percent = 99 }",
        r#"["burn-fast", "burn-slow", "burn-ticket"]"#,
    ));
    for i in 0..3 {
        let at = t0() + chrono::Duration::minutes(i);
        sim.round(&[result("eu", at, Outcome::Down, 900)]);
    }
    assert_eq!(sim.names(), Vec::<String>::new());
}

#[test]
fn a_latency_regression_fires_on_the_latency_objective() {
    let mut sim = Sim::new(&config(
        "interval = \"1m\"\nslo = 99.9\nlatency_slo = { under = \"300ms\", percent = 99 }",
        r#"["burn-fast"]"#,
    ));
    // An hour at 80 ms, then a deploy: every result 400 ms (still up).
    for i in 0..90 {
        let at = t0() + chrono::Duration::minutes(i);
        let ms = if i < 60 { 80 } else { 400 };
        sim.round(&[result("eu", at, Outcome::Up, ms)]);
    }
    let events = sim.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "burn-fast");
    assert_eq!(events[0].1, Some(Objective::Latency));
    let n = &sim.store.pending().expect("outbox")[0].notification;
    let b = n.burn.as_ref().expect("burn details");
    assert_eq!(b.under_ms, Some(300.0));
    assert!(b.windows.iter().all(|w| w.burn_rate >= 14.4), "{b:?}");
    assert!(b.budget_left < 1.0);
    assert!(b.exhausted_in_seconds.is_some());
}

/// Results in `(from, to]` with `keep`, counted by hand.
fn brute(
    all: &[ProbeResult],
    location: &str,
    objective: Objective,
    from_ms: i64,
    to: DateTime<Utc>,
) -> (u64, u64) {
    let under = Duration::from_millis(300);
    let mut results = 0;
    let mut bad = 0;
    for r in all.iter().filter(|r| {
        r.location == location && r.started_at.timestamp_millis() > from_ms && r.started_at <= to
    }) {
        let down = r.outcome == Outcome::Down;
        match objective {
            Objective::Availability => {
                results += 1;
                bad += u64::from(down);
            }
            Objective::Latency if !down => {
                results += 1;
                bad += u64::from(r.latency > under);
            }
            Objective::Latency => {}
        }
    }
    (results, bad)
}

#[test]
fn windows_agree_with_a_brute_force_count_over_raw_results() {
    let sim = Sim::new(&config(
        "interval = \"1m\"\nretention_days = 5\nquorum = 1\nlatency_slo = { under = \"300ms\", percent = 99 }",
        r#"["burn-fast"]"#,
    ));
    let Sim {
        _dir,
        mut store,
        cfg,
    } = sim;
    // Four days, two locations, a result a minute each (offset), random
    // outcomes and latencies; written a day at a time.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        (seed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut all = Vec::new();
    for day in 0..4 {
        let mut batch = Vec::new();
        for m in 0..1440 {
            for (location, offset) in [("eu", 0), ("us", 17_000)] {
                let at = t0()
                    + chrono::Duration::days(day)
                    + chrono::Duration::minutes(m)
                    + chrono::Duration::milliseconds(offset);
                let outcome = match next() {
                    u if u < 0.03 => Outcome::Down,
                    u if u < 0.05 => Outcome::Degraded,
                    _ => Outcome::Up,
                };
                batch.push(result(
                    location,
                    at,
                    outcome,
                    (40.0 + 500.0 * next()) as u64,
                ));
            }
        }
        store
            .write(|w| {
                for chunk in batch.chunks(120) {
                    record(w, &cfg, chunk, chunk[chunk.len() - 1].started_at, false)?;
                }
                Ok(())
            })
            .expect("record a day");
        all.extend(batch);
    }
    let spec = &cfg.probes[0];
    let windows = [
        Duration::from_secs(300),
        Duration::from_secs(1800),
        Duration::from_secs(3600),
        Duration::from_secs(6 * 3600),
        Duration::from_secs(3 * 86_400),
        Duration::from_secs(30 * 86_400),
    ];
    // Evaluation times inside the history (results after them are stored
    // and must not count) and at its end, off the minute and the hour.
    for now in [
        t0() + chrono::Duration::hours(80) + chrono::Duration::seconds(1234),
        t0() + chrono::Duration::hours(95) + chrono::Duration::seconds(59),
        t0() + chrono::Duration::days(4),
    ] {
        // As the page reads them (hourly counts), and as a run does
        // (running totals, slid forward from the rounds recorded above).
        let outputs = burn::inputs(&store, &cfg, spec, now).expect("inputs");
        let run = store
            .write(|w| burn::run_inputs(w, &cfg, spec, now))
            .expect("run inputs");
        for (inputs, (location, series)) in [&outputs, &run]
            .into_iter()
            .flat_map(|i| i.locations.iter().map(move |l| (i, l)))
        {
            for d in windows {
                let start = inputs.start_of(d);
                let counted = inputs.window(series, d);
                // Windows over a day start at the top of their first hour.
                let from = if d <= burn::windows::RAW_SPAN {
                    start
                } else {
                    start.div_euclid(3_600_000) * 3_600_000 - 1
                };
                for objective in Objective::ALL {
                    let got = burn::windows::Tally::of(counted, objective);
                    let (results, bad) = brute(&all, location, objective, from, now);
                    assert!(
                        got.results == results && got.bad == bad,
                        "{location} {d:?} {objective} at {now}: store {got:?}, raw ({results}, {bad})"
                    );
                }
            }
        }
        assert_eq!(outputs.locations.len(), 2);
        assert_eq!(run.locations.len(), 2);
    }
}

#[test]
fn with_quorum_two_one_burning_location_pages_nobody() {
    let mut sim = Sim::new(&config(
        "interval = \"1m\"\nslo = 99.9\nquorum = 2",
        r#"["burn-fast"]"#,
    ));
    // 30 minutes: eu fails throughout, us is fine; then both fail.
    for i in 0..45 {
        let at = t0() + chrono::Duration::minutes(i);
        let us = if i < 30 { Outcome::Up } else { Outcome::Down };
        sim.round(&[
            result("eu", at, Outcome::Down, 80),
            result("us", at + chrono::Duration::seconds(7), us, 80),
        ]);
        if i == 29 {
            assert_eq!(sim.names(), Vec::<String>::new());
        }
    }
    assert_eq!(sim.names(), ["burn-fast"]);
}

#[test]
fn merged_shards_carry_their_hourly_counts() {
    let toml = config("interval = \"1m\"\nslo = 99.9", r#"["burn-fast"]"#);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg_path = dir.path().join("probes.toml");
    std::fs::write(&cfg_path, &toml).expect("config");
    let cfg = outpost::config::parse(&cfg_path, &toml, |_| None).expect("config");
    let end = t0() + chrono::Duration::days(3);
    // Each location's shard: three days at a minute, 1% down, recorded an
    // hour at a time with retention (one day of raw results) as `run` does.
    let mut shard_paths = Vec::new();
    for (l, location) in ["eu", "us"].into_iter().enumerate() {
        let path = dir.path().join(format!("{location}.db"));
        let mut store = Store::open(&path).expect("shard");
        for hour in 0..72 {
            let batch: Vec<ProbeResult> = (0..60)
                .map(|m| {
                    let i = hour * 60 + m;
                    let at =
                        t0() + chrono::Duration::minutes(i) + chrono::Duration::seconds(l as i64);
                    let outcome = if (i + l as i64 * 37) % 100 == 0 {
                        Outcome::Down
                    } else {
                        Outcome::Up
                    };
                    result(location, at, outcome, 80)
                })
                .collect();
            let now = batch[59].started_at + chrono::Duration::seconds(1);
            store
                .write(|w| {
                    record(w, &cfg, &batch, now, false)?;
                    outpost::evaluate::record::retain(w, &cfg, now).map(|_| ())
                })
                .expect("record");
        }
        shard_paths.push(path);
    }
    let into = dir.path().join("merged.db");
    let out = support_outpost()
        .arg("merge")
        .args(&shard_paths)
        .arg("--into")
        .arg(&into)
        .arg("-c")
        .arg(&cfg_path)
        .args(["--now", &end.to_rfc3339(), "--no-alert"])
        .output()
        .expect("merge");
    assert!(out.status.success(), "{out:?}");
    let merged = Store::open(&into).expect("merged");
    let spec = &cfg.probes[0];
    let three_days = Duration::from_secs(3 * 86_400);
    let at = end + chrono::Duration::seconds(30);
    let inputs = burn::inputs(&merged, &cfg, spec, at).expect("inputs");
    for (l, path) in shard_paths.iter().enumerate() {
        let location = ["eu", "us"][l];
        let shard = Store::open(path).expect("shard");
        let own = burn::inputs(&shard, &cfg, spec, at).expect("inputs");
        let count = |i: &burn::windows::Inputs| i.window(&i.locations[location], three_days);
        assert_eq!(count(&inputs), count(&own), "{location}");
        assert_eq!(
            count(&own).results,
            72 * 60,
            "{location}: the shard pruned raw results"
        );
    }
}

fn support_outpost() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("outpost").expect("the outpost binary")
}

#[test]
fn burn_config_errors_point_into_the_file() {
    let cases = [
        ("burn = { fast = { rate = 0 } }", 5, "burn.fast.rate"),
        (
            "burn = { slow = { short = \"7h\" } }",
            5,
            "burn.slow.short must be shorter",
        ),
        (
            "latency_slo = { under = \"300ms\", percent = 100 }",
            5,
            "latency_slo.percent",
        ),
        ("latency_slo = { under = \"300ms\" }", 5, "percent"),
        (
            "burn = { fastt = { rate = 2 } }",
            5,
            "unknown field `fastt`",
        ),
    ];
    for (line, at_line, words) in cases {
        let toml = format!(
            "[[probe]]\nid = \"api\"\nurl = \"http://127.0.0.1:9/\"\ninterval = \"1m\"\n{line}\n"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("probes.toml");
        let err = outpost::config::parse(&path, &toml, |_| None)
            .err()
            .unwrap_or_else(|| panic!("{line} is refused"))
            .to_string();
        assert!(
            err.contains(&format!("probes.toml:{at_line}:")),
            "{line}: {err}"
        );
        assert!(err.contains(words), "{line}: {err}");
    }
    // [defaults] is checked the same way, and per-probe keys override it.
    let toml = "[defaults]\nburn = { min_results = 0 }\n[[probe]]\nid = \"api\"\nurl = \"http://127.0.0.1:9/\"\n";
    let err = outpost::config::parse(Path::new("probes.toml"), toml, |_| None)
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("probes.toml:2:") && err.contains("burn.min_results"),
        "{err}"
    );
    let toml = "[defaults]\nburn = { fast = { rate = 10 }, min_results = 5 }\n[[probe]]\nid = \"api\"\nurl = \"http://127.0.0.1:9/\"\nburn = { fast = { long = \"2h\" }, ticket = { enabled = false } }\n";
    let cfg = outpost::config::parse(Path::new("probes.toml"), toml, |_| None).expect("loads");
    let policy = &cfg.probes[0].burn;
    assert_eq!(policy.min_results, 5);
    assert_eq!(policy.rules.len(), 2, "ticket is off");
    assert_eq!(policy.rules[0].rate, 10.0);
    assert_eq!(policy.rules[0].long, Duration::from_secs(7200));
    assert_eq!(policy.rules[0].short, Duration::from_secs(300));
}

#[test]
fn a_firing_burn_alert_is_reminded_on_schedule_and_pagerduty_keys_it_per_objective() {
    let toml = config("interval = \"20s\"\nslo = 99.9", r#"["burn-fast"]"#).replace(
        "on = [\"burn-fast\"]",
        "on = [\"burn-fast\"]\nremind_every = \"30m\"",
    );
    let mut sim = Sim::new(&toml);
    let step = chrono::Duration::seconds(20);
    for i in 0..180 + 270 + 90 {
        let at = t0() + step * i;
        let failing = (180..450).contains(&i) && (i - 180) % 20 == 19;
        let outcome = if failing { Outcome::Down } else { Outcome::Up };
        sim.round(&[result("eu", at, outcome, 80)]);
    }
    assert_eq!(
        sim.names(),
        ["burn-fast", "reminder", "reminder", "burn-ok"]
    );
    let queued = sim.store.pending().expect("outbox");
    let ns: Vec<_> = queued.iter().map(|q| &q.notification).collect();
    // One alert: every event carries its id and the burn details.
    assert!(
        ns.iter()
            .all(|n| n.incident_id == ns[0].incident_id && n.burn.is_some())
    );
    assert!(ns[0].incident_id < 0, "never an incident's id");
    let gap = ns[1].at - ns[0].at;
    assert!(gap >= chrono::Duration::minutes(29) && gap <= chrono::Duration::minutes(31));
    let title = outpost::alert::message::title(ns[1]);
    assert!(title.starts_with("[STILL BURNING]"), "{title}");

    let pd = |i: usize| outpost::alert::pagerduty::payload(ns[i], "key");
    assert_eq!(pd(0)["event_action"], "trigger");
    assert_eq!(pd(0)["dedup_key"], "outpost/api/slo-availability");
    assert_eq!(pd(0)["payload"]["custom_details"]["burn"]["alert"], "fast");
    assert_eq!(pd(3)["dedup_key"], "outpost/api/slo-availability");
    // The slow alert (5% burns at 50x) still fires: the objective's incident
    // stays open; with nothing else firing the end resolves it.
    let still = !ns[3].burn.as_ref().expect("burn").still_firing.is_empty();
    let action = if still { "trigger" } else { "resolve" };
    assert_eq!(pd(3)["event_action"], action);
    let mut alone = ns[3].clone();
    if let Some(b) = alone.burn.as_mut() {
        b.still_firing.clear();
    }
    assert_eq!(
        outpost::alert::pagerduty::payload(&alone, "key")["event_action"],
        "resolve"
    );
}
