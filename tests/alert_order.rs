//! Issue 9, item 1: notifications of one incident reach a channel in order,
//! never a stale event after a newer one. A run killed while a receiver holds
//! its `down` leaves a claim behind; when the claim expires, that `down` is sent
//! again only if nothing newer of the incident has been queued or gone out.
//! Time is driven with `--now`; the kill happens once the receiver has the
//! request in hand (polled), never after a sleep.

mod support;

use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::BodyExt;
use support::{Workspace, http};

/// A webhook receiver that records each event as its request arrives and,
/// while `hold` is set, keeps the request unanswered for a minute.
struct HoldingReceiver {
    addr: SocketAddr,
    events: Arc<Mutex<Vec<String>>>,
    hold: Arc<AtomicBool>,
}

impl HoldingReceiver {
    fn start() -> Self {
        let events: Arc<Mutex<Vec<String>>> = Arc::default();
        let hold = Arc::new(AtomicBool::new(false));
        let (e, h) = (events.clone(), hold.clone());
        let addr = http::serve(move |req| {
            let (e, h) = (e.clone(), h.clone());
            async move {
                let body = req
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                e.lock()
                    .expect("lock")
                    .push(v["event"].as_str().unwrap_or("?").to_string());
                if h.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                http::respond(200, "ok")
            }
        });
        HoldingReceiver { addr, events, hold }
    }

    fn events(&self) -> Vec<String> {
        self.events.lock().expect("lock").clone()
    }
}

fn config(target: SocketAddr, hook: SocketAddr) -> String {
    format!(
        r#"[defaults]
failure_threshold = 1

[[probe]]
id = "api"
url = "http://{target}/health"

[[channel]]
name = "hook"
kind = "webhook"
url = "http://{hook}/outpost"
"#
    )
}

fn at(minutes: i64) -> String {
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z").expect("t0");
    (t0 + chrono::Duration::minutes(minutes)).to_rfc3339()
}

fn spawn_run(ws: &Workspace, minute: i64) -> Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("outpost"))
        .env_remove("RUST_LOG")
        .arg("run")
        .arg("-c")
        .arg(ws.path().join("probes.toml"))
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
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn outpost")
}

/// Run at `minute` with the target failing, and SIGKILL the process once the
/// receiver holds its `down`: the row stays claimed, maybe delivered.
fn killed_mid_delivery(ws: &Workspace, rx: &HoldingReceiver, minute: i64) {
    rx.hold.store(true, Ordering::SeqCst);
    let before = rx.events().len();
    let mut child = spawn_run(ws, minute);
    // A guard against a hang, not a measurement: the request comes at once.
    let mut waited = 0;
    while rx.events().len() == before {
        assert!(waited < 6000, "the receiver never got the notification");
        std::thread::sleep(Duration::from_millis(10));
        waited += 1;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    rx.hold.store(false, Ordering::SeqCst);
}

#[test]
fn a_down_claimed_by_a_killed_run_is_never_sent_after_the_recovery() {
    let (target, healthy) = http::switchable();
    let rx = HoldingReceiver::start();
    let ws = Workspace::new();
    let toml = config(target, rx.addr);
    ws.config(&toml);

    healthy.store(false, Ordering::SeqCst);
    killed_mid_delivery(&ws, &rx, 0);
    assert_eq!(rx.events(), vec!["down"]);

    // Back up while the killed run's claim still holds: the recovery waits
    // behind the `down` that run may still be sending; both stay queued.
    healthy.store(true, Ordering::SeqCst);
    let (_, doc) = ws.run_json(&toml, &["--now", &at(1)]);
    assert_eq!(doc["notifications"]["pending"], 2, "{doc:#}");
    assert_eq!(rx.events(), vec!["down"]);

    // The claim has expired: the `down` is superseded, the recovery goes out.
    let (_, doc) = ws.run_json(&toml, &["--now", &at(5)]);
    assert_eq!(doc["notifications"]["delivered"], 1, "{doc:#}");
    assert_eq!(doc["notifications"]["superseded"], 1, "{doc:#}");
    assert_eq!(rx.events(), vec!["down", "recovered"]);

    for minute in [10, 15] {
        let (_, doc) = ws.run_json(&toml, &["--now", &at(minute)]);
        assert_eq!(doc["notifications"]["pending"], 0, "{doc:#}");
    }
    assert_eq!(
        rx.events().last().map(String::as_str),
        Some("recovered"),
        "the receiver's last word is the newest event: {:?}",
        rx.events()
    );
}

#[test]
fn a_claim_that_may_have_been_delivered_is_resent_when_nothing_newer_went_out() {
    let (target, healthy) = http::switchable();
    let rx = HoldingReceiver::start();
    let ws = Workspace::new();
    let toml = config(target, rx.addr);
    ws.config(&toml);
    healthy.store(false, Ordering::SeqCst);
    killed_mid_delivery(&ws, &rx, 0);

    // While the claim holds, nobody else sends it.
    let (_, doc) = ws.run_json(&toml, &["--now", &at(1)]);
    assert_eq!(doc["notifications"]["pending"], 1, "{doc:#}");
    assert_eq!(rx.events(), vec!["down"]);

    // Once it has expired, at-least-once: the same `down` again.
    let (_, doc) = ws.run_json(&toml, &["--now", &at(5)]);
    assert_eq!(doc["notifications"]["delivered"], 1, "{doc:#}");
    assert_eq!(doc["notifications"]["superseded"], 0, "{doc:#}");
    assert_eq!(rx.events(), vec!["down", "down"]);
}

#[test]
fn a_down_never_delivered_is_merged_into_the_recovery() {
    let (target, healthy) = http::switchable();
    let rx = http::Receiver::start();
    let ws = Workspace::new();
    let toml = config(target, rx.addr);
    healthy.store(false, Ordering::SeqCst);
    rx.failing.store(true, Ordering::SeqCst);
    let (_, doc) = ws.run_json(&toml, &["--now", &at(0)]);
    assert_eq!(doc["notifications"]["pending"], 1, "{doc:#}");

    rx.failing.store(false, Ordering::SeqCst);
    healthy.store(true, Ordering::SeqCst);
    let (_, doc) = ws.run_json(&toml, &["--now", &at(5)]);
    assert_eq!(doc["notifications"]["superseded"], 1, "{doc:#}");
    assert_eq!(doc["notifications"]["delivered"], 1, "{doc:#}");
    assert_eq!(
        rx.events(),
        vec!["recovered"],
        "the recovery tells the whole incident; a late `down` would page for nothing"
    );
    // The recovery carries the incident from its start: the first run's
    // minute plus however long that run took to probe (the clock runs on).
    let recovered = &rx.got.lock().expect("lock")[0];
    let since = chrono::DateTime::parse_from_rfc3339(recovered["since"].as_str().unwrap_or(""))
        .expect("since");
    let start = chrono::DateTime::parse_from_rfc3339(&at(0)).expect("t0");
    assert!(
        since >= start && since < start + chrono::Duration::minutes(5),
        "{recovered:#}"
    );
}
