//! Reading a response body to its end: decompressed, counted, and kept only
//! up to a limit.
//!
//! The whole body is streamed through the decoder (bounded by the probe's
//! `timeout` only, as curl and blackbox_exporter read it), and only the first
//! `keep` decoded bytes are held, so memory stays at `keep` plus a chunk
//! whatever the target sends: a 1 GB download, a gzip bomb, an endless body.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_compression::tokio::bufread::{DeflateDecoder, GzipDecoder};
use futures::{StreamExt, TryStreamExt};
use http::HeaderMap;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, TRANSFER_ENCODING};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt};
use tokio_util::io::StreamReader;

use super::net::io_message;
use crate::model::{Cause, Failure};

/// A body read to its end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body {
    /// The first `keep` bytes after decompression.
    pub prefix: Vec<u8>,
    /// Bytes as received (after chunked framing, before decompression).
    pub wire_bytes: u64,
    /// Bytes after decompression.
    pub decoded_bytes: u64,
}

impl Body {
    /// Whether `prefix` is the whole (decoded) body.
    pub fn complete(&self) -> bool {
        self.prefix.len() as u64 == self.decoded_bytes
    }
}

/// How a body is encoded on the wire (`Content-Encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Deflate,
}

impl Encoding {
    /// The encoding the headers announce; anything we cannot decode is a `body` failure.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, Failure> {
        let mut values = headers.get_all(CONTENT_ENCODING).iter();
        let Some(value) = values.next() else {
            return Ok(Encoding::Identity);
        };
        let unknown = || {
            Failure::new(
                Cause::Body,
                format!(
                    "unsupported content-encoding {:?}",
                    crate::assert::short(&String::from_utf8_lossy(value.as_bytes()))
                ),
            )
        };
        // Stacked encodings (`gzip, gzip` or two headers) are legal but nobody
        // healthy sends them; refusing keeps the decoder simple.
        if values.next().is_some() {
            return Err(unknown());
        }
        let name = value.to_str().map_err(|_| unknown())?.trim();
        match name.to_ascii_lowercase().as_str() {
            "" | "identity" => Ok(Encoding::Identity),
            "gzip" | "x-gzip" => Ok(Encoding::Gzip),
            "deflate" => Ok(Encoding::Deflate),
            _ => Err(unknown()),
        }
    }
}

/// A transport error from hyper, kept apart from decoding errors once both
/// travel as `io::Error` through the decoder.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Transport(hyper::Error);

/// Read the whole body, decoded per its `Content-Encoding`, keeping the first
/// `keep` decoded bytes.
///
/// Errors: undecodable → `body`; the connection closing or failing before the
/// body is complete → `protocol`.
pub async fn read(body: Incoming, headers: &HeaderMap, keep: usize) -> Result<Body, Failure> {
    let encoding = Encoding::from_headers(headers)?;
    // A body without length or chunking ends when the connection closes. Many TLS
    // servers close without `close_notify`, which rustls reports as an unexpected
    // EOF; for such a body that is its normal end (browsers and curl agree). A body
    // with a length or chunks still fails when cut short.
    let close_delimited =
        !headers.contains_key(CONTENT_LENGTH) && !headers.contains_key(TRANSFER_ENCODING);
    let wire = Arc::new(AtomicU64::new(0));
    let counter = wire.clone();
    let stream = body
        .into_data_stream()
        .take_while(move |chunk| {
            let unclean_end = close_delimited
                && chunk
                    .as_ref()
                    .is_err_and(|e| io_kind(e) == Some(io::ErrorKind::UnexpectedEof));
            std::future::ready(!unclean_end)
        })
        .inspect_ok(move |chunk| {
            counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        })
        .map_err(|e| io::Error::other(Transport(e)));
    let mut raw = StreamReader::new(stream);
    let mut decoded: Pin<Box<dyn AsyncRead + Send>> = match encoding {
        Encoding::Identity => Box::pin(raw),
        Encoding::Gzip => {
            let mut d = GzipDecoder::new(raw);
            d.multiple_members(true);
            Box::pin(d)
        }
        Encoding::Deflate => {
            skip_zlib_header(&mut raw)
                .await
                .map_err(|e| read_failure(&e, encoding))?;
            Box::pin(DeflateDecoder::new(raw))
        }
    };
    let mut out = Body::default();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = decoded
            .read(&mut chunk)
            .await
            .map_err(|e| read_failure(&e, encoding))?;
        if n == 0 {
            out.wire_bytes = wire.load(Ordering::Relaxed);
            return Ok(out);
        }
        let room = keep.saturating_sub(out.prefix.len()).min(n);
        out.prefix.extend_from_slice(&chunk[..room]);
        out.decoded_bytes += n as u64;
    }
}

