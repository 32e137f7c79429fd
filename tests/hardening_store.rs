//! Issue 9: the store and the run under a broken environment. Logging to a
//! full device never costs a run its results (item 4); a store that cannot be
//! written is refused before probing (item 7); a damaged store is reported,
//! never rendered from half its data (item 10).

mod support;

use std::fs::OpenOptions;
use std::path::Path;
use std::process::Stdio;

use support::{Workspace, http};

/// `/dev/full`: every write fails with ENOSPC.
fn dev_full() -> std::fs::File {
    OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full")
}

/// The binary as a plain `std::process::Command`, for redirecting stdio to files.
fn bin(ws: &Workspace, db: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("outpost"));
    c.env_remove("RUST_LOG")
        .arg("run")
        .arg("-c")
        .arg(ws.path().join("probes.toml"))
        .arg("--db")
        .arg(db);
    c
}

fn results_in(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open store");
    conn.query_row("SELECT COUNT(*) FROM results", [], |r| r.get(0))
        .expect("count results")
}

fn healthy_probe(ws: &Workspace) {
    let target = http::serve(|_req| async { http::respond(200, "ok") });
    ws.config(&format!(
        "[[probe]]\nid = \"api\"\nurl = \"http://{target}/\"\n"
    ));
}

#[test]
fn logging_to_a_full_device_never_costs_the_run_its_results() {
    for format in ["text", "json"] {
        let ws = Workspace::new();
        healthy_probe(&ws);
        let out = bin(&ws, &ws.db())
            .args(["--log-format", format, "--format", "json"])
            .env("RUST_LOG", "outpost=debug")
            .stderr(dev_full())
            .stdout(Stdio::piped())
            .output()
            .expect("run outpost");
        assert_eq!(
            out.status.code(),
            Some(0),
            "--log-format {format}: stdout {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(results_in(&ws.db()), 1, "--log-format {format}");
    }
}

#[test]
fn a_store_error_with_stderr_on_a_full_device_still_exits_3() {
    let ws = Workspace::new();
    healthy_probe(&ws);
    let random = ws.path().join("random.db");
    std::fs::write(&random, b"not a database at all, just some text\n").expect("write");
    let status = bin(&ws, &random)
        .env("RUST_LOG", "outpost=info")
        .stdout(Stdio::null())
        .stderr(dev_full())
        .status()
        .expect("run outpost");
    assert_eq!(status.code(), Some(3));
}
