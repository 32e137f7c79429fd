//! The SQLite store: one file, migrations on open, all results of a run in one
//! transaction.
//!
//! Opening is careful: the file is first inspected without writing
//! ([`guard`]); only a missing or empty file, an empty SQLite database or an
//! Outpost store this binary understands is then opened for writing, switched
//! to WAL and migrated ([`migrations`]).

mod error;
mod guard;
pub mod incidents;
pub mod merge;
pub mod migrations;
pub mod outbox;
mod results;
pub mod rollups;
pub mod states;
pub mod writer;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, TransactionBehavior};

pub use error::StoreError;
pub use guard::APPLICATION_ID;

/// How long a writer waits for another process's write lock. Two overlapping
/// cron runs each write one short transaction, so this is ample.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Open for writing (creating and migrating if needed) the store at
    /// `path`, refusing any file that is not ours, and a store this process
    /// could not write, without changing a byte of it.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        guard::inspect(path)?;
        guard::check_writable(path)?;

        let mut conn =
            Connection::open(path).map_err(StoreError::sqlite(path, "opening the store"))?;
        // busy_timeout first: every later statement may meet another writer.
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(StoreError::sqlite(path, "setting busy_timeout"))?;
        // The kernel's answer above can differ from SQLite's (a file swapped
        // meanwhile): SQLite then opened it for reading only.
        if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true) {
            return Err(StoreError::ReadOnly {
                path: path.to_path_buf(),
                reason: "SQLite could open it for reading only".to_string(),
            });
        }
        let mode = switch_to_wal(&conn, path)?;
        if !mode.eq_ignore_ascii_case("wal") {
            // Some file systems (network mounts) cannot share WAL memory; the
            // store still works, only concurrent runs wait longer.
            tracing::warn!(store = %path.display(), mode, "store is not in WAL mode");
        }
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
            .map_err(StoreError::sqlite(path, "setting pragmas"))?;
        migrations::migrate(&mut conn, path)?;

        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Run `f` in one write transaction (`BEGIN IMMEDIATE`, so an overlapping
    /// run waits its turn through busy_timeout instead of failing): the run's
    /// results, state changes and queued notifications commit together.
    pub fn write<T>(
        &mut self,
        f: impl FnOnce(&writer::Writer<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sqlite(&self.path, "starting to write"))?;
        let w = writer::Writer {
            tx,
            path: &self.path,
        };
        let out = f(&w)?;
        w.tx.commit()
            .map_err(StoreError::sqlite(&self.path, "committing"))?;
        Ok(out)
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open store (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        let v: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(StoreError::sqlite(&self.path, "reading the schema version"))?;
        u32::try_from(v).map_err(|_| StoreError::BadValue {
            path: self.path.clone(),
            column: "user_version",
            value: v.to_string(),
        })
    }
}

/// Put the store in WAL mode (a no-op once it is): readers never block the
/// writer, and a second run's writer waits for the first instead of failing.
/// Returns the journal mode SQLite settled on.
///
/// Leaving rollback mode needs an exclusive lock, and SQLite answers BUSY
/// for it without calling the busy handler; two runs creating the same new
/// file at once meet exactly that, so retry here for up to [`BUSY_TIMEOUT`].
fn switch_to_wal(conn: &Connection, path: &Path) -> Result<String, StoreError> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)) {
            Ok(mode) => return Ok(mode),
            Err(e)
                if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(StoreError::sqlite(path, "switching to WAL")(e)),
        }
    }
}
