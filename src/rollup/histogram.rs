//! A mergeable latency histogram with fixed log-scale buckets: merging days and
//! locations is adding counts, so 30- and 90-day percentiles are exact up to
//! the bucket width (under 1%), never averages of percentiles.
//!
//! Index 0 is the underflow bucket (below [`BASE_MS`]), index `k + 1` the log
//! bucket `[BASE_MS * G^k, BASE_MS * G^(k+1))` for `k < LOG_BUCKETS`, and
//! [`OVERFLOW`] everything from `BASE_MS * G^LOG_BUCKETS` (≈ 609 s) up.

use std::fmt::Write as _;

/// Lower edge of the first log bucket, in milliseconds (10 µs).
pub const BASE_MS: f64 = 0.01;
/// Bucket growth: 2% wide, so the geometric midpoint (reported for every
/// value in the bucket) is within `sqrt(1.02) - 1 = 0.995%` of each of them.
const G: f64 = 1.02;
/// Log buckets from [`BASE_MS`] until 10 minutes is covered:
/// `BASE_MS * G^905` ≈ 609 s ≥ 600 s.
const LOG_BUCKETS: u16 = 905;
/// Index of values below [`BASE_MS`] (and of anything that is not a number).
const UNDERFLOW: u16 = 0;
/// Index of values at or above `max_ms()`.
const OVERFLOW: u16 = LOG_BUCKETS + 1;

/// Current serialization: `h2;` then comma-separated `delta[:count]` pairs,
/// where delta is the bucket index minus the previous one (the first is the
/// index itself) and a missing count means 1. Typically 2–4 bytes a bucket.
const V2: &str = "h2;";
/// First serialization (`h1;index:count,...`, no underflow bucket: h1 index
/// `i` is h2 index `i + 1`). Still read so older stores keep working.
const V1: &str = "h1;";

/// Latency counts by bucket (sparse: only buckets that were hit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    buckets: Buckets,
}

/// (bucket, count) pairs by ascending bucket, each bucket once. A sorted
/// vector rather than a map: a page merges a probe's days into its windows,
/// and merging two sorted runs is one pass without a node per bucket (it
/// was a tenth of rendering 10,000 probes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Buckets(Vec<(u16, u64)>);

impl Buckets {
    /// The count of bucket `i`, made 0 when absent.
    fn entry(&mut self, i: u16) -> &mut u64 {
        // Decoding and recording mostly append.
        let at = match self.0.last() {
            Some((last, _)) if *last < i => self.0.len(),
            _ => match self.0.binary_search_by_key(&i, |(k, _)| *k) {
                Ok(at) => return &mut self.0[at].1,
                Err(at) => at,
            },
        };
        self.0.insert(at, (i, 0));
        &mut self.0[at].1
    }

    fn iter(&self) -> impl Iterator<Item = (&u16, &u64)> {
        self.0.iter().map(|(i, c)| (i, c))
    }

    fn values(&self) -> impl Iterator<Item = &u64> {
        self.0.iter().map(|(_, c)| c)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// Add `other`'s counts.
    fn merge(&mut self, other: &Buckets) {
        if other.0.is_empty() {
            return;
        }
        if self.0.is_empty() {
            self.0.clone_from(&other.0);
            return;
        }
        // A probe's days mostly hit the same buckets: count those of `other`
        // that are new here, make room for them at the end, and merge from
        // the back, in place (no new vector per day merged).
        let mut at = 0;
        let missing = other
            .0
            .iter()
            .filter(|(i, _)| {
                while at < self.0.len() && self.0[at].0 < *i {
                    at += 1;
                }
                !(at < self.0.len() && self.0[at].0 == *i)
            })
            .count();
        let mut a = self.0.len();
        self.0.resize(a + missing, (0, 0));
        let (mut b, mut w) = (other.0.len(), self.0.len());
        while b > 0 {
            let (bi, bc) = other.0[b - 1];
            w -= 1;
            if a > 0 && self.0[a - 1].0 > bi {
                self.0[w] = self.0[a - 1];
                a -= 1;
            } else if a > 0 && self.0[a - 1].0 == bi {
                self.0[w] = (bi, self.0[a - 1].1.saturating_add(bc));
                a -= 1;
                b -= 1;
            } else {
                self.0[w] = (bi, bc);
                b -= 1;
            }
        }
    }
}

/// Counts at every bucket index, for summing many histograms into one: adding
/// a sparse day is one indexed add per bucket it holds, where merging sorted
/// runs walks both (a page sums 90 days per probe into its windows).
#[derive(Debug, Clone)]
pub struct DenseSum(Vec<u64>);

impl Default for DenseSum {
    fn default() -> Self {
        DenseSum(vec![0; usize::from(OVERFLOW) + 1])
    }
}

impl DenseSum {
    pub fn add(&mut self, h: &Histogram) {
        for (i, c) in &h.buckets.0 {
            // Indexes are at most OVERFLOW: decoding refuses any beyond.
            if let Some(slot) = self.0.get_mut(usize::from(*i)) {
                *slot = slot.saturating_add(*c);
            }
        }
    }

