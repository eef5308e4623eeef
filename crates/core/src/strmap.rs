//! Read-only string-keyed lookup tables for the hot path.
//!
//! Built once at compile time, queried on every evaluation. Small tables are
//! a linear scan; larger ones are an immutable open-addressing table
//! ([`StrTable`]) hashed with one folded multiply for keys up to 16 bytes
//! and XXH3 beyond. Short keys compare as two machine words ([`Packed`]),
//! never through a `memcmp` call.
//!
//! Why not `std::collections::HashMap`: its SipHash costs about as much as
//! the rest of an evaluation, and a lookup ends in a `memcmp` call. SipHash
//! exists to resist hash flooding by whoever chooses the *inserted* keys;
//! our tables are built from flag configurations written by authenticated
//! administrators, and request data is only ever *looked up*, so flooding
//! is not a threat here. Measured in `benches/evaluation.rs` (`lookup`).
//!
//! Owns: the hot-path string tables. Must not touch: flag or segment
//! semantics; they only store what callers give them.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

/// Equality of byte strings without a `memcmp` call for lengths up to 16
/// (two possibly overlapping word compares), which is most keys,
/// attribute names and short values.
#[inline(always)]
pub fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..=3 => {
            // First, middle and last byte cover every byte of a short string.
            let byte = |s: &[u8], i: usize| u32::from(s.get(i).copied().unwrap_or(0));
            let pack = |s: &[u8]| byte(s, 0) | byte(s, n / 2) << 8 | byte(s, n - 1) << 16;
            pack(a) == pack(b)
        }
        4..=7 => word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4),
        8..=16 => word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8),
        _ => long_eq(a, b),
    }
}

/// `memcmp` equality, out of line: a call in the inlined comparison makes
/// every caller save registers, even when no compared string is this long.
#[inline(never)]
fn long_eq(a: &[u8], b: &[u8]) -> bool {
    a == b
}

/// `N` bytes of `s` at `at` (zeros if out of range, which callers exclude).
#[inline(always)]
fn word<const N: usize>(s: &[u8], at: usize) -> [u8; N] {
    s.get(at..).and_then(|t| t.first_chunk::<N>()).copied().unwrap_or([0; N])
}

/// `str` equality through [`bytes_eq`].
#[inline(always)]
pub fn str_eq(a: &str, b: &str) -> bool {
    bytes_eq(a.as_bytes(), b.as_bytes())
}

