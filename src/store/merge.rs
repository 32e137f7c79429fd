//! Folding shards (stores written at other locations) into one store (SPEC §2,
//! §6). Every step is idempotent: merging the same shard twice changes nothing.
//!
//! A shard is opened read-only ([`Store::open_read_only`]) and never changes.
//! Results are copied on their unique key (probe, location, start millisecond)
//! with `ON CONFLICT DO NOTHING`; the rollups of the days that gained results
//! are rebuilt from raw results, and rollups of days a shard has already
//! pruned are taken from the shard when they know more than the target. No
//! rollup is ever added to another, so nothing is counted twice.
//!
//! States are the caller's: with a config it steps the target's machines with
//! the results that were added (`evaluate`), so quorum, incidents and alerts
//! come from the merged results; without one, [`Writer::merge_location_states`]
//! copies each location's machine from the shard that saw it last.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params, params_from_iter};

use super::results::RawResult;
use super::rollups::day_number;
use super::writer::Writer;
use super::{APPLICATION_ID, BUSY_TIMEOUT, Store, StoreError, guard};
use crate::model::ProbeResult;

/// Milliseconds in a UTC day: rollup day `d` covers `[d * DAY_MS, (d + 1) * DAY_MS)`.
const DAY_MS: i64 = 86_400_000;

/// The schema versions that created each table a merge reads (migrations.rs).
const HAS_STATES: u32 = 2;
const HAS_ROLLUPS: u32 = 3;

const SELECT_RESULTS: &str = "
SELECT probe, location, started_at, outcome, cause, message, status, latency_ms,
       dns_ms, connect_ms, tls_ms, ttfb_ms, transfer_ms, cert_expires_at
FROM results ORDER BY probe, location, started_at";

const ROLLUP_COLUMNS: &str = "probe, location, day, runs, up, degraded, down, maintenance,
   maintenance_down, latency, dns_sum, dns_n, connect_sum, connect_n, tls_sum, tls_n,
   ttfb_sum, ttfb_n, transfer_sum, transfer_n";

/// Index of `runs` in [`ROLLUP_COLUMNS`].
const RUNS: usize = 3;

const STATE_COLUMNS: &str =
    "probe, location, state, up_streak, bad_streak, down_streak, last_result_at";

impl Store {
    /// Open an existing Outpost store for reading only: the same refusals as
    /// [`Store::open`] (a foreign, non-SQLite or newer file), and also a
    /// missing or empty file, since there is nothing to read. Nothing is
    /// created, migrated or checkpointed; every write through the returned
    /// store fails. A store of an older schema is readable as it is.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let io = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        let empty = || StoreError::Foreign {
            path: path.to_path_buf(),
            application_id: 0,
            detail: ", and it is empty",
        };
        if std::fs::metadata(path).map_err(io)?.len() == 0 {
            return Err(empty());
        }
        guard::inspect(path)?;

        // As in guard::inspect: immutable when no WAL file exists, so that
        // SQLite takes no lock and leaves no -wal or -shm file behind; plain
        // read-only when one does, because then committed transactions may
        // live only in the WAL (a writer still running, or one that crashed),
        // and an immutable connection would not see them. A read-only
        // connection never writes the main file or the WAL.
        let conn = if guard::sidecar(path, "-wal").exists() {
            Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
        } else {
            Connection::open_with_flags(
                guard::immutable_uri(path).map_err(io)?,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )
        }
        .map_err(StoreError::sqlite(path, "opening the store read-only"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(StoreError::sqlite(path, "setting busy_timeout"))?;
        // Again on the connection we read through: the file may have been
        // replaced since inspect().
        guard::check_owner(&conn, path)?;
        // check_owner lets an empty database through (a new store to create);
        // here it has nothing to merge.
        let id: i32 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(StoreError::sqlite(path, "reading the store header"))?;
        if id != APPLICATION_ID {
            return Err(empty());
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }
}

/// What copying one shard's results did.
#[derive(Debug, Clone, Default)]
pub struct ResultsMerged {
    /// Results the target did not have, oldest first per probe and location.
    pub added: Vec<ProbeResult>,
    /// Results the target already held (same probe, location and start).
    pub already_present: u64,
    /// Results left out because retention would prune them at once.
    pub expired: u64,
}

/// What settling the rollups after a merge did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollupsMerged {
    /// (probe, location, day) rollups recomputed from raw results.
    pub rebuilt: u64,
    /// Rollups taken from a shard for days whose raw results it has pruned.
    pub copied: u64,
}

