//! The compact form of raw results: the results of one probe at one location
//! in one UTC hour, encoded together in one blob (about 20 bytes a result
//! instead of about 140 as a row with indexes), so 24 hours of 100 probes at
//! one-minute resolution fit in a few megabytes of the data branch.
//!
//! Layout: a version byte, the count, then per result (sorted by start
//! millisecond, then id) as varints unless said otherwise:
//! start (ms after the previous result, the first after the hour), the id
//! (4 bytes little endian), a flags byte (outcome in bits 0–1, then which
//! optional fields follow: cause, message, status, certificate, phases,
//! extension), latency in µs, then each present field in that order. Phases
//! are a presence mask byte and one µs varint per phase present; the
//! certificate's expiry is in seconds, as a zigzag difference from the
//! previous result's (the same certificate costs one byte). The extension
//! byte carries what an HTTP exchange adds (body sizes, HTTP version, the
//! address reached), each "the same as the previous result" in one bit, so a
//! probe whose answer does not change pays one byte for all of it.
//!
//! The encoding is canonical: the same set of results always gives the same
//! bytes, so a merge can skip a block the target already holds byte for byte.

use std::time::Duration;

use chrono::{DateTime, Utc};
use integer_encoding::VarInt;

use std::net::IpAddr;

use crate::model::{Cause, HttpVersion, Outcome, Phases, ProbeId, ProbeResult, ResultId};

/// Milliseconds a block spans: one UTC hour.
pub const BLOCK_MS: i64 = 3_600_000;

const VERSION: u8 = 1;

const CAUSE: u8 = 1 << 2;
const MESSAGE: u8 = 1 << 3;
const STATUS: u8 = 1 << 4;
const CERT: u8 = 1 << 5;
const PHASES: u8 = 1 << 6;
/// An extension byte follows (see [`Ext`]).
const EXTENSION: u8 = 1 << 7;

/// Bits of the extension byte.
struct Ext;

impl Ext {
    const BODY: u8 = 1;
    const BODY_SAME: u8 = 1 << 1;
    const DECODED: u8 = 1 << 2;
    const DECODED_SAME: u8 = 1 << 3;
    /// Bits 4–5: 0 none, 1 HTTP/1.0, 2 HTTP/1.1, 3 HTTP/2.
    const VERSION_SHIFT: u8 = 4;
    const IP: u8 = 1 << 6;
    const IP_SAME: u8 = 1 << 7;
}

/// What the previous result of the block had, for "the same" bits.
#[derive(Default)]
struct Previous {
    cert: i64,
    body: Option<u64>,
    ip: Option<IpAddr>,
}

