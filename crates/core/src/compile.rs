//! [`CompiledSnapshot`]: a validated, pre-processed, immutable snapshot,
//! built once per revision and shared (`Send + Sync`) by every evaluation.

use std::collections::HashSet;

use crate::context::Context;
use crate::eval::Evaluation;
use crate::model::Snapshot;
use crate::segment::SegmentTable;
use crate::strmap::{FastHashMap, StrTable};
use crate::validate::{self, ValidationError, ValidationErrors};

pub use crate::flag::{CompiledFlag, CompiledVariant};
pub(crate) use crate::flag::{CompiledServe, Interner};

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
    revision: u64,
    /// Sorted by key, so that [`CompiledSnapshot::flag_keys`] is ordered.
    flags: Box<[CompiledFlag]>,
    /// Key → position in `flags`: an XXH3 open-addressing table, measured
    /// faster than binary search over 1 000 keys and than std's SipHash map
    /// (see [`crate::strmap`] and `docs/benchmarks.md`).
    index: StrTable<usize>,
    segments: SegmentTable,
}

impl CompiledSnapshot {
    /// Validates and compiles a snapshot. Every problem is reported, with
    /// paths prefixed `flags[i].` (position in `snapshot.flags`) or
    /// `segments[i].`.
    pub fn compile(snapshot: &Snapshot) -> Result<Self, ValidationErrors> {
        let mut errs = match validate::validate_segments(&snapshot.segments) {
            Ok(()) => Vec::new(),
            Err(e) => e.0,
        };
        let segment_keys: HashSet<&str> = snapshot.segments.iter().map(|s| s.key.as_str()).collect();
        let segment_exists = |k: &str| segment_keys.contains(k);
        let mut seen = FastHashMap::default();
        for (i, flag) in snapshot.flags.iter().enumerate() {
            let prefix = format!("flags[{i}]");
            if let Err(e) = validate::validate_flag(flag, &segment_exists) {
                errs.extend(e.0.into_iter().map(|e| e.prefixed(&prefix)));
            }
            if seen.insert(flag.key.as_str(), i).is_some() {
                errs.push(ValidationError::new(
                    format!("{prefix}.key"),
                    "duplicate_key",
                    format!("flag key `{}` is used twice", flag.key),
                ));
            }
        }
        ValidationErrors(errs).into_result()?;
        Self::compile_validated(snapshot)
    }

    fn compile_validated(snapshot: &Snapshot) -> Result<Self, ValidationErrors> {
        let mut interner = Interner::default();
        let segments = SegmentTable::compile(&snapshot.segments, &mut |s| interner.intern(s))
            .map_err(|(path, msg)| ValidationError::new(path, "invalid_value", msg))?;
        let mut flags = Vec::with_capacity(snapshot.flags.len());
        for (i, flag) in snapshot.flags.iter().enumerate() {
            let compiled = CompiledFlag::compile_validated(flag, &segments, &mut interner)
                .map_err(|e| ValidationErrors(e.0.into_iter().map(|e| e.prefixed(&format!("flags[{i}]"))).collect()))?;
            flags.push(compiled);
        }
        flags.sort_by(|a, b| a.key().cmp(b.key()));
        let index = StrTable::build(flags.iter().enumerate().map(|(i, f)| (f.key(), i)));
        Ok(CompiledSnapshot { revision: snapshot.revision, flags: flags.into_boxed_slice(), index, segments })
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
        self.flags.get(*self.index.get(key)?)
    }

    /// All flag keys, sorted.
    pub fn flag_keys(&self) -> impl Iterator<Item = &str> {
        self.flags.iter().map(CompiledFlag::key)
    }

    /// All flags, sorted by key.
    pub fn flags(&self) -> impl Iterator<Item = &CompiledFlag> {
        self.flags.iter()
    }

    /// The segment table.
    pub fn segments(&self) -> &SegmentTable {
        &self.segments
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
        Some(self.flag(key)?.evaluate(&self.segments, ctx))
    }
}
