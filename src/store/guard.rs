//! Deciding, without writing a byte, whether a file is ours to open.
//!
//! A store path is often typed by hand or comes from a CI cache, so it may name
//! another program's database, a text file, or a store written by a newer
//! Outpost. Each of those is refused before anything could change the file.

use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::error::StoreError;
use super::migrations;

/// `PRAGMA application_id` of every Outpost store: "OTPT" in ASCII.
pub const APPLICATION_ID: i32 = 0x4F54_5054;

/// The first 16 bytes of every SQLite 3 database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Refuse `path` unless it is missing, empty, an empty SQLite database, or an
/// Outpost store this binary can read. Only reads the file.
pub fn inspect(path: &Path) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = match std::fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(e)),
    };
    if len == 0 {
        return Ok(());
    }

    // Check the magic ourselves so that SQLite never opens a file that is not
    // a database at all (it would not write to it, but we need not find out).
    let mut head = Vec::with_capacity(SQLITE_MAGIC.len());
    std::fs::File::open(path)
        .and_then(|f| f.take(SQLITE_MAGIC.len() as u64).read_to_end(&mut head))
        .map_err(io)?;
    if head != SQLITE_MAGIC {
        return Err(StoreError::NotADatabase {
            path: path.to_path_buf(),
        });
    }

    // Read-only, because a read-write connection would checkpoint a WAL into
    // the main file when it closes. And immutable when no WAL file exists:
    // then the main file holds everything, and a plain read-only connection
    // to a WAL-mode file would leave empty -wal and -shm files beside it.
    let conn = if sidecar(path, "-wal").exists() {
        Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    } else {
        let uri = immutable_uri(path).map_err(io)?;
        Connection::open_with_flags(
            uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
    }
    .map_err(|e| classify_open_error(path, "opening the store read-only", e))?;
    conn.busy_timeout(super::BUSY_TIMEOUT)
        .map_err(StoreError::sqlite(path, "setting busy_timeout"))?;
    check_owner(&conn, path)
}

/// Refuse the database behind `conn` unless it is ours (at a schema this
/// binary knows) or empty. Runs again under the write lock before migrating,
/// so a file swapped after [`inspect`] is still caught.
pub fn check_owner(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    // One statement, so one read snapshot: read one by one, the id could come
    // from before another process's first migration and the tables from after.
    let (application_id, user_version, objects): (i64, i64, i64) = conn
        .query_row(
            "SELECT (SELECT application_id FROM pragma_application_id()),
                    (SELECT user_version FROM pragma_user_version()),
                    (SELECT count(*) FROM sqlite_schema)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .map_err(|e| classify_open_error(path, "reading the store header", e))?;
    // The header field is a signed 32-bit integer; SQLite never returns more.
    let application_id = i32::try_from(application_id).unwrap_or(i32::MIN);

    if application_id == APPLICATION_ID {
        let supported = migrations::latest();
        if user_version > i64::from(supported) {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found: user_version,
                supported,
            });
        }
        return Ok(());
    }

    let foreign = |detail| StoreError::Foreign {
        path: path.to_path_buf(),
        application_id,
        detail,
    };
    if application_id != 0 {
        return Err(foreign(""));
    }
    if objects > 0 {
        return Err(foreign(", and it already holds tables"));
    }
    if user_version != 0 {
        return Err(foreign(", and its user_version is set"));
    }
    Ok(())
}

/// The directory `path` is in (`.` for a bare file name).
pub(super) fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Refuse a store that could not be written, before anything is opened or
/// probed: the file (when it exists) and its directory, where SQLite creates
/// the -wal and -shm files, must be writable by this process. Asked of the
/// kernel without writing, so a refused store is left exactly as it was.
pub fn check_writable(path: &Path) -> Result<(), StoreError> {
    let read_only = |reason: String| StoreError::ReadOnly {
        path: path.to_path_buf(),
        reason,
    };
    if path.exists()
        && let Err(e) = may_write(path)
    {
        return Err(read_only(format!("the file is not writable ({e})")));
    }
    let dir = directory_of(path);
    if !dir.is_dir() {
        return Err(StoreError::NoDirectory {
            path: path.to_path_buf(),
            dir,
        });
    }
    if let Err(e) = may_write(&dir) {
        return Err(read_only(format!(
            "its directory {} is not writable ({e}), and SQLite keeps its -wal and -shm files there",
            dir.display()
        )));
    }
    Ok(())
}

