//! The public API around evaluation: compiled snapshots and flags, typed
//! details, `Snapshot::apply`.

use serde_json::{Value, json};
use switchyard_core::{
    ChangeEvent, CompiledFlag, CompiledSnapshot, Context, Detail, ErrorKind, EvalReason, Flag, Reason, SegmentTable,
    Snapshot, evaluate,
};

fn flag(v: Value) -> Flag {
    serde_json::from_value(v).expect("flag json")
}

fn color(key: &str, version: u64) -> Flag {
    flag(json!({"key": key, "kind": "string", "version": version, "on": true, "off_variant": "red",
        "fail_safe_variant": "blue",
        "variants": [{"key": "red", "value": "#f00"}, {"key": "blue", "value": "#00f"}],
        "rules": [{"id": "pro", "clauses": [{"attribute": "plan", "op": "equals", "values": ["pro"]}], "serve": {"variant": "blue"}}],
        "fallthrough": {"variant": "red"}}))
}

fn snapshot(flags: Vec<Flag>) -> Snapshot {
    Snapshot { revision: 1, flags, segments: vec![] }
}

#[test]
fn compiled_snapshot_is_send_sync_and_lists_flags() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CompiledSnapshot>();
    let c = CompiledSnapshot::compile(&snapshot(vec![color("b", 1), color("a", 2)])).unwrap();
    assert_eq!(c.revision(), 1);
    assert_eq!((c.len(), c.is_empty()), (2, false));
    assert_eq!(c.flag_keys().collect::<Vec<_>>(), ["a", "b"]);
    let f = c.flag("a").unwrap();
    assert_eq!((f.key(), f.version(), f.kind()), ("a", 2, switchyard_core::FlagKind::String));
    assert_eq!(f.off_variant().key(), "red");
    assert_eq!(f.fail_safe().map(|v| v.as_str()), Some(Some("#00f")));
    assert!(f.is_on() && !f.is_killed() && f.kill().is_none());
    assert_eq!(f.rule_id(0), Some("pro"));
    let empty = CompiledSnapshot::empty();
    assert!(empty.is_empty() && empty.flag("a").is_none() && empty.evaluate("a", &Context::new("u")).is_none());
}

#[test]
fn evaluation_borrows_and_converts() {
    let c = CompiledSnapshot::compile(&snapshot(vec![color("c", 1)])).unwrap();
    let ctx = Context::new("u").with("plan", "pro");
    let ev = c.evaluate("c", &ctx).unwrap();
    assert_eq!(ev.reason, EvalReason::RuleMatch { rule_index: 0 });
    assert_eq!((ev.variant_key(), ev.rule_id(), ev.value()), ("blue", Some("pro"), &json!("#00f")));
    let d = ev.to_detail();
    assert_eq!(
        serde_json::to_value(&d).unwrap(),
        json!({"value": "#00f", "variant": "blue",
        "reason": {"kind": "RULE_MATCH", "rule_index": 0, "rule_id": "pro"}})
    );
    assert_eq!(serde_json::from_value::<Detail<Value>>(serde_json::to_value(&d).unwrap()).unwrap(), d);
}

#[test]
fn typed_helpers() {
    let c = CompiledSnapshot::compile(&snapshot(vec![color("c", 1)])).unwrap();
    let ctx = Context::new("u");
    assert_eq!(c.string_value("c", &ctx, "d".into()), "#f00");
    assert_eq!(c.string_value("nope", &ctx, "d".into()), "d");
    assert!(c.bool_value("c", &ctx, true), "type mismatch serves the default");
    assert_eq!(c.number_value("c", &ctx, 1.5), 1.5);
    assert_eq!(c.json_value("c", &ctx, json!(null)), json!("#f00"));
    let d = c.bool_detail("c", &ctx, true);
    assert_eq!(d, Detail { value: true, variant: None, reason: Reason::Error(ErrorKind::TypeMismatch) });
    let d = c.evaluate_detail("nope", &ctx);
    assert_eq!((d.value, d.reason), (Value::Null, Reason::FlagNotFound));
    let d = c.evaluate_detail("c", &ctx);
    assert_eq!((d.value, d.variant.as_deref(), d.reason), (json!("#f00"), Some("red"), Reason::Fallthrough));
}