/// A rollup row as stored, every column in [`ROLLUP_COLUMNS`] order.
struct RollupRow(Vec<Value>);

impl RollupRow {
    fn runs(&self) -> i64 {
        match self.0.get(RUNS) {
            Some(Value::Integer(n)) => *n,
            _ => 0,
        }
    }
}

/// (probe, location, day number) of a rollup.
type RollupKey = (String, String, i64);

impl Writer<'_> {
    /// Copy every result of `shard` that the target lacks. `keep(probe, at)`
    /// is false for results retention would prune at once: they are left out,
    /// so a merge neither re-adds what the target pruned nor counts it.
    pub fn merge_results(
        &self,
        shard: &Store,
        keep: &dyn Fn(&str, DateTime<Utc>) -> bool,
    ) -> Result<ResultsMerged, StoreError> {
        let from = shard.path.as_path();
        let mut stmt = shard
            .conn
            .prepare(SELECT_RESULTS)
            .map_err(StoreError::sqlite(from, "reading the shard's results"))?;
        let rows = stmt
            .query_map([], RawResult::from_row)
            .map_err(StoreError::sqlite(from, "reading the shard's results"))?;
        let mut out = ResultsMerged::default();
        for row in rows {
            // Converting checks every value: a row this binary does not
            // understand stops the merge, naming the shard.
            let r = row
                .map_err(StoreError::sqlite(from, "reading the shard's results"))?
                .into_result(from)?;
            if !keep(&r.probe.0, r.started_at) {
                out.expired += 1;
                continue;
            }
            self.insert_results(std::slice::from_ref(&r))?;
            if self.tx.changes() > 0 {
                out.added.push(r);
            } else {
                out.already_present += 1;
            }
        }
        Ok(out)
    }

    /// Bring the rollups up to date after `added` results came from `shards`.
    ///
    /// A day that gained results is rebuilt from the target's raw results,
    /// unless those are fewer than a rollup already knows (the day is partly
    /// pruned): then the rollup with the most runs stays. A shard's rollup
    /// the target lacks, or holding more runs than the target's, is taken
    /// as it is (or rebuilt, when the target's raw results cover it). Rollups
    /// are only ever replaced, never added together.
    pub fn merge_rollups(
        &self,
        shards: &[Store],
        added: &[ProbeResult],
        in_maintenance: &dyn Fn(&ProbeResult) -> bool,
    ) -> Result<RollupsMerged, StoreError> {
        let mut out = RollupsMerged::default();
        let touched: BTreeSet<RollupKey> = added
            .iter()
            .map(|r| {
                (
                    r.probe.0.clone(),
                    r.location.clone(),
                    day_number(r.started_at.date_naive()),
                )
            })
            .collect();
        let with_rollups: Vec<&Store> = shards
            .iter()
            .filter(|s| s.schema_version().is_ok_and(|v| v >= HAS_ROLLUPS))
            .collect();

        for key in &touched {
            let mut best: Option<RollupRow> = None;
            for shard in &with_rollups {
                if let Some(row) = shard_rollup(shard, key)?
                    && best.as_ref().is_none_or(|b| row.runs() > b.runs())
                {
                    best = Some(row);
                }
            }
            self.settle_rollup(key, best.as_ref(), in_maintenance, &mut out)?;
        }

        // Days with no new results: only a shard rollup that knows more than
        // the target's matters (typically a day the shard has pruned).
        for shard in &with_rollups {
            let path = shard.path.as_path();
            let sql = format!("SELECT {ROLLUP_COLUMNS} FROM rollups ORDER BY probe, location, day");
            let mut stmt = shard
                .conn
                .prepare(&sql)
                .map_err(StoreError::sqlite(path, "reading the shard's rollups"))?;
            let rows = stmt
                .query_map([], rollup_row)
                .map_err(StoreError::sqlite(path, "reading the shard's rollups"))?;
            for row in rows {
                let row = row.map_err(StoreError::sqlite(path, "reading the shard's rollups"))?;
                let key = rollup_key(&row).ok_or_else(|| StoreError::BadValue {
                    path: path.to_path_buf(),
                    column: "rollups.day",
                    value: format!("{:?}", row.0.get(..3)),
                })?;
                if touched.contains(&key) {
                    continue;
                }
                if row.runs() > self.target_runs(&key)?.unwrap_or(0) {
                    self.settle_rollup(&key, Some(&row), in_maintenance, &mut out)?;
                }
            }
        }
        Ok(out)
    }

    /// Decide the rollup of `key` from the target's raw results, its current
    /// rollup and the best shard rollup: whichever counts the most runs.
    fn settle_rollup(
        &self,
        key: &RollupKey,
        shard: Option<&RollupRow>,
        in_maintenance: &dyn Fn(&ProbeResult) -> bool,
        out: &mut RollupsMerged,
    ) -> Result<(), StoreError> {
        let (probe, location, day) = key;
        let target = self.target_runs(key)?.unwrap_or(0);
        let from_shard = shard.map_or(0, RollupRow::runs);
        let raw: i64 = self
            .tx
            .query_row(
                "SELECT count(*) FROM results
                 WHERE probe = ?1 AND location = ?2 AND started_at >= ?3 AND started_at < ?4",
                params![probe, location, day * DAY_MS, (day + 1) * DAY_MS],
                |r| r.get(0),
            )
            .map_err(self.err("counting a day of results"))?;
        if raw > 0 && raw >= target.max(from_shard) {
            let date = NaiveDate::default()
                .checked_add_signed(chrono::Duration::days(*day))
                .ok_or_else(|| self.bad("rollups.day", day))?;
            self.rebuild_rollup(probe, location, date, in_maintenance)?;
            out.rebuilt += 1;
        } else if let Some(row) = shard.filter(|_| from_shard > target) {
            let placeholders = vec!["?"; row.0.len()].join(", ");
            self.tx
                .execute(
                    &format!(
                        "INSERT OR REPLACE INTO rollups ({ROLLUP_COLUMNS}) VALUES ({placeholders})"
                    ),
                    params_from_iter(row.0.iter()),
                )
                .map_err(self.err("copying a rollup"))?;
            out.copied += 1;
        }
        Ok(())
    }

    fn target_runs(&self, (probe, location, day): &RollupKey) -> Result<Option<i64>, StoreError> {
        self.tx
            .query_row(
                "SELECT runs FROM rollups WHERE probe = ?1 AND location = ?2 AND day = ?3",
                params![probe, location, day],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err("reading a rollup"))
    }

    /// Copy each location's state machine from the shards where a shard saw
    /// a later result than the target (a location is probed by one runner,
    /// so the newest machine is that runner's). For merges without a config:
    /// with one, the caller steps the target's machines instead. Returns how
    /// many machines were copied.
    pub fn merge_location_states(&self, shards: &[Store]) -> Result<u64, StoreError> {
        // The newest machine of each (probe, location) across the shards.
        let mut newest: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
        for shard in shards {
            if !shard.schema_version().is_ok_and(|v| v >= HAS_STATES) {
                continue;
            }
            let path = shard.path.as_path();
            let sql = format!("SELECT {STATE_COLUMNS} FROM location_states");
            let mut stmt = shard
                .conn
                .prepare(&sql)
                .map_err(StoreError::sqlite(path, "reading the shard's states"))?;
            let rows = stmt
                .query_map([], |r| {
                    (0..7)
                        .map(|i| r.get::<_, Value>(i))
                        .collect::<Result<Vec<_>, _>>()
                })
                .map_err(StoreError::sqlite(path, "reading the shard's states"))?;
            for row in rows {
                let row = row.map_err(StoreError::sqlite(path, "reading the shard's states"))?;
                let (Some(Value::Text(probe)), Some(Value::Text(location))) =
                    (row.first(), row.get(1))
                else {
                    continue;
                };
                let key = (probe.clone(), location.clone());
                let later = newest
                    .get(&key)
                    .is_none_or(|old| last_result_at(&row) > last_result_at(old));
                if later {
                    newest.insert(key, row);
                }
            }
        }
        let mut copied = 0;
        for row in newest.values() {
            copied += self
                .tx
                .execute(
                    &format!(
                        "INSERT INTO location_states ({STATE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                         ON CONFLICT (probe, location) DO UPDATE SET
                           state = excluded.state, up_streak = excluded.up_streak,
                           bad_streak = excluded.bad_streak, down_streak = excluded.down_streak,
                           last_result_at = excluded.last_result_at
                         WHERE excluded.last_result_at > location_states.last_result_at"
                    ),
                    params_from_iter(row.iter()),
                )
                .map_err(self.err("copying a location state"))? as u64;
        }
        Ok(copied)
    }
}

