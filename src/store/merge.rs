//! Folding shards (stores written at other locations) into one store (SPEC §2,
//! §6). Every step is idempotent: merging the same shard twice changes nothing.
//!
//! A shard is opened read-only ([`Store::open_read_only`]) and never changes.
//! It is merged a series (one probe at one location) at a time, reading only
//! what is newer than what the target already holds of that series
//! ([`Writer::merge_series`]): the cost of a merge is what the shard adds, and
//! its memory one block, whatever the shard's history. Results are copied on
//! their identity (probe, location, start millisecond and id); the results
//! that were new are counted in the rollups, and rollups of days a shard has
//! already pruned are taken from the shard when they know more than the
//! target. No rollup is ever added to another, so nothing is counted twice.
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
            keys: Default::default(),
        })
    }
}

/// One probe at one location as a shard holds it: its raw results and its
/// rollups. A merge works a series at a time, so what it holds in memory is
/// one block and one rollup whatever the shard's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub probe: String,
    pub location: String,
    /// The shard's own numbers for the names.
    pub(super) probe_key: i64,
    pub(super) location_key: i64,
}

/// What merging one series did, and what it read to do it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeriesMerged {
    /// Results the target did not have.
    pub added: u64,
    /// Results read from the shard that the target already held (same probe,
    /// location, start and id). Blocks older than the newest the target holds
    /// from the location are not read, so not counted here.
    pub already_present: u64,
    /// Results left out because retention would prune them at once.
    pub expired: u64,
    /// (probe, location, day) rollups that counted the results added.
    pub rollups_updated: u64,
    /// Rollups taken from the shard because it knew more of a day than the
    /// target (typically a day whose raw results the shard has pruned).
    pub rollups_copied: u64,
    /// Shard blocks read: the newest one the target holds and every newer one.
    pub blocks_read: u64,
    /// Shard rollups read: the target's latest day and every newer one.
    pub rollups_read: u64,
}

impl std::ops::AddAssign for SeriesMerged {
    fn add_assign(&mut self, o: SeriesMerged) {
        self.added += o.added;
        self.already_present += o.already_present;
        self.expired += o.expired;
        self.rollups_updated += o.rollups_updated;
        self.rollups_copied += o.rollups_copied;
        self.blocks_read += o.blocks_read;
        self.rollups_read += o.rollups_read;
    }
}