/// HTTP `deflate` is meant to be zlib-wrapped, but some servers send raw deflate;
/// skip the two-byte zlib header when there is one and inflate either way. (The
/// trailing checksum is left unread: the decoder stops at the final block.)
async fn skip_zlib_header<R: AsyncBufRead + Unpin>(reader: &mut R) -> io::Result<()> {
    let buf = reader.fill_buf().await?;
    if let [cmf, flg, ..] = *buf
        && cmf & 0x0f == 8
        && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
    {
        reader.consume(2);
    }
    Ok(())
}

fn read_failure(e: &io::Error, encoding: Encoding) -> Failure {
    if let Some(Transport(h)) = e.get_ref().and_then(|i| i.downcast_ref::<Transport>()) {
        return Failure::new(Cause::Protocol, body_transport_message(h));
    }
    let what = match encoding {
        Encoding::Identity => return Failure::new(Cause::Protocol, io_message(e)),
        Encoding::Gzip => "gzip",
        Encoding::Deflate => "deflate",
    };
    Failure::new(
        Cause::Body,
        format!("invalid {what} body: {}", io_message(e)),
    )
}

/// The kind of the I/O error under a hyper error, if that is what it is.
fn io_kind(e: &hyper::Error) -> Option<io::ErrorKind> {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<io::Error>())
        .map(io::Error::kind)
}

fn body_transport_message(e: &hyper::Error) -> String {
    match io_kind(e) {
        Some(io::ErrorKind::UnexpectedEof) => {
            "connection closed before the body was complete".to_string()
        }
        Some(io::ErrorKind::ConnectionReset) => "connection reset during body transfer".to_string(),
        _ if e.is_incomplete_message() => {
            "connection closed before the body was complete".to_string()
        }
        _ => crate::assert::short(&format!("body transfer failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(encoding: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_ENCODING, encoding.parse().unwrap());
        h
    }

    #[test]
    fn content_encodings() {
        assert_eq!(
            Encoding::from_headers(&HeaderMap::new()).unwrap(),
            Encoding::Identity
        );
        assert_eq!(
            Encoding::from_headers(&headers("GZIP")).unwrap(),
            Encoding::Gzip
        );
        assert_eq!(
            Encoding::from_headers(&headers("deflate")).unwrap(),
            Encoding::Deflate
        );
        let err = Encoding::from_headers(&headers("br")).unwrap_err();
        assert_eq!(err.cause, Cause::Body);
        assert!(Encoding::from_headers(&headers("gzip, gzip")).is_err());
    }

    #[tokio::test]
    async fn zlib_header_is_skipped_and_raw_deflate_is_left_alone() {
        let mut zlib: &[u8] = &[0x78, 0x9c, 0xaa];
        skip_zlib_header(&mut zlib).await.unwrap();
        assert_eq!(zlib, &[0xaa]);
        let mut raw: &[u8] = &[0xf3, 0x48, 0xcd];
        skip_zlib_header(&mut raw).await.unwrap();
        assert_eq!(raw.len(), 3);
    }
}