    /// The sum as a sparse histogram.
    pub fn histogram(&self) -> Histogram {
        let buckets = self
            .0
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| (i as u16, *c))
            .collect();
        Histogram {
            buckets: Buckets(buckets),
        }
    }
}

/// A stored histogram that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid histogram: {0}")]
pub struct HistogramError(String);

fn lower_edge(k: u16) -> f64 {
    BASE_MS * G.powi(i32::from(k))
}

/// Lower edge of the overflow bucket, in milliseconds (≈ 609 s).
fn max_ms() -> f64 {
    lower_edge(LOG_BUCKETS)
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bucket index of a latency in milliseconds.
    fn bucket(ms: f64) -> u16 {
        if ms.is_nan() || ms < BASE_MS {
            return UNDERFLOW;
        }
        if ms >= max_ms() {
            return OVERFLOW;
        }
        // BASE_MS <= ms < max_ms(), so the estimate is within 0..LOG_BUCKETS
        // give or take one from rounding; the edges below settle it exactly.
        let estimate = ((ms / BASE_MS).ln() / G.ln()).floor();
        let mut k = estimate.clamp(0.0, f64::from(LOG_BUCKETS - 1)) as u16;
        if k > 0 && lower_edge(k) > ms {
            k -= 1;
        } else if k + 1 < LOG_BUCKETS && lower_edge(k + 1) <= ms {
            k += 1;
        }
        k + 1
    }

    /// The value a bucket stands for: the geometric midpoint of a log bucket,
    /// the edge for underflow and overflow (less than / at least that).
    fn representative(i: u16) -> f64 {
        match i {
            UNDERFLOW => BASE_MS,
            OVERFLOW.. => max_ms(),
            _ => BASE_MS * G.powf(f64::from(i - 1) + 0.5),
        }
    }

    /// Count one latency in milliseconds.
    pub fn record(&mut self, ms: f64) {
        let c = self.buckets.entry(Self::bucket(ms));
        *c = c.saturating_add(1);
    }

    /// Add another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        self.buckets.merge(&other.buckets);
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.buckets.values().fold(0, |a, c| a.saturating_add(*c))
    }

    /// The nearest-rank percentile (`q` in 0..=1), as its bucket's value;
    /// `None` when empty.
    pub fn percentile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        // NaN clamps to NaN, which casts to 0 and then to rank 1.
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0u64;
        for (i, c) in self.buckets.iter() {
            seen = seen.saturating_add(*c);
            if seen >= rank {
                return Some(Self::representative(*i));
            }
        }
        None
    }

    /// Compact text for the store (see [`V2`]).
    pub fn encode(&self) -> String {
        let mut out = String::from(V2);
        let mut prev = 0u16;
        for (n, (i, c)) in self.buckets.iter().filter(|(_, c)| **c > 0).enumerate() {
            if n > 0 {
                out.push(',');
            }
            // Writing to a String cannot fail.
            let _ = write!(out, "{}", i - prev);
            if *c != 1 {
                let _ = write!(out, ":{c}");
            }
            prev = *i;
        }
        out
    }

    /// Parse [`Histogram::encode`]'s text (or the older `h1` form); garbage is
    /// an error, never a panic.
    pub fn decode(s: &str) -> Result<Self, HistogramError> {
        if let Some(rest) = s.strip_prefix(V2) {
            decode_v2(rest)
        } else if let Some(rest) = s.strip_prefix(V1) {
            decode_v1(rest)
        } else {
            let start: String = s.chars().take(8).collect();
            Err(HistogramError(format!("unknown format {start:?}")))
        }
    }
}

