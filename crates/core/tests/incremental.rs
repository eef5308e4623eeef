//! `CompiledSnapshot::with_change` against the reference: for random
//! snapshots and random change sequences, the incremental result must
//! accept and reject exactly what a full compile of the applied model
//! accepts and rejects, and evaluate identically for every flag.

mod arbitrary;

use arbitrary::{arbitrary_context, arbitrary_flag, segments};
use proptest::prelude::*;
use serde_json::json;
use switchyard_core::{
    ChangeEvent, Clause, CompiledSnapshot, Context, Flag, Operator, Prerequisite, Segment, SegmentRule, Snapshot,
};

const FLAG_KEYS: &[&str] = &["f0", "f1", "f2", "f3", "f4", "f5"];
const SEGMENT_KEYS: &[&str] = &["seg-a", "seg-b", "seg-c"];

/// A flag under one of `FLAG_KEYS`: mostly one that compiles against
/// [`segments`] (an invalid generated one is replaced by a plain flag or a
/// `seg-b` user), sometimes whatever the generator made.
/// Prerequisites name other keys (present or not, loops included), so that
/// positions resolved per snapshot are checked against a full compile.
fn keyed_flag() -> impl Strategy<Value = Flag> {
    let prerequisite = (proptest::sample::select(FLAG_KEYS), proptest::sample::select(&["on", "off", "nope"][..]));
    let prerequisites = prop::collection::vec(prerequisite, 0..3);
    (proptest::sample::select(FLAG_KEYS), arbitrary_flag(), 0u8..8, prerequisites).prop_map(
        |(key, mut generated, dice, prerequisites)| {
            generated.key = key.into();
            for (flag, variant) in prerequisites {
                if !generated.prerequisites.iter().any(|p| p.flag == flag) {
                    generated.prerequisites.push(Prerequisite { flag: flag.into(), variant: variant.into() });
                }
            }
            let compiles = || {
                let snapshot = Snapshot { revision: 1, flags: vec![generated.clone()], segments: segments() };
                CompiledSnapshot::compile(&snapshot).is_ok()
            };
            if dice == 0 || compiles() { generated } else { flag(key, (dice % 2 == 0).then_some("seg-b")) }
        },
    )
}

/// Versions of the segments `seg-a`, `seg-b` (uses `seg-a`) and `seg-c`
/// (uses `seg-b`), including a `seg-a` that closes a cycle.
fn segment() -> impl Strategy<Value = Segment> {
    let uses = |key: &str, used: &str, included: &str| Segment {
        key: key.into(),
        version: 2,
        included: vec![included.into()],
        excluded: vec![],
        rules: vec![SegmentRule {
            id: String::new(),
            clauses: vec![Clause {
                attribute: String::new(),
                op: Operator::InSegment,
                values: vec![json!(used)],
                negate: false,
            }],
        }],
    };
    let base = segments();
    prop_oneof![
        4 => proptest::sample::select(base),
        2 => "[a-c]{1,2}".prop_map(|k| Segment {
            key: "seg-a".into(), version: 3, included: vec![k], excluded: vec!["b".into()], rules: vec![],
        }),
        2 => "[a-c]{1,2}".prop_map(move |k| uses("seg-c", "seg-b", &k)),
        1 => Just(uses("seg-a", "seg-c", "z")),
    ]
}

fn change() -> impl Strategy<Value = ChangeEvent> {
    let keys = |pool: &'static [&'static str], max| {
        prop::collection::vec(proptest::sample::select(pool).prop_map(String::from), 0..max)
    };
    (
        prop::collection::vec(keyed_flag(), 0..3),
        keys(FLAG_KEYS, 3),
        prop_oneof![3 => Just(vec![]), 1 => prop::collection::vec(segment(), 1..3)],
        prop_oneof![4 => Just(vec![]), 1 => keys(SEGMENT_KEYS, 2)],
    )
        .prop_map(|(flags, deleted_flags, segments, deleted_segments)| ChangeEvent {
            revision: 0,
            flags,
            deleted_flags,
            segments,
            deleted_segments,
        })
}

fn initial() -> impl Strategy<Value = Snapshot> {
    (prop::collection::vec(keyed_flag(), 0..6), any::<bool>()).prop_map(|(flags, with_segments)| {
        let mut flags = flags;
        flags.sort_by(|a, b| a.key.cmp(&b.key));
        flags.dedup_by(|a, b| a.key == b.key);
        Snapshot { revision: 1, flags, segments: if with_segments { segments() } else { vec![] } }
    })
}