impl Store {
    /// Every (probe, location) with raw results or rollups in this store,
    /// ordered by probe then location. Found by skipping from one pair to the
    /// next in the tables' indexes, so it costs a few lookups per pair, not a
    /// read of the history.
    pub fn series(&self) -> Result<Vec<Series>, StoreError> {
        let path = self.path.as_path();
        let read = |e| StoreError::sqlite(path, "listing the shard's probes")(e);
        let mut keys: BTreeSet<(i64, i64)> = BTreeSet::new();
        for table in ["result_blocks", "day_rollups"] {
            // Two seeks, not one row-value comparison: SQLite applies
            // `(probe, location) > (?, ?)` by stepping over every row of the
            // current probe, days of history included.
            let mut next_location = self
                .conn
                .prepare(&format!(
                    "SELECT location FROM {table} WHERE probe = ?1 AND location > ?2
                     ORDER BY location LIMIT 1"
                ))
                .map_err(read)?;
            let mut next_probe = self
                .conn
                .prepare(&format!(
                    "SELECT probe, location FROM {table} WHERE probe > ?1
                     ORDER BY probe, location LIMIT 1"
                ))
                .map_err(read)?;
            let mut at: Option<(i64, i64)> = None;
            loop {
                let after_probe = match at {
                    Some((p, l)) => {
                        let location: Option<i64> = next_location
                            .query_row(params![p, l], |r| r.get(0))
                            .optional()
                            .map_err(read)?;
                        if let Some(l) = location {
                            keys.insert((p, l));
                            at = Some((p, l));
                            continue;
                        }
                        p
                    }
                    None => i64::MIN,
                };
                let next: Option<(i64, i64)> = next_probe
                    .query_row(params![after_probe], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
                    .map_err(read)?;
                let Some(next) = next else { break };
                keys.insert(next);
                at = Some(next);
            }
        }
        let mut name = self
            .conn
            .prepare("SELECT name FROM names WHERE id = ?1")
            .map_err(read)?;
        let mut name_of = |key: i64| -> Result<String, StoreError> {
            name.query_row(params![key], |r| r.get(0))
                .optional()
                .map_err(read)?
                .ok_or_else(|| StoreError::bad_value(path, "names.id", key))
        };
        let mut out = Vec::with_capacity(keys.len());
        for (probe_key, location_key) in keys {
            out.push(Series {
                probe: name_of(probe_key)?,
                location: name_of(location_key)?,
                probe_key,
                location_key,
            });
        }
        out.sort_by(|a, b| (&a.probe, &a.location).cmp(&(&b.probe, &b.location)));
        Ok(out)
    }

    /// The raw blocks of one series from `from_hour` on, oldest first, one
    /// at a time. `each` returning an error stops.
    fn each_block_of(
        &self,
        s: &Series,
        from_hour: i64,
        mut each: impl FnMut(i64, u64, &[u8], Option<&[u8]>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let path = self.path.as_path();
        let read = |e| StoreError::sqlite(path, "reading the shard's results")(e);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT b.hour, b.n, b.data, s.data FROM result_blocks b
                 LEFT JOIN step_blocks s
                   ON s.probe = b.probe AND s.location = b.location AND s.hour = b.hour
                 WHERE b.probe = ?1 AND b.location = ?2 AND b.hour >= ?3 ORDER BY b.hour",
            )
            .map_err(read)?;
        let mut rows = stmt
            .query(params![s.probe_key, s.location_key, from_hour])
            .map_err(read)?;
        while let Some(row) = rows.next().map_err(read)? {
            let hour: i64 = row.get(0).map_err(read)?;
            let n: i64 = row.get(1).map_err(read)?;
            let data = row
                .get_ref(2)
                .and_then(|v| Ok(v.as_blob()?))
                .map_err(read)?;
            let steps = row
                .get_ref(3)
                .and_then(|v| Ok(v.as_blob_or_null()?))
                .map_err(read)?;
            each(hour, u64::try_from(n).unwrap_or(0), data, steps)?;
        }
        Ok(())
    }
}

impl Writer<'_> {
    /// Merge one series of `shard`: copy the results the target lacks, count
    /// them in their days' rollups, take the shard's rollups of days it knows
    /// more of, and hand each block's added results to `added` (oldest first),
    /// for the caller to evaluate.
    ///
    /// Only what is new is read. A location is probed by one runner, whose
    /// shard holds every result of it; the target got its results of the
    /// location from such a shard, a whole block at a time. So the shard's
    /// blocks older than the newest the target holds from the location, and
    /// its rollups older than the target's latest day, are already there and
    /// are not read: a merge costs what the shard adds, not its history.
    ///
    /// `keep(at)` is false for results retention would prune at once: they
    /// are left out, so a merge neither re-adds what the target pruned nor
    /// counts it. A block the target holds byte for byte (the canonical
    /// encoding makes equal sets equal bytes) is skipped without decoding.
    pub fn merge_series(
        &self,
        shard: &Store,
        s: &Series,
        keep: &dyn Fn(DateTime<Utc>) -> bool,
        in_maintenance: &dyn Fn(&ProbeResult) -> bool,
        added: &mut dyn FnMut(Vec<ProbeResult>),
    ) -> Result<SeriesMerged, StoreError> {
        let from = shard.path.as_path();
        let (p, l) = (self.key_of(&s.probe)?, self.key_of(&s.location)?);
        // What the target holds of the series, before anything is written to it.
        let newest = |sql: &str| -> Result<Option<i64>, StoreError> {
            self.tx
                .prepare_cached(sql)
                .and_then(|mut st| st.query_row(params![p, l], |r| r.get(0)))
                .map_err(self.err("reading what the store holds"))
        };
        let held_hour =
            newest("SELECT MAX(hour) FROM result_blocks WHERE probe = ?1 AND location = ?2")?;
        let held_day =
            newest("SELECT MAX(day) FROM day_rollups WHERE probe = ?1 AND location = ?2")?;

        let mut out = SeriesMerged::default();
        let mut days: BTreeSet<chrono::NaiveDate> = BTreeSet::new();
        let probe = ProbeId(s.probe.clone());
        shard.each_block_of(s, held_hour.unwrap_or(i64::MIN), |hour, n, data, steps| {
            out.blocks_read += 1;
            // A flow's block is the same only when its steps are too.
            if self.block_bytes(p, l, hour)?.as_deref() == Some(data)
                && self.step_bytes(p, l, hour)?.as_deref() == steps
            {
                out.already_present += n;
                return Ok(());
            }
            // Decoding checks every value: a block this binary does not
            // understand stops the merge, naming the shard.
            let mut results = block::decode(data, &probe, &s.location, hour)
                .map_err(|e| StoreError::bad_value(from, "result_blocks.data", e))?;
            if let Some(st) = steps {
                super::steps::attach(&mut results, st, hour)
                    .map_err(|e| StoreError::bad_value(from, "step_blocks.data", e))?;
            }
            let (kept, expired): (Vec<ProbeResult>, Vec<ProbeResult>) =
                results.into_iter().partition(|r| keep(r.started_at));
            out.expired += expired.len() as u64;
            let new_at = self.insert_results(&kept)?;
            out.already_present += (kept.len() - new_at.len()) as u64;
            let mut kept: Vec<Option<ProbeResult>> = kept.into_iter().map(Some).collect();
            let new: Vec<ProbeResult> = new_at.into_iter().filter_map(|i| kept[i].take()).collect();
            if new.is_empty() {
                return Ok(());
            }
            self.add_to_rollups(&new.iter().collect::<Vec<_>>(), in_maintenance)?;
            days.extend(new.iter().map(|r| r.started_at.date_naive()));
            out.added += new.len() as u64;
            added(new);
            Ok(())
        })?;
        out.rollups_updated = days.len() as u64;

        // A rollup counting more runs than the target's is taken as it is: the
        // shard that knows most of a location's day has every result of it.
        // Rollups are never added together, so nothing is counted twice.
        shard.each_rollup_of(
            s.probe_key,
            s.location_key,
            held_day.unwrap_or(i64::MIN),
            |theirs| {
                out.rollups_read += 1;
                let ours = self.rollup(&s.probe, &s.location, theirs.day)?;
                if theirs.counts.runs > ours.map_or(0, |o| o.counts.runs) {
                    self.put_rollup(&theirs)?;
                    out.rollups_copied += 1;
                }
                Ok(())
            },
        )?;
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
        let series = shard.series().expect("series");
        assert_eq!(series.len(), 1);
        let merged = target
            .write(|w| w.merge_series(&shard, &series[0], &|_| true, &|_| false, &mut |_| {}))
            .expect("merge");
        // The new result is counted on top of the three, two of them pruned:
        // rebuilding the day from raw results would forget those two.
        assert_eq!(
            (merged.added, merged.rollups_updated, merged.rollups_copied),
            (1, 1, 0)
        );
        assert_eq!(runs(&target), vec![4]);
    }

