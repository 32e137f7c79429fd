//! Reading a response body: decompression and the 1 MiB cap.

/// Bodies are read up to this many bytes after decompression.
pub const MAX_BODY: usize = 1024 * 1024;