/// Whether this process may write `path` (a directory: create files in it),
/// by its effective ids; a read-only mount answers no.
fn may_write(path: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: `c` is a valid NUL-terminated path; faccessat only reads it.
    let answer =
        unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::W_OK, libc::AT_EACCESS) };
    if answer == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The file SQLite keeps beside `path` with `suffix` ("-wal", "-shm", "-journal").
pub(super) fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// `file:` URI opening `path` read-only and immutable (no locks, no -shm).
/// The path is made absolute so that the URI never has an authority part, and
/// every byte outside a safe set is percent-encoded (`?`, `#`, `%`, spaces).
pub(super) fn immutable_uri(path: &Path) -> std::io::Result<String> {
    let absolute = std::path::absolute(path)?;
    let mut uri = String::from("file://");
    for &b in absolute.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?mode=ro&immutable=1");
    Ok(uri)
}

/// SQLite reports a non-database only when it first reads the file; give that
/// case its own error, keep every other failure as it is.
fn classify_open_error(path: &Path, during: &'static str, e: rusqlite::Error) -> StoreError {
    if e.sqlite_error_code() == Some(ErrorCode::NotADatabase) {
        StoreError::NotADatabase {
            path: path.to_path_buf(),
        }
    } else {
        StoreError::sqlite(path, during)(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> tempfile::TempDir {
        tempfile::tempdir().expect("tempdir")
    }

    #[test]
    fn uris_escape_what_sqlite_would_parse() {
        let uri = immutable_uri(Path::new("/tmp/a b?c#d%e.db")).expect("uri");
        assert_eq!(uri, "file:///tmp/a%20b%3Fc%23d%25e.db?mode=ro&immutable=1");
    }

    #[test]
    fn odd_file_names_are_inspected() {
        let dir = temp();
        let path = dir.path().join("we?ird #name%20.db");
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch("CREATE TABLE t (x)").expect("table");
        drop(conn);
        assert!(matches!(inspect(&path), Err(StoreError::Foreign { .. })));
    }

    #[test]
    fn a_store_in_a_missing_directory_is_refused_by_name() {
        let dir = temp();
        let path = dir.path().join("nope").join("o.db");
        assert!(matches!(
            check_writable(&path),
            Err(StoreError::NoDirectory { .. })
        ));
        assert!(check_writable(&dir.path().join("o.db")).is_ok());
    }

    #[test]
    fn missing_and_empty_files_are_new_stores() {
        let dir = temp();
        let path = dir.path().join("none.db");
        assert!(inspect(&path).is_ok());
        std::fs::write(&path, b"").expect("write");
        assert!(inspect(&path).is_ok());
    }

    #[test]
    fn short_garbage_is_not_a_database() {
        let dir = temp();
        let path = dir.path().join("short.db");
        std::fs::write(&path, b"SQLite").expect("write");
        assert!(matches!(
            inspect(&path),
            Err(StoreError::NotADatabase { .. })
        ));
    }

    #[test]
    fn magic_with_a_broken_header_is_not_a_database() {
        let dir = temp();
        let path = dir.path().join("broken.db");
        let mut bytes = SQLITE_MAGIC.to_vec();
        bytes.extend(std::iter::repeat_n(0xA5u8, 4096));
        std::fs::write(&path, &bytes).expect("write");
        let err = inspect(&path).expect_err("refused");
        assert!(
            matches!(err, StoreError::NotADatabase { .. }),
            "unexpected error: {err}"
        );
        assert_eq!(std::fs::read(&path).expect("read"), bytes);
    }

    #[test]
    fn an_empty_sqlite_database_is_accepted() {
        let dir = temp();
        let path = dir.path().join("empty.db");
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch("PRAGMA journal_mode=WAL; VACUUM;")
            .expect("materialise the header");
        drop(conn);
        assert!(std::fs::metadata(&path).expect("meta").len() > 0);
        assert!(inspect(&path).is_ok());
    }

    #[test]
    fn another_application_id_is_foreign() {
        let dir = temp();
        let path = dir.path().join("other.db");
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch("PRAGMA application_id = 1234; VACUUM;")
            .expect("set id");
        drop(conn);
        match inspect(&path) {
            Err(StoreError::Foreign { application_id, .. }) => assert_eq!(application_id, 1234),
            other => panic!("expected Foreign, got {other:?}"),
        }
    }
}
