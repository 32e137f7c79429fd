//! Runs over time against a target that goes down and comes back: a person is
//! woken exactly once, reminded on schedule, told once of the recovery. Time is
//! driven with `--now`, never slept.

mod support;

use std::sync::atomic::Ordering;

use support::{Workspace, http, result};

fn config(target: std::net::SocketAddr, hook: std::net::SocketAddr, extra: &str) -> String {
    format!(
        r#"[page]
title = "Acme"
url = "https://status.example.test"

[defaults]
interval = "5m"
failure_threshold = 2
success_threshold = 1

[[probe]]
id = "api"
name = "Public API"
url = "http://{target}/health"

[[channel]]
name = "hook"
kind = "webhook"
url = "http://{hook}/outpost"
on = ["down", "recovered"]
remind_every = "30m"
{extra}"#
    )
}

fn at(minutes: i64) -> String {
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z").expect("t0");
    (t0 + chrono::Duration::minutes(minutes)).to_rfc3339()
}

#[test]
fn one_alert_on_opening_reminders_on_schedule_one_on_recovery() {
    let (target, healthy) = http::switchable();
    let rx = http::Receiver::start();
    let hook = rx.addr;
    let ws = Workspace::new();
    let toml = config(target, hook, "");
    // (minute, target healthy, expected state, expected events so far)
    let script: &[(i64, bool, &str, &[&str])] = &[
        (0, true, "operational", &[]),
        (5, false, "operational", &[]),
        (10, false, "down", &["down"]),
        (15, false, "down", &["down"]),
        (35, false, "down", &["down"]),
        (40, false, "down", &["down", "reminder"]),
        (45, false, "down", &["down", "reminder"]),
        (50, true, "operational", &["down", "reminder", "recovered"]),
        (55, true, "operational", &["down", "reminder", "recovered"]),
    ];
    for (minute, up, state, want) in script {
        healthy.store(*up, Ordering::SeqCst);
        let (_, doc) = ws.run_json(&toml, &["--now", &at(*minute)]);
        assert_eq!(
            result(&doc, "api")["state"],
            *state,
            "minute {minute}: {doc:#}"
        );
        assert_eq!(rx.events(), *want, "minute {minute}: {doc:#}");
    }
    let got = rx.got.lock().expect("lock");
    let down = &got[0];
    assert_eq!(down["probe"]["id"], "api");
    assert_eq!(down["state"], "down");
    assert_eq!(down["cause"], "status");
    // A `--now` clock runs on in real time from where it is set, so instants
    // are the scripted minute plus however long the run took to get there:
    // checked against the script, never against the machine's speed.
    let since = instant(&down["since"]);
    assert!(
        within_run_of(since, 5),
        "the incident starts at its first failure: {since}"
    );
    assert_eq!(down["link"], "https://status.example.test/probe/api.html");
    let recovered = &got[2];
    assert_eq!(recovered["state"], "operational");
    let at = instant(&recovered["at"]);
    assert!(within_run_of(at, 50), "recovered at minute 50: {at}");
    // The payload's own instants are whole seconds; the duration is not cut.
    let duration = recovered["duration_seconds"].as_i64().expect("duration");
    assert!(
        ((at - since).num_seconds() - 1..=(at - since).num_seconds() + 1).contains(&duration),
        "duration {duration} s is at - since ({since} to {at})"
    );
    assert_eq!(recovered["incident_id"], down["incident_id"]);
}

fn instant(v: &serde_json::Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{v} is not an instant: {e}"))
}

/// `t` lies in the run started at scripted `minute`: at or after it, and
/// before the next scripted run (five minutes later) could have started.
fn within_run_of(t: chrono::DateTime<chrono::FixedOffset>, minute: i64) -> bool {
    let start = instant(&serde_json::Value::String(at(minute)));
    t >= start && t < start + chrono::Duration::minutes(5)
}

#[test]
fn the_run_reports_changes_and_incidents() {
    let (target, healthy) = http::switchable();
    let rx = http::Receiver::start();
    let hook = rx.addr;
    let ws = Workspace::new();
    let toml = config(target, hook, "");
    healthy.store(false, Ordering::SeqCst);
    ws.run_json(&toml, &["--now", &at(0)]);
    let (code, doc) = ws.run_json(&toml, &["--now", &at(5)]);
    assert_eq!(code, 1);
    assert_eq!(doc["changes"][0]["to"], "down", "{doc:#}");
    let incident = &doc["incidents"][0];
    assert_eq!(incident["probe"], "api");
    assert_eq!(incident["worst_state"], "down");
    assert_eq!(incident["failed_results"], 2);
    assert!(incident["resolved_at"].is_null());
    assert_eq!(doc["notifications"]["delivered"], 1);
}

