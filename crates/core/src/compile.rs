//! [`CompiledSnapshot`]: a validated, pre-processed, immutable snapshot,
//! built once per revision and shared (`Send + Sync`) by every evaluation.
//!
//! A compiled snapshot keeps the wire form it was compiled from (one
//! `Arc` per flag holding both forms, the segments as one shared list), so
//! that [`CompiledSnapshot::with_change`] (in `incremental`) can derive the
//! next revision by recompiling only what a change touched, and so that a
//! holder can diff or persist it without a second copy of the model.
//!
//! Owns: building a snapshot's compiled form and looking flags up in it.
//! Must not touch: the evaluation order (`eval`), one flag's compilation
//! (`flag`), validation rules (`validate`), IO.

use std::cell::Cell;
use std::collections::HashSet;
use std::sync::Arc;

use crate::context::Context;
use crate::eval::{self, EvalReason, Evaluation, PrerequisiteCause};
use crate::model::{Flag, Segment, Snapshot};
use crate::prereq::Links;
pub use crate::prereq::{MAX_PREREQUISITE_DEPTH, MAX_PREREQUISITE_EVALUATIONS, MAX_PREREQUISITES};
use crate::segment::SegmentTable;
use crate::strmap::{FastHashMap, StrTable};
use crate::validate::{self, ValidationError, ValidationErrors};

use crate::flag::Interner;
pub use crate::flag::{CompiledFlag, CompiledVariant};

/// A compiled flag with the definition it was compiled from. Shared (one
/// `Arc`) between the snapshots of successive revisions while unchanged.
#[derive(Debug)]
pub(crate) struct FlagEntry {
    pub(crate) compiled: CompiledFlag,
    pub(crate) source: Flag,
}

/// A compiled snapshot: flags by key plus the segment table they refer to.
///
/// ```
/// use switchyard_core::{CompiledSnapshot, Context, Snapshot};
/// let snapshot: Snapshot = serde_json::from_str(r#"{"revision": 7, "flags": [{
///     "key": "new-checkout", "kind": "boolean", "on": true, "off_variant": "off",
///     "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
///     "fallthrough": {"variant": "on"}}]}"#).unwrap();
/// let compiled = CompiledSnapshot::compile(&snapshot).unwrap();
/// let ctx = Context::new("user-1").with("plan", "pro");
/// assert!(compiled.bool_value("new-checkout", &ctx, false));
/// assert_eq!(compiled.bool_detail("missing", &ctx, false).reason.code(), "FLAG_NOT_FOUND");
/// ```
#[derive(Debug, Clone, Default)]
pub struct CompiledSnapshot {
    pub(crate) revision: u64,
    /// Sorted by key, so that [`CompiledSnapshot::flag_keys`] is ordered.
    /// Entries are shared with the previous revision when unchanged.
    pub(crate) flags: Box<[Arc<FlagEntry>]>,
    /// Key → position in `flags`: an open-addressing table ([`StrTable`]), measured
    /// faster than binary search over 1 000 keys and than std's SipHash map
    /// (see [`crate::strmap`] and `docs/benchmarks.md`). Shared with the
    /// previous revision (cloning it is one reference count increment)
    /// when the set of keys did not change.
    pub(crate) index: StrTable<usize>,
    /// Every flag's prerequisites as positions (rebuilt for every revision:
    /// positions move when keys come and go).
    pub(crate) links: Arc<Links>,
    pub(crate) segments: Arc<SegmentTable>,
    /// The segments' wire form, in snapshot order.
    pub(crate) segment_sources: Arc<[Segment]>,
    /// Attribute names of this snapshot, reused by incremental builds.
    pub(crate) interner: Arc<Interner>,
}

impl CompiledSnapshot {
    /// Validates and compiles a snapshot. Every problem is reported, with
    /// paths prefixed `flags[i].` (position in `snapshot.flags`) or
    /// `segments[i].`.
    pub fn compile(snapshot: &Snapshot) -> Result<Self, ValidationErrors> {
        validate_snapshot(snapshot)?;
        Self::compile_validated(snapshot.clone())
    }

    /// [`CompiledSnapshot::compile`] taking the snapshot by value, which
    /// saves a copy of every flag.
    pub fn compile_owned(snapshot: Snapshot) -> Result<Self, ValidationErrors> {
        validate_snapshot(&snapshot)?;
        Self::compile_validated(snapshot)
    }

