//! The evaluation engine: a pure function from a compiled flag and a
//! context to a variant and a reason. No IO, no locks, no heap allocation.
//!
//! Order: killed → off variant (`KILLED`); off → off variant (`OFF`);
//! a prerequisite not met → off variant (`PREREQUISITE_FAILED`, naming the
//! first one not met and why; a prerequisite is met when it is unkilled,
//! on, meets its own prerequisites and serves the required variant for the
//! same context; followed through the snapshot by `compile`); individual targets (`TARGET_MATCH`); rules in order, first whose clauses
//! all match (`RULE_MATCH`); fallthrough (`FALLTHROUGH`). A percentage
//! rollout picks its arm by [`crate::hash`] bucket.
//!
//! Owns: the evaluation order and rollout arm choice. Must not touch: how
//! flags and clauses are compiled (`flag`, `clause`), snapshots
//! (`compile`), the hash function (`hash`).

use std::sync::Arc;

use crate::context::Context;
use crate::flag::{CompiledFlag, CompiledServe, CompiledVariant, Verdict};
use crate::hash;
use crate::segment::SegmentTable;

pub use crate::reason::{Detail, ErrorKind, PrerequisiteCause, Reason};

/// Why a variant was chosen, as a `Copy` value that borrows nothing and
/// clones no `Arc` (the rule id is looked up on demand by [`Evaluation::reason`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalReason {
    /// The flag is killed.
    Killed,
    /// Targeting is off.
    Off,
    /// The prerequisite at this index (in the flag's list) was not met.
    PrerequisiteFailed {
        /// Index of the prerequisite in the flag's list.
        index: usize,
        /// Why it was not met.
        cause: PrerequisiteCause,
    },
    /// The context key is in an individual target list.
    TargetMatch,
    /// The rule at this index matched.
    RuleMatch {
        /// Index of the rule in the flag's rule list.
        rule_index: usize,
    },
    /// Nothing matched.
    Fallthrough,
}

/// The result of evaluating a compiled flag: borrowed, allocation-free.
#[derive(Debug, Clone, Copy)]
pub struct Evaluation<'a> {
    /// The flag evaluated.
    pub flag: &'a CompiledFlag,
    /// The variant served.
    pub variant: &'a CompiledVariant,
    /// Why.
    pub reason: EvalReason,
}

impl<'a> Evaluation<'a> {
    /// The JSON value served.
    pub fn value(&self) -> &'a serde_json::Value {
        self.variant.value()
    }

    /// The key of the variant served.
    pub fn variant_key(&self) -> &'a str {
        self.variant.key()
    }

    /// The id of the matched rule, for `RULE_MATCH`.
    pub fn rule_id(&self) -> Option<&'a str> {
        match self.reason {
            EvalReason::RuleMatch { rule_index } => self.flag.rule_id(rule_index),
            _ => None,
        }
    }

    /// The owned [`Reason`] (clones the rule id `Arc` for `RULE_MATCH`).
    pub fn reason(&self) -> Reason {
        match self.reason {
            EvalReason::Killed => Reason::Killed,
            EvalReason::Off => Reason::Off,
            EvalReason::TargetMatch => Reason::TargetMatch,
            EvalReason::Fallthrough => Reason::Fallthrough,
            EvalReason::PrerequisiteFailed { index, cause } => Reason::PrerequisiteFailed {
                prerequisite: self.flag.prerequisite_key_arc(index).cloned().unwrap_or_else(|| Arc::from("")),
                cause,
            },
            EvalReason::RuleMatch { rule_index } => Reason::RuleMatch {
                rule_index,
                rule_id: self.flag.rule_id_arc(rule_index).cloned().unwrap_or_else(|| Arc::from("")),
            },
        }
    }

    /// A kind-agnostic detail carrying the JSON value served.
    pub fn to_detail(&self) -> Detail<serde_json::Value> {
        Detail { value: self.value().clone(), variant: Some(self.variant.key_arc().clone()), reason: self.reason() }
    }
}

