//! Reading the files a user points Outpost at (the config, `ca_file`s, client
//! keys, `incidents/*.md`, templates): regular files under a size limit, so a
//! path to `/dev/zero`, a FIFO or a runaway log is refused at once with a clear
//! error instead of growing memory forever or waiting for a writer.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Largest `probes.toml`: thousands of probes fit in far less.
pub const CONFIG_LIMIT: u64 = 4 << 20;
/// Largest PEM file (`ca_file`, client certificates and keys).
pub const PEM_LIMIT: u64 = 1 << 20;
/// Largest `incidents/*.md` file.
pub const INCIDENT_LIMIT: u64 = 1 << 20;
/// Largest template.
pub const TEMPLATE_LIMIT: u64 = 1 << 20;

/// Why a file was not read. The path is the caller's to name.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("is {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("is larger than {}", human_size(*limit))]
    TooLarge { limit: u64 },
    #[error("is not UTF-8 text")]
    NotText,
}

impl ReadError {
    /// Whether the file does not exist (optional files are then skipped).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

/// The bytes of the regular file at `path`, at most `limit` of them.
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    // Non-blocking, so that opening a FIFO does not wait for a writer; it is
    // refused by type right after. For a regular file the flag changes nothing.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    let kind = meta.file_type();
    if !kind.is_file() {
        return Err(ReadError::NotRegular(describe(&kind)));
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    // The file may grow while it is read: never take more than the limit.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    File::take(file, limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// The text of the regular file at `path`, at most `limit` bytes of UTF-8.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    String::from_utf8(read(path, limit)?).map_err(|_| ReadError::NotText)
}

fn describe(kind: &std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        "a directory"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_small_regular_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.txt");
        std::fs::write(&path, "hello").expect("write");
        assert_eq!(read_text(&path, 5).expect("read"), "hello");
        assert!(matches!(
            read_text(&path, 4),
            Err(ReadError::TooLarge { limit: 4 })
        ));
    }

    #[test]
    fn refuses_devices_and_directories() {
        let err = read(Path::new("/dev/zero"), 10).expect_err("refused");
        assert_eq!(err.to_string(), "is a character device, not a regular file");
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            read(dir.path(), 10),
            Err(ReadError::NotRegular("a directory"))
        ));
    }

    #[test]
    fn missing_files_are_told_apart() {
        let err = read(Path::new("/nonexistent/outpost/x"), 10).expect_err("missing");
        assert!(err.is_not_found());
        assert_eq!(human_size(PEM_LIMIT), "1 MiB");
    }
}