#[test]
fn a_single_flag_compiles_against_a_segment_table() {
    let table = SegmentTable::empty();
    let f = CompiledFlag::compile(&color("c", 1), &table).unwrap();
    let ev = evaluate(&f, &table, &Context::new("u").with("plan", "pro"));
    assert_eq!(ev.variant_key(), "blue");
    assert_eq!(f.evaluate(&table, &Context::new("u")).reason, EvalReason::Fallthrough);
    let mut bad = color("c", 1);
    bad.off_variant = "nope".into();
    assert_eq!(CompiledFlag::compile(&bad, &table).unwrap_err().0[0].path, "off_variant");
}

#[test]
fn nesting_up_to_the_limit_evaluates() {
    let segs: Vec<Value> = (0..32)
        .map(|i| {
            if i < 31 {
                json!({"key": format!("s{i}"), "rules": [{"clauses": [{"op": "in_segment", "values": [format!("s{}", i + 1)]}]}]})
            } else {
                json!({"key": "s31", "included": ["deep"]})
            }
        })
        .collect();
    let f = flag(json!({"key": "f", "kind": "boolean", "on": true, "off_variant": "off",
        "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
        "rules": [{"id": "r", "clauses": [{"op": "in_segment", "values": ["s0"]}], "serve": {"variant": "on"}}],
        "fallthrough": {"variant": "off"}}));
    let snap = Snapshot { revision: 1, flags: vec![f], segments: serde_json::from_value(Value::Array(segs)).unwrap() };
    let c = CompiledSnapshot::compile(&snap).unwrap();
    assert!(c.bool_value("f", &Context::new("deep"), false));
    assert!(!c.bool_value("f", &Context::new("shallow"), true));
    assert!(c.segments().contains("s0", &Context::new("deep")));
    assert_eq!(c.segments().len(), 32);
}

#[test]
fn snapshot_apply_upserts_deletes_and_ignores_stale_changes() {
    let mut snap = Snapshot { revision: 5, flags: vec![color("a", 1), color("b", 1)], segments: vec![] };
    let seg = serde_json::from_value(json!({"key": "s", "included": ["u"]})).unwrap();
    let change = ChangeEvent {
        revision: 6,
        flags: vec![color("a", 2), color("c", 1)],
        deleted_flags: vec!["b".into()],
        segments: vec![seg],
        deleted_segments: vec![],
    };
    assert!(snap.apply(&change));
    assert_eq!(snap.revision, 6);
    let mut keys: Vec<(&str, u64)> = snap.flags.iter().map(|f| (f.key.as_str(), f.version)).collect();
    keys.sort_unstable();
    assert_eq!(keys, [("a", 2), ("c", 1)]);
    assert_eq!(snap.segments.len(), 1);
    let before = snap.clone();
    assert!(!snap.apply(&ChangeEvent { revision: 6, deleted_flags: vec!["a".into()], ..ChangeEvent::default() }));
    assert!(!snap.apply(&ChangeEvent { revision: 3, ..ChangeEvent::default() }));
    assert_eq!(snap, before);
    assert!(snap.apply(&ChangeEvent { revision: 7, deleted_segments: vec!["s".into()], ..ChangeEvent::default() }));
    assert!(snap.segments.is_empty());
    CompiledSnapshot::compile(&snap).unwrap();
}

#[test]
fn variant_index_finds_this_flags_variants_by_address_only() {
    let c = CompiledSnapshot::compile(&snapshot(vec![color("a", 1), color("b", 1)])).unwrap();
    let (a, b) = (c.flag("a").unwrap(), c.flag("b").unwrap());
    for (i, v) in a.variants().iter().enumerate() {
        assert_eq!(a.variant_index(v), Some(i));
    }
    // The same key of another flag is not this flag's variant.
    assert_eq!(a.variant_index(&b.variants()[1]), None);
    assert_eq!(b.variant_index(&a.variants()[0]), None);
    let ev = c.evaluate("a", &Context::new("u").with("plan", "pro")).unwrap();
    assert_eq!(a.variant_index(ev.variant), Some(1));
}
