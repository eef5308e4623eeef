//! Change notifications: [`Updates`], a [`Stream`] of [`Update`] items, and
//! the diff that decides which flag keys changed between two snapshots.
//!
//! Owns: the update stream and the snapshot diff. Must not touch: applying
//! data (`sync::apply`), evaluation.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use switchyard_core::{ChangeEvent, CompiledSnapshot, Operator, Segment};
use tokio::sync::broadcast;
use tokio_stream::Stream;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

/// One flag whose evaluation may have changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlagChange {
    /// The flag key (also for a deleted flag: it now serves the default).
    pub key: Arc<str>,
    /// The revision served before (0 when the client had no flags).
    pub old_revision: u64,
    /// The revision served now.
    pub new_revision: u64,
}

/// An item of [`Updates`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Update {
    /// This flag's definition, or a segment it uses, changed (or it was
    /// created or deleted).
    Changed(FlagChange),
    /// This subscriber fell behind and missed some changes: anything may
    /// have changed, re-read every flag you care about.
    Resync,
}

/// A [`Stream`] of [`Update`]s from [`crate::Client::subscribe`].
///
/// One [`Update::Changed`] per changed flag key per applied revision. A
/// subscriber that falls more than about a thousand items behind receives
/// one [`Update::Resync`] instead of the items it missed: nothing is lost
/// silently. Ends when the client's background sync stops.
pub struct Updates {
    inner: BroadcastStream<FlagChange>,
}

impl Updates {
    pub(crate) fn new(rx: broadcast::Receiver<FlagChange>) -> Self {
        Updates { inner: BroadcastStream::new(rx) }
    }
}

impl Stream for Updates {
    type Item = Update;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Update>> {
        Pin::new(&mut self.inner).poll_next(cx).map(|item| {
            item.map(|r| match r {
                Ok(change) => Update::Changed(change),
                Err(BroadcastStreamRecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "switchyard subscriber lagged; sending Resync");
                    Update::Resync
                }
            })
        })
    }
}

impl fmt::Debug for Updates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Updates").finish_non_exhaustive()
    }
}

/// The flags whose evaluation may differ between `old` and `new`: flags
/// added, removed or changed, and flags that use (directly or through other
/// segments) a segment that was added, removed or changed. Sorted by key.
pub(crate) fn changed_flags(old: Option<&CompiledSnapshot>, new: &CompiledSnapshot) -> Vec<FlagChange> {
    let old_revision = old.map_or(0, CompiledSnapshot::revision);
    let change = |key: &str| FlagChange { key: key.into(), old_revision, new_revision: new.revision() };
    let Some(old) = old else {
        // `flag_keys` is sorted.
        return new.flag_keys().map(change).collect();
    };
    let changed_segments = changed_segments(old.segment_sources(), new.segment_sources());
    let mut keys: Vec<&str> = new
        .flag_sources()
        .filter(|f| {
            old.flag_source(&f.key) != Some(f)
                || f.rules.iter().any(|r| r.clauses.iter().any(|c| uses_segment(c, &changed_segments)))
        })
        .map(|f| f.key.as_str())
        .collect();
    keys.extend(old.flag_keys().filter(|k| new.flag(k).is_none()));
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter().map(change).collect()
}

/// What a change event touches, noted before it is consumed: the diff of
/// a change looks only at these keys instead of every flag.
pub(crate) enum Touched {
    /// Only these flag keys (upserted or deleted).
    Flags(Vec<String>),
    /// Segments changed: flags anywhere may be affected, diff everything.
    Everything,
}

impl Touched {
    pub(crate) fn of(change: &ChangeEvent) -> Self {
        if !change.segments.is_empty() || !change.deleted_segments.is_empty() {
            return Touched::Everything;
        }
        Touched::Flags(change.flags.iter().map(|f| f.key.clone()).chain(change.deleted_flags.iter().cloned()).collect())
    }

    /// [`changed_flags`] between the snapshots before and after the change.
    pub(crate) fn changes(self, old: &CompiledSnapshot, new: &CompiledSnapshot) -> Vec<FlagChange> {
        let Touched::Flags(mut keys) = self else {
            return changed_flags(Some(old), new);
        };
        keys.sort_unstable();
        keys.dedup();
        keys.retain(|k| old.flag_source(k) != new.flag_source(k));
        let (old_revision, new_revision) = (old.revision(), new.revision());
        keys.into_iter().map(|k| FlagChange { key: k.into(), old_revision, new_revision }).collect()
    }
}

