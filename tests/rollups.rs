//! Daily rollups: percentiles merged from histograms stay within 2% of the exact
//! percentiles of the raw data, uptime ignores maintenance, pruning keeps rollups.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Timelike, Utc};
use outpost::model::{Outcome, Phases, ProbeId, ProbeResult, ResultId};
use outpost::rollup::summarize;
use outpost::store::{Store, StoreError};

/// xorshift64*: a seeded generator, so the data is the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A skewed latency: mostly 20–80 ms, a long tail to seconds.
    fn latency_ms(&mut self) -> f64 {
        let u = self.next().max(1e-12);
        20.0 + 30.0 * (-u.ln())
            + if self.next() < 0.03 {
                2000.0 * self.next()
            } else {
                0.0
            }
    }
}

fn result(location: &str, at: DateTime<Utc>, ms: f64, outcome: Outcome) -> ProbeResult {
    ProbeResult {
        probe: ProbeId("api".into()),
        id: ResultId(0),
        location: location.into(),
        started_at: at,
        outcome,
        cause: None,
        message: None,
        status: Some(200),
        latency: Duration::from_secs_f64(ms / 1000.0),
        phases: Phases {
            connect: Some(Duration::from_micros(500)),
            ..Phases::default()
        },
        cert_expires_at: None,
        body_bytes: None,
        body_decoded_bytes: None,
        http_version: None,
        ip: None,
        steps: Vec::new(),
    }
}

fn exact(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[test]
fn merged_percentiles_are_within_two_percent_of_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("o.db")).expect("open");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let first = Utc
        .with_ymd_and_hms(2026, 8, 28, 0, 0, 0)
        .single()
        .expect("date");
    let mut all: Vec<(NaiveDate, f64)> = Vec::new();
    for day in 0..90 {
        let mut batch = Vec::new();
        for location in ["eu", "us", "ap"] {
            for i in 0..48 {
                let at = first + chrono::Duration::days(day) + chrono::Duration::minutes(30 * i);
                let ms = rng.latency_ms();
                all.push((at.date_naive(), ms));
                batch.push(result(location, at, ms, Outcome::Up));
            }
        }
        store
            .write(|w| w.record_results(&batch, &|_| false).map(|_| ()))
            .expect("write day");
    }
    let last = first.date_naive() + chrono::Duration::days(89);
    let rollups = store
        .rollups("api", first.date_naive(), last)
        .expect("rollups");
    assert_eq!(rollups.len(), 90 * 3);
    for days in [1, 7, 30, 90] {
        let from = last - chrono::Duration::days(days - 1);
        let s = summarize(&rollups, from, last);
        let mut raw: Vec<f64> = all
            .iter()
            .filter(|(d, _)| *d >= from)
            .map(|(_, v)| *v)
            .collect();
        raw.sort_by(f64::total_cmp);
        assert_eq!(s.counts.runs as usize, raw.len());
        for q in [0.50, 0.95, 0.99] {
            let want = exact(&raw, q);
            let got = s.percentile(q).expect("percentile");
            let err = (got - want).abs() / want;
            assert!(
                err < 0.02,
                "{days} d p{}: {got:.3} vs exact {want:.3} ({:.2}%)",
                q * 100.0,
                err * 100.0
            );
        }
    }
}

#[test]
fn uptime_maintenance_prune_and_rebuild() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("o.db")).expect("open");
    let day = Utc
        .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .expect("date");
    let at = |h: i64| day + chrono::Duration::hours(h);
    let results = vec![
        result("eu", at(1), 10.0, Outcome::Up),
        result("eu", at(2), 10.0, Outcome::Degraded),
        result("eu", at(3), 10.0, Outcome::Down),
        result("eu", at(4), 10.0, Outcome::Down), // inside maintenance
    ];
    let maint = |r: &ProbeResult| r.started_at == at(4);
    store
        .write(|w| w.record_results(&results, &maint).map(|_| ()))
        .expect("write");
    // The same results again (a merged shard): counted once.
    store
        .write(|w| w.record_results(&results, &maint).map(|_| ()))
        .expect("write again");
    let d = day.date_naive();
    let r = store.rollups("api", d, d).expect("rollups");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].counts.runs, 4);
    let uptime = r[0].counts.uptime().expect("uptime");
    assert!((uptime - 200.0 / 3.0).abs() < 1e-9, "{uptime}");

    // Pruning drops raw results, never rollups.
    let pruned = store.write(|w| w.prune("api", at(48))).expect("prune");
    assert_eq!(pruned, 4);
    assert_eq!(store.count_results().expect("count"), 0);
    assert_eq!(
        store.rollups("api", d, d).expect("rollups")[0].counts.runs,
        4
    );
}

