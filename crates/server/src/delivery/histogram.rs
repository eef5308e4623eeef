//! A compact latency histogram with a proven error bound, so that receipts
//! merged from several replicas report an exact count and a median within
//! [`RELATIVE_ERROR`] of the true one, however many SDK instances answered.
//!
//! Owns the bucket arithmetic and its wire encoding only. Must not touch
//! anything else of the server.
//!
//! Buckets are fixed and log-scaled: bucket 0 holds latencies below
//! [`MIN_MS`] (1 µs), buckets `1..=LOG_BUCKETS` are
//! `[MIN_MS·GROWTH^(i-1), MIN_MS·GROWTH^i)` up to just above [`MAX_MS`]
//! (60 s), and one overflow bucket holds the rest. A bucket reports the
//! geometric middle of its range, `lower·√GROWTH`, which is within
//! `√GROWTH − 1` < 1.5 % of any value in it. The median is the one at rank
//! `n / 2` (as over a sorted list), so only its value is approximate, never
//! its rank; the maximum is tracked exactly. A median in the zero bucket is
//! reported as 0 (off by < 1 µs), one in the overflow bucket as the maximum.
//!
//! On the wire (fleet answers over Postgres NOTIFY, < 8 KB) only non-empty
//! buckets travel, as `[gap, count, gap, count, …]` with gaps between bucket
//! indexes: at most 608 pairs, 6,104 bytes in the worst case (a unit test checks it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Smallest latency with its own log bucket (1 µs).
pub const MIN_MS: f64 = 0.001;
/// Largest latency with its own log bucket (60 s).
pub const MAX_MS: f64 = 60_000.0;
/// Ratio of a log bucket's upper to lower bound.
pub const GROWTH: f64 = 1.03;
/// Bound on the relative error of a reported median: `√GROWTH − 1`.
pub const RELATIVE_ERROR: f64 = 0.0149;
/// Log buckets between [`MIN_MS`] and [`MAX_MS`] (`MIN_MS·GROWTH^606 ≥ MAX_MS`).
const LOG_BUCKETS: u16 = 606;
/// The overflow bucket's index.
const OVERFLOW: u16 = LOG_BUCKETS + 1;

/// Counts of latencies per bucket, plus the exact maximum.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "Wire", into = "Wire")]
pub struct Histogram {
    counts: BTreeMap<u16, u64>,
    max_ms: Option<f64>,
}

/// The wire form: gap-encoded non-empty buckets and the maximum.
#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(default)]
    b: Vec<u64>,
    #[serde(default)]
    max: Option<f64>,
}

fn bucket(ms: f64) -> u16 {
    if ms.is_nan() || ms < MIN_MS {
        return 0;
    }
    let i = (ms / MIN_MS).ln() / GROWTH.ln();
    if i >= f64::from(LOG_BUCKETS) { OVERFLOW } else { i.floor() as u16 + 1 }
}