/// A `Hasher` for build-time maps (interning, validation): XXH3 over byte
/// writes and a rotate-xor-multiply step for integer writes.
#[derive(Default, Clone, Copy)]
pub struct FastHasher {
    hash: u64,
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.hash = xxh3_64_with_seed(bytes, self.hash);
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.hash = (self.hash.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// `BuildHasher` for [`FastHasher`].
pub type FastBuildHasher = BuildHasherDefault<FastHasher>;

/// A `HashMap` using [`FastHasher`].
pub type FastHashMap<K, V> = HashMap<K, V, FastBuildHasher>;

/// One occupied slot of a [`StrTable`]. A key of at most [`PACKED_MAX`]
/// bytes is compared through its [`Packed`] words (with its length, from
/// `key`), never its bytes.
#[derive(Debug, Clone)]
struct Slot<V> {
    hash: u64,
    packed: Packed,
    key: Box<str>,
    value: V,
}

/// The index hash of a key of at most [`PACKED_MAX`] bytes: one 64×64→128
/// multiply of its [`Packed`] words (salted with its length), folded. A
/// fraction of XXH3's cost for the keys most tables hold (flag and segment
/// keys), which is why it is hand-written. Index only: this is not the
/// bucketing hash ([`crate::hash`]), whose values are part of the protocol.
/// Tables are built from administrators' keys and only looked up with
/// request data, so flooding is not a concern (see the module header).
#[inline(always)]
fn short_hash(p: Packed, len: usize) -> u64 {
    let m = u128::from(p.0 ^ 0x9e37_79b9_7f4a_7c15) * u128::from(p.1 ^ (len as u64) ^ 0xd6e8_feb8_6659_fd93);
    (m as u64) ^ (m >> 64) as u64
}

/// The index hash of any key: [`short_hash`] up to [`PACKED_MAX`] bytes,
/// XXH3 beyond (keys of different lengths never compare equal, so mixing
/// the two is sound).
fn key_hash(key: &[u8]) -> u64 {
    if key.len() <= PACKED_MAX { short_hash(Packed::of(key), key.len()) } else { xxh3_64(key) }
}

/// An immutable hash table from strings, open addressing with linear
/// probing at a load factor of at most 1/2. A probe compares the stored
/// 64-bit hash before the key, so a lookup almost always does exactly one
/// key comparison.
///
/// The slots are shared (`Arc<[_]>`, which a lookup reaches through one
/// pointer, as it would a `Box<[_]>`), so cloning a table is one reference
/// count increment: incremental snapshot builds reuse the flag index.
#[derive(Debug, Clone)]
pub struct StrTable<V> {
    slots: Arc<[Option<Slot<V>>]>,
    len: usize,
}

impl<V> Default for StrTable<V> {
    fn default() -> Self {
        StrTable { slots: Arc::from(Vec::new()), len: 0 }
    }
}

impl<V> StrTable<V> {
    /// Builds the table; for a repeated key the first value is kept.
    pub fn build<K: AsRef<str>>(entries: impl IntoIterator<Item = (K, V)>) -> Self {
        let entries: Vec<(K, V)> = entries.into_iter().collect();
        let size = (entries.len() * 2).next_power_of_two().max(4);
        let mut slots: Vec<Option<Slot<V>>> = (0..size).map(|_| None).collect();
        let mut len = 0;
        for (key, value) in entries {
            let key = key.as_ref();
            let hash = key_hash(key.as_bytes());
            let mut i = hash as usize & (size - 1);
            loop {
                match &slots[i] {
                    Some(s) if s.hash == hash && *s.key == *key => break,
                    Some(_) => i = (i + 1) & (size - 1),
                    None => {
                        let packed = Packed::of(key.as_bytes());
                        slots[i] = Some(Slot { hash, packed, key: key.into(), value });
                        len += 1;
                        break;
                    }
                }
            }
        }
        StrTable { slots: slots.into(), len }
    }

    /// The value for `key`.
    #[inline]
    pub fn get(&self, key: &str) -> Option<&V> {
        let len = key.len();
        if len > PACKED_MAX {
            return self.get_long(key);
        }
        let packed = Packed::of(key.as_bytes());
        let hash = short_hash(packed, len);
        self.probe(hash, |slot| slot.packed == packed && slot.key.len() == len)
    }

    /// [`StrTable::get`] for a key longer than [`PACKED_MAX`]: out of line,
    /// so that the inlined short-key path keeps few registers.
    #[inline(never)]
    fn get_long(&self, key: &str) -> Option<&V> {
        self.probe(xxh3_64(key.as_bytes()), |slot| long_eq(slot.key.as_bytes(), key.as_bytes()))
    }

    /// Linear probing from `hash`'s slot: the first occupied slot with
    /// this hash that `same_key` accepts.
    #[inline(always)]
    fn probe(&self, hash: u64, same_key: impl Fn(&Slot<V>) -> bool) -> Option<&V> {
        let mask = self.slots.len().checked_sub(1)?;
        let mut i = hash as usize & mask;
        // At most half the slots are occupied, so an empty slot ends the
        // probe; the bound only guards against a table built otherwise.
        for _ in 0..self.slots.len() {
            let slot = self.slots.get(i)?.as_ref()?;
            if slot.hash == hash && same_key(slot) {
                return Some(&slot.value);
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// `true` when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// At or below this many entries a linear scan beats hashing.
const LINEAR_MAX: usize = 8;

/// Strings up to this long compare as two machine words ([`Packed`]).
pub const PACKED_MAX: usize = 16;

/// The bytes of a string of at most [`PACKED_MAX`] bytes in two words,
/// loaded as [`bytes_eq`] loads them: for two strings of the **same
/// length**, equal words mean equal bytes. Precomputed for the entries of
/// small maps (and for clause attribute names), so that a lookup loads the
/// probe once and then compares integers, never the entries' bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Packed(u64, u64);

impl Packed {
    /// The words of `s`, which must be at most [`PACKED_MAX`] bytes long
    /// (longer strings pack their first and last 8 bytes: not unique).
    #[inline(always)]
    pub fn of(s: &[u8]) -> Packed {
        let n = s.len();
        match n {
            0 => Packed(0, 0),
            1..=3 => {
                let byte = |i: usize| u64::from(s.get(i).copied().unwrap_or(0));
                Packed(byte(0) | byte(n / 2) << 8 | byte(n - 1) << 16, 0)
            }
            4..=7 => Packed(
                u64::from(u32::from_le_bytes(word::<4>(s, 0)))
                    | u64::from(u32::from_le_bytes(word::<4>(s, n - 4))) << 32,
                0,
            ),
            _ => Packed(u64::from_le_bytes(word::<8>(s, 0)), u64::from_le_bytes(word::<8>(s, n - 8))),
        }
    }
}

/// A string with its length and [`Packed`] words, for comparisons without
/// loading its bytes.
#[derive(Debug, Clone)]
pub struct PackedStr {
    len: usize,
    packed: Packed,
    text: Box<str>,
}

impl PackedStr {
    /// Packs `s`.
    pub fn new(s: &str) -> Self {
        PackedStr { len: s.len(), packed: Packed::of(s.as_bytes()), text: s.into() }
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Equality with `other`: length first, then the words (strings up to
    /// [`PACKED_MAX`] bytes) or the bytes.
    #[inline(always)]
    pub fn eq_str(&self, other: &str) -> bool {
        if other.len() != self.len {
            return false;
        }
        if self.len <= PACKED_MAX {
            Packed::of(other.as_bytes()) == self.packed
        } else {
            long_eq(self.text.as_bytes(), other.as_bytes())
        }
    }
}

/// An immutable map from strings to small values; first insert wins.
#[derive(Debug, Clone)]
pub enum StrMap<V> {
    /// Few entries: scanned in order, compared as [`PackedStr`]s.
    Linear(Box<[(PackedStr, V)]>),
    /// Many entries: hashed.
    Hashed(StrTable<V>),
}

impl<V: Copy> StrMap<V> {
    /// Builds the map; for a repeated key the first value is kept.
    pub fn build<'s>(entries: impl IntoIterator<Item = (&'s str, V)>) -> Self {
        let table = StrTable::build(entries);
        if table.len() > LINEAR_MAX {
            return StrMap::Hashed(table);
        }
        // Keys are unique now (first insert won), so scan order is free.
        let mut linear: Vec<(PackedStr, V)> = Vec::with_capacity(table.len());
        for slot in table.slots.iter().flatten() {
            linear.push((PackedStr::new(&slot.key), slot.value));
        }
        StrMap::Linear(linear.into_boxed_slice())
    }

    /// The value for `key`.
    #[inline(always)]
    pub fn get(&self, key: &str) -> Option<V> {
        match self {
            StrMap::Linear(items) => linear_get(items, key),
            StrMap::Hashed(table) => hashed_get(table, key),
        }
    }

    /// `true` when the map has no entries.
    pub fn is_empty(&self) -> bool {
        match self {
            StrMap::Linear(items) => items.is_empty(),
            StrMap::Hashed(table) => table.is_empty(),
        }
    }
}

/// The linear scan: the probe is packed once, each entry costs a length
/// and two word compares.
#[inline(always)]
fn linear_get<V: Copy>(items: &[(PackedStr, V)], key: &str) -> Option<V> {
    let len = key.len();
    if len <= PACKED_MAX {
        let packed = Packed::of(key.as_bytes());
        for (k, v) in items {
            if k.len == len && k.packed == packed {
                return Some(*v);
            }
        }
        return None;
    }
    items.iter().find(|(k, _)| k.len == len && long_eq(k.text.as_bytes(), key.as_bytes())).map(|(_, v)| *v)
}

/// A hashed lookup, out of line so that the inlined linear scan stays small.
#[inline(never)]
fn hashed_get<V: Copy>(table: &StrTable<V>, key: &str) -> Option<V> {
    table.get(key).copied()
}

/// An immutable set of strings.
pub type StrSet = StrMap<()>;

impl StrSet {
    /// Builds a set.
    pub fn from_strs<'s>(items: impl IntoIterator<Item = &'s str>) -> Self {
        StrMap::build(items.into_iter().map(|s| (s, ())))
    }

    /// Membership test.
    #[inline(always)]
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

#[cfg(test)]
#[path = "strmap_tests.rs"]
mod tests;
