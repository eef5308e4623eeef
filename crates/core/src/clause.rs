//! Compiled clauses: operands pre-processed once (regexes built, string sets
//! hashed, versions and dates parsed, attribute names interned) so that
//! matching allocates nothing.
//!
//! Owns: clause compilation and matching. Must not touch: segments (an
//! `in_segment` clause asks through [`Membership`], which the segment table
//! implements: segments are made of clauses, so the dependency points one
//! way), flags, evaluation order.

use std::sync::Arc;

use regex::Regex;
use serde_json::Value;

use crate::context::{AttrValue, Context, KEY_ATTRIBUTE};
use crate::model::{Clause, Operator};
use crate::strmap::{Packed, StrSet, bytes_eq};
use crate::version::{OwnedVersion, Version};

/// Regexes are bounded so that one hostile pattern cannot take the memory
/// of every SDK that loads the snapshot (the `regex` crate already
/// guarantees linear-time matching).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Builds a regex with the size limits used everywhere (validation and compile).
pub fn build_regex(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).dfa_size_limit(REGEX_SIZE_LIMIT).build()
}

/// Parses a date operand or attribute: an RFC 3339 string or a number of
/// milliseconds since the Unix epoch. Returns epoch milliseconds.
pub fn parse_date_str(s: &str) -> Option<f64> {
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    let sub_ms = f64::from(t.timestamp_subsec_nanos() % 1_000_000) / 1e6;
    Some(t.timestamp_millis() as f64 + sub_ms)
}

/// A comparison against ordered operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Lte,
    Gt,
    Gte,
}

impl Cmp {
    /// `attribute <op> operand`, given `attribute.cmp(operand)`.
    #[inline]
    fn holds(self, ord: Option<std::cmp::Ordering>) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        matches!(
            (self, ord),
            (Cmp::Eq, Some(Equal))
                | (Cmp::Lt, Some(Less))
                | (Cmp::Lte, Some(Less | Equal))
                | (Cmp::Gt, Some(Greater))
                | (Cmp::Gte, Some(Greater | Equal))
        )
    }
}

/// The attribute a clause or rollout reads: the context key, or an
/// interned attribute name (so `key` is not compared on every read).
#[derive(Debug, Clone)]
pub enum AttrRef {
    /// The context key.
    Key,
    /// A named attribute, with its [`Packed`] words (names up to
    /// [`crate::strmap::PACKED_MAX`] bytes compare without loading their bytes).
    Named(Arc<str>, Packed),
}

impl AttrRef {
    /// Resolves `name` (`key` → [`AttrRef::Key`]).
    pub fn new(name: &str, intern: &mut dyn FnMut(&str) -> Arc<str>) -> Self {
        if name == KEY_ATTRIBUTE { AttrRef::Key } else { AttrRef::Named(intern(name), Packed::of(name.as_bytes())) }
    }

    /// The attribute's value in `ctx`.
    #[inline(always)]
    pub fn read<'c, 'a>(&self, ctx: &'c Context<'a>) -> Option<&'c AttrValue<'a>> {
        match self {
            AttrRef::Key => Some(ctx.key_value()),
            AttrRef::Named(name, packed) => ctx.get_attribute_packed(name, *packed),
        }
    }
}

/// The pre-processed operands of one clause.
#[derive(Debug, Clone)]
enum Matcher {
    /// equals / in: operands split by JSON type.
    Eq {
        strs: StrSet,
        nums: Box<[f64]>,
        bools: [bool; 2],
    },
    Contains(Box<[Box<str>]>),
    StartsWith(Box<[Box<str>]>),
    EndsWith(Box<[Box<str>]>),
    Regex(Box<[Regex]>),
    Number(Cmp, Box<[f64]>),
    Semver(Cmp, Box<[OwnedVersion]>),
    /// before = Lt, after = Gt, on epoch milliseconds.
    Date(Cmp, Box<[f64]>),
    Exists,
    /// Indices into the snapshot's segment table ([`Membership`]).
    Segment(Box<[usize]>),
}

