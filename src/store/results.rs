//! Writing probe results and reading them back. Raw results live in blocks
//! of one probe, location and UTC hour ([`super::block`]); probe ids and
//! location names are stored once, in `names`, and blocks refer to them by
//! number.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::Store;
use super::block::{self, hour_of};
use super::error::StoreError;
use super::steps;
use super::writer::{Writer, ms};
use crate::model::{ProbeId, ProbeResult};

/// The number a name (probe id or location) is stored under, if it has one.
pub(super) fn name_key(conn: &Connection, name: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM names WHERE name = ?1")?
        .query_row(params![name], |r| r.get(0))
        .optional()
}

/// One stored block of results, its location named.
pub(super) struct RawBlock {
    pub hour: i64,
    pub location: String,
    pub data: Vec<u8>,
    /// Its flow steps (`step_blocks`), when asked for and there are any.
    pub steps: Option<Vec<u8>>,
}

/// The blocks of probe number `probe` with `from_hour <= hour <= to_hour`,
/// oldest hour first, then by location name; with their step blocks when
/// `with_steps`.
///
/// Each table is read on its own and sorted here: SQLite plans a cached
/// statement again at every execution when it joins or orders rows and binds
/// parameters (measured with `sqlite3_stmt_status`), which was a tenth of a
/// render's time.
pub(super) fn raw_blocks(
    conn: &Connection,
    path: &std::path::Path,
    probe: i64,
    from_hour: i64,
    to_hour: i64,
    with_steps: bool,
) -> Result<Vec<RawBlock>, StoreError> {
    let read = |e| StoreError::sqlite(path, "reading results")(e);
    let rows = |table: &str| -> Result<Vec<(i64, i64, Vec<u8>)>, StoreError> {
        conn.prepare_cached(&format!(
            "SELECT hour, location, data FROM {table} WHERE probe = ?1 AND hour >= ?2 AND hour <= ?3"
        ))
        .and_then(|mut s| {
            s.query_map(params![probe, from_hour, to_hour], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect()
        })
        .map_err(read)
    };
    let mut steps: HashMap<(i64, i64), Vec<u8>> = if with_steps {
        rows("step_blocks")?
            .into_iter()
            .map(|(h, l, d)| ((h, l), d))
            .collect()
    } else {
        HashMap::new()
    };
    let mut names = Names::new(conn);
    let mut out = Vec::new();
    for (hour, location, data) in rows("result_blocks")? {
        out.push(RawBlock {
            hour,
            location: names.get(location).map_err(read)?.to_string(),
            data,
            steps: steps.remove(&(hour, location)),
        });
    }
    out.sort_by(|a, b| {
        a.hour
            .cmp(&b.hour)
            .then_with(|| a.location.cmp(&b.location))
    });
    Ok(out)
}

/// Names by their numbers, each looked up once (see [`raw_blocks`] for why
/// not by a join).
pub(super) struct Names<'c> {
    conn: &'c Connection,
    known: Vec<(i64, String)>,
}

impl<'c> Names<'c> {
    pub(super) fn new(conn: &'c Connection) -> Self {
        Names {
            conn,
            known: Vec::new(),
        }
    }

    pub(super) fn get(&mut self, key: i64) -> rusqlite::Result<&str> {
        let at = match self.known.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let name: String = self
                    .conn
                    .prepare_cached("SELECT name FROM names WHERE id = ?1")?
                    .query_row(params![key], |r| r.get(0))?;
                self.known.push((key, name));
                self.known.len() - 1
            }
        };
        Ok(&self.known[at].1)
    }
}

