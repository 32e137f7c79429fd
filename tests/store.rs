//! The SQLite store on real files: round trips, idempotent inserts, refusing
//! files that are not ours without touching them, and overlapping writers.

mod support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use outpost::model::{Cause, Outcome, Phases, ProbeId, ProbeResult, ResultId};
use outpost::store::{APPLICATION_ID, Store, StoreError, migrations};
use rusqlite::Connection;
use support::{Workspace, http};

fn at(millis: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(millis)
        .single()
        .expect("valid time")
}

/// A result with every optional field set.
fn full(probe: &str, location: &str, started_ms: i64) -> ProbeResult {
    ProbeResult {
        probe: ProbeId(probe.to_string()),
        id: ResultId(7),
        location: location.to_string(),
        started_at: at(started_ms),
        outcome: Outcome::Down,
        cause: Some(Cause::Status),
        message: Some("expected status 2xx, got 503 — «ünïcödé»".to_string()),
        status: Some(503),
        latency: Duration::from_micros(41_700),
        phases: Phases {
            dns: Some(Duration::from_micros(400)),
            connect: Some(Duration::from_micros(1_100)),
            tls: Some(Duration::from_micros(6_000)),
            ttfb: Some(Duration::from_nanos(33_900_123)),
            transfer: Some(Duration::from_micros(300)),
        },
        cert_expires_at: Some(
            Utc.with_ymd_and_hms(2027, 1, 9, 0, 0, 0)
                .single()
                .expect("valid time"),
        ),
        body_bytes: None,
        body_decoded_bytes: None,
        http_version: None,
        ip: None,
        steps: Vec::new(),
    }
}

