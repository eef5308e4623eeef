//! Unit tests of the string tables (a file of its own: `strmap.rs` holds the tables).

use super::*;
#[test]
fn linear_and_hashed_agree() {
    let keys: Vec<String> = (0..40).map(|i| format!("user-{i}")).collect();
    for n in [0, 1, 8, 9, 40] {
        let m = StrMap::build(keys.iter().take(n).enumerate().map(|(i, k)| (k.as_str(), i)));
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(m.get(k), (i < n).then_some(i), "n={n} k={k}");
        }
        assert_eq!(m.get(""), None);
    }
}

#[test]
fn linear_maps_find_long_and_short_keys() {
    let keys: Vec<String> = (0..7).map(|i| "k".repeat(i * 5)).chain(["x".into()]).collect();
    let m = StrMap::build(keys.iter().enumerate().map(|(i, k)| (k.as_str(), i)));
    assert!(matches!(m, StrMap::Linear(_)), "{m:?}");
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(m.get(k), Some(i), "{k}");
        assert_eq!(m.get(&format!("{k}k")), keys.iter().position(|o| *o == format!("{k}k")), "{k}k");
    }
}

#[test]
fn hashed_tables_find_keys_of_every_length() {
    // Short keys (packed words, folded-multiply hash) and long ones
    // (XXH3, bytes compared) in one table; near misses of each length
    // (one byte changed at the start, middle or end, one byte longer or
    // shorter) are not found.
    let keys: Vec<String> = (0..40).map(|n| (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect()).collect();
    let table = StrTable::build(keys.iter().enumerate().map(|(i, k)| (k.as_str(), i)));
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(table.get(k), Some(&i), "{k:?}");
        for at in [0, k.len() / 2, k.len().saturating_sub(1)].into_iter().filter(|_| !k.is_empty()) {
            let mut miss = k.clone().into_bytes();
            miss[at] = b'Z';
            assert_eq!(table.get(std::str::from_utf8(&miss).expect("ascii")), None, "{k:?} at {at}");
        }
        assert_eq!(table.get(&format!("{k}Z")), None, "{k:?}Z");
    }
}

#[test]
fn first_insert_wins() {
    let m = StrMap::build([("a", 1), ("b", 2), ("a", 3)]);
    assert_eq!(m.get("a"), Some(1));
    let keys: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
    let m = StrMap::build(keys.iter().map(|k| (k.as_str(), 1)).chain([("k3", 2)]));
    assert_eq!(m.get("k3"), Some(1));
}

#[test]
fn bytes_eq_matches_slice_eq() {
    let samples: Vec<Vec<u8>> = (0..40usize)
        .flat_map(|n| {
            let base: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            let mut variants = vec![base.clone()];
            for at in [0, n / 2, n.saturating_sub(1)] {
                if n > 0 {
                    let mut v = base.clone();
                    v[at] ^= 1;
                    variants.push(v);
                }
            }
            variants
        })
        .collect();
    for a in &samples {
        let packed = PackedStr::new(std::str::from_utf8(a).expect("ascii"));
        for b in &samples {
            assert_eq!(bytes_eq(a, b), a == b, "{a:?} {b:?}");
            assert_eq!(packed.eq_str(std::str::from_utf8(b).expect("ascii")), a == b, "{a:?} {b:?}");
        }
    }
}