/// A block that does not decode: written by a newer Outpost, or damaged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid result block: {0}")]
pub struct BlockError(&'static str);

impl BlockError {
    pub(super) fn new(what: &'static str) -> Self {
        BlockError(what)
    }
}

/// The hour (block key) of an instant in unix milliseconds.
pub fn hour_of(ms: i64) -> i64 {
    ms.div_euclid(BLOCK_MS)
}

/// The order results have inside a block, and their identity.
pub fn key(r: &ProbeResult) -> (i64, ResultId) {
    (r.started_at.timestamp_millis(), r.id)
}

pub(super) fn cause_code(c: Cause) -> u8 {
    match c {
        Cause::Dns => 0,
        Cause::Connect => 1,
        Cause::Tls => 2,
        Cause::Timeout => 3,
        Cause::Status => 4,
        Cause::Assertion => 5,
        Cause::Body => 6,
        Cause::Protocol => 7,
    }
}

pub(super) fn cause_from(code: u8) -> Option<Cause> {
    Some(match code {
        0 => Cause::Dns,
        1 => Cause::Connect,
        2 => Cause::Tls,
        3 => Cause::Timeout,
        4 => Cause::Status,
        5 => Cause::Assertion,
        6 => Cause::Body,
        7 => Cause::Protocol,
        _ => return None,
    })
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn put(out: &mut Vec<u8>, v: u64) {
    let mut buf = [0u8; 10];
    let n = v.encode_var(&mut buf);
    out.extend_from_slice(&buf[..n]);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Encode `results` (all of one probe, location and hour, in [`key`] order
/// without duplicates) as one block starting at `hour`.
pub fn encode(hour: i64, results: &[&ProbeResult]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + results.len() * 24);
    out.push(VERSION);
    put(&mut out, results.len() as u64);
    let mut previous_ms = hour.saturating_mul(BLOCK_MS);
    let mut previous = Previous::default();
    for r in results {
        let at = r.started_at.timestamp_millis();
        // In order, so never negative; clamped rather than trusted.
        put(&mut out, u64::try_from(at - previous_ms).unwrap_or(0));
        previous_ms = at;
        out.extend_from_slice(&r.id.0.to_le_bytes());
        let phases = [
            r.phases.dns,
            r.phases.connect,
            r.phases.tls,
            r.phases.ttfb,
            r.phases.transfer,
        ];
        let mut flags = match r.outcome {
            Outcome::Up => 0,
            Outcome::Degraded => 1,
            Outcome::Down => 2,
        };
        for (present, bit) in [
            (r.cause.is_some(), CAUSE),
            (r.message.is_some(), MESSAGE),
            (r.status.is_some(), STATUS),
            (r.cert_expires_at.is_some(), CERT),
            (phases.iter().any(Option::is_some), PHASES),
            (
                r.body_bytes.is_some()
                    || r.body_decoded_bytes.is_some()
                    || r.http_version.is_some()
                    || r.ip.is_some(),
                EXTENSION,
            ),
        ] {
            if present {
                flags |= bit;
            }
        }
        out.push(flags);
        put(&mut out, micros(r.latency));
        if let Some(c) = r.cause {
            out.push(cause_code(c));
        }
        if let Some(m) = &r.message {
            put(&mut out, m.len() as u64);
            out.extend_from_slice(m.as_bytes());
        }
        if let Some(s) = r.status {
            put(&mut out, u64::from(s));
        }
        if let Some(t) = r.cert_expires_at {
            let secs = t.timestamp();
            put(&mut out, zigzag(secs.wrapping_sub(previous.cert)));
            previous.cert = secs;
        }
        if flags & PHASES != 0 {
            put_phases(&mut out, phases);
        }
        if flags & EXTENSION != 0 {
            encode_ext(&mut out, r, &mut previous);
        }
    }
    out
}

fn encode_ext(out: &mut Vec<u8>, r: &ProbeResult, previous: &mut Previous) {
    let mut ext = 0u8;
    let mut values = Vec::new();
    if let Some(b) = r.body_bytes {
        ext |= Ext::BODY;
        if previous.body == Some(b) {
            ext |= Ext::BODY_SAME;
        } else {
            put(&mut values, b);
        }
    }
    previous.body = r.body_bytes;
    if let Some(d) = r.body_decoded_bytes {
        ext |= Ext::DECODED;
        if r.body_bytes == Some(d) {
            ext |= Ext::DECODED_SAME;
        } else {
            put(&mut values, d);
        }
    }
    let version: u8 = match r.http_version {
        None => 0,
        Some(HttpVersion::Http10) => 1,
        Some(HttpVersion::Http11) => 2,
        Some(HttpVersion::Http2) => 3,
    };
    ext |= version << Ext::VERSION_SHIFT;
    if let Some(ip) = r.ip {
        ext |= Ext::IP;
        if previous.ip == Some(ip) {
            ext |= Ext::IP_SAME;
        } else {
            match ip {
                IpAddr::V4(v4) => {
                    values.push(4);
                    values.extend_from_slice(&v4.octets());
                }
                IpAddr::V6(v6) => {
                    values.push(6);
                    values.extend_from_slice(&v6.octets());
                }
            }
        }
    }
    previous.ip = r.ip;
    out.push(ext);
    out.extend_from_slice(&values);
}

/// Reads a block (of results or of flow steps) front to back.
pub(super) struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        Reader { data, at: 0 }
    }

    /// True when every byte has been read.
    pub(super) fn at_end(&self) -> bool {
        self.at == self.data.len()
    }

    pub(super) fn byte(&mut self) -> Result<u8, BlockError> {
        let b = *self.data.get(self.at).ok_or(BlockError("truncated"))?;
        self.at += 1;
        Ok(b)
    }

    pub(super) fn varint(&mut self) -> Result<u64, BlockError> {
        let rest = self.data.get(self.at..).ok_or(BlockError("truncated"))?;
        let (v, n) = u64::decode_var(rest).ok_or(BlockError("truncated varint"))?;
        self.at += n;
        Ok(v)
    }

    fn bytes(&mut self, n: usize) -> Result<&[u8], BlockError> {
        let end = self
            .at
            .checked_add(n)
            .ok_or(BlockError("length overflow"))?;
        let b = self.data.get(self.at..end).ok_or(BlockError("truncated"))?;
        self.at = end;
        Ok(b)
    }

    /// A count or length, never more than the bytes left: nothing is
    /// allocated on trust.
    pub(super) fn len(&mut self) -> Result<usize, BlockError> {
        let n = usize::try_from(self.varint()?).map_err(|_| BlockError("bad length"))?;
        if n > self.data.len().saturating_sub(self.at) + 1 {
            return Err(BlockError("length larger than the block"));
        }
        Ok(n)
    }

    /// A length-prefixed UTF-8 string.
    pub(super) fn string(&mut self) -> Result<String, BlockError> {
        let n = self.len()?;
        let b = self.bytes(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| BlockError("text is not UTF-8"))
    }

    /// The phases written by [`put_phases`].
    pub(super) fn phases(&mut self) -> Result<[Option<Duration>; 5], BlockError> {
        let mask = self.byte()?;
        let mut phases = [None; 5];
        for (i, slot) in phases.iter_mut().enumerate() {
            if mask & (1 << i) != 0 {
                *slot = Some(Duration::from_micros(self.varint()?));
            }
        }
        Ok(phases)
    }
}

/// Phases as a presence mask byte and one µs varint per phase present.
pub(super) fn put_phases(out: &mut Vec<u8>, phases: [Option<Duration>; 5]) {
    let mask = phases
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_some())
        .fold(0u8, |m, (i, _)| m | (1 << i));
    out.push(mask);
    for d in phases.into_iter().flatten() {
        put(out, micros(d));
    }
}

