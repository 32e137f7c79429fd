//! Folding shards (stores written at other locations) into one store (SPEC §2,
//! §6). Every step is idempotent: merging the same shard twice changes nothing.
//!
//! A shard is opened read-only ([`Store::open_read_only`]) and never changes.
//! Results are copied on their identity (probe, location, start millisecond
//! and id), block by block; the results that were new are counted in the
//! rollups, and rollups of days a shard has already pruned are taken from
//! the shard when they know more than the target. No rollup is ever added to
//! another, so nothing is counted twice.
//!
//! States are the caller's: with a config it steps the target's machines with
//! the results that were added (`evaluate`), so quorum, incidents and alerts
//! come from the merged results; without one, [`Writer::merge_location_states`]
//! copies each location's machine from the shard that saw it last.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params, params_from_iter};

use super::block;
use super::writer::Writer;
use super::{APPLICATION_ID, BUSY_TIMEOUT, Store, StoreError, guard};
use crate::model::{ProbeId, ProbeResult};

const STATE_COLUMNS: &str = "probe, location, state, up_streak, bad_streak, down_streak,
   last_result_at, streak_since, streak_cause, streak_message, streak_count";

impl Store {
    /// Open an existing Outpost store for reading only: the same refusals as
    /// [`Store::open`] (a foreign, non-SQLite or newer file), and also a
    /// missing or empty file, since there is nothing to read. Nothing is
    /// created, migrated or checkpointed; every write through the returned
    /// store fails. A store of an older schema is refused (a merge reads the
    /// current tables only): opening it once with [`Store::open`] migrates it.
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
        let version = super::migrations::version(&conn, path)?;
        if version < super::migrations::latest() {
            return Err(StoreError::TooOld {
                path: path.to_path_buf(),
                found: i64::from(version),
                supported: super::migrations::latest(),
            });
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
    /// Results the target already held (same probe, location, start and id).
    pub already_present: u64,
    /// Results left out because retention would prune them at once.
    pub expired: u64,
}

/// What settling the rollups after a merge did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollupsMerged {
    /// (probe, location, day) rollups that counted the results a merge added.
    pub updated: u64,
    /// Rollups taken from a shard that knew more of a day than the target
    /// (typically a day whose raw results the shard has pruned).
    pub copied: u64,
}

