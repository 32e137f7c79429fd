//! `run --repeat N --every D`: N rounds in one process, each stored and
//! reported; a signal lets the round in flight finish and starts no other.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use support::{Workspace, http};

/// A target that counts requests and answers 200.
fn counting_target() -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let addr = http::serve(move |_req| {
        h.fetch_add(1, Ordering::SeqCst);
        async { http::respond(200, "ok") }
    });
    (addr, hits)
}

fn two_probes(target: SocketAddr) -> String {
    format!(
        r#"[[probe]]
id = "home"
url = "http://{target}/"

[[probe]]
id = "health"
url = "http://{target}/health"
"#
    )
}

fn stored_results(db: &Path) -> i64 {
    try_stored_results(db).expect("count results")
}

/// The count, or `None` while the store is not there yet (or still being created).
fn try_stored_results(db: &Path) -> Option<i64> {
    if !db.exists() {
        return None;
    }
    let conn = rusqlite::Connection::open(db).ok()?;
    conn.query_row("SELECT COALESCE(SUM(n), 0) FROM result_blocks", [], |r| {
        r.get(0)
    })
    .ok()
}

/// Every JSON document in a stream of them.
fn documents(stdout: &[u8]) -> Vec<serde_json::Value> {
    serde_json::Deserializer::from_slice(stdout)
        .into_iter::<serde_json::Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| {
            panic!(
                "not a JSON stream ({e}):\n{}",
                String::from_utf8_lossy(stdout)
            )
        })
}

#[test]
fn three_rounds_are_probed_stored_and_reported() {
    let (target, hits) = counting_target();
    let ws = Workspace::new();
    ws.config(&two_probes(target));
    let now = "2026-11-25T10:00:00Z";
    let out = ws
        .run_cmd()
        .args(["--format", "json", "--location", "test", "--now", now])
        .args(["--repeat", "3", "--every", "1s"])
        .output()
        .expect("run outpost");
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let docs = documents(&out.stdout);
    assert_eq!(docs.len(), 3, "one JSON document per round");
    for doc in &docs {
        assert_eq!(doc["results"].as_array().map(Vec::len), Some(2), "{doc:#}");
    }
    assert_eq!(stored_results(&ws.db()), 6);
    assert_eq!(hits.load(Ordering::SeqCst), 6);

    // The --now clock moves on with real time from round to round.
    let started: Vec<chrono::DateTime<chrono::Utc>> = docs
        .iter()
        .map(|d| {
            d["started_at"]
                .as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&chrono::Utc))
                .unwrap_or_else(|| panic!("no started_at in {d:#}"))
        })
        .collect();
    let t0 = chrono::DateTime::parse_from_rfc3339(now).expect("t0");
    assert!(started[0] >= t0);
    assert!(started.windows(2).all(|w| w[0] <= w[1]), "{started:?}");
    assert!(started[2] > started[0], "{started:?}");
}

#[test]
fn each_round_prints_its_table() {
    let (target, _) = counting_target();
    let ws = Workspace::new();
    ws.config(&two_probes(target));
    let out = ws
        .run_cmd()
        .args(["--location", "test", "--repeat", "2", "--every", "1s"])
        .output()
        .expect("run outpost");
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.matches("2 probes from test").count(),
        2,
        "stdout:\n{stdout}"
    );
}

