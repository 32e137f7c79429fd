//! One write transaction (`BEGIN IMMEDIATE`): the results of a run, the state
//! changes they cause and the notifications those queue land together or not
//! at all, and two overlapping runs take turns instead of interleaving.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::StoreError;

/// A write transaction on the store; see `states.rs`, `incidents.rs`, `outbox.rs`.
pub struct Writer<'a> {
    /// The open transaction (a `Transaction` derefs to its connection).
    pub(super) tx: &'a Connection,
    pub(super) path: &'a Path,
}

impl<'a> Writer<'a> {
    /// A writer inside a transaction someone else owns and commits (a migration).
    pub(super) fn borrowed(tx: &'a Connection, path: &'a Path) -> Writer<'a> {
        Writer { tx, path }
    }
}

impl Writer<'_> {
    pub(super) fn err(
        &self,
        during: &'static str,
    ) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
        StoreError::sqlite(self.path, during)
    }

    pub(super) fn bad(&self, column: &'static str, value: impl ToString) -> StoreError {
        StoreError::bad_value(self.path, column, value)
    }
}

/// Unix milliseconds, the store's instant format (see migrations.rs v1).
pub(super) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Back from unix milliseconds; `None` for a value out of chrono's range.
pub(super) fn from_ms(v: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(v)
}