fn rollup_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RollupRow> {
    (0..20)
        .map(|i| r.get::<_, Value>(i))
        .collect::<Result<Vec<_>, _>>()
        .map(RollupRow)
}

fn rollup_key(row: &RollupRow) -> Option<RollupKey> {
    match row.0.get(..3)? {
        [Value::Text(p), Value::Text(l), Value::Integer(d)] => Some((p.clone(), l.clone(), *d)),
        _ => None,
    }
}

/// The shard's rollup of `key`, if it has one.
fn shard_rollup(
    shard: &Store,
    (probe, location, day): &RollupKey,
) -> Result<Option<RollupRow>, StoreError> {
    let sql = format!(
        "SELECT {ROLLUP_COLUMNS} FROM rollups WHERE probe = ?1 AND location = ?2 AND day = ?3"
    );
    shard
        .conn
        .prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_row(params![probe, location, day], rollup_row)
                .optional()
        })
        .map_err(StoreError::sqlite(
            &shard.path,
            "reading the shard's rollups",
        ))
}

fn last_result_at(row: &[Value]) -> i64 {
    match row.get(6) {
        Some(Value::Integer(t)) => *t,
        _ => i64::MIN,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;
    use crate::model::{Outcome, Phases, ProbeId};

    fn result(location: &str, at: DateTime<Utc>) -> ProbeResult {
        ProbeResult {
            probe: ProbeId("api".into()),
            location: location.into(),
            started_at: at,
            outcome: Outcome::Up,
            cause: None,
            message: None,
            status: Some(200),
            latency: Duration::from_millis(40),
            phases: Phases::default(),
            cert_expires_at: None,
            body_bytes: None,
            body_decoded_bytes: None,
            http_version: None,
            ip: None,
        }
    }

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, hour, 0, 0)
            .single()
            .expect("date")
    }

    fn runs(store: &Store) -> Vec<u64> {
        let day = at(0).date_naive();
        store
            .rollups("api", day, day)
            .expect("rollups")
            .iter()
            .map(|r| r.counts.runs)
            .collect()
    }

    fn write(store: &mut Store, results: &[ProbeResult]) {
        store
            .write(|w| {
                w.insert_results(results)?;
                w.update_rollups(results, &|_| false)
            })
            .expect("write");
    }

    #[test]
    fn read_only_stores_refuse_writes_and_missing_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        write(
            &mut Store::open(&path).expect("open"),
            &[result("eu", at(1))],
        );
        let before = std::fs::read(&path).expect("read");
        let mut ro = Store::open_read_only(&path).expect("open read-only");
        assert_eq!(ro.count_results().expect("count"), 1);
        assert!(ro.insert_results(&[result("eu", at(2))]).is_err());
        drop(ro);
        assert_eq!(std::fs::read(&path).expect("read"), before);

        let missing = dir.path().join("missing.db");
        assert!(matches!(
            Store::open_read_only(&missing),
            Err(StoreError::Io { .. })
        ));
        assert!(!missing.exists());
        std::fs::write(&missing, b"").expect("write");
        assert!(matches!(
            Store::open_read_only(&missing),
            Err(StoreError::Foreign { .. })
        ));
    }

    #[test]
    fn a_partly_pruned_day_keeps_the_rollup_that_counts_more() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut target = Store::open(&dir.path().join("t.db")).expect("open");
        write(
            &mut target,
            &[
                result("eu", at(1)),
                result("eu", at(2)),
                result("eu", at(3)),
            ],
        );
        target
            .write(|w| w.prune("api", at(3)))
            .expect("prune two of three");
        assert_eq!(runs(&target), vec![3]);

        // A shard with one result of that day the target never had.
        let shard_path = dir.path().join("s.db");
        write(
            &mut Store::open(&shard_path).expect("open"),
            &[result("eu", at(4))],
        );
        let shard = Store::open_read_only(&shard_path).expect("open read-only");
        let merged = target
            .write(|w| {
                let m = w.merge_results(&shard, &|_, _| true)?;
                let r = w.merge_rollups(std::slice::from_ref(&shard), &m.added, &|_| false)?;
                Ok((m.added.len(), r))
            })
            .expect("merge");
        // Rebuilding from two raw results would forget the two pruned ones.
        assert_eq!(merged, (1, RollupsMerged::default()));
        assert_eq!(runs(&target), vec![3]);
    }
}