#[test]
fn the_exit_code_is_the_worst_across_rounds() {
    // Up in the first round, down (503) in the second.
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let target = http::serve(move |_req| {
        let n = h.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                http::respond(200, "ok")
            } else {
                http::respond(503, "unavailable")
            }
        }
    });
    let ws = Workspace::new();
    ws.config(&format!(
        "[[probe]]\nid = \"api\"\nurl = \"http://{target}/\"\n"
    ));
    let out = ws
        .run_cmd()
        .args(["--format", "json", "--location", "test"])
        .args(["--repeat", "2", "--every", "1s"])
        .output()
        .expect("run outpost");
    let docs = documents(&out.stdout);
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["results"][0]["outcome"], "up");
    assert_eq!(docs[1]["results"][0]["outcome"], "down");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn repeat_and_every_go_together() {
    let ws = Workspace::new();
    ws.config(&two_probes("127.0.0.1:9".parse().expect("addr")));
    for args in [
        &["--repeat", "2"][..],
        &["--every", "1m"][..],
        &["--repeat", "0", "--every", "1m"][..],
        &["--repeat", "2", "--every", "0s"][..],
    ] {
        let out = ws.run_cmd().args(args).output().expect("run outpost");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    assert!(!ws.db().exists(), "a usage error probes and stores nothing");
}

#[test]
fn sigterm_finishes_the_round_in_flight_and_starts_no_other() {
    // A target that tells the test when a request arrives, then takes 2 s.
    let (arrived_tx, arrived) = mpsc::channel::<()>();
    let arrived_tx = Mutex::new(arrived_tx);
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let target = http::serve(move |_req| {
        h.fetch_add(1, Ordering::SeqCst);
        let _ = arrived_tx.lock().expect("lock").send(());
        async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            http::respond(200, "ok")
        }
    });
    let ws = Workspace::new();
    let cfg = ws.config(&format!(
        "[[probe]]\nid = \"slow\"\nurl = \"http://{target}/\"\ntimeout = \"20s\"\n"
    ));
    let child = Command::new(env!("CARGO_BIN_EXE_outpost"))
        .env_remove("RUST_LOG")
        .env_remove("OUTPOST_LOCATION")
        .arg("run")
        .arg("-c")
        .arg(&cfg)
        .arg("--db")
        .arg(ws.db())
        .args(["--format", "json", "--location", "test"])
        .args(["--repeat", "3", "--every", "1s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn outpost");

    arrived
        .recv_timeout(Duration::from_secs(20))
        .expect("the probe reached the target");
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) with the pid of our own child and a valid signal number.
    let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(sent, 0, "kill failed");
    let out = child.wait_with_output().expect("wait for outpost");

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "ended by {:?}\nstderr:\n{stderr}",
        out.status
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "the round was not down; stderr:\n{stderr}"
    );
    assert_eq!(
        stored_results(&ws.db()),
        1,
        "the round in flight was stored"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1, "no further round ran");
    let docs = documents(&out.stdout);
    assert_eq!(docs.len(), 1, "the finished round was reported");
    assert_ne!(docs[0]["results"][0]["outcome"], "down", "{:#}", docs[0]);
}

/// Poll `done` every 50 ms until it holds or `limit` passes.
fn poll(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

/// The child's exit status, or `None` (and the child killed) if it runs past `limit`.
fn exit_within(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let mut status = None;
    poll(limit, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    status
}

/// Start `outpost run --format json --location test` with `args` on `toml`.
fn spawn_run(ws: &Workspace, toml: &str, args: &[&str]) -> std::process::Child {
    let cfg = ws.config(toml);
    Command::new(env!("CARGO_BIN_EXE_outpost"))
        .env_remove("RUST_LOG")
        .env_remove("OUTPOST_LOCATION")
        .arg("run")
        .arg("-c")
        .arg(&cfg)
        .arg("--db")
        .arg(ws.db())
        .args(["--format", "json", "--location", "test"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn outpost")
}

fn signal(child: &std::process::Child, sig: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) with the pid of our own child and a valid signal number.
    let sent = unsafe { libc::kill(pid, sig) };
    assert_eq!(sent, 0, "kill failed");
}

#[test]
fn a_signal_between_rounds_stops_at_once() {
    let (target, hits) = counting_target();
    let ws = Workspace::new();
    // An hour between rounds: the test ends only if the wait is cut short.
    let mut child = spawn_run(
        &ws,
        &two_probes(target),
        &["--repeat", "3", "--every", "1h"],
    );
    let stored = poll(Duration::from_secs(20), || {
        try_stored_results(&ws.db()) == Some(2)
    });
    if stored {
        signal(&child, libc::SIGTERM);
    }
    let status = exit_within(&mut child, Duration::from_secs(20));
    assert!(stored, "round 1 was not stored");
    let status = status.expect("outpost kept waiting for the next round after SIGTERM");
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert_eq!(stored_results(&ws.db()), 2);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[test]
fn a_second_signal_stops_at_once_with_130() {
    use std::io::BufRead;

    let (arrived_tx, arrived) = mpsc::channel::<()>();
    let arrived_tx = Mutex::new(arrived_tx);
    let target = http::serve(move |_req| {
        let _ = arrived_tx.lock().expect("lock").send(());
        async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            http::respond(200, "ok")
        }
    });
    let ws = Workspace::new();
    let toml = format!("[[probe]]\nid = \"stuck\"\nurl = \"http://{target}/\"\ntimeout = \"2m\"\n");
    let mut child = spawn_run(&ws, &toml, &[]);
    arrived
        .recv_timeout(Duration::from_secs(20))
        .expect("the probe reached the target");
    signal(&child, libc::SIGTERM);
    // Wait until the first signal was handled, so the two are not merged.
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = std::io::BufReader::new(stderr).lines();
    let handled = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("SIGTERM received"));
    assert!(handled, "no log of the first signal");
    signal(&child, libc::SIGINT);
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130), "{status:?}");
    let stored = try_stored_results(&ws.db());
    assert!(
        matches!(stored, None | Some(0)),
        "the interrupted round was not stored"
    );
}