#[test]
fn a_corrupt_histogram_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("o.db");
    let mut store = Store::open(&path).expect("open");
    let day = Utc
        .with_ymd_and_hms(2026, 11, 1, 1, 0, 0)
        .single()
        .expect("date");
    let rs = vec![result("eu", day, 5.0, Outcome::Up)];
    store
        .write(|w| w.record_results(&rs, &|_| false).map(|_| ()))
        .expect("write");
    drop(store);
    let conn = rusqlite::Connection::open(&path).expect("raw");
    conn.execute("UPDATE day_rollups SET detail = x'01020304'", [])
        .expect("corrupt");
    drop(conn);
    let store = Store::open(&path).expect("reopen");
    let err = store
        .rollups("api", day.date_naive(), day.date_naive())
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::BadValue {
                column: "day_rollups.detail",
                ..
            }
        ),
        "{err}"
    );
}

/// A day written run by run (with results stored twice and some in
/// maintenance) equals the same day written at once.
#[test]
fn rebuilding_a_day_equals_the_incremental_rollup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("o.db")).expect("open");
    let mut rng = Rng(7);
    let day = Utc
        .with_ymd_and_hms(2026, 11, 3, 0, 0, 0)
        .single()
        .expect("date");
    let outcomes = [Outcome::Up, Outcome::Up, Outcome::Degraded, Outcome::Down];
    let all: Vec<ProbeResult> = (0..288)
        .flat_map(|slot| {
            let at = day + chrono::Duration::minutes(5 * slot);
            let ms = rng.latency_ms();
            let outcome = outcomes[(slot % 4) as usize];
            [
                result("eu", at, ms, outcome),
                result("us", at, ms * 1.5, Outcome::Up),
            ]
        })
        .collect();
    let maint = |r: &ProbeResult| r.started_at.hour() == 3;
    for run in all.chunks(2) {
        store
            .write(|w| w.record_results(run, &maint).map(|_| ()))
            .expect("run");
    }
    // A shard holding results already stored: nothing changes.
    store
        .write(|w| w.record_results(&all[100..110], &maint).map(|_| ()))
        .expect("merge");
    let d = day.date_naive();
    let incremental = store.rollups("api", d, d).expect("rollups");
    assert_eq!(incremental.len(), 2);
    let eu = &incremental[0];
    assert_eq!((eu.location.as_str(), eu.counts.runs), ("eu", 288));
    assert_eq!(
        (eu.counts.up, eu.counts.degraded, eu.counts.down),
        (144, 72, 72)
    );
    assert_eq!((eu.counts.maintenance, eu.counts.maintenance_down), (12, 3));
    assert_eq!(eu.latency.count(), 288);
    let [_, connect, ..] = eu.phases.means();
    assert!((connect.expect("connect mean") - 0.5).abs() < 1e-9);

    let mut fresh = Store::open(&dir.path().join("fresh.db")).expect("open fresh");
    fresh
        .write(|w| w.record_results(&all, &maint).map(|_| ()))
        .expect("the day at once");
    assert_eq!(fresh.rollups("api", d, d).expect("at once"), incremental);
}

/// Windows keep counting days whose raw results are pruned; the last 24 h
/// come from raw results, oldest first.
#[test]
fn pruned_days_still_count_in_windows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("o.db")).expect("open");
    let start = Utc
        .with_ymd_and_hms(2026, 10, 1, 12, 0, 0)
        .single()
        .expect("date");
    for day in 0..40 {
        let at = start + chrono::Duration::days(day);
        let outcome = if day % 10 == 0 {
            Outcome::Down
        } else {
            Outcome::Up
        };
        let rs = vec![
            result("eu", at, 30.0, outcome),
            result("us", at, 60.0, Outcome::Up),
        ];
        store
            .write(|w| {
                w.record_results(&rs, &|_| false)?;
                w.prune("api", at - chrono::Duration::days(7))
            })
            .expect("run");
    }
    // 40 days × 2 locations written, raw results of the last 7 days kept.
    assert_eq!(store.count_results().expect("count"), 16);
    let last = (start + chrono::Duration::days(39)).date_naive();
    let first = start.date_naive();
    let s = summarize(
        &store.rollups("api", first, last).expect("rollups"),
        first,
        last,
    );
    assert_eq!((s.counts.runs, s.counts.down), (80, 4));
    assert_eq!(s.uptime(), Some(100.0 * 76.0 / 80.0));
    assert_eq!(s.latency.count(), 80);

    let to = start + chrono::Duration::days(39) + chrono::Duration::minutes(1);
    let recent = store
        .results_between("api", to - chrono::Duration::hours(24), to)
        .expect("raw");
    let locations: Vec<&str> = recent.iter().map(|r| r.location.as_str()).collect();
    assert_eq!(locations, ["eu", "us"]);
    let older = store
        .results_between("api", to - chrono::Duration::days(3), to)
        .expect("raw");
    assert_eq!(older.len(), 6);
    assert!(older.windows(2).all(|w| w[0].started_at <= w[1].started_at));
}
