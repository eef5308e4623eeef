//! Read-only string-keyed lookup tables for the hot path.
//!
//! Built once at compile time, queried on every evaluation. Small tables are
//! a linear scan (a few length + byte compares beat hashing); larger ones
//! hash with [`FxHasher`].

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The Firefox/rustc "Fx" hash: one rotate, xor and multiply per 8 bytes.
///
/// Why not std's SipHash: SipHash's per-call setup costs ~10–20 ns for a short
/// key, which is the whole evaluation budget. SipHash exists to resist
/// hash-flooding by whoever chooses the *inserted* keys; our tables are built
/// from flag configurations written by authenticated administrators, and
/// request data is only ever *looked up*, so flooding is not a threat here.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// `BuildHasher` for [`FxHasher`].
pub type FxBuildHasher = BuildHasherDefault<FxHasher>;

/// A `HashMap` using [`FxHasher`].
pub type FxHashMap<K, V> = HashMap<K, V, FxBuildHasher>;

/// At or below this many entries a linear scan is used instead of hashing.
const LINEAR_MAX: usize = 8;

/// An immutable map from strings to small values; first insert wins.
#[derive(Debug, Clone)]
pub enum StrMap<V> {
    /// Few entries: scanned in order.
    Linear(Box<[(Box<str>, V)]>),
    /// Many entries: hashed.
    Hashed(FxHashMap<Box<str>, V>),
}

impl<V: Copy> StrMap<V> {
    /// Builds the map; for a repeated key the first value is kept.
    pub fn build<'s>(entries: impl IntoIterator<Item = (&'s str, V)>) -> Self {
        let mut map: FxHashMap<Box<str>, V> = FxHashMap::default();
        let mut order: Vec<(Box<str>, V)> = Vec::new();
        for (k, v) in entries {
            if !map.contains_key(k) {
                map.insert(k.into(), v);
                // Past LINEAR_MAX the order list is no longer needed.
                if order.len() <= LINEAR_MAX {
                    order.push((k.into(), v));
                }
            }
        }
        if order.len() <= LINEAR_MAX {
            StrMap::Linear(order.into_boxed_slice())
        } else {
            StrMap::Hashed(map)
        }
    }

    /// The value for `key`.
    #[inline]
    pub fn get(&self, key: &str) -> Option<V> {
        match self {
            StrMap::Linear(items) => items.iter().find(|(k, _)| **k == *key).map(|(_, v)| *v),
            StrMap::Hashed(map) => map.get(key).copied(),
        }
    }

    /// `true` when the map has no entries.
    pub fn is_empty(&self) -> bool {
        match self {
            StrMap::Linear(items) => items.is_empty(),
            StrMap::Hashed(map) => map.is_empty(),
        }
    }
}

/// An immutable set of strings.
pub type StrSet = StrMap<()>;

impl StrSet {
    /// Builds a set.
    pub fn from_strs<'s>(items: impl IntoIterator<Item = &'s str>) -> Self {
        StrMap::build(items.into_iter().map(|s| (s, ())))
    }

    /// Membership test.
    #[inline]
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_and_hashed_agree() {
        let keys: Vec<String> = (0..40).map(|i| format!("user-{i}")).collect();
        for n in [0, 1, 8, 9, 40] {
            let m = StrMap::build(
                keys.iter()
                    .take(n)
                    .enumerate()
                    .map(|(i, k)| (k.as_str(), i)),
            );
            for (i, k) in keys.iter().enumerate() {
                assert_eq!(m.get(k), (i < n).then_some(i), "n={n} k={k}");
            }
            assert_eq!(m.get(""), None);
        }
    }

    #[test]
    fn first_insert_wins() {
        let m = StrMap::build([("a", 1), ("b", 2), ("a", 3)]);
        assert_eq!(m.get("a"), Some(1));
    }
}