/// What an `in_segment` clause asks of the snapshot's segments
/// (implemented by `SegmentTable`). Generic at the call, so matching is as
/// static and inlined as a direct call.
pub trait Membership {
    /// Whether the context is in the segment at `index`, reached through
    /// `depth` nested segment references.
    fn contains_index(&self, index: usize, ctx: &Context<'_>, depth: u32) -> bool;
}

/// A clause ready for evaluation.
#[derive(Debug, Clone)]
pub struct CompiledClause {
    /// The attribute read, resolved at compile time.
    attribute: AttrRef,
    negate: bool,
    matcher: Matcher,
}

impl CompiledClause {
    /// Compiles a clause that passed validation. `intern` interns attribute
    /// names; `segment` resolves a segment key to its table index. Operands
    /// of the wrong type are skipped (validation has rejected them already).
    pub fn compile(
        clause: &Clause,
        intern: &mut dyn FnMut(&str) -> Arc<str>,
        segment: &dyn Fn(&str) -> Option<usize>,
    ) -> Result<Self, String> {
        let strs = || clause.values.iter().filter_map(Value::as_str);
        let boxed = || strs().map(Box::from).collect::<Box<[Box<str>]>>();
        let nums = || clause.values.iter().filter_map(Value::as_f64).collect::<Box<[f64]>>();
        let versions = |c| Matcher::Semver(c, strs().filter_map(OwnedVersion::parse).collect());
        let matcher = match clause.op {
            Operator::Equals | Operator::In => Matcher::Eq {
                strs: StrSet::from_strs(strs()),
                nums: nums(),
                bools: [false, true].map(|b| clause.values.contains(&Value::Bool(b))),
            },
            Operator::Contains => Matcher::Contains(boxed()),
            Operator::StartsWith => Matcher::StartsWith(boxed()),
            Operator::EndsWith => Matcher::EndsWith(boxed()),
            Operator::Matches => {
                Matcher::Regex(strs().map(build_regex).collect::<Result<_, _>>().map_err(|e| e.to_string())?)
            }
            Operator::Lt => Matcher::Number(Cmp::Lt, nums()),
            Operator::Lte => Matcher::Number(Cmp::Lte, nums()),
            Operator::Gt => Matcher::Number(Cmp::Gt, nums()),
            Operator::Gte => Matcher::Number(Cmp::Gte, nums()),
            Operator::SemverEq => versions(Cmp::Eq),
            Operator::SemverLt => versions(Cmp::Lt),
            Operator::SemverLte => versions(Cmp::Lte),
            Operator::SemverGt => versions(Cmp::Gt),
            Operator::SemverGte => versions(Cmp::Gte),
            Operator::Before => Matcher::Date(Cmp::Lt, dates(&clause.values)),
            Operator::After => Matcher::Date(Cmp::Gt, dates(&clause.values)),
            Operator::Exists => Matcher::Exists,
            Operator::InSegment => Matcher::Segment(strs().filter_map(segment).collect()),
        };
        Ok(CompiledClause { attribute: AttrRef::new(&clause.attribute, intern), negate: clause.negate, matcher })
    }

    /// Whether the context satisfies this clause.
    ///
    /// A missing attribute makes the clause false whatever `negate` says,
    /// except for `exists` (negated: true when missing) and `in_segment`
    /// (which reads no attribute).
    #[inline(always)]
    pub fn matches<S: Membership>(&self, ctx: &Context<'_>, segments: &S, depth: u32) -> bool {
        match &self.matcher {
            Matcher::Segment(ids) => ids.iter().any(|&i| segments.contains_index(i, ctx, depth)) != self.negate,
            Matcher::Exists => self.attribute.read(ctx).is_some() != self.negate,
            m => match self.attribute.read(ctx) {
                Some(value) => m.matches_value(value) != self.negate,
                None => false,
            },
        }
    }
}

impl Matcher {
    #[inline(always)]
    fn matches_value(&self, value: &AttrValue<'_>) -> bool {
        match value {
            AttrValue::String(s) => self.matches_str(s),
            AttrValue::List(items) => items.iter().any(|s| self.matches_str(s)),
            AttrValue::Number(n) => self.matches_num(*n),
            AttrValue::Bool(b) => {
                matches!(self, Matcher::Eq { bools, .. } if bools[usize::from(*b)])
            }
        }
    }

