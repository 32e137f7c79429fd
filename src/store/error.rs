//! Why the store could not be used, always naming the file.
//!
//! SQLite's answer is turned into what an operator can act on: a store that is
//! read-only, a disk that is full, a store that is damaged (restore it). Every
//! failure from a query goes through [`StoreError::sqlite`], so every command
//! says the same thing, and a command that meets damage stops (exit 3) instead
//! of building a page from half the data.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

/// Below this much free space, an I/O error is a full disk: SQLite reports
/// ENOSPC as "disk I/O error" where it grows its WAL index (-shm).
const NEARLY_FULL: u64 = 1 << 20;

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

    /// The store, or the directory it lives in, cannot be written.
    #[error(
        "{}: the store is read-only: {reason}; outpost writes every run's results, so make it writable",
        path.display()
    )]
    ReadOnly { path: PathBuf, reason: String },

    /// The store would be created in a directory that does not exist.
    #[error(
        "{}: cannot create the store: its directory {} does not exist",
        path.display(),
        dir.display()
    )]
    NoDirectory { path: PathBuf, dir: PathBuf },

    /// The file system holding the store has no room left.
    #[error(
        "{}: {during}: disk full ({} KiB free on the file system holding the store); free some space and run again",
        path.display(),
        free / 1024
    )]
    DiskFull {
        path: PathBuf,
        during: &'static str,
        free: u64,
    },

    /// SQLite found a page it cannot read as what it should be.
    #[error(
        "{}: the store is damaged: restore it from the data branch or a backup ({during}: {source})",
        path.display()
    )]
    Damaged {
        path: PathBuf,
        during: &'static str,
        #[source]
        source: rusqlite::Error,
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

    /// A closure for `map_err` that wraps an SQLite error with the file and
    /// the step, and tells damage, a full disk and a read-only store apart.
    pub(crate) fn sqlite<'a>(
        path: &'a std::path::Path,
        during: &'static str,
    ) -> impl FnOnce(rusqlite::Error) -> StoreError + 'a {
        move |source| classify(path, during, source)
    }
}

fn classify(path: &Path, during: &'static str, source: rusqlite::Error) -> StoreError {
    let path_buf = path.to_path_buf();
    match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Damaged {
            path: path_buf,
            during,
            source,
        },
        Some(ErrorCode::ReadOnly) => StoreError::ReadOnly {
            path: path_buf,
            reason: format!("{during}: {source}"),
        },
        Some(ErrorCode::DiskFull) => StoreError::DiskFull {
            path: path_buf,
            during,
            free: free_space(path).unwrap_or(0),
        },
        Some(ErrorCode::SystemIoFailure | ErrorCode::CannotOpen)
            if free_space(path).is_some_and(|free| free < NEARLY_FULL) =>
        {
            StoreError::DiskFull {
                path: path_buf,
                during,
                free: free_space(path).unwrap_or(0),
            }
        }
        _ => StoreError::Sqlite {
            path: path_buf,
            during,
            source,
        },
    }
}

/// Bytes an unprivileged writer may still use on the file system of `path`.
fn free_space(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let dir = super::guard::directory_of(path);
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a valid NUL-terminated path and `stat` points to memory
    // statvfs fills on success; it is read only then.
    let stat = unsafe {
        if libc::statvfs(c.as_ptr(), stat.as_mut_ptr()) != 0 {
            return None;
        }
        stat.assume_init()
    };
    #[allow(clippy::useless_conversion)] // the field widths differ by platform
    Some(u64::from(stat.f_bavail).saturating_mul(u64::from(stat.f_frsize)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: std::os::raw::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn sqlite_answers_become_what_an_operator_can_act_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("o.db");
        let e = StoreError::sqlite(&path, "writing a result")(failure(rusqlite::ffi::SQLITE_FULL));
        assert!(matches!(e, StoreError::DiskFull { .. }), "{e}");
        assert!(e.to_string().contains("disk full"), "{e}");
        for code in [rusqlite::ffi::SQLITE_CORRUPT, rusqlite::ffi::SQLITE_NOTADB] {
            let e = StoreError::sqlite(&path, "reading results")(failure(code));
            assert!(
                e.to_string()
                    .contains("the store is damaged: restore it from the data branch or a backup"),
                "{e}"
            );
        }
        let e = StoreError::sqlite(&path, "writing")(failure(rusqlite::ffi::SQLITE_READONLY));
        assert!(e.to_string().contains("read-only"), "{e}");
        // An I/O error with room to spare stays what it is.
        let e = StoreError::sqlite(&path, "reading")(failure(rusqlite::ffi::SQLITE_IOERR));
        assert!(matches!(e, StoreError::Sqlite { .. }), "{e}");
    }
}
