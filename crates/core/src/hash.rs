//! The rollout hash. **Frozen forever**: changing anything here moves users
//! between variants. `tests/vectors/evaluation.json` pins it with golden
//! values computed by an independent implementation.
//!
//! ```text
//! seed   = xxh3_64(salt as UTF-8)              salt = flag.salt, or the flag key if empty
//! bucket = xxh3_64_with_seed(value as UTF-8, seed) % 100_000
//! ```
//!
//! The hashed value is the context key, or the `bucket_by` attribute:
//! a string hashes its UTF-8 bytes; an integral number with |x| < 2^53
//! hashes its decimal form (`42`, `-7`, `0` for `-0.0`); anything else
//! (bool, list, fractional number, missing attribute) gets bucket 0.
//!
//! Owns: the bucketing hash. Must not touch: anything that would change a
//! bucket (never edit without new golden vectors, which must not change
//! either).

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::context::AttrValue;

/// Number of buckets; rollout weights are in the same unit (100 000 = 100 %).
pub const BUCKETS: u32 = 100_000;

/// 2^53: above this, `f64` no longer represents every integer.
const MAX_EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// The seed for a salt (computed once per flag at compile time).
pub fn seed(salt: &str) -> u64 {
    xxh3_64(salt.as_bytes())
}

/// The bucket of a UTF-8 value under a seed, in `0..BUCKETS`.
#[inline]
pub fn bucket(seed: u64, value: &[u8]) -> u32 {
    // The remainder is < 100 000, so the cast cannot truncate.
    (xxh3_64_with_seed(value, seed) % u64::from(BUCKETS)) as u32
}

/// The bucket of a salt and a string value (convenience for tests and tools).
pub fn bucket_for(salt: &str, value: &str) -> u32 {
    bucket(seed(salt), value.as_bytes())
}

/// The bucket of an attribute value (see the module docs for the rules).
#[inline]
pub fn bucket_attr(seed: u64, value: Option<&AttrValue<'_>>) -> u32 {
    match value {
        Some(AttrValue::String(s)) => bucket(seed, s.as_bytes()),
        Some(AttrValue::Number(n)) => match IntBuf::format(*n) {
            Some(buf) => bucket(seed, buf.as_bytes()),
            None => 0,
        },
        _ => 0,
    }
}

/// A stack buffer holding the decimal form of an integral `f64`, so that
/// bucketing by a numeric attribute does not allocate a `String`.
pub struct IntBuf {
    /// Digits are written right-aligned; `start` is the first used byte.
    bytes: [u8; 20],
    start: usize,
}

impl IntBuf {
    /// The decimal form of `n`, or `None` when `n` is not an integer with
    /// |n| < 2^53 (fractions, NaN, infinities, huge values).
    pub fn format(n: f64) -> Option<IntBuf> {
        if n.fract() != 0.0 || n.is_nan() || n.abs() >= MAX_EXACT_INT {
            return None;
        }
        // Exact: |n| < 2^53 fits an i64 and `-0.0` becomes 0.
        let v = n as i64;
        let mut buf = IntBuf { bytes: [0; 20], start: 20 };
        let mut rest = v.unsigned_abs();
        loop {
            buf.start -= 1;
            buf.bytes[buf.start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        if v < 0 {
            buf.start -= 1;
            buf.bytes[buf.start] = b'-';
        }
        Some(buf)
    }

    /// The formatted bytes (ASCII).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(self.start..).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(n: f64) -> Option<String> {
        IntBuf::format(n).map(|b| String::from_utf8_lossy(b.as_bytes()).into_owned())
    }

    #[test]
    fn formats_integers_like_display() {
        for n in [0i64, 1, -1, 9, 10, 42, -7, 123_456_789, 9_007_199_254_740_991, -9_007_199_254_740_991] {
            assert_eq!(fmt(n as f64), Some(n.to_string()));
        }
        assert_eq!(fmt(-0.0), Some("0".into()));
    }

    #[test]
    fn rejects_non_integers() {
        for n in [0.5, -1.25, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 9_007_199_254_740_992.0, 1e300] {
            assert_eq!(fmt(n), None, "{n}");
        }
    }

    #[test]
    fn non_hashable_attributes_get_bucket_zero() {
        let s = seed("salt");
        assert_eq!(bucket_attr(s, None), 0);
        assert_eq!(bucket_attr(s, Some(&AttrValue::Bool(true))), 0);
        assert_eq!(bucket_attr(s, Some(&AttrValue::Number(1.5))), 0);
        assert_eq!(bucket_attr(s, Some(&AttrValue::List(vec![]))), 0);
        assert_eq!(bucket_attr(s, Some(&AttrValue::Number(42.0))), bucket(s, b"42"));
    }
}
