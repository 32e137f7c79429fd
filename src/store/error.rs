//! Why the store could not be used, always naming the file.

use std::path::PathBuf;

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file is an SQLite database that belongs to something else.
    #[error(
        "{} is not an Outpost store (application_id {application_id:#010x}{detail}); refusing to touch it",
        path.display()
    )]
    Foreign {
        path: PathBuf,
        application_id: i32,
        /// Extra reason when the id alone does not explain the refusal.
        detail: &'static str,
    },

    /// The file is not an SQLite database at all.
    #[error(
        "{} is not an Outpost store (not an SQLite database); refusing to touch it",
        path.display()
    )]
    NotADatabase { path: PathBuf },

    /// The store's schema is newer than this binary understands.
    #[error(
        "{} was written by a newer Outpost (schema {found}, this binary knows {supported}): upgrade outpost",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: u32,
    },

    /// A shard to merge has an older schema than this binary writes.
    #[error(
        "{} has schema {found}, older than this binary's {supported}: open it once with this outpost \
         (for example `outpost report --db {}`) to bring it up to date, then merge",
        path.display(), path.display()
    )]
    TooOld {
        path: PathBuf,
        found: i64,
        supported: u32,
    },

    /// A stored value this binary cannot turn back into its type.
    #[error("{}: column {column} holds {value}, which this binary does not understand", path.display())]
    BadValue {
        path: PathBuf,
        column: &'static str,
        value: String,
    },

    /// The file could not be read before handing it to SQLite.
    #[error("{}: cannot read the store: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// SQLite failed while doing `during`.
    #[error("{}: {during}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        during: &'static str,
        #[source]
        source: rusqlite::Error,
    },
}

impl StoreError {
    /// A stored value this binary cannot turn back into its type.
    pub(crate) fn bad_value(
        path: &std::path::Path,
        column: &'static str,
        value: impl ToString,
    ) -> StoreError {
        StoreError::BadValue {
            path: path.to_path_buf(),
            column,
            value: value.to_string(),
        }
    }

    /// A closure for `map_err` that wraps an SQLite error with the file and the step.
    pub(crate) fn sqlite<'a>(
        path: &'a std::path::Path,
        during: &'static str,
    ) -> impl FnOnce(rusqlite::Error) -> StoreError + 'a {
        move |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            during,
            source,
        }
    }
}
