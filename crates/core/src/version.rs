//! A borrowing SemVer 2.0.0 parser and precedence comparison.
//!
//! Why not `semver::Version` at evaluation time: it allocates for
//! pre-release and build identifiers longer than 8 bytes, and its `Ord`
//! also orders build metadata, whereas SemVer precedence ignores it
//! (`1.0.0+a` and `1.0.0+b` are equal for `semver_eq`). Validation still
//! uses the `semver` crate, and a test checks that both accept the same
//! strings.
//!
//! Owns: SemVer parsing and precedence for matching. Must not touch:
//! validation (which uses the `semver` crate), other operators.

use std::cmp::Ordering;

/// A parsed version borrowing its pre-release part from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version<'s> {
    /// Major number.
    pub major: u64,
    /// Minor number.
    pub minor: u64,
    /// Patch number.
    pub patch: u64,
    /// Pre-release identifiers without the leading `-` (empty for a release).
    pub pre: &'s str,
}

/// An owned [`Version`] (a compiled clause value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedVersion {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Box<str>,
}

impl OwnedVersion {
    /// Parses a strict SemVer 2.0.0 string (no leading `v`).
    pub fn parse(s: &str) -> Option<Self> {
        let v = Version::parse(s)?;
        Some(OwnedVersion { major: v.major, minor: v.minor, patch: v.patch, pre: v.pre.into() })
    }

    /// A borrowed view.
    pub fn as_version(&self) -> Version<'_> {
        Version { major: self.major, minor: self.minor, patch: self.patch, pre: &self.pre }
    }
}

impl<'s> Version<'s> {
    /// Parses a strict SemVer 2.0.0 string (no leading `v`, no leading zeros).
    pub fn parse(s: &'s str) -> Option<Self> {
        let (rest, build) = match s.split_once('+') {
            Some((r, b)) => (r, Some(b)),
            None => (s, None),
        };
        let valid_build = |b: &str| b.split('.').all(|id| !id.is_empty() && id.bytes().all(is_ident_byte));
        if build.is_some_and(|b| !valid_build(b)) {
            return None;
        }
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (rest, None),
        };
        if pre.is_some_and(|p| !p.split('.').all(valid_pre_ident)) {
            return None;
        }
        let mut parts = core.split('.');
        let major = parse_num(parts.next()?)?;
        let minor = parse_num(parts.next()?)?;
        let patch = parse_num(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        Some(Version { major, minor, patch, pre: pre.unwrap_or("") })
    }

    /// SemVer precedence (build metadata ignored).
    pub fn precedence(&self, other: &Version<'_>) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| cmp_pre(self.pre, other.pre))
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

fn is_numeric(id: &str) -> bool {
    id.bytes().all(|b| b.is_ascii_digit())
}

fn valid_pre_ident(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(is_ident_byte) && !(is_numeric(id) && id.len() > 1 && id.starts_with('0'))
}

fn parse_num(s: &str) -> Option<u64> {
    if s.is_empty() || !is_numeric(s) || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

/// Pre-release precedence: a release (empty) ranks above any pre-release;
/// identifiers compare numerically when both are numeric, numeric below
/// alphanumeric, otherwise by ASCII; a shorter list ranks lower on a tie.
fn cmp_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    let mut xs = a.split('.');
    let mut ys = b.split('.');
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let ord = cmp_ident(x, y);
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

fn cmp_ident(x: &str, y: &str) -> Ordering {
    match (is_numeric(x), is_numeric(y)) {
        // No leading zeros, so a longer number is larger; arbitrary length.
        (true, true) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => x.cmp(y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLES: &[&str] = &[
        "1.2.3",
        "0.0.0",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-0.3.7",
        "1.0.0-x.7.z.92",
        "1.0.0+20130313144700",
        "1.0.0-beta+exp.sha.5114f85",
        "1.0.0-alpha.beta",
        "v1.2.3",
        "1.2",
        "1.2.3.4",
        "01.2.3",
        "1.02.3",
        "1.2.03",
        "1.2.3-01",
        "1.2.3-",
        "1.2.3+",
        "1.2.3-a..b",
        "1.2.3-a_b",
        " 1.2.3",
        "1.2.3 ",
        "",
        "1.2.3-00a",
        "1.2.3+001",
        "18446744073709551615.0.0",
        "18446744073709551616.0.0",
        "1.2.3-rc.1+build.2",
        "1.x.3",
        "1.2.3-Ü",
    ];

    #[test]
    fn accepts_what_the_semver_crate_accepts() {
        for s in SAMPLES {
            assert_eq!(Version::parse(s).is_some(), semver::Version::parse(s).is_ok(), "{s:?}");
        }
    }

    #[test]
    fn precedence_matches_the_spec_example() {
        let order = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "2.0.0",
        ];
        for w in order.windows(2) {
            let a = Version::parse(w[0]).unwrap();
            let b = Version::parse(w[1]).unwrap();
            assert_eq!(a.precedence(&b), Ordering::Less, "{} < {}", w[0], w[1]);
            assert_eq!(b.precedence(&a), Ordering::Greater);
        }
        let a = Version::parse("1.0.0+a").unwrap();
        let b = Version::parse("1.0.0+b").unwrap();
        assert_eq!(a.precedence(&b), Ordering::Equal);
    }
}