/// First byte of the binary form ([`Histogram::to_bytes`]).
const BINARY_V3: u8 = 3;

impl Histogram {
    /// The binary form the store keeps: a version byte, then per bucket hit
    /// the index minus the previous one and the count, both as varints
    /// (usually one byte each: a day of a typical probe is 60–150 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        use integer_encoding::VarInt;
        let mut out = Vec::with_capacity(1 + self.buckets.len() * 2);
        out.push(BINARY_V3);
        let mut prev = 0u16;
        let mut buf = [0u8; 10];
        for (i, c) in self.buckets.iter().filter(|(_, c)| **c > 0) {
            for v in [u64::from(i - prev), *c] {
                let n = v.encode_var(&mut buf);
                out.extend_from_slice(&buf[..n]);
            }
            prev = *i;
        }
        out
    }

    /// Read [`Histogram::to_bytes`]'s form; garbage is an error, never a panic.
    pub fn from_bytes(data: &[u8]) -> Result<Self, HistogramError> {
        use integer_encoding::VarInt;
        let Some((&BINARY_V3, mut rest)) = data.split_first() else {
            return Err(HistogramError("unknown binary format".into()));
        };
        let mut buckets = Buckets::default();
        let mut total = 0u64;
        let mut prev: Option<u16> = None;
        let next = |rest: &mut &[u8]| -> Result<u64, HistogramError> {
            let (v, n) = u64::decode_var(rest).ok_or_else(|| HistogramError("truncated".into()))?;
            *rest = &rest[n..];
            Ok(v)
        };
        while !rest.is_empty() {
            let delta = next(&mut rest)?;
            let count = next(&mut rest)?;
            let delta = u16::try_from(delta)
                .map_err(|_| HistogramError(format!("bucket delta {delta} out of range")))?;
            let i = match prev {
                None => delta,
                Some(_) if delta == 0 => return Err(HistogramError("repeated bucket".into())),
                Some(p) => p
                    .checked_add(delta)
                    .ok_or_else(|| HistogramError(format!("bucket past {p} + {delta}")))?,
            };
            if i > OVERFLOW {
                return Err(HistogramError(format!("bucket {i} out of range")));
            }
            add(&mut buckets, &mut total, i, count)?;
            prev = Some(i);
        }
        Ok(Histogram { buckets })
    }
}

fn number<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, HistogramError> {
    // FromStr for integers accepts a leading '+'; the encoder never writes one.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HistogramError(format!("bad {what} {s:?}")));
    }
    s.parse()
        .map_err(|_| HistogramError(format!("{what} {s:?} out of range")))
}

/// Add `c` to the histogram being decoded, refusing a total no u64 holds.
fn add(buckets: &mut Buckets, total: &mut u64, i: u16, c: u64) -> Result<(), HistogramError> {
    if c == 0 {
        return Err(HistogramError(format!("empty bucket {i}")));
    }
    *total = total
        .checked_add(c)
        .ok_or_else(|| HistogramError("counts overflow".into()))?;
    let slot = buckets.entry(i);
    *slot += c; // ≤ total, which did not overflow
    Ok(())
}

fn decode_v2(rest: &str) -> Result<Histogram, HistogramError> {
    let mut buckets = Buckets::default();
    let mut total = 0u64;
    let mut prev: Option<u16> = None;
    if rest.is_empty() {
        return Ok(Histogram { buckets });
    }
    for part in rest.split(',') {
        let (delta, count) = match part.split_once(':') {
            Some((d, c)) => (d, number::<u64>(c, "count")?),
            None => (part, 1),
        };
        let delta: u16 = number(delta, "bucket delta")?;
        let i = match prev {
            None => delta,
            Some(_) if delta == 0 => {
                return Err(HistogramError(format!("repeated bucket in {part:?}")));
            }
            Some(p) => p
                .checked_add(delta)
                .ok_or_else(|| HistogramError(format!("bucket past {p} + {delta}")))?,
        };
        if i > OVERFLOW {
            return Err(HistogramError(format!("bucket {i} out of range")));
        }
        add(&mut buckets, &mut total, i, count)?;
        prev = Some(i);
    }
    Ok(Histogram { buckets })
}

