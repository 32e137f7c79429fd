//! `outpost watch`: probes on their own intervals until SIGTERM, which stores
//! what is in flight and exits 0.

mod support;

use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::{Workspace, http};

/// Poll `done` until it holds or `limit` passes.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

fn terminate(child: &Child) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) with the pid of our own child and a valid signal number.
    let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(sent, 0, "kill failed");
}

/// Wait for the child to exit; kill it (and fail) if it does not within `limit`.
fn exit_within(child: &mut Child, limit: Duration) -> ExitStatus {
    let mut status = None;
    wait_until(limit, || {
        status = child.try_wait().expect("try_wait");
        status.is_some()
    });
    status.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("watch did not stop after SIGTERM");
    })
}

#[test]
fn watch_probes_on_interval_and_stops_cleanly_on_sigterm() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let target = http::serve(move |_req| {
        h.fetch_add(1, Ordering::SeqCst);
        async { http::respond(200, "ok") }
    });
    let ws = Workspace::new();
    let cfg = ws.config(&format!(
        r#"[defaults]
interval = "1s"

[[probe]]
id = "home"
url = "http://{target}/"

[[probe]]
id = "health"
url = "http://{target}/health"
"#
    ));
    let site = ws.path().join("public");
    let mut child = Command::new(env!("CARGO_BIN_EXE_outpost"))
        .env_remove("RUST_LOG")
        .env_remove("OUTPOST_LOCATION")
        .arg("watch")
        .arg("-c")
        .arg(&cfg)
        .arg("--db")
        .arg(ws.db())
        .args(["--location", "test", "--render"])
        .arg(&site)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn outpost watch");

    let probed = wait_until(Duration::from_secs(20), || hits.load(Ordering::SeqCst) >= 4);
    if !probed {
        let _ = child.kill();
        panic!(
            "watch made {} requests in 20 s",
            hits.load(Ordering::SeqCst)
        );
    }
    terminate(&child);
    let status = exit_within(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{status:?}");

    let conn = rusqlite::Connection::open(ws.db()).expect("open store");
    for probe in ["home", "health"] {
        let n: i64 = conn
            .query_row(
                "SELECT COALESCE(SUM(b.n), 0) FROM result_blocks b
                 JOIN names p ON p.id = b.probe JOIN names l ON l.id = b.location
                 WHERE p.name = ?1 AND l.name = 'test'",
                [probe],
                |r| r.get(0),
            )
            .expect("count");
        assert!(n >= 2, "{probe}: {n} results stored");
    }
    // Every request the target answered was stored: nothing in flight was lost.
    let total: i64 = conn
        .query_row("SELECT COALESCE(SUM(n), 0) FROM result_blocks", [], |r| {
            r.get(0)
        })
        .expect("count");
    assert_eq!(total as usize, hits.load(Ordering::SeqCst));
    assert!(site.join("index.html").is_file(), "the site was rendered");
}

#[test]
fn watch_refuses_a_bad_config() {
    let ws = Workspace::new();
    let cfg = ws.config("[[probe]]\nid = \"x\"\n");
    let out = support::outpost()
        .arg("watch")
        .arg("-c")
        .arg(&cfg)
        .arg("--db")
        .arg(ws.db())
        .output()
        .expect("run outpost watch");
    assert_eq!(out.status.code(), Some(2));
}