    #[test]
    fn only_what_is_newer_than_the_target_holds_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let shard_path = dir.path().join("s.db");
        let mut shard = Store::open(&shard_path).expect("open");
        let day: Vec<ProbeResult> = (0..24).map(|h| result("eu", at(h))).collect();
        write(&mut shard, &day[..20]);
        drop(shard);
        let mut target = Store::open(&dir.path().join("t.db")).expect("open");
        let merge = |target: &mut Store| {
            let shard = Store::open_read_only(&shard_path).expect("open read-only");
            let series = shard.series().expect("series");
            target
                .write(|w| {
                    let mut total = SeriesMerged::default();
                    for s in &series {
                        total += w.merge_series(&shard, s, &|_| true, &|_| false, &mut |_| {})?;
                    }
                    Ok(total)
                })
                .expect("merge")
        };
        let first = merge(&mut target);
        assert_eq!(
            (first.added, first.blocks_read, first.rollups_read),
            (20, 20, 1)
        );

        // The shard runs four more hours: the merge reads the newest block the
        // target holds and the four new ones, and the one rollup of the day.
        write(&mut Store::open(&shard_path).expect("open"), &day[20..]);
        let next = merge(&mut target);
        assert_eq!(
            (
                next.added,
                next.already_present,
                next.blocks_read,
                next.rollups_read
            ),
            (4, 1, 5, 1)
        );
        assert_eq!(runs(&target), vec![24]);

        let again = merge(&mut target);
        assert_eq!(
            (again.added, again.blocks_read, again.rollups_copied),
            (0, 1, 0)
        );
        assert_eq!(runs(&target), vec![24]);
    }

    #[test]
    fn listing_a_shards_series_skips_through_the_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).expect("open");
        for table in ["result_blocks", "day_rollups"] {
            for (sql, args) in [
                ("probe = ?1 AND location > ?2 ORDER BY location", 2),
                ("probe > ?1 ORDER BY probe, location", 1),
            ] {
                let explain = format!(
                    "EXPLAIN QUERY PLAN SELECT probe, location FROM {table} WHERE {sql} LIMIT 1"
                );
                let plan: String = store
                    .conn
                    .prepare(&explain)
                    .expect("explain")
                    .query_map(params_from_iter([1, 2].into_iter().take(args)), |row| {
                        row.get::<_, String>(3)
                    })
                    .expect("plan")
                    .collect::<Result<Vec<_>, _>>()
                    .expect("rows")
                    .join("\n");
                // A seek into the key, no sort.
                assert!(
                    plan.contains("SEARCH") && !plan.contains("TEMP B-TREE"),
                    "{table}: {plan}"
                );
            }
        }
    }
}