fn decode_v1(rest: &str) -> Result<Histogram, HistogramError> {
    let mut buckets = Buckets::default();
    let mut total = 0u64;
    for part in rest.split(',').filter(|p| !p.is_empty()) {
        let (i, c) = part
            .split_once(':')
            .ok_or_else(|| HistogramError(format!("bad pair {part:?}")))?;
        let i: u16 = number(i, "bucket")?;
        let c: u64 = number(c, "count")?;
        // h1 had 907 buckets (0..=906) from BASE_MS up, the last open-ended.
        if i > 906 {
            return Err(HistogramError(format!("bucket {i} out of range")));
        }
        add(&mut buckets, &mut total, (i + 1).min(OVERFLOW), c)?;
    }
    Ok(Histogram { buckets })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(values: &[f64]) -> Histogram {
        let mut h = Histogram::new();
        for v in values {
            h.record(*v);
        }
        h
    }

    #[test]
    fn the_binary_form_round_trips_and_refuses_garbage() {
        let h = of(&[0.0, 0.5, 41.7, 41.7, 42.0, 900.0, 1e9]);
        let bytes = h.to_bytes();
        assert_eq!(Histogram::from_bytes(&bytes), Ok(h));
        assert_eq!(Histogram::from_bytes(&[BINARY_V3]), Ok(Histogram::new()));
        for cut in 1..bytes.len() {
            // Cutting between pairs leaves a valid smaller histogram; cutting
            // inside one must be refused, never read past the end.
            let _ = Histogram::from_bytes(&bytes[..cut]);
        }
        assert!(Histogram::from_bytes(&[]).is_err());
        assert!(Histogram::from_bytes(&[9, 1, 1]).is_err());
        assert!(Histogram::from_bytes(&[BINARY_V3, 1, 0]).is_err());
        assert!(Histogram::from_bytes(&[BINARY_V3, 1, 1, 0, 1]).is_err());
    }

    #[test]
    fn ten_minutes_is_covered_by_log_buckets() {
        assert!(lower_edge(LOG_BUCKETS - 1) < 600_000.0 && max_ms() >= 600_000.0);
    }

    #[test]
    fn every_value_is_within_one_percent_of_its_bucket_value() {
        let mut v = BASE_MS;
        while v < max_ms() {
            for x in [v, v * (1.0 + 1e-12), v * 1.013, v * 1.0199999] {
                if x >= max_ms() {
                    continue;
                }
                let got = Histogram::representative(Histogram::bucket(x));
                assert!((got - x).abs() / x < 0.01, "{x} -> {got}");
            }
            v *= 1.0173;
        }
        // Exactly on the edges, where rounding of ln() would stray.
        for k in 0..LOG_BUCKETS {
            let edge = lower_edge(k);
            assert_eq!(Histogram::bucket(edge), k + 1, "edge {k}");
        }
    }

    #[test]
    fn underflow_and_overflow() {
        for v in [0.0, -1.0, 0.009, f64::NAN, f64::NEG_INFINITY] {
            assert_eq!(Histogram::bucket(v), UNDERFLOW, "{v}");
        }
        for v in [max_ms(), 3_600_000.0, f64::INFINITY] {
            assert_eq!(Histogram::bucket(v), OVERFLOW, "{v}");
        }
        assert_eq!(Histogram::bucket(600_000.0), LOG_BUCKETS);
        let h = of(&[0.0, 7_200_000.0]);
        assert_eq!(h.percentile(0.5), Some(BASE_MS));
        assert_eq!(h.percentile(1.0), Some(max_ms()));
    }

    #[test]
    fn percentiles_are_nearest_rank_within_one_percent() {
        let values: Vec<f64> = (1..=1000).map(|i| f64::from(i) * 1.7).collect();
        let h = of(&values);
        for q in [0.0, 0.01, 0.5, 0.95, 0.99, 1.0] {
            let rank = ((q * 1000.0_f64).ceil() as usize).clamp(1, 1000);
            let exact = values[rank - 1];
            let got = h.percentile(q).unwrap_or(0.0);
            assert!((got - exact).abs() / exact < 0.01, "q{q}: {got} vs {exact}");
        }
        assert_eq!(Histogram::new().percentile(0.5), None);
        assert!(h.percentile(f64::NAN).is_some());
    }

    #[test]
    fn merge_is_the_histogram_of_the_union() {
        let a_values = [1.0, 5.0, 9.0, 0.0];
        let b_values = [2.0, 5.0, 700_000.0];
        let mut a = of(&a_values);
        a.merge(&of(&b_values));
        let all: Vec<f64> = a_values.iter().chain(&b_values).copied().collect();
        assert_eq!(a, of(&all));
        assert_eq!(a.count(), 7);
    }

    #[test]
    fn merge_adds_in_place_and_interleaved_alike() {
        let sets: [&[f64]; 5] = [
            &[1.0, 5.0, 9.0],
            &[5.0, 9.0],
            &[1.0, 1.0, 5.0, 9.0, 9.0],
            &[0.5, 3.0, 12.0],
            &[],
        ];
        for a in sets {
            for b in sets {
                let mut h = of(a);
                h.merge(&of(b));
                let all: Vec<f64> = a.iter().chain(b).copied().collect();
                assert_eq!(h, of(&all), "{a:?} + {b:?}");
            }
        }
    }

    #[test]
    fn a_dense_sum_is_the_merge_of_its_parts() {
        let sets: [&[f64]; 4] = [&[1.0, 5.0, 9.0], &[], &[0.0, 5.0, 1e9, 1e9], &[0.5, 3.0]];
        let mut dense = DenseSum::default();
        let mut merged = Histogram::new();
        for s in sets {
            dense.add(&of(s));
            merged.merge(&of(s));
            assert_eq!(dense.histogram(), merged);
        }
        assert_eq!(dense.histogram().count(), 9);
        assert_eq!(DenseSum::default().histogram(), Histogram::new());
    }

    #[test]
    fn round_trip() {
        let mut values = vec![0.0, 0.001, 3.0, 42.0, 42.1, 42.2, 1e9];
        values.extend((0..500).map(|i| 20.0 + f64::from(i) * 0.37));
        for h in [Histogram::new(), of(&[5.0]), of(&[0.0]), of(&values)] {
            let text = h.encode();
            assert_eq!(Histogram::decode(&text), Ok(h.clone()), "{text}");
        }
        assert_eq!(of(&[0.0, 0.0, 1e9]).encode(), "h2;0:2,906");
    }

    #[test]
    fn the_first_format_is_still_read() {
        let h = Histogram::decode("h1;0:2,300:1,906:4").expect("h1");
        assert_eq!(h.count(), 7);
        assert_eq!(h.encode(), "h2;1:2,300,605:4");
        assert_eq!(Histogram::decode("h1;"), Ok(Histogram::new()));
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in [
            "",
            "x",
            "h2",
            "h3;1",
            "H2;1",
            "h2;,",
            "h2;1,",
            "h2;a",
            "h2;1:x",
            "h2;+1",
            "h2;1:+2",
            "h2;-1",
            "h2;1:0",
            "h2;1:",
            "h2;:1",
            "h2;1:1:1",
            "h2;907",
            "h2;900,7",
            "h2;3,0",
            "h2;65535,65535",
            "h2;99999999999999999999",
            "h2;1:18446744073709551615,1:1",
            "h2;1:18446744073709551616",
            "h2; 1",
            "h2;1 ",
            "h2;١",
            "h1;1",
            "h1;a:1",
            "h1;1:x",
            "h1;907:1",
            "h1;1:18446744073709551615,1:1",
        ] {
            assert!(Histogram::decode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn random_text_never_panics() {
        let alphabet = b"h12;:,0123456789";
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut s = String::from(if x.is_multiple_of(2) { "h2;" } else { "h1;" });
            for _ in 0..(x % 24) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push(char::from(alphabet[(x % alphabet.len() as u64) as usize]));
            }
            if let Ok(h) = Histogram::decode(&s) {
                let _ = h.percentile(0.99);
                assert_eq!(Histogram::decode(&h.encode()), Ok(h));
            }
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        }
    }
}