/// Same keys, and for each key and context the same variant and reason.
fn assert_same(
    incremental: &CompiledSnapshot,
    full: &CompiledSnapshot,
    contexts: &[Context<'_>],
) -> Result<(), TestCaseError> {
    prop_assert_eq!(incremental.revision(), full.revision());
    prop_assert_eq!(incremental.flag_keys().collect::<Vec<_>>(), full.flag_keys().collect::<Vec<_>>());
    for key in full.flag_keys().chain(["missing"]) {
        prop_assert_eq!(incremental.flag_source(key), full.flag_source(key));
        for ctx in contexts {
            let a = incremental.evaluate(key, ctx).map(|e| (e.variant_key(), e.reason, e.flag.version()));
            let b = full.evaluate(key, ctx).map(|e| (e.variant_key(), e.reason, e.flag.version()));
            prop_assert_eq!(a, b, "flag {} context {:?}", key, ctx);
        }
    }
    let mut segments = incremental.segment_sources().to_vec();
    let mut want = full.segment_sources().to_vec();
    segments.sort_by(|a, b| a.key.cmp(&b.key));
    want.sort_by(|a, b| a.key.cmp(&b.key));
    prop_assert_eq!(segments, want);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn incremental_builds_match_full_compiles(
        start in initial(),
        changes in prop::collection::vec(change(), 1..8),
        contexts in prop::collection::vec(arbitrary_context(), 1..4),
    ) {
        let Ok(mut current) = CompiledSnapshot::compile(&start) else { return Ok(()) };
        let mut model = start;
        for (step, mut change) in changes.into_iter().enumerate() {
            change.revision = model.revision + 1;
            let mut next_model = model.clone();
            next_model.apply(&change);
            let full = CompiledSnapshot::compile(&next_model);
            let incremental = current.with_change(change);
            match (incremental, full) {
                (Ok(incremental), Ok(full)) => {
                    assert_same(&incremental, &full, &contexts)?;
                    current = incremental;
                    model = next_model;
                }
                (Err(_), Err(_)) => {}
                (a, b) => prop_assert!(false, "step {}: incremental {:?}, full {:?}", step, a.err(), b.err()),
            }
            // The snapshot we keep stays usable and equal to its model.
            assert_same(&current, &CompiledSnapshot::compile(&model).expect("kept model compiles"), &contexts)?;
        }
    }
}

/// A boolean flag, optionally with one rule `in_segment(segment)`.
fn flag(key: &str, segment: Option<&str>) -> Flag {
    let rules = segment.map_or(
        json!([]),
        |s| json!([{"id": "r", "clauses": [{"op": "in_segment", "values": [s]}], "serve": {"variant": "on"}}]),
    );
    serde_json::from_value(json!({"key": key, "kind": "boolean", "on": true, "off_variant": "off", "rules": rules,
        "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
        "fallthrough": {"variant": "off"}}))
    .expect("valid flag")
}

#[test]
fn stale_revisions_change_nothing() {
    let v3 = CompiledSnapshot::compile(&Snapshot { revision: 3, flags: vec![flag("a", None)], segments: vec![] })
        .expect("compiles");
    let same = v3.with_change(ChangeEvent { revision: 3, deleted_flags: vec!["a".into()], ..Default::default() });
    assert_eq!(same.expect("ignored").flag_keys().collect::<Vec<_>>(), ["a"]);
}

#[test]
fn changes_that_break_the_snapshot_are_rejected_with_paths() {
    let v1 = CompiledSnapshot::compile(&Snapshot {
        revision: 1,
        flags: vec![flag("a", Some("seg-a")), flag("b", None)],
        segments: segments(),
    })
    .expect("compiles");
    let cases = [
        (
            "deleting a used segment",
            ChangeEvent { deleted_segments: vec!["seg-a".into()], ..Default::default() },
            "flags[a].rules[0].clauses[0].values[0]",
            "unknown_segment",
        ),
        (
            "a flag naming no segment",
            ChangeEvent { flags: vec![flag("b", Some("nope"))], ..Default::default() },
            "flags[0].rules[0].clauses[0].values[0]",
            "unknown_segment",
        ),
        (
            "the same key twice",
            ChangeEvent { flags: vec![flag("c", None), flag("c", None)], ..Default::default() },
            "flags[1].key",
            "duplicate_key",
        ),
    ];
    for (what, mut change, path, code) in cases {
        change.revision = 2;
        let errs = v1.with_change(change).expect_err(what);
        assert!(errs.iter().any(|e| e.path == path && e.code == code), "{what}: {errs}");
    }
    // The old snapshot is untouched.
    assert!(v1.bool_value("a", &Context::new("a"), false));
}

#[test]
fn attribute_names_are_interned_across_incremental_builds() {
    let with_rule = |key: &str, attribute: &str| {
        let mut f = flag(key, None);
        f.rules = serde_json::from_value(json!([{"id": "r", "serve": {"variant": "on"},
            "clauses": [{"attribute": attribute, "op": "in", "values": ["pro"]}]}]))
        .expect("rule");
        f
    };
    let v1 =
        CompiledSnapshot::compile(&Snapshot { revision: 1, flags: vec![with_rule("a", "plan")], segments: vec![] })
            .expect("compiles");
    let v2 = v1
        .with_change(ChangeEvent {
            revision: 2,
            flags: vec![with_rule("b", "plan"), with_rule("c", "tier")],
            ..Default::default()
        })
        .expect("applies");
    let pro = Context::new("u").with("plan", "pro").with("tier", "pro");
    for key in ["a", "b", "c"] {
        assert!(v2.bool_value(key, &pro, false), "{key}");
        assert!(!v2.bool_value(key, &Context::new("u"), true), "{key}");
    }
}

/// Guards the generators: most steps must apply, or the property would only
/// compare rejections.
#[test]
fn most_generated_changes_apply() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut applied, mut total) = (0, 0);
    for _ in 0..100 {
        let start = initial().new_tree(&mut runner).expect("tree").current();
        let Ok(mut current) = CompiledSnapshot::compile(&start) else { continue };
        for mut change in prop::collection::vec(change(), 4).new_tree(&mut runner).expect("tree").current() {
            change.revision = current.revision() + 1;
            total += 1;
            if let Ok(next) = current.with_change(change) {
                applied += 1;
                current = next;
            }
        }
    }
    assert!(applied * 100 >= total * 50, "only {applied} of {total} generated changes apply");
}