/// How many results a block holds, without decoding them.
pub fn count(data: &[u8]) -> Result<u64, BlockError> {
    let mut r = Reader::new(data);
    if r.byte()? != VERSION {
        return Err(BlockError("unknown version (written by a newer Outpost?)"));
    }
    r.varint()
}

/// Decode a block of `probe` at `location` starting at `hour`.
pub fn decode(
    data: &[u8],
    probe: &ProbeId,
    location: &str,
    hour: i64,
) -> Result<Vec<ProbeResult>, BlockError> {
    let n = count(data)?;
    let mut r = Reader::new(data);
    r.byte()?;
    r.varint()?;
    // Each result takes at least 7 bytes: never trust a count the data cannot hold.
    if n > data.len() as u64 / 7 + 1 {
        return Err(BlockError("count larger than the block"));
    }
    let mut out = Vec::with_capacity(n as usize);
    let mut previous_ms = hour.saturating_mul(BLOCK_MS);
    let mut previous = Previous::default();
    let us = |v: u64| Duration::from_micros(v);
    for _ in 0..n {
        let delta = i64::try_from(r.varint()?).map_err(|_| BlockError("bad start"))?;
        let at = previous_ms
            .checked_add(delta)
            .ok_or(BlockError("bad start"))?;
        previous_ms = at;
        let id_bytes: [u8; 4] = r
            .bytes(4)?
            .try_into()
            .map_err(|_| BlockError("truncated id"))?;
        let flags = r.byte()?;
        let outcome = match flags & 0b11 {
            0 => Outcome::Up,
            1 => Outcome::Degraded,
            2 => Outcome::Down,
            _ => return Err(BlockError("bad outcome")),
        };
        let latency = us(r.varint()?);
        let cause = if flags & CAUSE != 0 {
            Some(cause_from(r.byte()?).ok_or(BlockError("unknown cause"))?)
        } else {
            None
        };
        let message = if flags & MESSAGE != 0 {
            let len = usize::try_from(r.varint()?).map_err(|_| BlockError("bad length"))?;
            let bytes = r.bytes(len)?;
            Some(
                String::from_utf8(bytes.to_vec())
                    .map_err(|_| BlockError("message is not UTF-8"))?,
            )
        } else {
            None
        };
        let status = if flags & STATUS != 0 {
            Some(u16::try_from(r.varint()?).map_err(|_| BlockError("bad status"))?)
        } else {
            None
        };
        let cert_expires_at = if flags & CERT != 0 {
            let secs = previous.cert.wrapping_add(unzigzag(r.varint()?));
            previous.cert = secs;
            Some(
                DateTime::<Utc>::from_timestamp(secs, 0)
                    .ok_or(BlockError("bad certificate time"))?,
            )
        } else {
            None
        };
        let phases = if flags & PHASES != 0 {
            r.phases()?
        } else {
            [None; 5]
        };
        let [dns, connect, tls, ttfb, transfer] = phases;
        let ext = if flags & EXTENSION != 0 {
            decode_ext(&mut r, &mut previous)?
        } else {
            previous.body = None;
            previous.ip = None;
            Extension::default()
        };
        out.push(ProbeResult {
            probe: probe.clone(),
            id: ResultId(u32::from_le_bytes(id_bytes)),
            location: location.to_string(),
            started_at: DateTime::from_timestamp_millis(at).ok_or(BlockError("bad start"))?,
            outcome,
            cause,
            message,
            status,
            latency,
            phases: Phases {
                dns,
                connect,
                tls,
                ttfb,
                transfer,
            },
            cert_expires_at,
            body_bytes: ext.body_bytes,
            body_decoded_bytes: ext.body_decoded_bytes,
            http_version: ext.http_version,
            ip: ext.ip,
            steps: Vec::new(),
        });
    }
    if r.at != data.len() {
        return Err(BlockError("trailing bytes"));
    }
    Ok(out)
}