    fn compile_validated(snapshot: Snapshot) -> Result<Self, ValidationErrors> {
        let mut interner = Interner::default();
        let segments = compile_segments(&snapshot.segments, &mut interner)?;
        let mut flags = Vec::with_capacity(snapshot.flags.len());
        for (i, flag) in snapshot.flags.into_iter().enumerate() {
            flags.push(Arc::new(compile_entry(flag, &segments, &mut interner, &|| format!("flags[{i}]"))?));
        }
        flags.sort_by(|a, b| a.compiled.key().cmp(b.compiled.key()));
        let index = build_index(&flags);
        Ok(CompiledSnapshot {
            revision: snapshot.revision,
            links: Arc::new(build_links(&flags, &index)),
            index,
            flags: flags.into_boxed_slice(),
            segments: Arc::new(segments),
            segment_sources: snapshot.segments.into(),
            interner: Arc::new(interner),
        })
    }

    /// A snapshot with no flags (revision 0).
    pub fn empty() -> Self {
        CompiledSnapshot::default()
    }

    /// The environment revision.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// A flag by key.
    #[inline]
    pub fn flag(&self, key: &str) -> Option<&CompiledFlag> {
        Some(&self.flags.get(*self.index.get(key)?)?.compiled)
    }

    /// A flag by key with its position in [`CompiledSnapshot::flags`]
    /// (`0..len()`, fixed for this snapshot), so that SDKs can keep
    /// per-flag data (telemetry counters) in flat arrays.
    #[inline]
    pub fn flag_indexed(&self, key: &str) -> Option<(usize, &CompiledFlag)> {
        let i = *self.index.get(key)?;
        Some((i, &self.flags.get(i)?.compiled))
    }

    /// The definition a flag was compiled from.
    pub fn flag_source(&self, key: &str) -> Option<&Flag> {
        Some(&self.flags.get(*self.index.get(key)?)?.source)
    }

    /// All flag keys, sorted.
    pub fn flag_keys(&self) -> impl Iterator<Item = &str> {
        self.flags.iter().map(|e| e.compiled.key())
    }

    /// All flags, sorted by key.
    pub fn flags(&self) -> impl Iterator<Item = &CompiledFlag> {
        self.flags.iter().map(|e| &e.compiled)
    }

    /// The definitions the flags were compiled from, sorted by key.
    pub fn flag_sources(&self) -> impl Iterator<Item = &Flag> {
        self.flags.iter().map(|e| &e.source)
    }

    /// The segment table.
    pub fn segments(&self) -> &SegmentTable {
        &self.segments
    }

    /// The definitions the segments were compiled from.
    pub fn segment_sources(&self) -> &[Segment] {
        &self.segment_sources
    }

    /// The wire form of this snapshot (flags sorted by key). Compiling it
    /// gives a snapshot that evaluates identically to this one.
    pub fn to_snapshot(&self) -> Snapshot {
        Snapshot {
            revision: self.revision,
            flags: self.flag_sources().cloned().collect(),
            segments: self.segment_sources.to_vec(),
        }
    }

    /// Number of flags.
    pub fn len(&self) -> usize {
        self.flags.len()
    }

    /// `true` when there are no flags.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    /// Looks up and evaluates a flag; `None` means `FLAG_NOT_FOUND`.
    /// Allocation-free: the result borrows from this snapshot.
    #[inline]
    pub fn evaluate(&self, key: &str, ctx: &Context<'_>) -> Option<Evaluation<'_>> {
        self.evaluate_at(*self.index.get(key)?, ctx)
    }

    /// Evaluates the flag at a position of [`CompiledSnapshot::flags`] (from
    /// [`CompiledSnapshot::flag_indexed`]); `None` when out of range.
    /// Prerequisites are followed by position: no lookup by key.
    #[inline]
    pub fn evaluate_at(&self, index: usize, ctx: &Context<'_>) -> Option<Evaluation<'_>> {
        Some(self.evaluate_indexed(index, &self.flags.get(index)?.compiled, ctx))
    }

    /// Evaluates `flag`, found at `index`: the pair
    /// [`CompiledSnapshot::flag_indexed`] returned, so that a caller that
    /// already holds the flag (to check its kind) does not read its entry
    /// again. `index` is used only to follow the flag's prerequisites;
    /// given another flag's position, the prerequisites followed are that
    /// flag's (a wrong answer, never a panic).
    #[inline]
    pub fn evaluate_indexed<'a>(&'a self, index: usize, flag: &'a CompiledFlag, ctx: &Context<'_>) -> Evaluation<'a> {
        let work = Cell::new(0);
        let (variant, reason) =
            eval::choose(flag, &self.segments, ctx, || self.failed_prerequisite(index, ctx, 1, &work));
        Evaluation { flag, variant: flag.variant_at(variant), reason }
    }

