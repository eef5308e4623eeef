//! Compiled segments: reusable sets of contexts that `in_segment` clauses
//! refer to by (pre-resolved) index.
//!
//! Owns: the segment table and membership. Must not touch: how a clause
//! matches (it uses [`CompiledClause`] and answers its [`Membership`]
//! questions), flags, evaluation order.

use std::sync::Arc;

use crate::clause::{CompiledClause, Membership};
use crate::context::Context;
use crate::model::Segment;
use crate::strmap::{StrSet, StrTable};

/// How deep `in_segment` references may nest (segment → segment → ...).
/// Validation rejects deeper chains (`segment_too_deep`) and cycles, so
/// evaluation never gives up early on a valid snapshot; the check in
/// [`SegmentTable::contains_index`] is a second line of defence that
/// keeps the recursion bounded even for hand-built tables.
pub const MAX_SEGMENT_DEPTH: u32 = 32;

/// One compiled segment.
#[derive(Debug, Clone)]
pub struct CompiledSegment {
    key: Arc<str>,
    version: u64,
    included: StrSet,
    excluded: StrSet,
    /// Each rule is a conjunction of clauses; the rules are ORed.
    rules: Box<[Box<[CompiledClause]>]>,
}

impl CompiledSegment {
    /// The segment key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The segment version.
    pub fn version(&self) -> u64 {
        self.version
    }
}

/// All segments of a snapshot, indexed by key.
#[derive(Debug, Clone, Default)]
pub struct SegmentTable {
    segments: Box<[CompiledSegment]>,
    index: StrTable<usize>,
}

impl SegmentTable {
    /// A table with no segments.
    pub fn empty() -> Self {
        SegmentTable::default()
    }

    /// Compiles validated segments. `intern` interns attribute names.
    pub fn compile(segments: &[Segment], intern: &mut dyn FnMut(&str) -> Arc<str>) -> Result<Self, (String, String)> {
        let index = StrTable::build(segments.iter().enumerate().map(|(i, s)| (s.key.as_str(), i)));
        let lookup = |k: &str| index.get(k).copied();
        let mut compiled = Vec::with_capacity(segments.len());
        for (i, s) in segments.iter().enumerate() {
            let mut rules = Vec::with_capacity(s.rules.len());
            for (r, rule) in s.rules.iter().enumerate() {
                let clauses = rule
                    .clauses
                    .iter()
                    .enumerate()
                    .map(|(c, clause)| {
                        CompiledClause::compile(clause, intern, &lookup)
                            .map_err(|e| (format!("segments[{i}].rules[{r}].clauses[{c}]"), e))
                    })
                    .collect::<Result<Box<[_]>, _>>()?;
                rules.push(clauses);
            }
            compiled.push(CompiledSegment {
                key: s.key.as_str().into(),
                version: s.version,
                included: StrSet::from_strs(s.included.iter().map(String::as_str)),
                excluded: StrSet::from_strs(s.excluded.iter().map(String::as_str)),
                rules: rules.into_boxed_slice(),
            });
        }
        Ok(SegmentTable { segments: compiled.into_boxed_slice(), index })
    }

    /// The index of a segment key.
    pub fn index_of(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// A segment by key.
    pub fn get(&self, key: &str) -> Option<&CompiledSegment> {
        self.segments.get(self.index_of(key)?)
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    /// `true` when there are no segments.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Whether the context is in the segment with this key (`false` for an
    /// unknown key).
    pub fn contains(&self, key: &str, ctx: &Context<'_>) -> bool {
        self.index_of(key).is_some_and(|i| self.contains_index(i, ctx, 0))
    }

    /// Membership by index: excluded → false; included → true; any rule
    /// whose clauses all match → true; otherwise false.
    pub fn contains_index(&self, i: usize, ctx: &Context<'_>, depth: u32) -> bool {
        let Some(seg) = self.segments.get(i) else {
            return false;
        };
        if depth >= MAX_SEGMENT_DEPTH {
            return false;
        }
        let key = ctx.key();
        if seg.excluded.contains(key) {
            return false;
        }
        if seg.included.contains(key) {
            return true;
        }
        seg.rules.iter().any(|rule| rule.iter().all(|c| c.matches(ctx, self, depth + 1)))
    }
}

impl Membership for SegmentTable {
    #[inline(always)]
    fn contains_index(&self, index: usize, ctx: &Context<'_>, depth: u32) -> bool {
        SegmentTable::contains_index(self, index, ctx, depth)
    }
}
