//! `outpost merge`: shards from two locations fold into one store whose counts
//! are their sum; merging again changes nothing; shards are never changed, not
//! by a byte; a file that is not a store is refused and left alone.

mod support;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use outpost::store::Store;
use sha2::{Digest, Sha256};
use support::{Workspace, http, outpost};

/// One healthy HTTP probe and one TCP probe of a closed port (always down).
fn config(ws: &Workspace) -> PathBuf {
    let target = http::serve(|_req| async { http::respond(200, "ok") });
    let closed = http::closed_port();
    ws.config(&format!(
        r#"[defaults]
interval = "5m"
failure_threshold = 1
# The shards span days: keep their raw results (the default is one day).
retention_days = 30

[[probe]]
id = "api"
name = "API"
url = "http://{target}/health"

[[probe]]
id = "db"
name = "Database"
kind = "tcp"
target = "127.0.0.1:{closed}"
"#
    ))
}

/// `outpost run --location LOCATION --db DB --now NOW --no-alert`.
fn run(cfg: &Path, db: &Path, location: &str, now: &str) {
    let out = outpost()
        .arg("run")
        .arg("-c")
        .arg(cfg)
        .arg("--db")
        .arg(db)
        .args(["--location", location, "--now", now, "--no-alert"])
        .args(["--format", "json"])
        .output()
        .expect("run outpost");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `outpost merge SHARDS... --into INTO -c CFG --now NOW`: exit code and stdout.
fn merge(cfg: &Path, shards: &[&Path], into: &Path, now: &str) -> (i32, String, String) {
    let out = outpost()
        .arg("merge")
        .args(shards)
        .arg("--into")
        .arg(into)
        .arg("-c")
        .arg(cfg)
        .args(["--now", now])
        .output()
        .expect("run outpost merge");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn hash(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    hex::encode(Sha256::digest(&bytes))
}

/// Every file in `dir`, by name.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn count(db: &Path) -> u64 {
    Store::open_read_only(db)
        .expect("open read-only")
        .count_results()
        .expect("count")
}

/// (location, day, runs, up, down) of every rollup of `probe`, sorted.
fn rollups(db: &Path, probe: &str) -> Vec<(String, NaiveDate, u64, u64, u64)> {
    let from = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
    let to = NaiveDate::from_ymd_opt(2027, 12, 31).expect("date");
    let mut rows: Vec<_> = Store::open_read_only(db)
        .expect("open read-only")
        .rollups(probe, from, to)
        .expect("rollups")
        .into_iter()
        .map(|r| (r.location, r.day, r.counts.runs, r.counts.up, r.counts.down))
        .collect();
    rows.sort();
    rows
}

/// `outpost report --format json` results per probe.
fn report_results(cfg: &Path, db: &Path, now: &str) -> Vec<(String, u64)> {
    let out = outpost()
        .arg("report")
        .arg("-c")
        .arg(cfg)
        .arg("--db")
        .arg(db)
        .args(["--format", "json", "--days", "30", "--now", now])
        .output()
        .expect("report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    doc["probes"]
        .as_array()
        .expect("probes")
        .iter()
        .map(|p| {
            (
                p["probe"].as_str().expect("id").to_string(),
                p["results"].as_u64().expect("results"),
            )
        })
        .collect()
}

/// Two shards: eu on days 1 and 2, us on days 1, 2 and 3.
fn shards(ws: &Workspace, cfg: &Path) -> (PathBuf, PathBuf) {
    let shards = ws.path().join("shards");
    std::fs::create_dir(&shards).expect("mkdir");
    let eu = shards.join("eu.db");
    let us = shards.join("us.db");
    for now in [
        "2026-11-01T10:00:00Z",
        "2026-11-01T10:05:00Z",
        "2026-11-02T10:00:00Z",
    ] {
        run(cfg, &eu, "eu", now);
    }
    for now in [
        "2026-11-01T10:01:00Z",
        "2026-11-02T10:01:00Z",
        "2026-11-03T10:01:00Z",
        "2026-11-03T10:06:00Z",
    ] {
        run(cfg, &us, "us", now);
    }
    (eu, us)
}

const MERGE_AT: &str = "2026-11-03T10:10:00Z";

#[test]
fn two_locations_merge_into_their_sum_and_merging_again_changes_nothing() {
    let ws = Workspace::new();
    let cfg = config(&ws);
    let (eu, us) = shards(&ws, &cfg);
    assert_eq!(count(&eu), 6);
    assert_eq!(count(&us), 8);
    let shard_dir = eu.parent().expect("dir").to_path_buf();
    let before = (hash(&eu), hash(&us), listing(&shard_dir));
    let into = ws.path().join("merged.db");

    let (code, stdout, stderr) = merge(&cfg, &[&eu, &us], &into, MERGE_AT);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("merged 2 shards")
            && stdout.contains("14 results added, 0 already present"),
        "{stdout}"
    );
    assert_eq!(count(&into), 14);
    assert_eq!(
        (hash(&eu), hash(&us), listing(&shard_dir)),
        before,
        "shards are read, never written (no -wal or -shm left beside them either)"
    );

    // Rollups: the merged store holds exactly the shards' rows, one location each.
    for probe in ["api", "db"] {
        let mut both = rollups(&eu, probe);
        both.extend(rollups(&us, probe));
        both.sort();
        assert_eq!(rollups(&into, probe), both, "{probe}");
        assert_eq!(both.iter().map(|r| r.2).sum::<u64>(), 7, "{probe}");
    }
    let merged_report = report_results(&cfg, &into, MERGE_AT);
    assert_eq!(
        merged_report,
        vec![("api".to_string(), 7), ("db".to_string(), 7)]
    );

    // Again: nothing added, nothing updated, nothing counted twice. Only the
    // newest hour the target holds of each probe and location is read again
    // (eu's last hour holds one result of each probe, us's two).
    let (code, stdout, stderr) = merge(&cfg, &[&eu, &us], &into, MERGE_AT);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "0 results added, 6 already present, 0 rollup days updated, 0 rollup days copied"
        ),
        "{stdout}"
    );
    assert_eq!(count(&into), 14);
    for probe in ["api", "db"] {
        let mut both = rollups(&eu, probe);
        both.extend(rollups(&us, probe));
        both.sort();
        assert_eq!(rollups(&into, probe), both, "{probe}");
    }
    assert_eq!(report_results(&cfg, &into, MERGE_AT), merged_report);
    assert_eq!((hash(&eu), hash(&us), listing(&shard_dir)), before);
}