/// Keys of segments that differ, closed over "a segment that uses a
/// changed segment has changed".
fn changed_segments(old: &[Segment], new: &[Segment]) -> HashSet<String> {
    let old_by_key: HashMap<&str, &Segment> = old.iter().map(|s| (s.key.as_str(), s)).collect();
    let new_keys: HashSet<&str> = new.iter().map(|s| s.key.as_str()).collect();
    let mut changed: HashSet<String> = new
        .iter()
        .filter(|s| old_by_key.get(s.key.as_str()) != Some(s))
        .map(|s| s.key.clone())
        .chain(old.iter().filter(|s| !new_keys.contains(s.key.as_str())).map(|s| s.key.clone()))
        .collect();
    // Each pass adds at least one segment or stops, so this ends after at
    // most `new.len()` passes, even with (invalid) reference cycles.
    loop {
        let more: Vec<String> = new
            .iter()
            .filter(|s| !changed.contains(&s.key))
            .filter(|s| s.rules.iter().any(|r| r.clauses.iter().any(|c| uses_segment(c, &changed))))
            .map(|s| s.key.clone())
            .collect();
        if more.is_empty() {
            return changed;
        }
        changed.extend(more);
    }
}

fn uses_segment(clause: &switchyard_core::Clause, segments: &HashSet<String>) -> bool {
    clause.op == Operator::InSegment
        && !segments.is_empty()
        && clause.values.iter().any(|v| v.as_str().is_some_and(|k| segments.contains(k)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snapshot(v: serde_json::Value) -> CompiledSnapshot {
        CompiledSnapshot::compile(&serde_json::from_value(v).unwrap()).unwrap()
    }

    fn flag(key: &str, on: bool, segment: Option<&str>) -> serde_json::Value {
        let rules = match segment {
            Some(s) => {
                json!([{"id": "r", "clauses": [{"op": "in_segment", "values": [s]}], "serve": {"variant": "on"}}])
            }
            None => json!([]),
        };
        json!({"key": key, "kind": "boolean", "on": on, "off_variant": "off", "rules": rules,
               "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
               "fallthrough": {"variant": "off"}})
    }

    fn keys(changes: &[FlagChange]) -> Vec<&str> {
        changes.iter().map(|c| &*c.key).collect()
    }

    #[test]
    fn first_snapshot_reports_every_flag() {
        let new = snapshot(json!({"revision": 3, "flags": [flag("b", true, None), flag("a", true, None)]}));
        let changes = changed_flags(None, &new);
        assert_eq!(keys(&changes), ["a", "b"]);
        assert_eq!((changes[0].old_revision, changes[0].new_revision), (0, 3));
    }

    #[test]
    fn reports_changed_added_deleted_and_segment_users() {
        let seg = |included: &str| json!({"key": "beta", "included": [included]});
        let nested = json!({"key": "outer", "rules": [{"clauses": [{"op": "in_segment", "values": ["beta"]}]}]});
        let old = snapshot(json!({"revision": 1,
            "flags": [flag("same", true, None), flag("edited", true, None), flag("gone", true, None),
                      flag("direct", true, Some("beta")), flag("indirect", true, Some("outer"))],
            "segments": [seg("u1"), nested]}));
        let new = snapshot(json!({"revision": 2,
            "flags": [flag("same", true, None), flag("edited", false, None), flag("added", true, None),
                      flag("direct", true, Some("beta")), flag("indirect", true, Some("outer"))],
            "segments": [seg("u2"), nested]}));
        let changes = changed_flags(Some(&old), &new);
        assert_eq!(keys(&changes), ["added", "direct", "edited", "gone", "indirect"]);
        assert!(changes.iter().all(|c| c.old_revision == 1 && c.new_revision == 2));
        assert!(changed_flags(Some(&new), &new).is_empty());
    }

    #[test]
    fn change_diffs_look_only_at_touched_flags() {
        let old = snapshot(json!({"revision": 1, "flags": [flag("a", true, None), flag("b", true, None)]}));
        let change: ChangeEvent = serde_json::from_value(json!({"revision": 2,
            "flags": [flag("a", false, None), flag("b", true, None), flag("c", true, None)],
            "deleted_flags": ["gone-already"]}))
        .unwrap();
        let touched = Touched::of(&change);
        let new = old.with_change(change).unwrap();
        let changes = touched.changes(&old, &new);
        // `b` was sent unchanged; `gone-already` never existed.
        assert_eq!(keys(&changes), ["a", "c"]);
        assert!(changes.iter().all(|c| c.old_revision == 1 && c.new_revision == 2));

        let change: ChangeEvent = serde_json::from_value(json!({"revision": 3, "deleted_flags": ["a"]})).unwrap();
        let touched = Touched::of(&change);
        let newer = new.with_change(change).unwrap();
        assert_eq!(keys(&touched.changes(&new, &newer)), ["a"]);
    }
}
