//! Quorum across locations, end to end with the real binary: with `quorum = 2`
//! one location seeing a target down changes nothing and pages nobody; two
//! locations do. With `quorum = 1` one is enough. The same holds when each
//! location writes its own shard and `merge` folds them. Time is driven with
//! `--now`, never slept.

mod support;

use std::path::Path;
use std::sync::atomic::Ordering;

use outpost::store::Store;
use support::{Workspace, http, outpost, result};

fn config(target: std::net::SocketAddr, hook: std::net::SocketAddr, quorum: u32) -> String {
    format!(
        r#"[defaults]
interval = "5m"
failure_threshold = 1
success_threshold = 1
quorum = {quorum}

[[probe]]
id = "api"
name = "Public API"
url = "http://{target}/health"

[[channel]]
name = "hook"
kind = "webhook"
url = "http://{hook}/outpost"
on = ["down", "recovered"]
"#
    )
}

fn at(minutes: i64) -> String {
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z").expect("t0");
    (t0 + chrono::Duration::minutes(minutes)).to_rfc3339()
}

/// One run from `location` into `db` at minute `minute`: exit code and the
/// document printed.
fn run_from(
    cfg: &Path,
    db: &Path,
    location: &str,
    minute: i64,
    extra: &[&str],
) -> serde_json::Value {
    let out = outpost()
        .arg("run")
        .arg("-c")
        .arg(cfg)
        .arg("--db")
        .arg(db)
        .args([
            "--format",
            "json",
            "--location",
            location,
            "--now",
            &at(minute),
        ])
        .args(extra)
        .output()
        .expect("run outpost");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// (minute, location, target healthy for that run, expected probe state,
/// expected notifications so far).
type Step<'a> = (i64, &'a str, bool, &'a str, &'a [&'a str]);

fn play(quorum: u32, script: &[Step<'_>]) {
    let (target, healthy) = http::switchable();
    let rx = http::Receiver::start();
    let hook = rx.addr;
    let ws = Workspace::new();
    let cfg = ws.config(&config(target, hook, quorum));
    for (minute, location, up, state, want) in script {
        healthy.store(*up, Ordering::SeqCst);
        let doc = run_from(&cfg, &ws.db(), location, *minute, &[]);
        let r = result(&doc, "api");
        assert_eq!(r["outcome"], if *up { "up" } else { "down" }, "{doc:#}");
        assert_eq!(
            r["state"], *state,
            "quorum {quorum}, minute {minute} from {location}: {doc:#}"
        );
        assert_eq!(
            rx.events(),
            *want,
            "quorum {quorum}, minute {minute} from {location}"
        );
    }
}

#[test]
fn with_quorum_two_one_location_down_changes_nothing() {
    play(
        2,
        &[
            (0, "eu", true, "operational", &[]),
            (1, "us", true, "operational", &[]),
            // Only eu sees it down (failure_threshold 1: eu's own state is down).
            (5, "eu", false, "operational", &[]),
            (6, "us", true, "operational", &[]),
            (10, "eu", false, "operational", &[]),
            // Both do: down, and one notification.
            (11, "us", false, "down", &["down"]),
            (15, "eu", false, "down", &["down"]),
            // Fewer than two locations see it down: it has recovered.
            (16, "us", true, "operational", &["down", "recovered"]),
        ],
    );
}

#[test]
fn with_quorum_one_one_location_is_enough() {
    play(
        1,
        &[
            (0, "eu", true, "operational", &[]),
            (1, "us", true, "operational", &[]),
            (5, "eu", false, "down", &["down"]),
            (6, "us", true, "down", &["down"]),
            (10, "eu", true, "operational", &["down", "recovered"]),
        ],
    );
}

/// `outpost merge SHARDS --into INTO -c CFG --now NOW`: stdout.
fn merge(cfg: &Path, shards: &[&Path], into: &Path, minute: i64) -> String {
    let out = outpost()
        .arg("merge")
        .args(shards)
        .arg("--into")
        .arg(into)
        .arg("-c")
        .arg(cfg)
        .args(["--now", &at(minute)])
        .output()
        .expect("merge");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn merged_state(db: &Path) -> String {
    Store::open_read_only(db)
        .expect("open")
        .probe_states()
        .expect("states")["api"]
        .state
        .to_string()
}

#[test]
fn shards_merged_apply_the_quorum_and_alert_once() {
    let (target, healthy) = http::switchable();
    let rx = http::Receiver::start();
    let hook = rx.addr;
    let ws = Workspace::new();
    let cfg = ws.config(&config(target, hook, 2));
    let eu = ws.path().join("eu.db");
    let us = ws.path().join("us.db");
    let into = ws.path().join("outpost.db");
    // Shards run with --no-alert: each sees one location only, so its own
    // state ignores the quorum. The merge sees both and alerts.
    let shard_run = |db: &Path, location: &str, minute: i64, up: bool| {
        healthy.store(up, Ordering::SeqCst);
        run_from(&cfg, db, location, minute, &["--no-alert"])
    };

    shard_run(&eu, "eu", 0, true);
    shard_run(&us, "us", 1, true);
    let doc = shard_run(&eu, "eu", 5, false);
    assert_eq!(
        result(&doc, "api")["state"],
        "down",
        "the eu shard alone calls it down"
    );
    shard_run(&us, "us", 6, true);
    let out = merge(&cfg, &[&eu, &us], &into, 7);
    assert_eq!(merged_state(&into), "operational", "{out}");
    assert!(rx.events().is_empty(), "{out}");

    shard_run(&eu, "eu", 10, false);
    shard_run(&us, "us", 11, false);
    let out = merge(&cfg, &[&eu, &us], &into, 12);
    assert_eq!(merged_state(&into), "down", "{out}");
    assert!(out.contains("api: operational -> down"), "{out}");
    assert_eq!(rx.events(), vec!["down"], "{out}");

    // The same shards again: nothing new, nobody told twice.
    let out = merge(&cfg, &[&eu, &us], &into, 13);
    assert!(out.contains("0 results added"), "{out}");
    assert_eq!(rx.events(), vec!["down"], "{out}");

    shard_run(&eu, "eu", 15, true);
    shard_run(&us, "us", 16, true);
    let out = merge(&cfg, &[&eu, &us], &into, 17);
    assert_eq!(merged_state(&into), "operational", "{out}");
    assert_eq!(rx.events(), vec!["down", "recovered"], "{out}");
}