/// A result with every optional field `None`.
fn bare(probe: &str, location: &str, started_ms: i64) -> ProbeResult {
    ProbeResult {
        probe: ProbeId(probe.to_string()),
        id: ResultId(7),
        location: location.to_string(),
        started_at: at(started_ms),
        outcome: Outcome::Up,
        cause: None,
        message: None,
        status: None,
        latency: Duration::from_micros(12_345),
        phases: Phases::default(),
        cert_expires_at: None,
        body_bytes: None,
        body_decoded_bytes: None,
        http_version: None,
        ip: None,
        steps: Vec::new(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn assert_close(what: &str, got: Option<Duration>, want: Option<Duration>) {
    match (got, want) {
        (None, None) => {}
        (Some(g), Some(w)) => assert!(
            (ms(g) - ms(w)).abs() < 0.001,
            "{what}: got {} ms, want {} ms",
            ms(g),
            ms(w)
        ),
        _ => panic!("{what}: got {got:?}, want {want:?}"),
    }
}

/// Equal field by field; durations in ms within 0.001.
fn assert_same(got: &ProbeResult, want: &ProbeResult) {
    assert_eq!(got.probe, want.probe);
    assert_eq!(got.location, want.location);
    assert_eq!(got.started_at, want.started_at);
    assert_eq!(got.outcome, want.outcome);
    assert_eq!(got.cause, want.cause);
    assert_eq!(got.message, want.message);
    assert_eq!(got.status, want.status);
    assert_close("latency", Some(got.latency), Some(want.latency));
    assert_close("dns", got.phases.dns, want.phases.dns);
    assert_close("connect", got.phases.connect, want.phases.connect);
    assert_close("tls", got.phases.tls, want.phases.tls);
    assert_close("ttfb", got.phases.ttfb, want.phases.ttfb);
    assert_close("transfer", got.phases.transfer, want.phases.transfer);
    assert_eq!(got.cert_expires_at, want.cert_expires_at);
}

/// A pragma's value, read through a connection of our own.
fn pragma<T: rusqlite::types::FromSql>(path: &Path, name: &str) -> T {
    let conn = Connection::open(path).expect("open");
    conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
        .expect("pragma")
}

#[test]
fn a_new_store_is_in_wal_mode_at_the_latest_schema() {
    let ws = Workspace::new();
    let store = Store::open(&ws.db()).expect("open");
    assert_eq!(
        store.schema_version().expect("version"),
        migrations::latest()
    );
    assert_eq!(store.count_results().expect("count"), 0);
    drop(store);

    assert_eq!(pragma::<String>(&ws.db(), "journal_mode"), "wal");
    let conn = Connection::open(ws.db()).expect("open");
    let (id, version): (i32, i64) = conn
        .query_row(
            "SELECT (SELECT application_id FROM pragma_application_id),
                    (SELECT user_version FROM pragma_user_version)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("header");
    assert_eq!(id, APPLICATION_ID);
    assert_eq!(version, i64::from(migrations::latest()));
}

/// A store written by the version before the compact schema (v3: a row per
/// result, text histograms) opens with every result, rollup and state.
#[test]
fn a_version_3_store_keeps_its_history_when_migrated() {
    let ws = Workspace::new();
    let conn = Connection::open(ws.db()).expect("open");
    for step in &migrations::MIGRATIONS[..3] {
        let migrations::Step::Sql(sql) = step else {
            panic!("steps 1 to 3 are SQL");
        };
        conn.execute_batch(sql).expect("old schema");
    }
    conn.pragma_update(None, "application_id", APPLICATION_ID)
        .expect("id");
    conn.pragma_update(None, "user_version", 3)
        .expect("version");
    conn.execute_batch(
        "INSERT INTO results (probe, location, started_at, outcome, cause, message, status,
            latency_ms, dns_ms, connect_ms, tls_ms, ttfb_ms, transfer_ms, cert_expires_at) VALUES
          ('api', 'eu', 1764064800123, 'down', 'status', 'expected status 2xx, got 503', 503,
            41.7, 0.4, 1.1, 6.0, 33.9, 0.3, '2027-01-09T00:00:00Z'),
          ('api', 'eu', 1764065100000, 'up', NULL, NULL, 200, 12.345, NULL, NULL, NULL, NULL, NULL, NULL),
          ('db', 'us', 1764065100000, 'up', NULL, NULL, NULL, 1.5, NULL, 1.5, NULL, NULL, NULL, NULL);
         INSERT INTO rollups VALUES ('api', 'eu', 20400, 10, 9, 0, 1, 0, 0, 'h2;300:9,20', 4.0, 10,
            11.0, 10, 60.0, 10, 339.0, 10, 3.0, 10);
         INSERT INTO location_states VALUES ('api', 'eu', 'operational', 1, 0, 0, 1764065100000);",
    )
    .expect("old rows");
    drop(conn);

    let store = Store::open(&ws.db()).expect("migrate");
    assert_eq!(
        store.schema_version().expect("version"),
        migrations::latest()
    );
    assert_eq!(store.count_results().expect("count"), 3);
    let api = store
        .results_for(&ProbeId("api".into()), 10)
        .expect("read api");
    assert_eq!(api.len(), 2);
    let down = &api[1];
    assert_eq!(down.started_at.timestamp_millis(), 1_764_064_800_123);
    assert_eq!(
        (down.outcome, down.cause, down.status),
        (Outcome::Down, Some(Cause::Status), Some(503))
    );
    assert_eq!(
        down.message.as_deref(),
        Some("expected status 2xx, got 503")
    );
    assert_eq!(down.latency, Duration::from_micros(41_700));
    assert_eq!(down.phases.ttfb, Some(Duration::from_micros(33_900)));
    assert_eq!(
        down.cert_expires_at.map(|t| t.to_rfc3339()),
        Some("2027-01-09T00:00:00+00:00".to_string())
    );
    let day = chrono::NaiveDate::from_ymd_opt(2025, 11, 8).expect("day 20400");
    let rollups = store.rollups("api", day, day).expect("rollups");
    assert_eq!(rollups.len(), 1);
    assert_eq!((rollups[0].counts.runs, rollups[0].counts.down), (10, 1));
    assert_eq!(rollups[0].latency.count(), 10);
    assert_eq!(rollups[0].phases.sums[3], (339.0, 10));
    drop(store);
    let conn = Connection::open(ws.db()).expect("open");
    let old: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('results', 'rollups')",
            [],
            |r| r.get(0),
        )
        .expect("tables");
    assert_eq!(old, 0, "the old tables are gone");
}

#[test]
fn results_round_trip_through_a_reopened_store() {
    let ws = Workspace::new();
    let written = vec![
        full("api", "eu", 1_764_064_800_123),
        bare("api", "us", 1_764_064_800_124),
        bare("db", "eu", 1_764_064_800_000),
    ];
    {
        let mut store = Store::open(&ws.db()).expect("open");
        store.insert_results(&written).expect("insert");
    }

    let store = Store::open(&ws.db()).expect("reopen");
    assert_eq!(store.count_results().expect("count"), 3);
    let api = store
        .results_for(&ProbeId("api".into()), 10)
        .expect("read api");
    assert_eq!(api.len(), 2);
    // Newest first.
    assert_same(&api[0], &written[1]);
    assert_same(&api[1], &written[0]);
    let db = store
        .results_for(&ProbeId("db".into()), 10)
        .expect("read db");
    assert_eq!(db.len(), 1);
    assert_same(&db[0], &written[2]);
    assert!(
        store
            .results_for(&ProbeId("nope".into()), 10)
            .expect("read none")
            .is_empty()
    );
}

#[test]
fn results_for_is_newest_first_and_limited() {
    let ws = Workspace::new();
    let mut store = Store::open(&ws.db()).expect("open");
    let base = 1_764_064_800_000;
    // Written out of order, across two locations.
    let results: Vec<ProbeResult> = [3, 0, 4, 1, 2]
        .iter()
        .map(|i| {
            bare(
                "api",
                if i % 2 == 0 { "eu" } else { "us" },
                base + i * 60_000,
            )
        })
        .collect();
    store.insert_results(&results).expect("insert");
    let got = store.results_for(&ProbeId("api".into()), 3).expect("read");
    let starts: Vec<i64> = got
        .iter()
        .map(|r| r.started_at.timestamp_millis())
        .collect();
    assert_eq!(
        starts,
        vec![base + 4 * 60_000, base + 3 * 60_000, base + 2 * 60_000]
    );
}

/// The newest results come from a window of hours that widens until it
/// holds enough: across gaps, hours with one location only, and the oldest.
#[test]
fn results_for_reaches_back_across_hours_and_gaps() {
    let ws = Workspace::new();
    let mut store = Store::open(&ws.db()).expect("open");
    let base = 1_764_064_800_000;
    let hour = 3_600_000;
    let results: Vec<ProbeResult> = [(0, 5), (0, 50), (1, 7), (7, 1), (7, 59), (40, 30), (41, 2)]
        .iter()
        .enumerate()
        .map(|(n, (h, minute))| {
            bare(
                "api",
                if n % 2 == 0 { "eu" } else { "us" },
                base + h * hour + minute * 60_000,
            )
        })
        .collect();
    store.insert_results(&results).expect("insert");
    let mut all: Vec<i64> = results
        .iter()
        .map(|r| r.started_at.timestamp_millis())
        .collect();
    all.sort_by(|a, b| b.cmp(a));
    for limit in 1..=all.len() + 1 {
        let got: Vec<i64> = store
            .results_for(&ProbeId("api".into()), limit)
            .expect("read")
            .iter()
            .map(|r| r.started_at.timestamp_millis())
            .collect();
        assert_eq!(got, all[..limit.min(all.len())], "limit {limit}");
    }
}

#[test]
fn inserting_the_same_results_twice_keeps_one_row_each() {
    let ws = Workspace::new();
    let results = vec![
        full("api", "eu", 1_764_064_800_000),
        bare("api", "eu", 1_764_064_860_000),
        // Same probe and time from another location is another result.
        bare("api", "us", 1_764_064_860_000),
    ];
    let mut store = Store::open(&ws.db()).expect("open");
    store.insert_results(&results).expect("first");
    store.insert_results(&results).expect("second");
    assert_eq!(store.count_results().expect("count"), 3);

    // As `merge` will: another handle, the same shard again.
    let mut other = Store::open(&ws.db()).expect("open again");
    other.insert_results(&results).expect("third");
    assert_eq!(other.count_results().expect("count"), 3);
    // The first write wins; the duplicate does not overwrite it.
    let got = other.results_for(&ProbeId("api".into()), 10).expect("read");
    assert_eq!(got.len(), 3);
}

#[test]
fn an_empty_batch_is_fine() {
    let ws = Workspace::new();
    let mut store = Store::open(&ws.db()).expect("open");
    store.insert_results(&[]).expect("insert nothing");
    assert_eq!(store.count_results().expect("count"), 0);
}

#[test]
fn an_unknown_stored_cause_is_an_error_not_a_panic() {
    let ws = Workspace::new();
    // An hour's first millisecond, so the block's start delta is 0.
    let hour_ms = 1_764_064_800_000;
    Store::open(&ws.db())
        .expect("create")
        .insert_results(&[bare("api", "eu", hour_ms)])
        .expect("insert");
    let conn = Connection::open(ws.db()).expect("raw open");
    // version 1, one result: start +0, id 7, flags down|cause, 12,345 µs,
    // cause code 99 (no such cause).
    conn.execute(
        "UPDATE result_blocks SET data = x'0101000700000006b96063'",
        [],
    )
    .expect("raw update");
    drop(conn);

    let store = Store::open(&ws.db()).expect("open");
    let err = store
        .results_for(&ProbeId("api".into()), 10)
        .expect_err("unknown cause");
    assert!(
        matches!(
            err,
            StoreError::BadValue {
                column: "result_blocks.data",
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("unknown cause"), "{msg}");
    assert!(msg.contains(&ws.db().display().to_string()), "{msg}");
}

/// Issue 9 item 2: results of one probe and location that started in the
/// same millisecond (five runs at once) are distinct; the same result twice
/// is one.
#[test]
fn results_in_the_same_millisecond_are_distinct_by_id() {
    let ws = Workspace::new();
    let mut store = Store::open(&ws.db()).expect("open");
    let same_ms: Vec<ProbeResult> = (0..5)
        .map(|i| ProbeResult {
            id: ResultId(1000 + i),
            ..bare("api", "eu", 1_764_064_800_123)
        })
        .collect();
    assert_eq!(store.insert_results(&same_ms).expect("insert"), 5);
    assert_eq!(store.insert_results(&same_ms).expect("again"), 0);
    assert_eq!(store.count_results().expect("count"), 5);
}

#[test]
fn an_empty_sqlite_database_becomes_a_store() {
    let ws = Workspace::new();
    let conn = Connection::open(ws.db()).expect("open");
    conn.execute_batch("VACUUM").expect("write a header");
    drop(conn);
    let store = Store::open(&ws.db()).expect("adopted");
    assert_eq!(
        store.schema_version().expect("version"),
        migrations::latest()
    );
}

// ---- refusing files that are not ours ------------------------------------

/// Files SQLite keeps beside a database; refusing must not leave any behind.
fn sidecars(path: &Path) -> Vec<PathBuf> {
    ["-wal", "-shm", "-journal"]
        .iter()
        .map(|s| PathBuf::from(format!("{}{s}", path.display())))
        .filter(|p| p.exists())
        .collect()
}

/// Open `path`, expect a refusal, and check the file did not change.
fn refused(path: &Path) -> StoreError {
    let before = std::fs::read(path).expect("read before");
    let err = match Store::open(path) {
        Ok(_) => panic!("{} was opened, expected a refusal", path.display()),
        Err(e) => e,
    };
    let after = std::fs::read(path).expect("read after");
    assert!(before == after, "{} was modified", path.display());
    assert_eq!(sidecars(path), Vec::<PathBuf>::new());
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "message does not name the file: {msg}"
    );
    err
}

/// Deterministic noise (xorshift), so a failure is reproducible.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn random_bytes_are_refused_untouched() {
    let ws = Workspace::new();
    let path = ws.path().join("random.db");
    std::fs::write(&path, noise(64 * 1024)).expect("write");
    let err = refused(&path);
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
    assert!(err.to_string().contains("refusing to touch it"), "{err}");
}

#[test]
fn a_text_file_is_refused_untouched() {
    let ws = Workspace::new();
    let path = ws.path().join("notes.db");
    std::fs::write(&path, "remember to renew the certificate\n").expect("write");
    let err = refused(&path);
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
}

#[test]
fn another_applications_database_is_refused_untouched() {
    let ws = Workspace::new();
    let path = ws.path().join("app.db");
    let conn = Connection::open(&path).expect("open");
    conn.execute_batch(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
         INSERT INTO users (name) VALUES ('ada');",
    )
    .expect("their schema");
    drop(conn);

    let err = refused(&path);
    assert!(
        matches!(
            err,
            StoreError::Foreign {
                application_id: 0,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("is not an Outpost store"), "{msg}");
    assert!(msg.contains("refusing to touch it"), "{msg}");
}

#[test]
fn another_application_id_is_refused_untouched() {
    let ws = Workspace::new();
    let path = ws.path().join("tagged.db");
    let conn = Connection::open(&path).expect("open");
    // Fossil's id; no tables at all.
    conn.execute_batch("PRAGMA application_id = 252006673; VACUUM;")
        .expect("set id");
    drop(conn);
    let err = refused(&path);
    assert!(
        matches!(
            err,
            StoreError::Foreign {
                application_id: 252_006_673,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_store_from_a_newer_outpost_is_refused_untouched() {
    let ws = Workspace::new();
    // A real store, then bumped as a later binary would.
    {
        let mut store = Store::open(&ws.db()).expect("create");
        store
            .insert_results(&[bare("api", "eu", 1_764_064_800_000)])
            .expect("insert");
    }
    let newer = migrations::latest() + 1;
    let conn = Connection::open(ws.db()).expect("open");
    conn.pragma_update(None, "user_version", newer)
        .expect("bump");
    drop(conn);

    let err = refused(&ws.db());
    match &err {
        StoreError::TooNew {
            found, supported, ..
        } => {
            assert_eq!(*found, i64::from(newer));
            assert_eq!(*supported, migrations::latest());
        }
        other => panic!("expected TooNew, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "was written by a newer Outpost (schema {newer}, this binary knows {})",
            migrations::latest()
        )),
        "{msg}"
    );
    assert!(msg.contains("upgrade outpost"), "{msg}");
    assert_eq!(pragma::<i64>(&ws.db(), "user_version"), i64::from(newer));
}

#[test]
fn run_refuses_a_foreign_store_with_exit_code_3() {
    let ws = Workspace::new();
    let db = ws.path().join("someone-else.db");
    let conn = Connection::open(&db).expect("open");
    conn.execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY)")
        .expect("their schema");
    drop(conn);
    let before = std::fs::read(&db).expect("read before");

    let cfg = ws.config(&format!(
        "[[probe]]\nname = \"db\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:{}\"\n",
        http::closed_port()
    ));
    let out = support::outpost()
        .arg("run")
        .arg("-c")
        .arg(&cfg)
        .arg("--db")
        .arg(&db)
        .args(["--format", "json", "--location", "test"])
        .output()
        .expect("run outpost");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr:\n{stderr}");
    assert!(stderr.contains("someone-else.db"), "stderr:\n{stderr}");
    assert!(stderr.contains("not an Outpost store"), "stderr:\n{stderr}");
    assert_eq!(std::fs::read(&db).expect("read after"), before);
}

#[test]
fn run_writes_its_results_and_leaves_a_self_contained_file() {
    let ws = Workspace::new();
    let toml = format!(
        "[[probe]]\nname = \"db\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:{}\"\n",
        http::closed_port()
    );
    let (code, doc) = ws.run_json(&toml, &[]);
    assert_eq!(code, 1, "{doc:#}");
    ws.run_json(&toml, &[]);
    // The last connection checkpointed the WAL: the file alone is the store,
    // as it must be when CI commits it to a branch.
    assert_eq!(sidecars(&ws.db()), Vec::<PathBuf>::new());

    let store = Store::open(&ws.db()).expect("open");
    assert_eq!(store.count_results().expect("count"), 2);
    let latest = store.results_for(&ProbeId("db".into()), 1).expect("read");
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].location, "test");
    assert_eq!(latest[0].outcome, Outcome::Down);
    assert_eq!(latest[0].cause, Some(Cause::Connect));
}

// ---- overlapping writers -----------------------------------------------------

#[test]
fn two_writers_on_one_file_both_land() {
    const BATCHES: i64 = 100;
    const PER_BATCH: i64 = 20;
    let ws = Workspace::new();
    let path = Arc::new(ws.db());
    // Both open the new file at the same moment, as two cron runs would.
    let start = Arc::new(Barrier::new(2));
    let writers: Vec<_> = ["eu", "us"]
        .into_iter()
        .map(|location| {
            let path = path.clone();
            let start = start.clone();
            std::thread::spawn(move || -> Result<(), StoreError> {
                start.wait();
                let mut store = Store::open(&path)?;
                for batch in 0..BATCHES {
                    let results: Vec<ProbeResult> = (0..PER_BATCH)
                        .map(|i| {
                            full(
                                &format!("probe-{i}"),
                                location,
                                1_764_064_800_000 + batch * 1_000,
                            )
                        })
                        .collect();
                    store.insert_results(&results)?;
                }
                Ok(())
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer thread").expect("writer");
    }
    let store = Store::open(&path).expect("open");
    assert_eq!(
        store.count_results().expect("count"),
        (2 * BATCHES * PER_BATCH) as u64
    );
}

#[test]
fn overlapping_runs_of_the_binary_all_land() {
    const RUNS: usize = 8;
    let ws = Workspace::new();
    let cfg = ws.config(&format!(
        "[[probe]]\nname = \"db\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:{}\"\n",
        http::closed_port()
    ));
    // All started before any is waited for: they race to create the file.
    let children: Vec<_> = (0..RUNS)
        .map(|i| {
            std::process::Command::new(env!("CARGO_BIN_EXE_outpost"))
                .arg("run")
                .arg("-c")
                .arg(&cfg)
                .arg("--db")
                .arg(ws.db())
                .args(["--format", "json", "--location", &format!("runner-{i}")])
                .env_remove("RUST_LOG")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn outpost")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert_eq!(
            out.status.code(),
            Some(1),
            "a run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let store = Store::open(&ws.db()).expect("open");
    assert_eq!(store.count_results().expect("count"), RUNS as u64);
}