impl Histogram {
    /// Counts one latency (milliseconds; negative or NaN counts as 0).
    pub fn record(&mut self, ms: f64) {
        let ms = if ms.is_finite() { ms.max(0.0) } else { 0.0 };
        let n = self.counts.entry(bucket(ms)).or_default();
        *n = n.saturating_add(1);
        self.max_ms = Some(self.max_ms.map_or(ms, |m| m.max(ms)));
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (&i, &n) in &other.counts {
            let mine = self.counts.entry(i).or_default();
            *mine = mine.saturating_add(n);
        }
        self.max_ms = match (self.max_ms, other.max_ms) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    /// How many latencies were counted.
    pub fn count(&self) -> u64 {
        self.counts.values().fold(0u64, |sum, n| sum.saturating_add(*n))
    }

    /// The slowest latency, exactly.
    pub fn max(&self) -> Option<f64> {
        self.max_ms
    }

    /// The median (the latency at rank `count / 2`), within [`RELATIVE_ERROR`].
    pub fn median(&self) -> Option<f64> {
        let rank = self.count() / 2;
        let mut seen = 0u64;
        for (&i, &n) in &self.counts {
            seen = seen.saturating_add(n);
            if seen > rank {
                let value = match i {
                    0 => 0.0,
                    OVERFLOW => self.max_ms.unwrap_or(MAX_MS),
                    i => MIN_MS * GROWTH.powi(i32::from(i) - 1) * GROWTH.sqrt(),
                };
                // Never above the exact maximum.
                return Some(self.max_ms.map_or(value, |m| value.min(m)));
            }
        }
        None
    }
}

impl From<Histogram> for Wire {
    fn from(h: Histogram) -> Wire {
        let mut b = Vec::with_capacity(h.counts.len() * 2);
        let mut last = 0u16;
        for (&i, &n) in &h.counts {
            b.push(u64::from(i - last));
            b.push(n);
            last = i;
        }
        Wire { b, max: h.max_ms }
    }
}

impl From<Wire> for Histogram {
    /// Malformed input (odd length, indexes out of range) loses only the
    /// offending entries; it never panics.
    fn from(w: Wire) -> Histogram {
        let mut counts = BTreeMap::new();
        let mut index = 0u64;
        for pair in w.b.chunks_exact(2) {
            index = index.saturating_add(pair[0]);
            if let Ok(i) = u16::try_from(index)
                && i <= OVERFLOW
            {
                let n: &mut u64 = counts.entry(i).or_default();
                *n = n.saturating_add(pair[1]);
            }
        }
        Histogram { counts, max_ms: w.max.filter(|m| m.is_finite()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_range() {
        assert!(MIN_MS * GROWTH.powi(i32::from(LOG_BUCKETS)) >= MAX_MS);
        assert!(MIN_MS * GROWTH.powi(i32::from(LOG_BUCKETS) - 1) < MAX_MS);
        assert!(GROWTH.sqrt() - 1.0 <= RELATIVE_ERROR);
        assert_eq!(bucket(0.0), 0);
        assert_eq!(bucket(MIN_MS), 1);
        assert_eq!(bucket(MAX_MS), LOG_BUCKETS);
        assert_eq!(bucket(1e9), OVERFLOW);
    }

    #[test]
    fn median_is_within_the_bound_and_max_is_exact() {
        // Medians of many distributions, against the exact one.
        for (n, scale) in [(1usize, 1.0), (2, 3.0), (7, 0.01), (1000, 40.0), (12_345, 2.5)] {
            let values: Vec<f64> = (0..n).map(|i| scale * (1.0 + (i * 7919 % n) as f64)).collect();
            let mut h = Histogram::default();
            values.iter().for_each(|v| h.record(*v));
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let exact = sorted[n / 2];
            let got = h.median().unwrap();
            assert!((got - exact).abs() <= exact * RELATIVE_ERROR, "n={n}: {got} vs {exact}");
            assert_eq!(h.max(), sorted.last().copied());
        }
        assert_eq!(Histogram::default().median(), None);
    }

    #[test]
    fn merging_equals_recording_everything() {
        let (mut a, mut b, mut all) = (Histogram::default(), Histogram::default(), Histogram::default());
        for i in 0..500 {
            let v = f64::from(i) * 0.37;
            if i % 3 == 0 {
                a.record(v)
            } else {
                b.record(v)
            }
            all.record(v);
        }
        a.merge(&b);
        assert_eq!(a, all);
    }

    #[test]
    fn worst_case_wire_size_fits_a_notification() {
        let mut h = Histogram::default();
        for i in 0..=OVERFLOW {
            h.counts.insert(i, 9_999_999);
        }
        h.max_ms = Some(123_456.789);
        let json = serde_json::to_string(&h).unwrap();
        eprintln!("worst-case histogram on the wire: {} bytes", json.len());
        assert!(json.len() < 7_000, "{} bytes", json.len());
        let back: Histogram = serde_json::from_str(&json).unwrap();
        assert_eq!(back, h);
    }

    #[test]
    fn malformed_wire_never_panics() {
        for text in [r#"{"b":[1]}"#, r#"{"b":[99999,1,1,2]}"#, r#"{"b":[18446744073709551615,1,5,1]}"#, "{}"] {
            let h: Histogram = serde_json::from_str(text).unwrap();
            assert!(h.count() <= 2, "{text}");
        }
    }
}
