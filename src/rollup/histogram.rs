//! A mergeable latency histogram with fixed log-scale buckets: merging days and
//! locations is adding counts, so 30- and 90-day percentiles are exact up to
//! the bucket width (about 1%), never averages of percentiles.

use std::collections::BTreeMap;

/// Bucket `i` holds values in `[BASE * G^i, BASE * G^(i+1))` milliseconds.
const BASE_MS: f64 = 0.01;
/// 2% wide buckets: the geometric midpoint is within 1% of any value in it.
const G: f64 = 1.02;
/// Buckets up to 10 minutes; larger values share the last bucket.
const MAX_BUCKET: u16 = 906;
/// Serialization format version.
const VERSION: &str = "h1";

/// Latency counts by bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    buckets: BTreeMap<u16, u64>,
}

/// A stored histogram that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid histogram: {0}")]
pub struct HistogramError(String);

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self::default()
    }

    fn bucket(ms: f64) -> u16 {
        if !ms.is_finite() || ms <= BASE_MS {
            return 0;
        }
        let i = ((ms / BASE_MS).ln() / G.ln()).floor();
        if i >= f64::from(MAX_BUCKET) {
            MAX_BUCKET
        } else {
            i as u16
        }
    }

    /// The value a bucket stands for: its geometric midpoint.
    fn representative(i: u16) -> f64 {
        BASE_MS * G.powf(f64::from(i) + 0.5)
    }

    /// Count one latency in milliseconds.
    pub fn record(&mut self, ms: f64) {
        *self.buckets.entry(Self::bucket(ms)).or_insert(0) += 1;
    }

    /// Add another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (i, c) in &other.buckets {
            *self.buckets.entry(*i).or_insert(0) += c;
        }
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.buckets.values().sum()
    }

    /// The nearest-rank percentile (`q` in 0..=1), as its bucket's value.
    pub fn percentile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0;
        for (i, c) in &self.buckets {
            seen += c;
            if seen >= rank {
                return Some(Self::representative(*i));
            }
        }
        None
    }

    /// Compact text: `h1;index:count,index:count`.
    pub fn encode(&self) -> String {
        let parts: Vec<String> = self
            .buckets
            .iter()
            .map(|(i, c)| format!("{i}:{c}"))
            .collect();
        format!("{VERSION};{}", parts.join(","))
    }

    /// Parse [`Histogram::encode`]'s text; garbage is an error, never a panic.
    pub fn decode(s: &str) -> Result<Self, HistogramError> {
        let rest = s
            .strip_prefix(VERSION)
            .and_then(|r| r.strip_prefix(';'))
            .ok_or_else(|| {
                HistogramError(format!("unknown format {:?}", s.get(..8).unwrap_or(s)))
            })?;
        let mut buckets = BTreeMap::new();
        for part in rest.split(',').filter(|p| !p.is_empty()) {
            let (i, c) = part
                .split_once(':')
                .ok_or_else(|| HistogramError(format!("bad pair {part:?}")))?;
            let i: u16 = i
                .parse()
                .map_err(|_| HistogramError(format!("bad bucket {i:?}")))?;
            let c: u64 = c
                .parse()
                .map_err(|_| HistogramError(format!("bad count {c:?}")))?;
            if i > MAX_BUCKET {
                return Err(HistogramError(format!("bucket {i} out of range")));
            }
            *buckets.entry(i).or_insert(0) += c;
        }
        Ok(Histogram { buckets })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_within_one_percent() {
        let mut h = Histogram::new();
        let values: Vec<f64> = (1..=1000).map(|i| f64::from(i) * 1.7).collect();
        for v in &values {
            h.record(*v);
        }
        for q in [0.5, 0.95, 0.99] {
            let exact = values[((q * 1000.0) as usize).max(1) - 1];
            let got = h.percentile(q).unwrap_or(0.0);
            assert!(
                (got - exact).abs() / exact < 0.011,
                "q{q}: {got} vs {exact}"
            );
        }
    }

    #[test]
    fn merge_is_the_union() {
        let (mut a, mut b, mut all) = (Histogram::new(), Histogram::new(), Histogram::new());
        for v in [1.0, 5.0, 9.0] {
            a.record(v);
            all.record(v);
        }
        for v in [2.0, 5.0, 700_000.0] {
            b.record(v);
            all.record(v);
        }
        a.merge(&b);
        assert_eq!(a, all);
        assert_eq!(a.count(), 6);
    }

    #[test]
    fn round_trip_and_garbage() {
        let mut h = Histogram::new();
        for v in [0.001, 3.0, 42.0, 42.1, f64::NAN] {
            h.record(v);
        }
        assert_eq!(Histogram::decode(&h.encode()), Ok(h));
        assert_eq!(Histogram::decode("h1;"), Ok(Histogram::new()));
        for bad in ["", "x", "h1;1", "h1;a:1", "h1;1:x", "h1;99999:1", "h2;1:1"] {
            assert!(Histogram::decode(bad).is_err(), "{bad}");
        }
    }
}