    /// The cheap string operators inline; substring search, regex, semver
    /// and date matching live in their own functions so that their large
    /// stack frames are not set up for every `equals` or `ends_with`
    /// (measured: B2 in `benches/evaluation.rs` went from 42.5 to 38.6 ns
    /// for regex/semver/date; `contains`, whose inlined two-way searcher
    /// needed a 344-byte frame, from 689 to N instructions per evaluation,
    /// `crates/bench/instructions.sh`).
    #[inline(always)]
    fn matches_str(&self, s: &str) -> bool {
        match self {
            Matcher::Eq { strs, .. } => strs.contains(s),
            Matcher::Contains(vs) => contains_any(vs, s),
            Matcher::StartsWith(vs) => vs.iter().any(|v| starts_with(s, v)),
            Matcher::EndsWith(vs) => vs.iter().any(|v| ends_with(s, v)),
            Matcher::Regex(rs) => regex_any(rs, s),
            Matcher::Semver(cmp, vs) => semver_any(*cmp, vs, s),
            Matcher::Date(cmp, vs) => date_any(*cmp, vs, s),
            Matcher::Number(..) | Matcher::Exists | Matcher::Segment(_) => false,
        }
    }

    fn matches_num(&self, n: f64) -> bool {
        match self {
            // `==` on f64: NaN never matches.
            Matcher::Eq { nums, .. } => nums.contains(&n),
            Matcher::Number(cmp, vs) | Matcher::Date(cmp, vs) => cmp_any(*cmp, n, vs),
            _ => false,
        }
    }
}

#[inline(never)]
fn contains_any(needles: &[Box<str>], s: &str) -> bool {
    needles.iter().any(|v| s.contains(&**v))
}

#[inline(never)]
fn regex_any(regexes: &[Regex], s: &str) -> bool {
    regexes.iter().any(|r| r.is_match(s))
}

#[inline(never)]
fn semver_any(cmp: Cmp, versions: &[OwnedVersion], s: &str) -> bool {
    Version::parse(s).is_some_and(|a| versions.iter().any(|v| cmp.holds(Some(a.precedence(&v.as_version())))))
}

#[inline(never)]
fn date_any(cmp: Cmp, dates: &[f64], s: &str) -> bool {
    parse_date_str(s).is_some_and(|ms| cmp_any(cmp, ms, dates))
}

/// `str::starts_with` through [`bytes_eq`] (no `memcmp` call for short operands).
#[inline]
fn starts_with(s: &str, prefix: &str) -> bool {
    s.as_bytes().get(..prefix.len()).is_some_and(|head| bytes_eq(head, prefix.as_bytes()))
}

/// `str::ends_with` through [`bytes_eq`].
#[inline]
fn ends_with(s: &str, suffix: &str) -> bool {
    let start = s.len().wrapping_sub(suffix.len());
    s.len() >= suffix.len() && s.as_bytes().get(start..).is_some_and(|tail| bytes_eq(tail, suffix.as_bytes()))
}

#[inline]
fn cmp_any(cmp: Cmp, attr: f64, operands: &[f64]) -> bool {
    operands.iter().any(|v| cmp.holds(attr.partial_cmp(v)))
}

fn dates(values: &[Value]) -> Box<[f64]> {
    values
        .iter()
        .filter_map(|v| match v {
            Value::String(s) => parse_date_str(s),
            Value::Number(n) => n.as_f64(),
            _ => None,
        })
        .collect()
}