/// The extension fields of one result.
#[derive(Default)]
struct Extension {
    body_bytes: Option<u64>,
    body_decoded_bytes: Option<u64>,
    http_version: Option<HttpVersion>,
    ip: Option<IpAddr>,
}

fn decode_ext(r: &mut Reader<'_>, previous: &mut Previous) -> Result<Extension, BlockError> {
    let ext = r.byte()?;
    let mut out = Extension::default();
    if ext & Ext::BODY != 0 {
        out.body_bytes = Some(if ext & Ext::BODY_SAME != 0 {
            previous.body.ok_or(BlockError("no previous body size"))?
        } else {
            r.varint()?
        });
    } else if ext & Ext::BODY_SAME != 0 {
        return Err(BlockError("bad extension"));
    }
    previous.body = out.body_bytes;
    if ext & Ext::DECODED != 0 {
        out.body_decoded_bytes = Some(if ext & Ext::DECODED_SAME != 0 {
            out.body_bytes.ok_or(BlockError("no body size"))?
        } else {
            r.varint()?
        });
    } else if ext & Ext::DECODED_SAME != 0 {
        return Err(BlockError("bad extension"));
    }
    out.http_version = match (ext >> Ext::VERSION_SHIFT) & 0b11 {
        0 => None,
        1 => Some(HttpVersion::Http10),
        2 => Some(HttpVersion::Http11),
        _ => Some(HttpVersion::Http2),
    };
    if ext & Ext::IP != 0 {
        out.ip = Some(if ext & Ext::IP_SAME != 0 {
            previous.ip.ok_or(BlockError("no previous address"))?
        } else {
            match r.byte()? {
                4 => {
                    let b: [u8; 4] = r
                        .bytes(4)?
                        .try_into()
                        .map_err(|_| BlockError("truncated"))?;
                    IpAddr::from(b)
                }
                6 => {
                    let b: [u8; 16] = r
                        .bytes(16)?
                        .try_into()
                        .map_err(|_| BlockError("truncated"))?;
                    IpAddr::from(b)
                }
                _ => return Err(BlockError("bad address family")),
            }
        });
    } else if ext & Ext::IP_SAME != 0 {
        return Err(BlockError("bad extension"));
    }
    previous.ip = out.ip;
    Ok(out)
}

