//! Incremental builds: [`CompiledSnapshot::with_change`] derives the
//! snapshot of the next revision from the current one and a
//! [`ChangeEvent`], compiling only the flags the change touches.
//!
//! Unchanged flags are shared (`Arc`) with the previous snapshot, as is the
//! key index when no key was added or removed, so a toggle of one flag
//! costs one flag's validation and compilation plus one pointer copy per
//! flag — not a full compile. A change to segments recompiles the segment
//! table and every flag that uses a segment (segment references are
//! compiled to positions in the table, which the change may move).
//!
//! Owns: deriving the next compiled snapshot from a change. Must not touch:
//! full compilation (`compile`), validation rules (`validate`).

use std::collections::HashSet;
use std::sync::Arc;

use crate::compile::{CompiledSnapshot, FlagEntry, build_index, build_links, compile_entry, compile_segments};
use crate::model::{ChangeEvent, Flag, Operator, Segment};
use crate::validate::{self, ValidationError, ValidationErrors};

impl CompiledSnapshot {
    /// The snapshot at `change.revision`: the same result (evaluation,
    /// keys, sources) as applying the change to [`Self::to_snapshot`] with
    /// [`crate::Snapshot::apply`] and compiling that with
    /// [`Self::compile`], and the same validation: a change whose result
    /// would not compile is an error and `self` stays usable. Error paths
    /// name upserted flags `flags[i]` by position in `change.flags`, flags
    /// that were revalidated because a segment changed `flags[<key>]`, and
    /// segments `segments[i]` by position in the resulting segment list.
    ///
    /// A change whose revision is not newer than `self`'s changes nothing
    /// (as with [`crate::Snapshot::apply`]): the result is a clone.
    ///
    /// ```
    /// use switchyard_core::{ChangeEvent, CompiledSnapshot, Context, Snapshot};
    /// let flag = |on: bool| serde_json::from_value(serde_json::json!({
    ///     "key": "new-checkout", "kind": "boolean", "on": on, "off_variant": "off",
    ///     "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
    ///     "fallthrough": {"variant": "on"}})).unwrap();
    /// let v1 = CompiledSnapshot::compile(&Snapshot { revision: 1, flags: vec![flag(false)], segments: vec![] }).unwrap();
    /// let v2 = v1.with_change(ChangeEvent { revision: 2, flags: vec![flag(true)], ..Default::default() }).unwrap();
    /// let ctx = Context::new("user-1");
    /// assert_eq!((v1.bool_value("new-checkout", &ctx, false), v2.bool_value("new-checkout", &ctx, false)), (false, true));
    /// assert_eq!(v2.revision(), 2);
    /// ```
    pub fn with_change(&self, change: ChangeEvent) -> Result<Self, ValidationErrors> {
        if change.revision <= self.revision {
            return Ok(self.clone());
        }
        let ChangeEvent { revision, flags, deleted_flags, segments, deleted_segments } = change;
        let segments_changed = !segments.is_empty() || !deleted_segments.is_empty();
        let segment_sources = if segments_changed {
            merge_segments(&self.segment_sources, segments, &deleted_segments)
        } else {
            self.segment_sources.clone()
        };
        // Kept flags that use segments are revalidated and recompiled
        // against the new segment table.
        let replaced = |key: &str| deleted_flags.iter().any(|d| d == key) || flags.iter().any(|f| f.key == key);
        let segment_users: Vec<Flag> = if segments_changed {
            self.flags
                .iter()
                .filter(|e| uses_segments(&e.source) && !replaced(e.compiled.key()))
                .map(|e| e.source.clone())
                .collect()
        } else {
            Vec::new()
        };
        self.validate_change(&flags, &segment_users, segments_changed.then_some(&*segment_sources))?;

        let mut interner = self.interner.next();
        let table = if segments_changed {
            Arc::new(compile_segments(&segment_sources, &mut interner)?)
        } else {
            self.segments.clone()
        };
        let mut entries: Vec<FlagEntry> = Vec::with_capacity(flags.len() + segment_users.len());
        for (i, flag) in flags.into_iter().enumerate() {
            entries.push(compile_entry(flag, &table, &mut interner, &|| format!("flags[{i}]"))?);
        }
        for flag in segment_users {
            let key = flag.key.clone();
            entries.push(compile_entry(flag, &table, &mut interner, &|| format!("flags[{key}]"))?);
        }

        let mut next = self.flags.to_vec();
        let mut keys_changed = false;
        for key in &deleted_flags {
            if let Ok(at) = next.binary_search_by(|e| e.compiled.key().cmp(key)) {
                next.remove(at);
                keys_changed = true;
            }
        }
        for entry in entries {
            match next.binary_search_by(|e| e.compiled.key().cmp(entry.compiled.key())) {
                Ok(at) => next[at] = Arc::new(entry),
                Err(at) => {
                    next.insert(at, Arc::new(entry));
                    keys_changed = true;
                }
            }
        }
        let index = if keys_changed { build_index(&next) } else { self.index.clone() };
        Ok(CompiledSnapshot {
            revision,
            links: Arc::new(build_links(&next, &index)),
            flags: next.into_boxed_slice(),
            index,
            segments: table,
            segment_sources,
            interner: Arc::new(interner),
        })
    }

    /// The checks a full compile of the result would make on what the
    /// change touches. `new_segments` is the resulting segment list when
    /// segments changed.
    fn validate_change(
        &self,
        flags: &[Flag],
        segment_users: &[Flag],
        new_segments: Option<&[Segment]>,
    ) -> Result<(), ValidationErrors> {
        let mut errs = Vec::new();
        let new_keys: HashSet<&str> = new_segments.unwrap_or_default().iter().map(|s| s.key.as_str()).collect();
        let segment_exists = |k: &str| match new_segments {
            Some(_) => new_keys.contains(k),
            None => self.segments.index_of(k).is_some(),
        };
        if let Some(segments) = new_segments
            && let Err(e) = validate::validate_segments(segments)
        {
            errs.extend(e.0);
        }
        for (i, flag) in flags.iter().enumerate() {
            if let Err(e) = validate::validate_flag(flag, &segment_exists) {
                let prefix = format!("flags[{i}]");
                errs.extend(e.0.into_iter().map(|e| e.prefixed(&prefix)));
            }
            if flags[..i].iter().any(|f| f.key == flag.key) {
                errs.push(ValidationError::new(
                    format!("flags[{i}].key"),
                    "duplicate_key",
                    format!("flag key `{}` is used twice", flag.key),
                ));
            }
        }
        for flag in segment_users {
            if let Err(e) = validate::validate_flag(flag, &segment_exists) {
                let prefix = format!("flags[{}]", flag.key);
                errs.extend(e.0.into_iter().map(|e| e.prefixed(&prefix)));
            }
        }
        ValidationErrors(errs).into_result()
    }
}

/// The segment list after the change, in the order [`crate::Snapshot::apply`]
/// gives: kept segments in place, upserted ones appended.
fn merge_segments(old: &[Segment], upserted: Vec<Segment>, deleted: &[String]) -> Arc<[Segment]> {
    let mut list: Vec<Segment> =
        old.iter().filter(|s| !deleted.contains(&s.key) && !upserted.iter().any(|n| n.key == s.key)).cloned().collect();
    list.extend(upserted);
    list.into()
}

/// Whether a flag has an `in_segment` clause.
fn uses_segments(flag: &Flag) -> bool {
    flag.rules.iter().any(|r| r.clauses.iter().any(|c| c.op == Operator::InSegment))
}
