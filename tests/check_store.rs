//! `outpost check --db FILE` (issue 8): before CI saves the store it checks it
//! and checkpoints its WAL, so the file alone holds every committed round and a
//! damaged or foreign file is never pushed.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use support::{Workspace, http, outpost};

/// Exit code, stdout and stderr of `outpost check --db DB`.
fn check(db: &Path) -> (i32, String, String) {
    let out = outpost()
        .args(["check", "--db"])
        .arg(db)
        .output()
        .expect("run outpost check");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Results `outpost report` counts in `db` (the sum over probes).
fn results(ws: &Workspace, db: &Path) -> u64 {
    let out = outpost()
        .args(["report", "--format", "json", "--days", "400", "-c"])
        .arg(ws.path().join("probes.toml"))
        .arg("--db")
        .arg(db)
        .output()
        .expect("run outpost report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    doc["probes"]
        .as_array()
        .expect("probes")
        .iter()
        .map(|p| p["results"].as_u64().expect("results"))
        .sum()
}

/// A workspace with two probes (one up, one down) and a store of `runs` runs.
fn store_with_runs(runs: usize) -> Workspace {
    let web = http::serve(|req| async move {
        match req.uri().path() {
            "/ok" => http::respond(200, "ok"),
            _ => http::respond(503, "no"),
        }
    });
    let ws = Workspace::new();
    ws.config(&format!(
        "[[probe]]\nid = \"home\"\nurl = \"http://{web}/ok\"\n\n\
         [[probe]]\nid = \"api\"\nurl = \"http://{web}/fail\"\n"
    ));
    for _ in 0..runs {
        let out = ws
            .run_cmd()
            .args(["--location", "test", "--format", "json"])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(1), "{out:?}");
    }
    ws
}

#[test]
fn a_whole_store_gets_a_one_line_summary() {
    let ws = store_with_runs(3);
    let (code, stdout, stderr) = check(&ws.db());
    assert_eq!(code, 0, "{stderr}");
    let line = stdout.trim_end();
    assert_eq!(line.lines().count(), 1, "{stdout}");
    let prefix = format!("{}: ok (schema ", ws.db().display());
    assert!(line.starts_with(&prefix), "{line}");
    assert!(line.contains(", 6 results, 1 incidents, "), "{line}");
    assert!(line.ends_with(" KiB, WAL checkpointed)"), "{line}");
    // The checkpoint leaves no WAL beside the file.
    let wal = ws.path().join("outpost.db-wal");
    assert!(!wal.exists() || std::fs::metadata(&wal).expect("wal").len() == 0);
}

#[test]
fn check_without_db_still_checks_the_config() {
    let ws = store_with_runs(0);
    let out = outpost()
        .args(["check", "-c"])
        .arg(ws.path().join("probes.toml"))
        .output()
        .expect("check");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains(": ok (2 probes, "));
}

#[test]
fn rounds_left_in_the_wal_by_a_killed_run_reach_the_main_file() {
    let ws = store_with_runs(1);
    // A run killed with SIGKILL after two more rounds, as a cancelled CI job.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_outpost"))
        .arg("run")
        .arg("-c")
        .arg(ws.path().join("probes.toml"))
        .arg("--db")
        .arg(ws.db())
        .args(["--location", "test", "--format", "table"])
        .args(["--repeat", "5", "--every", "2s"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut tables = 0;
    for line in BufReader::new(stdout).lines() {
        if line.expect("line").starts_with("PROBE ") {
            tables += 1;
            if tables == 2 {
                child.kill().expect("SIGKILL");
                break;
            }
        }
    }
    let _ = child.wait();
    let wal = ws.path().join("outpost.db-wal");
    let wal_bytes = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);

    // What saving the main file alone would keep, before and after the check.
    let alone = Workspace::new();
    std::fs::copy(ws.db(), alone.db()).expect("copy");
    let before = results(&ws, &alone.db());
    std::fs::remove_file(alone.db()).expect("rm");

    let (code, stdout, stderr) = check(&ws.db());
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("WAL checkpointed"), "{stdout}");
    std::fs::copy(ws.db(), alone.db()).expect("copy");
    let after = results(&ws, &alone.db());
    eprintln!(
        "main file alone: {before} results before the checkpoint ({wal_bytes} bytes of WAL), {after} after"
    );
    // The first run plus at least the two rounds that printed, at most the
    // one in flight besides.
    assert!((6..=8).contains(&after), "{after} results");
    assert!(after.is_multiple_of(2));
    if wal_bytes > 0 {
        assert!(before < after, "{before} before, {after} after");
    }
}

#[test]
fn a_damaged_store_is_exit_3_with_what_to_do() {
    let ws = store_with_runs(2);
    let bytes = std::fs::read(ws.db()).expect("read");
    assert!(check(&ws.db()).0 == 0);

    // Pages overwritten past the header (a bad disk, a broken copy).
    let mut garbled = bytes.clone();
    let page = 4096;
    for (i, b) in garbled[page..].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31).wrapping_add(7);
    }
    let damaged = ws.path().join("garbled.db");
    std::fs::write(&damaged, &garbled).expect("write");
    // Half a file (an interrupted download).
    let truncated = ws.path().join("truncated.db");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");

    for db in [&damaged, &truncated] {
        let (code, stdout, stderr) = check(db);
        assert_eq!(code, 3, "{}: {stdout}{stderr}", db.display());
        assert!(
            stderr.contains("the store is damaged: restore it from the data branch or a backup"),
            "{stderr}"
        );
        assert!(stdout.is_empty(), "{stdout}");
    }
}

#[test]
fn missing_empty_and_foreign_files_are_refused_untouched() {
    let ws = Workspace::new();
    let missing = ws.path().join("missing.db");
    let (code, _, stderr) = check(&missing);
    assert_eq!(code, 3);
    assert!(stderr.contains("no such store"), "{stderr}");
    assert!(!missing.exists(), "check never creates a store");

    let empty = ws.path().join("empty.db");
    std::fs::write(&empty, b"").expect("write");
    let (code, _, stderr) = check(&empty);
    assert_eq!(code, 3);
    assert!(stderr.contains("empty"), "{stderr}");
    assert_eq!(std::fs::metadata(&empty).expect("meta").len(), 0);

    let text = ws.path().join("notes.db");
    std::fs::write(&text, b"not a database at all, just some words\n").expect("write");
    let (code, _, stderr) = check(&text);
    assert_eq!(code, 3);
    assert!(stderr.contains("not an Outpost store"), "{stderr}");
    assert_eq!(
        std::fs::read(&text).expect("read"),
        b"not a database at all, just some words\n"
    );
}