/// Add `new` results to the block's `existing` ones: the union in [`key`]
/// order, and which of `new` were not there yet (a result already held,
/// same start millisecond and id, is kept as it was).
pub fn union(existing: Vec<ProbeResult>, new: &[&ProbeResult]) -> (Vec<ProbeResult>, Vec<usize>) {
    let mut all = existing;
    let mut added = Vec::new();
    let held: std::collections::BTreeSet<(i64, ResultId)> = all.iter().map(key).collect();
    let mut seen = std::collections::BTreeSet::new();
    for (i, r) in new.iter().enumerate() {
        let k = key(r);
        if !held.contains(&k) && seen.insert(k) {
            all.push((*r).clone());
            added.push(i);
        }
    }
    all.sort_by_key(key);
    (all, added)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(ms: i64, id: u32) -> ProbeResult {
        ProbeResult {
            probe: ProbeId("api".into()),
            id: ResultId(id),
            location: "eu".into(),
            started_at: DateTime::from_timestamp_millis(ms).unwrap_or_default(),
            outcome: Outcome::Up,
            cause: None,
            message: None,
            status: Some(200),
            latency: Duration::from_micros(41_700),
            phases: Phases {
                dns: Some(Duration::from_micros(400)),
                connect: Some(Duration::from_micros(1_100)),
                tls: None,
                ttfb: Some(Duration::from_micros(33_900)),
                transfer: Some(Duration::from_micros(300)),
            },
            cert_expires_at: None,
            body_bytes: None,
            body_decoded_bytes: None,
            http_version: None,
            ip: None,
            steps: Vec::new(),
        }
    }

    const HOUR: i64 = 491_000;

    fn start() -> i64 {
        HOUR * BLOCK_MS
    }

    #[test]
    fn round_trips_every_field() {
        let mut down = result(start() + 60_000, 7);
        down.outcome = Outcome::Down;
        down.cause = Some(Cause::Status);
        down.message = Some("expected status 2xx, got 503 — ünïcode".into());
        down.status = Some(503);
        down.cert_expires_at = DateTime::from_timestamp(1_800_000_000, 0);
        down.phases = Phases::default();
        let mut degraded = result(start() + 120_000, u32::MAX);
        degraded.outcome = Outcome::Degraded;
        degraded.cert_expires_at = DateTime::from_timestamp(1_700_000_000, 0);
        degraded.status = None;
        let mut h2 = result(start() + 180_000, 8);
        h2.body_bytes = Some(1234);
        h2.body_decoded_bytes = Some(5678);
        h2.http_version = Some(HttpVersion::Http2);
        h2.ip = Some("2001:db8::1".parse().expect("ip"));
        let mut same = result(start() + 240_000, 9);
        same.body_bytes = Some(1234);
        same.body_decoded_bytes = Some(1234);
        same.http_version = Some(HttpVersion::Http11);
        same.ip = h2.ip;
        let mut v4 = result(start() + 300_000, 10);
        v4.ip = Some("192.0.2.7".parse().expect("ip"));
        v4.http_version = Some(HttpVersion::Http10);
        let rs = vec![result(start(), 1), down, degraded, h2, same, v4];
        let refs: Vec<&ProbeResult> = rs.iter().collect();
        let data = encode(HOUR, &refs);
        assert_eq!(count(&data), Ok(6));
        let back = decode(&data, &ProbeId("api".into()), "eu", HOUR).expect("decodes");
        assert_eq!(back, rs);
    }

    #[test]
    fn an_http_result_a_minute_takes_under_twenty_five_bytes() {
        let rs: Vec<ProbeResult> = (0..60).map(|m| result(start() + m * 60_000, 99)).collect();
        let refs: Vec<&ProbeResult> = rs.iter().collect();
        let data = encode(HOUR, &refs);
        assert!(data.len() <= 60 * 24, "{} bytes", data.len());
    }

    #[test]
    fn an_unchanging_answer_costs_one_byte_of_extension() {
        let plain: Vec<ProbeResult> = (0..60).map(|m| result(start() + m * 60_000, 99)).collect();
        let rich: Vec<ProbeResult> = plain
            .iter()
            .map(|r| ProbeResult {
                body_bytes: Some(2_345),
                body_decoded_bytes: Some(2_345),
                http_version: Some(HttpVersion::Http2),
                ip: Some("203.0.113.9".parse().expect("ip")),
                ..r.clone()
            })
            .collect();
        let size = |rs: &[ProbeResult]| encode(HOUR, &rs.iter().collect::<Vec<_>>()).len();
        // The first result carries the values; every other one a byte.
        assert!(
            size(&rich) - size(&plain) <= 60 + 2 + 5,
            "{} vs {}",
            size(&rich),
            size(&plain)
        );
    }

    #[test]
    fn union_keeps_what_is_held_and_adds_only_what_is_new() {
        let held = vec![result(start(), 1), result(start() + 1_000, 2)];
        // Same millisecond as a held one but another id: a distinct result.
        let new = [
            result(start(), 1),
            result(start(), 3),
            result(start() + 500, 4),
            result(start() + 500, 4),
        ];
        let refs: Vec<&ProbeResult> = new.iter().collect();
        let (all, added) = union(held, &refs);
        assert_eq!(added, vec![1, 2]);
        let keys: Vec<(i64, u32)> = all.iter().map(|r| (key(r).0 - start(), r.id.0)).collect();
        assert_eq!(keys, vec![(0, 1), (0, 3), (500, 4), (1_000, 2)]);
    }

    #[test]
    fn the_encoding_is_canonical() {
        let a = [result(start() + 5, 2), result(start(), 1)];
        let b = [result(start(), 1), result(start() + 5, 2)];
        let enc = |rs: &[ProbeResult]| {
            let (all, _) = union(Vec::new(), &rs.iter().collect::<Vec<_>>());
            encode(HOUR, &all.iter().collect::<Vec<_>>())
        };
        assert_eq!(enc(&a), enc(&b));
    }

    #[test]
    fn damaged_blocks_are_errors_not_panics() {
        let rs = [result(start(), 1), result(start() + 9, 2)];
        let data = encode(HOUR, &rs.iter().collect::<Vec<_>>());
        for cut in 0..data.len() {
            assert!(decode(&data[..cut], &ProbeId("api".into()), "eu", HOUR).is_err());
        }
        let mut newer = data.clone();
        newer[0] = 9;
        assert!(decode(&newer, &ProbeId("api".into()), "eu", HOUR).is_err());
        let mut extra = data;
        extra.push(0);
        assert!(decode(&extra, &ProbeId("api".into()), "eu", HOUR).is_err());
    }
}