#[test]
fn merged_states_come_from_every_location() {
    let ws = Workspace::new();
    let cfg = config(&ws);
    let (eu, us) = shards(&ws, &cfg);
    let into = ws.path().join("merged.db");
    let (code, stdout, stderr) = merge(&cfg, &[&eu, &us], &into, MERGE_AT);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let store = Store::open_read_only(&into).expect("open");
    let states = store.probe_states().expect("states");
    assert_eq!(states["api"].state.to_string(), "operational", "{stdout}");
    assert_eq!(states["db"].state.to_string(), "down", "{stdout}");
    let locations: Vec<String> = store
        .last_results_by_location("db")
        .expect("locations")
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(locations, vec!["us", "eu"], "newest first");
    let incidents = store.incidents().expect("incidents");
    assert_eq!(incidents.len(), 1, "one incident for db, not one per shard");
    assert_eq!(incidents[0].probe, "db");
    drop(store);

    // Merging again opens nothing new.
    merge(&cfg, &[&eu, &us], &into, MERGE_AT);
    let store = Store::open_read_only(&into).expect("open");
    assert_eq!(store.incidents().expect("incidents").len(), 1);
}

#[test]
fn shards_one_by_one_give_the_same_store_as_all_at_once() {
    let ws = Workspace::new();
    let cfg = config(&ws);
    let (eu, us) = shards(&ws, &cfg);
    let all = ws.path().join("all.db");
    let one_by_one = ws.path().join("one.db");
    assert_eq!(merge(&cfg, &[&eu, &us], &all, MERGE_AT).0, 0);
    assert_eq!(merge(&cfg, &[&us], &one_by_one, MERGE_AT).0, 0);
    let (code, stdout, _) = merge(&cfg, &[&eu, &us], &one_by_one, MERGE_AT);
    assert_eq!(code, 0);
    // us is read from the newest hour the target holds of it on (two results
    // of each probe), eu whole.
    assert!(
        stdout.contains("6 results added, 4 already present"),
        "{stdout}"
    );
    for probe in ["api", "db"] {
        assert_eq!(rollups(&all, probe), rollups(&one_by_one, probe), "{probe}");
    }
}

#[test]
fn rollups_of_days_a_shard_has_pruned_are_copied_once() {
    let ws = Workspace::new();
    let cfg = config(&ws);
    let shard = ws.path().join("eu.db");
    run(&cfg, &shard, "eu", "2026-09-01T10:00:00Z");
    run(&cfg, &shard, "eu", "2026-09-01T10:05:00Z");
    // Forty days later: retention (30 days) prunes September's raw results,
    // the daily rollup stays.
    run(&cfg, &shard, "eu", "2026-10-11T10:00:00Z");
    assert_eq!(count(&shard), 2);
    let september = NaiveDate::from_ymd_opt(2026, 9, 1).expect("date");
    let api = rollups(&shard, "api");
    assert_eq!(api.len(), 2);
    assert_eq!((api[0].1, api[0].2), (september, 2));

    let into = ws.path().join("merged.db");
    let at = "2026-10-11T10:10:00Z";
    let (code, stdout, stderr) = merge(&cfg, &[&shard], &into, at);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "2 results added, 0 already present, 2 rollup days updated, 2 rollup days copied"
        ),
        "{stdout}"
    );
    assert_eq!(rollups(&into, "api"), api);
    let (_, stdout, _) = merge(&cfg, &[&shard], &into, at);
    assert!(
        stdout.contains("0 rollup days updated, 0 rollup days copied"),
        "{stdout}"
    );
    assert_eq!(rollups(&into, "api"), api, "never counted twice");
}