    /// The first prerequisite of the flag at `index` not met for `ctx` (its
    /// index in the flag's list) and why; `depth` counts the hops so far,
    /// `work` the prerequisite evaluations. Out of line: only flags with
    /// prerequisites come here.
    #[inline(never)]
    fn failed_prerequisite(
        &self,
        index: usize,
        ctx: &Context<'_>,
        depth: usize,
        work: &Cell<usize>,
    ) -> Option<(usize, PrerequisiteCause)> {
        let Some(links) = self.links.of(index) else { return Some((0, PrerequisiteCause::Missing)) };
        for (j, link) in links.iter().enumerate() {
            let Some((at, entry)) = link.flag().and_then(|at| Some((at, self.flags.get(at)?))) else {
                return Some((j, PrerequisiteCause::Missing));
            };
            work.set(work.get() + 1);
            if depth > MAX_PREREQUISITE_DEPTH || work.get() > MAX_PREREQUISITE_EVALUATIONS {
                return Some((j, PrerequisiteCause::TooDeep));
            }
            let (served, reason) = eval::choose(&entry.compiled, &self.segments, ctx, || {
                self.failed_prerequisite(at, ctx, depth + 1, work)
            });
            // A prerequisite that is killed, off or failing its own is not
            // met, whichever variant it serves (its off variant included).
            let cause = match reason {
                EvalReason::Killed => PrerequisiteCause::Killed,
                EvalReason::Off => PrerequisiteCause::Off,
                EvalReason::PrerequisiteFailed { cause: PrerequisiteCause::TooDeep, .. } => PrerequisiteCause::TooDeep,
                EvalReason::PrerequisiteFailed { .. } => PrerequisiteCause::PrerequisiteFailed,
                _ if link.variant() == Some(served) => continue,
                _ if link.variant().is_none() => PrerequisiteCause::UnknownVariant,
                _ => PrerequisiteCause::NotMet,
            };
            return Some((j, cause));
        }
        None
    }
}

/// Resolves every flag's prerequisites to positions in `flags`.
pub(crate) fn build_links(flags: &[Arc<FlagEntry>], index: &StrTable<usize>) -> Links {
    Links::build(flags.iter().map(|e| e.compiled.prerequisites()), |flag, variant| {
        let at = index.get(flag).copied();
        let v =
            at.and_then(|at| flags.get(at)).and_then(|e| e.compiled.variants().iter().position(|v| v.key() == variant));
        (at, v)
    })
}

/// Every check of a full compile: segments, each flag against the segment
/// keys, duplicate flag keys.
fn validate_snapshot(snapshot: &Snapshot) -> Result<(), ValidationErrors> {
    let mut errs = match validate::validate_segments(&snapshot.segments) {
        Ok(()) => Vec::new(),
        Err(e) => e.0,
    };
    let segment_keys: HashSet<&str> = snapshot.segments.iter().map(|s| s.key.as_str()).collect();
    let segment_exists = |k: &str| segment_keys.contains(k);
    let mut seen = FastHashMap::default();
    for (i, flag) in snapshot.flags.iter().enumerate() {
        if let Err(e) = validate::validate_flag(flag, &segment_exists) {
            let prefix = format!("flags[{i}]");
            errs.extend(e.0.into_iter().map(|e| e.prefixed(&prefix)));
        }
        if seen.insert(flag.key.as_str(), i).is_some() {
            errs.push(ValidationError::new(
                format!("flags[{i}].key"),
                "duplicate_key",
                format!("flag key `{}` is used twice", flag.key),
            ));
        }
    }
    ValidationErrors(errs).into_result()
}

/// Compiles validated segments, interning attribute names.
pub(crate) fn compile_segments(
    segments: &[Segment],
    interner: &mut Interner,
) -> Result<SegmentTable, ValidationErrors> {
    SegmentTable::compile(segments, &mut |s| interner.intern(s))
        .map_err(|(path, msg)| ValidationError::new(path, "invalid_value", msg).into())
}

/// Compiles a validated flag into an entry; `prefix` names it in errors.
pub(crate) fn compile_entry(
    flag: Flag,
    segments: &SegmentTable,
    interner: &mut Interner,
    prefix: &dyn Fn() -> String,
) -> Result<FlagEntry, ValidationErrors> {
    match CompiledFlag::compile_validated(&flag, segments, interner) {
        Ok(compiled) => Ok(FlagEntry { compiled, source: flag }),
        Err(e) => {
            let prefix = prefix();
            Err(ValidationErrors(e.0.into_iter().map(|e| e.prefixed(&prefix)).collect()))
        }
    }
}

/// The key → position table of sorted entries.
pub(crate) fn build_index(flags: &[Arc<FlagEntry>]) -> StrTable<usize> {
    StrTable::build(flags.iter().enumerate().map(|(i, f)| (f.compiled.key(), i)))
}