impl CompiledFlag {
    /// Evaluates this flag alone (see [`evaluate`]). Defined here, not in
    /// `flag`, so that compiled flags do not depend on the engine that
    /// reads them.
    #[inline]
    pub fn evaluate<'a>(&'a self, segments: &'a SegmentTable, ctx: &Context<'_>) -> Evaluation<'a> {
        evaluate(self, segments, ctx)
    }
}

/// Evaluates a compiled flag alone, as in a snapshot holding only this
/// flag: a flag with prerequisites serves its off variant
/// (`PREREQUISITE_FAILED`, cause `MISSING`), since they are other flags;
/// evaluate through [`crate::CompiledSnapshot::evaluate`] to follow them.
/// Pure; performs no heap allocation. `segments` must be the table of the
/// snapshot the flag was compiled with (segment references are
/// pre-resolved indices into it; with another table they resolve to other
/// segments or to nothing, never panic).
#[inline]
pub fn evaluate<'a>(flag: &'a CompiledFlag, segments: &'a SegmentTable, ctx: &Context<'_>) -> Evaluation<'a> {
    let (variant, reason) = choose(flag, segments, ctx, || Some((0, PrerequisiteCause::Missing)));
    Evaluation { flag, variant: flag.variant_at(variant), reason }
}

/// Returns the index of the variant to serve and why. `failed_prerequisite`
/// is asked only when the flag is on, unkilled and has prerequisites: it
/// answers the first one not met (its index in the flag's list) and why.
#[inline]
pub(crate) fn choose(
    flag: &CompiledFlag,
    segments: &SegmentTable,
    ctx: &Context<'_>,
    failed_prerequisite: impl FnOnce() -> Option<(usize, PrerequisiteCause)>,
) -> (usize, EvalReason) {
    // Killed, off, or on with a fixed fallthrough and nothing before it:
    // decided at compile time, whatever the context.
    match flag.verdict() {
        Verdict::Killed => return (flag.off_index(), EvalReason::Killed),
        Verdict::Off => return (flag.off_index(), EvalReason::Off),
        Verdict::Fixed(v) => return (v, EvalReason::Fallthrough),
        Verdict::Evaluate => {}
    }
    if flag.has_prerequisites()
        && let Some((index, cause)) = failed_prerequisite()
    {
        return (flag.off_index(), EvalReason::PrerequisiteFailed { index, cause });
    }
    let targets = flag.targets();
    if !targets.is_empty()
        && let Some(v) = targets.get(ctx.key())
    {
        return (v, EvalReason::TargetMatch);
    }
    for (rule_index, rule) in flag.rules().iter().enumerate() {
        if rule.clauses.iter().all(|c| c.matches(ctx, segments, 0)) {
            return (serve(flag, &rule.serve, ctx), EvalReason::RuleMatch { rule_index });
        }
    }
    (serve(flag, flag.fallthrough(), ctx), EvalReason::Fallthrough)
}

/// The variant index a serve picks for this context: a fixed variant
/// inline (no call for the commonest serve), a rollout out of line.
#[inline(always)]
fn serve(flag: &CompiledFlag, serve: &CompiledServe, ctx: &Context<'_>) -> usize {
    match serve {
        CompiledServe::Variant(v) => *v,
        CompiledServe::Rollout { .. } => rollout(flag, serve, ctx),
    }
}

/// The variant index a rollout serve picks for this context's bucket.
#[inline(never)]
fn rollout(flag: &CompiledFlag, serve: &CompiledServe, ctx: &Context<'_>) -> usize {
    match serve {
        CompiledServe::Variant(v) => *v,
        CompiledServe::Rollout { bucket_by, arms } => {
            let bucket = match bucket_by {
                None => hash::bucket(flag.seed(), ctx.key().as_bytes()),
                Some(name) => hash::bucket_attr(flag.seed(), ctx.get_attribute(name)),
            };
            // Arms hold cumulative upper bounds; weights sum to 100 000 and the
            // bucket is < 100 000, so an arm is always found for a validated
            // flag. The fallback keeps hand-built data from panicking.
            arms.iter().find(|(upper, _)| bucket < *upper).or(arms.last()).map_or(flag.off_index(), |(_, v)| *v)
        }
    }
}