#[test]
fn a_receiver_that_was_down_gets_the_queued_notification_once() {
    let (target, healthy) = http::switchable();
    let rx = http::Receiver::start();
    let (hook, failing, hits) = (rx.addr, rx.failing.clone(), rx.hits.clone());
    let ws = Workspace::new();
    let toml = config(target, hook, "");
    healthy.store(false, Ordering::SeqCst);
    failing.store(true, Ordering::SeqCst);
    ws.run_json(&toml, &["--now", &at(0)]);
    let (_, doc) = ws.run_json(&toml, &["--now", &at(5)]);
    assert_eq!(doc["notifications"]["pending"], 1, "{doc:#}");
    assert!(hits.load(Ordering::SeqCst) >= 2, "retried within the run");
    assert!(rx.events().is_empty());
    failing.store(false, Ordering::SeqCst);
    let (_, doc) = ws.run_json(&toml, &["--now", &at(10)]);
    assert_eq!(doc["notifications"]["delivered"], 1, "{doc:#}");
    ws.run_json(&toml, &["--now", &at(15)]);
    assert_eq!(rx.events(), vec!["down"], "delivered once, never again");
}

#[test]
fn maintenance_alerts_nothing_and_shows_maintenance() {
    let (target, healthy) = http::switchable();
    let rx = http::Receiver::start();
    let hook = rx.addr;
    let ws = Workspace::new();
    let toml = config(
        target,
        hook,
        &format!(
            "\n[[maintenance]]\ntitle = \"upgrade\"\nprobes = [\"api\"]\nstart = \"{}\"\nend = \"{}\"\n",
            at(0),
            at(30)
        ),
    );
    healthy.store(false, Ordering::SeqCst);
    for minute in [0, 5, 10, 15] {
        let (code, doc) = ws.run_json(&toml, &["--now", &at(minute)]);
        assert_eq!(result(&doc, "api")["state"], "maintenance", "{doc:#}");
        assert_eq!(result(&doc, "api")["outcome"], "down");
        assert_eq!(code, 1, "the outcome is still down");
    }
    assert!(rx.events().is_empty(), "nothing is sent in a window");
    // After the window, a target still failing is reported at once.
    let (_, doc) = ws.run_json(&toml, &["--now", &at(35)]);
    assert_eq!(result(&doc, "api")["state"], "down", "{doc:#}");
    assert_eq!(rx.events(), vec!["down"]);
}

#[test]
fn no_alert_queues_nothing() {
    let (target, healthy) = http::switchable();
    let rx = http::Receiver::start();
    let (hook, hits) = (rx.addr, rx.hits.clone());
    let ws = Workspace::new();
    let toml = config(target, hook, "");
    healthy.store(false, Ordering::SeqCst);
    for minute in [0, 5, 10] {
        let (_, doc) = ws.run_json(&toml, &["--now", &at(minute), "--no-alert"]);
        assert_eq!(
            result(&doc, "api")["state"],
            if minute == 0 { "unknown" } else { "down" }
        );
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    // A later run with alerts on does not send the old event: it was never queued.
    ws.run_json(&toml, &["--now", &at(15)]);
    assert!(rx.events().is_empty());
}

#[test]
fn overlapping_runs_send_the_alert_once() {
    let (target, healthy) = http::switchable();
    let rx = http::Receiver::start();
    let hook = rx.addr;
    let ws = Workspace::new();
    let toml = config(target, hook, "");
    let cfg = ws.config(&toml);
    healthy.store(false, Ordering::SeqCst);
    ws.run_json(&toml, &["--now", &at(0)]);
    let spawn = |minute: i64| {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("outpost"))
            .arg("run")
            .arg("-c")
            .arg(&cfg)
            .arg("--db")
            .arg(ws.db())
            .args([
                "--format",
                "json",
                "--location",
                "test",
                "--now",
                &at(minute),
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn")
    };
    let mut a = spawn(5);
    let mut b = spawn(6);
    a.wait().expect("a");
    b.wait().expect("b");
    assert_eq!(rx.events(), vec!["down"]);
}

#[test]
fn alert_test_reports_the_channels_answer() {
    let rx = http::Receiver::start();
    let ws = Workspace::new();
    let cfg = ws.config(&config(rx.addr, rx.addr, ""));
    let out = support::outpost()
        .args(["alert", "test", "hook", "-c"])
        .arg(&cfg)
        .output()
        .expect("alert test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("hook (webhook): delivered: HTTP 200"),
        "{stdout}"
    );
    assert_eq!(rx.events(), vec!["test"]);

    rx.failing.store(true, Ordering::SeqCst);
    let out = support::outpost()
        .args(["alert", "test", "hook", "-c"])
        .arg(&cfg)
        .output()
        .expect("alert test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("not delivered") && stdout.contains("503"),
        "{stdout}"
    );

    let out = support::outpost()
        .args(["alert", "test", "nope", "-c"])
        .arg(&cfg)
        .output()
        .expect("alert test");
    assert_eq!(out.status.code(), Some(2));
}