impl Writer<'_> {
    /// Copy every result of `shard` that the target lacks, a block at a time
    /// (memory stays flat whatever the shard's size). A block the target
    /// already holds byte for byte (the canonical encoding makes equal sets
    /// equal bytes) is skipped without decoding: in the CI matrix every shard
    /// is the saved store plus a few rounds, so most blocks are such copies.
    /// `keep(probe, at)` is false for results retention would prune at once:
    /// they are left out, so a merge neither re-adds what the target pruned
    /// nor counts it.
    pub fn merge_results(
        &self,
        shard: &Store,
        keep: &dyn Fn(&str, DateTime<Utc>) -> bool,
    ) -> Result<ResultsMerged, StoreError> {
        let from = shard.path.as_path();
        let read = |e| StoreError::sqlite(from, "reading the shard's results")(e);
        let mut stmt = shard
            .conn
            .prepare(
                "SELECT p.name, l.name, b.hour, b.n, b.data, s.data FROM result_blocks b
                 JOIN names p ON p.id = b.probe JOIN names l ON l.id = b.location
                 LEFT JOIN step_blocks s
                   ON s.probe = b.probe AND s.location = b.location AND s.hour = b.hour
                 ORDER BY p.name, l.name, b.hour",
            )
            .map_err(read)?;
        let mut rows = stmt.query([]).map_err(read)?;
        let mut out = ResultsMerged::default();
        while let Some(row) = rows.next().map_err(read)? {
            let probe: String = row.get(0).map_err(read)?;
            let location: String = row.get(1).map_err(read)?;
            let hour: i64 = row.get(2).map_err(read)?;
            let n: i64 = row.get(3).map_err(read)?;
            let data = row
                .get_ref(4)
                .and_then(|v| Ok(v.as_blob()?))
                .map_err(read)?;
            let step_data: Option<Vec<u8>> = row.get(5).map_err(read)?;
            let (p, l) = (self.key_of(&probe)?, self.key_of(&location)?);
            // A flow's block is the same only when its steps are too.
            if self.block_bytes(p, l, hour)?.as_deref() == Some(data)
                && self.step_bytes(p, l, hour)? == step_data
            {
                out.already_present += u64::try_from(n).unwrap_or(0);
                continue;
            }
            // Decoding checks every value: a block this binary does not
            // understand stops the merge, naming the shard.
            let mut results = block::decode(data, &ProbeId(probe.clone()), &location, hour)
                .map_err(|e| StoreError::bad_value(from, "result_blocks.data", e))?;
            if let Some(s) = &step_data {
                super::steps::attach(&mut results, s, hour)
                    .map_err(|e| StoreError::bad_value(from, "step_blocks.data", e))?;
            }
            let (kept, expired): (Vec<ProbeResult>, Vec<ProbeResult>) = results
                .into_iter()
                .partition(|r| keep(&probe, r.started_at));
            out.expired += expired.len() as u64;
            let added = self.insert_results(&kept)?;
            out.already_present += (kept.len() - added.len()) as u64;
            let mut kept: Vec<Option<ProbeResult>> = kept.into_iter().map(Some).collect();
            out.added
                .extend(added.into_iter().filter_map(|i| kept[i].take()));
        }
        Ok(out)
    }

    /// The encoded block of `probe` at `location` in `hour`, if the target has it.
    fn block_bytes(
        &self,
        probe: i64,
        location: i64,
        hour: i64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.tx
            .prepare_cached(
                "SELECT data FROM result_blocks WHERE probe = ?1 AND location = ?2 AND hour = ?3",
            )
            .and_then(|mut s| {
                s.query_row(params![probe, location, hour], |r| r.get(0))
                    .optional()
            })
            .map_err(self.err("reading results"))
    }

    /// Bring the rollups up to date after `added` results came from `shards`:
    /// the added results are counted in their days (each once: they were new),
    /// then a shard's rollup that counts more runs than the target's is taken
    /// as it is. A location is probed by one runner, so the shard that knows
    /// most of a location's day has every result of it; this is how days a
    /// shard has already pruned arrive. Rollups are never added together.
    pub fn merge_rollups(
        &self,
        shards: &[Store],
        added: &[ProbeResult],
        in_maintenance: &dyn Fn(&ProbeResult) -> bool,
    ) -> Result<RollupsMerged, StoreError> {
        let mut out = RollupsMerged::default();
        let touched: BTreeSet<(&str, &str, chrono::NaiveDate)> = added
            .iter()
            .map(|r| {
                (
                    r.probe.0.as_str(),
                    r.location.as_str(),
                    r.started_at.date_naive(),
                )
            })
            .collect();
        out.updated = touched.len() as u64;
        self.add_to_rollups(&added.iter().collect::<Vec<_>>(), in_maintenance)?;
        for shard in shards {
            shard.each_rollup(|theirs| {
                let ours = self.rollup(&theirs.probe, &theirs.location, theirs.day)?;
                if theirs.counts.runs > ours.map_or(0, |o| o.counts.runs) {
                    self.put_rollup(&theirs)?;
                    out.copied += 1;
                }
                Ok(())
            })?;
        }
        Ok(out)
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
            let path = shard.path.as_path();
            let sql = format!("SELECT {STATE_COLUMNS} FROM location_states");
            let mut stmt = shard
                .conn
                .prepare(&sql)
                .map_err(StoreError::sqlite(path, "reading the shard's states"))?;
            let rows = stmt
                .query_map([], |r| {
                    (0..11)
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
                        "INSERT INTO location_states ({STATE_COLUMNS})
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                         ON CONFLICT (probe, location) DO UPDATE SET
                           state = excluded.state, up_streak = excluded.up_streak,
                           bad_streak = excluded.bad_streak, down_streak = excluded.down_streak,
                           last_result_at = excluded.last_result_at,
                           streak_since = excluded.streak_since, streak_cause = excluded.streak_cause,
                           streak_message = excluded.streak_message, streak_count = excluded.streak_count
                         WHERE excluded.last_result_at > location_states.last_result_at"
                    ),
                    params_from_iter(row.iter()),
                )
                .map_err(self.err("copying a location state"))? as u64;
        }
        Ok(copied)
    }
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
            id: crate::model::ResultId(at.timestamp() as u32),
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
            steps: Vec::new(),
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
            .write(|w| w.record_results(results, &|_| false).map(|_| ()))
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
        // The new result is counted on top of the three, two of them pruned:
        // rebuilding the day from raw results would forget those two.
        assert_eq!(
            merged,
            (
                1,
                RollupsMerged {
                    updated: 1,
                    copied: 0
                }
            )
        );
        assert_eq!(runs(&target), vec![4]);
    }
}
