//! The SQLite store: one file, migrations on open, all results of a run in one
//! transaction.
//!
//! Opening is careful: the file is first inspected without writing
//! ([`guard`]); only a missing or empty file, an empty SQLite database or an
//! Outpost store this binary understands is then opened for writing, switched
//! to WAL and migrated ([`migrations`]).

mod block;
pub mod burn;
pub mod burn_alerts;
mod error;
mod guard;
pub mod health;
pub mod incidents;
pub mod merge;
mod migrate_v4;
pub mod migrations;
pub mod outbox;
mod results;
pub mod rollups;
pub mod states;
mod steps;
pub mod writer;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, TransactionBehavior};

pub use error::StoreError;
pub use guard::APPLICATION_ID;

/// How long a writer waits for another process's write lock. Two overlapping
/// cron runs each write one short transaction, so this is ample.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 128;

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Probe and location numbers read so far (`names` only grows, and a
    /// number never changes): a render asks for each probe's several times.
    keys: std::cell::RefCell<std::collections::HashMap<String, i64>>,
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
        // A run uses a few dozen distinct statements; rusqlite keeps 16 by
        // default, and a miss parses the SQL again on every round.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let before = migrations::version(&conn, path)?;
        migrations::migrate(&mut conn, path)?;
        if (1..migrations::COMPACT).contains(&before) {
            // The old tables' pages are free now: give them back, so the
            // first save of a migrated store is already small.
            conn.execute_batch("VACUUM")
                .map_err(StoreError::sqlite(path, "compacting the migrated store"))?;
        }

        Ok(Store {
            conn,
            path: path.to_path_buf(),
            keys: Default::default(),
        })
    }

    /// Another connection to the store at `path`, already opened (checked
    /// and migrated) with [`Store::open`], for reading only: one per thread
    /// that reads beside it (a render reads probes on every core). Its reads
    /// share one read transaction, held until it is dropped: the thread sees
    /// one snapshot of the store, and takes SQLite's read lock once rather
    /// than at every statement. A WAL store's writers are not held up.
    pub fn reader(path: &Path) -> Result<Store, StoreError> {
        use rusqlite::OpenFlags;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(StoreError::sqlite(path, "opening the store for reading"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(StoreError::sqlite(path, "setting busy_timeout"))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.execute_batch("BEGIN")
            .map_err(StoreError::sqlite(path, "starting to read"))?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            keys: Default::default(),
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
        let out = f(&writer::Writer::borrowed(&tx, &self.path))?;
        tx.commit()
            .map_err(StoreError::sqlite(&self.path, "committing"))?;
        Ok(out)
    }

    /// Rewrite the file without free space. Once a day (after rollup
    /// retention shrank a day of rows) this keeps the file at the size of
    /// what it holds: about 0.1 s for a 10 MB store. Another process using
    /// the store makes it a no-op until the next day (it is only space).
    pub fn vacuum(&self) -> Result<bool, StoreError> {
        match self.conn.execute_batch("VACUUM") {
            Ok(()) => Ok(true),
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) => Ok(false),
            Err(e) => Err(StoreError::sqlite(&self.path, "compacting the store")(e)),
        }
    }

    /// Run `f` and count the SQLite virtual-machine instructions it executed
    /// on this store: a measure of work that, unlike time, does not depend on
    /// the machine (tests use it to show a write reads no history).
    pub fn instructions_during<T>(
        &mut self,
        f: impl FnOnce(&mut Store) -> T,
    ) -> Result<(T, u64), StoreError> {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU64, Ordering};
        let count = Arc::new(AtomicU64::new(0));
        let counter = count.clone();
        self.conn
            .progress_handler(
                1,
                Some(move || {
                    counter.fetch_add(1, Ordering::Relaxed);
                    false
                }),
            )
            .map_err(StoreError::sqlite(&self.path, "counting instructions"))?;
        let out = f(self);
        self.conn
            .progress_handler(0, None::<fn() -> bool>)
            .map_err(StoreError::sqlite(&self.path, "counting instructions"))?;
        Ok((out, count.load(Ordering::Relaxed)))
    }

    /// The number `name` is stored under, if it has one (see `keys`).
    fn key(&self, name: &str) -> Result<Option<i64>, StoreError> {
        if let Some(k) = self.keys.borrow().get(name) {
            return Ok(Some(*k));
        }
        let k = results::name_key(&self.conn, name)
            .map_err(StoreError::sqlite(&self.path, "reading a name"))?;
        if let Some(k) = k {
            self.keys.borrow_mut().insert(name.to_string(), k);
        }
        Ok(k)
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
