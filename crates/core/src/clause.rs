//! Compiled clauses: operands pre-processed once (regexes built, string sets
//! hashed, versions and dates parsed, attribute names interned) so that
//! matching allocates nothing.

use std::sync::Arc;

use regex::Regex;
use serde_json::Value;

use crate::context::{AttrValue, Context};
use crate::model::{Clause, Operator};
use crate::segment::SegmentTable;
use crate::strmap::{StrSet, bytes_eq};
use crate::version::{OwnedVersion, Version};

/// Regexes are bounded so that one hostile pattern cannot take the memory
/// of every SDK that loads the snapshot (the `regex` crate already
/// guarantees linear-time matching).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Builds a regex with the size limits used everywhere (validation and compile).
pub fn build_regex(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
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
    /// Indices into the snapshot's [`SegmentTable`].
    Segment(Box<[usize]>),
}

/// A clause ready for evaluation.
#[derive(Debug, Clone)]
pub struct CompiledClause {
    /// Interned attribute name (`key` reads the context key).
    attribute: Arc<str>,
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
        let nums = || {
            clause
                .values
                .iter()
                .filter_map(Value::as_f64)
                .collect::<Box<[f64]>>()
        };
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
            Operator::Matches => Matcher::Regex(
                strs()
                    .map(build_regex)
                    .collect::<Result<_, _>>()
                    .map_err(|e| e.to_string())?,
            ),
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
        Ok(CompiledClause {
            attribute: intern(&clause.attribute),
            negate: clause.negate,
            matcher,
        })
    }

    /// Whether the context satisfies this clause.
    ///
    /// A missing attribute makes the clause false whatever `negate` says,
    /// except for `exists` (negated: true when missing) and `in_segment`
    /// (which reads no attribute).
    #[inline]
    pub fn matches(&self, ctx: &Context<'_>, segments: &SegmentTable, depth: u32) -> bool {
        match &self.matcher {
            Matcher::Segment(ids) => {
                ids.iter().any(|&i| segments.contains_index(i, ctx, depth)) != self.negate
            }
            Matcher::Exists => ctx.get(&self.attribute).is_some() != self.negate,
            m => match ctx.get(&self.attribute) {
                Some(value) => m.matches_value(value) != self.negate,
                None => false,
            },
        }
    }
}

impl Matcher {
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

    fn matches_str(&self, s: &str) -> bool {
        match self {
            Matcher::Eq { strs, .. } => strs.contains(s),
            Matcher::Contains(vs) => vs.iter().any(|v| s.contains(&**v)),
            Matcher::StartsWith(vs) => vs.iter().any(|v| starts_with(s, v)),
            Matcher::EndsWith(vs) => vs.iter().any(|v| ends_with(s, v)),
            Matcher::Regex(rs) => rs.iter().any(|r| r.is_match(s)),
            Matcher::Semver(cmp, vs) => Version::parse(s).is_some_and(|a| {
                vs.iter()
                    .any(|v| cmp.holds(Some(a.precedence(&v.as_version()))))
            }),
            Matcher::Date(cmp, vs) => parse_date_str(s).is_some_and(|ms| cmp_any(*cmp, ms, vs)),
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

/// `str::starts_with` through [`bytes_eq`] (no `memcmp` call for short operands).
#[inline]
fn starts_with(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| bytes_eq(head, prefix.as_bytes()))
}

/// `str::ends_with` through [`bytes_eq`].
#[inline]
fn ends_with(s: &str, suffix: &str) -> bool {
    let start = s.len().wrapping_sub(suffix.len());
    s.len() >= suffix.len()
        && s.as_bytes()
            .get(start..)
            .is_some_and(|tail| bytes_eq(tail, suffix.as_bytes()))
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