impl Writer<'_> {
    /// The number `name` is stored under, given one if it has none yet.
    pub(super) fn key_of(&self, name: &str) -> Result<i64, StoreError> {
        if let Some(k) = name_key(self.tx, name).map_err(self.err("reading a name"))? {
            return Ok(k);
        }
        self.tx
            .prepare_cached("INSERT INTO names (name) VALUES (?1)")
            .and_then(|mut s| s.execute(params![name]))
            .map_err(self.err("writing a name"))?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Write results; a result already stored (same probe, location, start
    /// millisecond and id) is kept as it is, so re-inserting a shard changes
    /// nothing. Returns the indexes in `results` of those that were new, in
    /// order: what rollups and merges must count.
    pub fn insert_results(&self, results: &[ProbeResult]) -> Result<Vec<usize>, StoreError> {
        let mut by_block: BTreeMap<(&str, &str, i64), Vec<usize>> = BTreeMap::new();
        for (i, r) in results.iter().enumerate() {
            let hour = hour_of(r.started_at.timestamp_millis());
            by_block
                .entry((r.probe.0.as_str(), r.location.as_str(), hour))
                .or_default()
                .push(i);
        }
        let mut added = Vec::new();
        for ((probe, location, hour), indexes) in by_block {
            let new: Vec<&ProbeResult> = indexes.iter().map(|i| &results[*i]).collect();
            let (p, l) = (self.key_of(probe)?, self.key_of(location)?);
            // Only a flow's results have steps: other probes never touch
            // step_blocks (nor do stores still being migrated to it).
            let with_steps = new.iter().any(|r| !r.steps.is_empty());
            let held = self.block(p, l, hour, &results[indexes[0]].probe, location, with_steps)?;
            let (all, new_at) = block::union(held.unwrap_or_default(), &new);
            if new_at.is_empty() {
                continue;
            }
            self.put_block(p, l, hour, &all.iter().collect::<Vec<_>>())?;
            added.extend(new_at.into_iter().map(|j| indexes[j]));
        }
        added.sort_unstable();
        Ok(added)
    }

    /// The results of one block, if it exists.
    fn block(
        &self,
        probe: i64,
        location: i64,
        hour: i64,
        probe_id: &ProbeId,
        location_name: &str,
        with_steps: bool,
    ) -> Result<Option<Vec<ProbeResult>>, StoreError> {
        let data: Option<Vec<u8>> = self
            .tx
            .prepare_cached(
                "SELECT data FROM result_blocks WHERE probe = ?1 AND location = ?2 AND hour = ?3",
            )
            .and_then(|mut s| {
                s.query_row(params![probe, location, hour], |r| r.get(0))
                    .optional()
            })
            .map_err(self.err("reading results"))?;
        let Some(data) = data else { return Ok(None) };
        let mut results = block::decode(&data, probe_id, location_name, hour)
            .map_err(|e| self.bad("result_blocks.data", e))?;
        if with_steps && let Some(s) = self.step_bytes(probe, location, hour)? {
            steps::attach(&mut results, &s, hour).map_err(|e| self.bad("step_blocks.data", e))?;
        }
        Ok(Some(results))
    }

    /// Write (or replace) one block with `results`, in block order.
    pub(super) fn put_block(
        &self,
        probe: i64,
        location: i64,
        hour: i64,
        results: &[&ProbeResult],
    ) -> Result<(), StoreError> {
        let data = block::encode(hour, results);
        self.put_block_bytes(probe, location, hour, results.len() as u64, &data)?;
        self.put_steps(probe, location, hour, results)
    }

    /// Write (or replace) one block with already encoded `data`.
    pub(super) fn put_block_bytes(
        &self,
        probe: i64,
        location: i64,
        hour: i64,
        n: u64,
        data: &[u8],
    ) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO result_blocks (probe, location, hour, n, data)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (probe, location, hour) DO UPDATE SET n = excluded.n, data = excluded.data",
            )
            .and_then(|mut s| {
                s.execute(params![
                    probe,
                    location,
                    hour,
                    i64::try_from(n).unwrap_or(i64::MAX),
                    data
                ])
            })
            .map_err(self.err("writing results"))?;
        Ok(())
    }

    /// Delete raw results of `probe` that started before `keep_after` (to the
    /// hour: a block is kept while any of it is recent), and say how many.
    /// Rollups stay: every result was counted in them when it was written.
    pub fn prune(&self, probe: &str, keep_after: DateTime<Utc>) -> Result<u64, StoreError> {
        let Some(p) = name_key(self.tx, probe).map_err(self.err("reading a name"))? else {
            return Ok(0);
        };
        let hour = hour_of(ms(keep_after));
        let n: i64 = self
            .tx
            .prepare_cached(
                "SELECT COALESCE(SUM(n), 0) FROM result_blocks WHERE probe = ?1 AND hour < ?2",
            )
            .and_then(|mut s| s.query_row(params![p, hour], |r| r.get(0)))
            .map_err(self.err("pruning old results"))?;
        if n > 0 {
            self.tx
                .prepare_cached("DELETE FROM result_blocks WHERE probe = ?1 AND hour < ?2")
                .and_then(|mut s| s.execute(params![p, hour]))
                .map_err(self.err("pruning old results"))?;
        }
        self.prune_steps(p, hour)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

impl Store {
    /// Write every result of one run in one transaction. A result already
    /// stored is kept as it is, so re-inserting a shard changes nothing.
    /// Returns how many were new.
    pub fn insert_results(&mut self, results: &[ProbeResult]) -> Result<usize, StoreError> {
        self.write(|w| w.insert_results(results).map(|a| a.len()))
    }

    /// Blocks of `probe` with `from_hour <= hour <= to_hour`, by hour (newest
    /// first when `newest_first`) then location, decoded.
    fn blocks_of(
        &self,
        probe: &ProbeId,
        from_hour: i64,
        to_hour: i64,
        newest_first: bool,
        mut each: impl FnMut(i64, Vec<ProbeResult>) -> bool,
    ) -> Result<(), StoreError> {
        let path = self.path.as_path();
        let Some(p) = self.key(&probe.0)? else {
            return Ok(());
        };
        let mut blocks = raw_blocks(&self.conn, path, p, from_hour, to_hour, true)?;
        if newest_first {
            blocks.reverse();
        }
        for b in blocks {
            let mut rs = block::decode(&b.data, probe, &b.location, b.hour)
                .map_err(|e| StoreError::bad_value(path, "result_blocks.data", e))?;
            if let Some(s) = &b.steps {
                steps::attach(&mut rs, s, b.hour)
                    .map_err(|e| StoreError::bad_value(path, "step_blocks.data", e))?;
            }
            if !each(b.hour, rs) {
                break;
            }
        }
        Ok(())
    }

    /// The latest `limit` results of `probe` from every location, newest first.
    pub fn results_for(
        &self,
        probe: &ProbeId,
        limit: usize,
    ) -> Result<Vec<ProbeResult>, StoreError> {
        let path = self.path.as_path();
        let Some(p) = self.key(&probe.0)? else {
            return Ok(Vec::new());
        };
        let (first, last): (Option<i64>, Option<i64>) = self
            .conn
            .prepare_cached("SELECT MIN(hour), MAX(hour) FROM result_blocks WHERE probe = ?1")
            .and_then(|mut s| s.query_row(params![p], |r| Ok((r.get(0)?, r.get(1)?))))
            .map_err(StoreError::sqlite(path, "reading results"))?;
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(Vec::new());
        };
        // Hours back from the newest, widened until they hold `limit`
        // results or reach the oldest: whole hours, since another location's
        // block of the same hour may hold newer results.
        // Each widening reads only the hours before those already read.
        let (mut out, mut span, mut read_from) = (Vec::new(), 1i64, last.saturating_add(1));
        loop {
            let from = last.saturating_sub(span - 1).max(first);
            self.blocks_of(probe, from, read_from - 1, true, |_, rs| {
                out.extend(rs);
                true
            })?;
            read_from = from;
            if out.len() >= limit || from == first {
                break;
            }
            span = span.saturating_mul(4);
        }
        out.sort_by(|a, b| {
            b.started_at
                .cmp(&a.started_at)
                .then_with(|| a.location.cmp(&b.location))
                .then_with(|| a.id.cmp(&b.id))
        });
        out.truncate(limit);
        Ok(out)
    }

    /// Raw results of `probe` with `from <= started_at < to`, oldest first.
    pub fn results_between(
        &self,
        probe: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ProbeResult>, StoreError> {
        let (from_ms, to_ms) = (ms(from), ms(to));
        let mut out = Vec::new();
        self.blocks_of(
            &ProbeId(probe.to_string()),
            hour_of(from_ms),
            hour_of(to_ms),
            false,
            |_, rs| {
                out.extend(rs.into_iter().filter(|r| {
                    let t = r.started_at.timestamp_millis();
                    t >= from_ms && t < to_ms
                }));
                true
            },
        )?;
        out.sort_by(|a, b| {
            a.started_at
                .cmp(&b.started_at)
                .then_with(|| a.location.cmp(&b.location))
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(out)
    }

    /// How many raw results the store holds, over every probe and location.
    pub fn count_results(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COALESCE(SUM(n), 0) FROM result_blocks", [], |row| {
                row.get(0)
            })
            .map_err(StoreError::sqlite(&self.path, "counting results"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// Milliseconds as the old `results` table wrote them back to a duration, to
/// the microsecond. `None` for values no duration has (negative, NaN, beyond
/// u64 microseconds).
pub(super) fn duration_from_ms(ms: f64) -> Option<std::time::Duration> {
    let micros = (ms * 1000.0).round();
    // 2^64 is exactly representable; anything at or above it does not fit.
    // NaN is in no range.
    if (0.0..18_446_744_073_709_551_616.0).contains(&micros) {
        Some(std::time::Duration::from_micros(micros as u64))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::millis;

    #[test]
    fn millis_round_trip_to_the_microsecond() {
        for micros in [0u64, 1, 999, 41_700, 1_234_567, 3_600_000_000] {
            let d = Duration::from_micros(micros);
            assert_eq!(duration_from_ms(millis(d)), Some(d));
        }
    }

    #[test]
    fn impossible_durations_are_refused() {
        for ms in [-1.0, f64::NAN, f64::INFINITY, 1e300] {
            assert_eq!(duration_from_ms(ms), None, "{ms}");
        }
    }

    #[test]
    fn reading_a_probe_uses_the_block_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).expect("open");
        let plan: Vec<String> = store
            .conn
            .prepare(
                "EXPLAIN QUERY PLAN SELECT b.hour, b.data FROM result_blocks b
                 WHERE b.probe = ?1 AND b.hour >= ?2 AND b.hour <= ?3",
            )
            .expect("explain")
            .query_map(params![1, 0, 10], |row| row.get::<_, String>(3))
            .expect("plan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let plan = plan.join("\n");
        assert!(plan.contains("USING INDEX"), "{plan}");
    }

    /// Render reads each probe's results, rollups and hourly counts through
    /// cached statements; SQLite re-planned joined or ordered ones at every
    /// execution, which was a tenth of a render.
    #[test]
    fn cached_reads_are_not_planned_again() {
        use chrono::TimeZone;
        use rusqlite::StatementStatus;

        use crate::model::{Outcome, Phases, ResultId};
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("s.db")).expect("open");
        let start = Utc
            .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
            .single()
            .expect("time");
        let results: Vec<ProbeResult> = (0..6)
            .flat_map(|h| ["eu", "us"].map(move |loc| (h, loc)))
            .map(|(h, loc)| ProbeResult {
                probe: ProbeId("api".into()),
                id: ResultId(h),
                location: loc.into(),
                started_at: start + chrono::Duration::minutes(i64::from(h) * 50),
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
            })
            .collect();
        store
            .write(|w| w.record_results(&results, &|_| false))
            .expect("write");
        let id = ProbeId("api".into());
        for _ in 0..3 {
            let got = store
                .results_between("api", start, start + chrono::Duration::hours(6))
                .expect("read");
            assert_eq!(got.len(), 12);
            assert_eq!(store.results_for(&id, 3).expect("latest").len(), 3);
            let day = start.date_naive();
            assert_eq!(store.rollups("api", day, day).expect("rollups").len(), 2);
        }
        let sqls = [
            "SELECT hour, location, data FROM result_blocks WHERE probe = ?1 AND hour >= ?2 AND hour <= ?3",
            "SELECT hour, location, data FROM step_blocks WHERE probe = ?1 AND hour >= ?2 AND hour <= ?3",
            "SELECT MIN(hour), MAX(hour) FROM result_blocks WHERE probe = ?1",
            "SELECT name FROM names WHERE id = ?1",
        ];
        for sql in sqls {
            let stmt = store.conn.prepare_cached(sql).expect("cached");
            assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0, "{sql}");
            // Proof that the statement was the one used, run more than once.
            assert!(stmt.get_status(StatementStatus::VmStep) > 0, "{sql}");
        }
    }
}
