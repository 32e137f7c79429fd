//! The schema, as a list of SQL steps keyed on `PRAGMA user_version`.
//!
//! Step `i` takes a store from version `i` to `i + 1`. Steps are only ever
//! appended: a released step never changes, because stores in the wild have
//! already run it.

use std::path::Path;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::error::StoreError;
use super::guard::{self, APPLICATION_ID};
use super::migrate_v4;

/// One migration: SQL, or code for what SQL cannot do (re-encoding data).
pub enum Step {
    Sql(&'static str),
    Code(fn(&Transaction<'_>, &Path) -> Result<(), StoreError>),
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Step] = &[
    Step::Sql(V1_RESULTS),
    Step::Sql(V2_STATES),
    Step::Sql(V3_ROLLUPS),
    Step::Code(migrate_v4::compact),
    Step::Sql(OUTBOX_ORDER),
    // v6: hourly counts and alerts of the burn-rate objectives.
    Step::Sql(super::burn::SCHEMA),
    // v7: the per-step records of `flow` results.
    Step::Sql(super::steps::SCHEMA),
];

/// The version that made the store compact ([`migrate_v4`]): opening an
/// older store migrates it and then vacuums, so the file shrinks at once.
pub const COMPACT: u32 = 4;

/// v1: one row per probe result, every field of the JSON output plus location.
///
/// `started_at` is INTEGER unix milliseconds, not text: equality is exact, so
/// UNIQUE(probe, location, started_at) makes a merge of shards idempotent
/// whatever text form another writer would have chosen (`Z` or `+00:00`,
/// 3 or 9 fraction digits); it sorts numerically, a UTC day is
/// `started_at / 86400000` for rollups, and it is 8 bytes instead of ~24.
/// `cert_expires_at` is RFC 3339 text: it is only shown, never grouped on.
///
/// `cause` has no CHECK, unlike `outcome`: new causes will be added, and SQLite
/// cannot change a CHECK without rebuilding the table. Readers reject values
/// they do not know. STRICT makes SQLite enforce the declared column types.
const V1_RESULTS: &str = "
CREATE TABLE results (
    id              INTEGER PRIMARY KEY,
    probe           TEXT    NOT NULL,
    location        TEXT    NOT NULL,
    started_at      INTEGER NOT NULL,
    outcome         TEXT    NOT NULL CHECK (outcome IN ('up', 'degraded', 'down')),
    cause           TEXT,
    message         TEXT,
    status          INTEGER,
    latency_ms      REAL    NOT NULL,
    dns_ms          REAL,
    connect_ms      REAL,
    tls_ms          REAL,
    ttfb_ms         REAL,
    transfer_ms     REAL,
    cert_expires_at TEXT,
    UNIQUE (probe, location, started_at)
) STRICT;

-- Latest results of a probe, across locations.
CREATE INDEX results_probe_started ON results (probe, started_at);
";

/// v2: what turns results into pages and alerts: a state machine per probe
/// and location, the probe's aggregate state, incidents, and the outbox of
/// notifications (written in the transaction of the state change that caused
/// them, delivered afterwards). Instants are unix milliseconds, as in v1.
const V2_STATES: &str = "
CREATE TABLE location_states (
    probe          TEXT    NOT NULL,
    location       TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    up_streak      INTEGER NOT NULL,
    bad_streak     INTEGER NOT NULL,
    down_streak    INTEGER NOT NULL,
    last_result_at INTEGER NOT NULL,
    PRIMARY KEY (probe, location)
) STRICT;

CREATE TABLE probe_states (
    probe       TEXT    PRIMARY KEY,
    state       TEXT    NOT NULL,
    since       INTEGER NOT NULL,
    incident_id INTEGER
) STRICT;

CREATE TABLE incidents (
    id             INTEGER PRIMARY KEY,
    probe          TEXT    NOT NULL,
    started_at     INTEGER NOT NULL,
    resolved_at    INTEGER,
    worst_state    TEXT    NOT NULL,
    first_cause    TEXT,
    first_message  TEXT,
    failed_results INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX incidents_probe_started ON incidents (probe, started_at);

CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    channel       TEXT    NOT NULL,
    probe         TEXT    NOT NULL,
    incident_id   INTEGER NOT NULL,
    event         TEXT    NOT NULL,
    payload       TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    delivered_at  INTEGER,
    receipt       TEXT,
    claimed_until INTEGER
) STRICT;
CREATE INDEX outbox_status ON outbox (status, id);
CREATE INDEX outbox_channel_incident ON outbox (channel, incident_id);
";

/// v3: daily rollups per probe, location and UTC day (days since the epoch),
/// kept forever; `latency` is a mergeable histogram (rollup/histogram.rs) so
/// percentiles over any window merge exactly; phase sums give mean phases.
const V3_ROLLUPS: &str = "
CREATE TABLE rollups (
    probe            TEXT    NOT NULL,
    location         TEXT    NOT NULL,
    day              INTEGER NOT NULL,
    runs             INTEGER NOT NULL,
    up               INTEGER NOT NULL,
    degraded         INTEGER NOT NULL,
    down             INTEGER NOT NULL,
    maintenance      INTEGER NOT NULL,
    maintenance_down INTEGER NOT NULL,
    latency          TEXT    NOT NULL,
    dns_sum REAL NOT NULL, dns_n INTEGER NOT NULL,
    connect_sum REAL NOT NULL, connect_n INTEGER NOT NULL,
    tls_sum REAL NOT NULL, tls_n INTEGER NOT NULL,
    ttfb_sum REAL NOT NULL, ttfb_n INTEGER NOT NULL,
    transfer_sum REAL NOT NULL, transfer_n INTEGER NOT NULL,
    PRIMARY KEY (probe, location, day)
) STRICT;
";

/// The outbox keeps each incident's notifications in order (outbox.rs): a
/// notification that a newer one of its incident made stale is `superseded`
/// (never sent, `superseded_by` the newer row) instead of pending, and a
/// receiver's `Retry-After` beyond the run is kept as `not_before`. SQLite
/// cannot change a CHECK in place, so the table is rebuilt with its rows.
const OUTBOX_ORDER: &str = "
CREATE TABLE outbox_ordered (
    id            INTEGER PRIMARY KEY,
    channel       TEXT    NOT NULL,
    probe         TEXT    NOT NULL,
    incident_id   INTEGER NOT NULL,
    event         TEXT    NOT NULL,
    payload       TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    status        TEXT    NOT NULL
                  CHECK (status IN ('pending', 'delivered', 'failed', 'superseded')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    delivered_at  INTEGER,
    receipt       TEXT,
    claimed_until INTEGER,
    not_before    INTEGER,
    superseded_by INTEGER
) STRICT;
INSERT INTO outbox_ordered (id, channel, probe, incident_id, event, payload, created_at,
                            status, attempts, last_error, delivered_at, receipt, claimed_until)
    SELECT id, channel, probe, incident_id, event, payload, created_at,
           status, attempts, last_error, delivered_at, receipt, claimed_until FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_ordered RENAME TO outbox;
CREATE INDEX outbox_status ON outbox (status, id);
CREATE INDEX outbox_channel_incident ON outbox (channel, incident_id, id);
";

/// The schema version this binary writes and understands.
pub fn latest() -> u32 {
    // A list of SQL steps in the source: never near u32::MAX.
    u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX)
}

/// The schema version of an open store (0 for a new one).
pub fn version(conn: &Connection, path: &Path) -> Result<u32, StoreError> {
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(StoreError::sqlite(path, "reading the schema version"))?;
    Ok(u32::try_from(v).unwrap_or(0))
}

/// Bring the store up to [`latest`], one transaction per step. Each step
/// re-reads the version under the write lock, so two processes opening the
/// same new file at once apply each step once.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sqlite(path, "starting a migration"))?;
        guard::check_owner(&tx, path)?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(StoreError::sqlite(path, "reading the schema version"))?;
        // check_owner has refused versions above latest(); negative ones
        // cannot come from us and are treated as a new store.
        let Some(step) = usize::try_from(version)
            .ok()
            .and_then(|v| MIGRATIONS.get(v))
        else {
            return tx
                .commit()
                .map_err(StoreError::sqlite(path, "ending the migration check"));
        };
        match step {
            Step::Sql(sql) => tx
                .execute_batch(sql)
                .map_err(StoreError::sqlite(path, "migrating the schema"))?,
            Step::Code(f) => f(&tx, path)?,
        }
        tx.pragma_update(None, "user_version", version + 1)
            .map_err(StoreError::sqlite(path, "recording the schema version"))?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(StoreError::sqlite(
                path,
                "marking the file as an Outpost store",
            ))?;
        tx.commit()
            .map_err(StoreError::sqlite(path, "committing a migration"))?;
        tracing::debug!(store = %path.display(), version = version + 1, "migrated store");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("user_version")
    }

    #[test]
    fn every_step_applies_in_order_and_bumps_the_version() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        migrate(&mut conn, Path::new(":memory:")).expect("migrate");
        assert_eq!(version(&conn), i64::from(latest()));
        let id: i32 = conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .expect("application_id");
        assert_eq!(id, APPLICATION_ID);
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        migrate(&mut conn, Path::new(":memory:")).expect("first");
        migrate(&mut conn, Path::new(":memory:")).expect("second");
        assert_eq!(version(&conn), i64::from(latest()));
    }

    #[test]
    fn a_failing_step_leaves_the_version_unchanged() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        // Our file, but a table the first step creates already exists: the
        // step fails half-way and must leave nothing behind.
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .expect("claim the file");
        conn.execute_batch("CREATE TABLE results (x)")
            .expect("clash");
        assert!(migrate(&mut conn, Path::new(":memory:")).is_err());
        assert_eq!(version(&conn), 0);
    }
}
