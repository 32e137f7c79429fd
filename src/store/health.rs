//! Is the store whole, and does its main file alone hold everything?
//!
//! CI saves the store by committing `outpost.db` alone. Rounds committed by a
//! run that was killed or cancelled may still sit in `outpost.db-wal`, so the
//! save checkpoints first; and a damaged file must never replace the saved one.

use rusqlite::ErrorCode;

use super::{Store, StoreError};

/// What `PRAGMA quick_check` says when it finds nothing wrong.
const QUICK_CHECK_OK: &str = "ok";

/// At most this many problems are read from `quick_check`: enough to show
/// what is wrong, bounded however damaged the file is.
const MAX_PROBLEMS: u32 = 20;

/// The outcome of a `wal_checkpoint(TRUNCATE)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Another connection held the database, so not every frame was copied.
    pub busy: bool,
    /// Frames the write-ahead log held (-1 when the store is not in WAL mode).
    pub wal_frames: i64,
    /// Frames copied into the main file (-1 when not in WAL mode).
    pub copied: i64,
}

impl Checkpoint {
    /// Whether the main file now holds every committed transaction.
    pub fn complete(&self) -> bool {
        !self.busy && self.copied >= self.wal_frames
    }
}

/// Figures for the one-line summary of `outpost check --db`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    /// Results counted in the rollups (every result recorded over the days
    /// whose counts are kept, including those whose raw rows were pruned).
    pub results: u64,
    /// Incidents, open and resolved.
    pub incidents: u64,
}

impl Store {
    /// `PRAGMA quick_check`: the problems it lists, none when the file is whole.
    pub fn quick_check(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("PRAGMA quick_check({MAX_PROBLEMS})"))
            .map_err(StoreError::sqlite(&self.path, "checking the store"))?;
        let lines: Vec<String> = stmt
            .query_map([], |row| row.get(0))
            .and_then(|rows| rows.collect())
            .map_err(StoreError::sqlite(&self.path, "checking the store"))?;
        Ok(lines.into_iter().filter(|l| l != QUICK_CHECK_OK).collect())
    }

    /// Copy every committed frame of the write-ahead log into the main file and
    /// truncate the log, so that the main file alone holds every committed round.
    pub fn checkpoint(&self) -> Result<Checkpoint, StoreError> {
        let (busy, wal_frames, copied): (i64, i64, i64) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .map_err(StoreError::sqlite(&self.path, "checkpointing the WAL"))?;
        Ok(Checkpoint {
            busy: busy != 0,
            wal_frames,
            copied,
        })
    }

    /// Counts that are cheap to read at any store size: the rollups hold one
    /// row per probe, location and period, not one per result.
    pub fn figures(&self) -> Result<Figures, StoreError> {
        let (results, incidents): (i64, i64) = self
            .conn
            .query_row(
                "SELECT (SELECT coalesce(sum(runs), 0) FROM day_rollups),
                        (SELECT count(*) FROM incidents)",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(StoreError::sqlite(
                &self.path,
                "counting results and incidents",
            ))?;
        let count = |column, v: i64| {
            u64::try_from(v).map_err(|_| StoreError::bad_value(&self.path, column, v))
        };
        Ok(Figures {
            results: count("day_rollups.runs", results)?,
            incidents: count("incidents", incidents)?,
        })
    }
}

impl StoreError {
    /// Whether SQLite found the file damaged (as opposed to busy, missing, or
    /// not ours): the answer is to restore it, not to retry.
    pub fn is_damage(&self) -> bool {
        match self {
            StoreError::Sqlite { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
            ),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_store_is_whole_and_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("outpost.db")).expect("open");
        assert_eq!(store.quick_check().expect("check"), Vec::<String>::new());
        let cp = store.checkpoint().expect("checkpoint");
        assert!(cp.complete(), "{cp:?}");
        assert_eq!(
            store.figures().expect("figures"),
            Figures {
                results: 0,
                incidents: 0
            }
        );
    }
}