#[test]
fn a_file_that_is_not_a_store_is_refused_and_left_alone() {
    let ws = Workspace::new();
    let cfg = config(&ws);
    let good = ws.path().join("eu.db");
    run(&cfg, &good, "eu", "2026-11-01T10:00:00Z");

    let text = ws.path().join("notes.db");
    std::fs::write(&text, "not a database\n").expect("write");
    let other = ws.path().join("other.db");
    foreign_database(&other);
    let into = ws.path().join("merged.db");
    for bad in [&text, &other] {
        let before = hash(bad);
        let (code, stdout, stderr) = merge(&cfg, &[&good, bad], &into, MERGE_AT);
        assert_eq!(code, 3, "{stdout}{stderr}");
        assert!(stderr.contains("not an Outpost store"), "{stderr}");
        assert_eq!(hash(bad), before, "{} changed", bad.display());
        assert!(
            !into.exists(),
            "nothing merged, the target not even created"
        );
    }

    let missing = ws.path().join("missing.db");
    let (code, _, stderr) = merge(&cfg, &[&good, &missing], &into, MERGE_AT);
    assert_eq!(code, 3, "{stderr}");
    assert!(!missing.exists(), "a missing shard is not created");

    // The target is refused the same way, and left alone.
    let before = hash(&text);
    let (code, _, stderr) = merge(&cfg, &[&good], &text, MERGE_AT);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(hash(&text), before);
}

/// Another program's SQLite database: its own application_id and a table.
fn foreign_database(path: &Path) {
    let conn = rusqlite::Connection::open(path).expect("create");
    conn.execute_batch("PRAGMA application_id = 1234; CREATE TABLE notes (body TEXT);")
        .expect("foreign tables");
}

#[test]
fn a_shard_with_a_live_wal_is_read_whole_and_left_unchanged() {
    let ws = Workspace::new();
    let cfg = config(&ws);
    let shard = ws.path().join("eu.db");
    run(&cfg, &shard, "eu", "2026-11-01T10:00:00Z");
    // A writer that is still open: its last commit lives only in the WAL.
    let mut writer = Store::open(&shard).expect("open");
    let mut late = writer
        .results_for(&outpost::model::ProbeId("api".into()), 1)
        .expect("results");
    late[0].started_at += chrono::Duration::minutes(5);
    writer.insert_results(&late).expect("insert");
    let wal = PathBuf::from(format!("{}-wal", shard.display()));
    assert!(wal.exists());
    let before = (hash(&shard), hash(&wal));

    let into = ws.path().join("merged.db");
    let (code, stdout, stderr) = merge(&cfg, &[&shard], &into, MERGE_AT);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("3 results added"), "{stdout}");
    assert_eq!((hash(&shard), hash(&wal)), before);
    drop(writer);
}

#[test]
fn usage_errors_exit_2() {
    let ws = Workspace::new();
    let cfg = config(&ws);
    let shard = ws.path().join("eu.db");
    run(&cfg, &shard, "eu", "2026-11-01T10:00:00Z");
    let no_shards = outpost()
        .args(["merge", "--into"])
        .arg(ws.path().join("m.db"))
        .output()
        .expect("merge");
    assert_eq!(no_shards.status.code(), Some(2));
    let no_into = outpost().arg("merge").arg(&shard).output().expect("merge");
    assert_eq!(no_into.status.code(), Some(2));
    let before = hash(&shard);
    let (code, _, stderr) = merge(&cfg, &[&shard], &shard, MERGE_AT);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(hash(&shard), before);
    let broken = ws.path().join("broken.toml");
    std::fs::write(&broken, "[[probe]]\nnope = 1\n").expect("write");
    let (code, _, _) = merge(&broken, &[&shard], &ws.path().join("m.db"), MERGE_AT);
    assert_eq!(code, 2);
    assert!(!ws.path().join("m.db").exists());
}

#[test]
fn without_a_config_results_and_location_states_still_merge() {
    let ws = Workspace::new();
    let cfg = config(&ws);
    let (eu, us) = shards(&ws, &cfg);
    let into = ws.path().join("merged.db");
    // Run from an empty folder: no probes.toml there.
    let empty = tempfile::tempdir().expect("tempdir");
    let out = outpost()
        .current_dir(empty.path())
        .arg("merge")
        .arg(&eu)
        .arg(&us)
        .arg("--into")
        .arg(&into)
        .output()
        .expect("merge");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stderr.contains("no usable config"), "{stderr}");
    assert!(stdout.contains("14 results added"), "{stdout}");
    assert!(stdout.contains("4 location states copied"), "{stdout}");
    let store = Store::open_read_only(&into).expect("open");
    assert_eq!(store.last_results_by_location("api").expect("l").len(), 2);
}
