//! Validation: every problem is reported, each at its exact path and code.

use serde_json::{Value, json};
use switchyard_core::{CompiledSnapshot, Flag, Segment, Snapshot, validate_flag, validate_segments};

fn flag(v: Value) -> Flag {
    serde_json::from_value(v).expect("flag json")
}

fn base() -> Value {
    json!({"key": "f", "kind": "boolean", "on": true, "off_variant": "off",
        "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
        "fallthrough": {"variant": "on"}})
}

fn with(mut v: Value, field: &str, value: Value) -> Value {
    v[field] = value;
    v
}

fn rule(id: &str, clauses: Value) -> Value {
    json!({"id": id, "clauses": clauses, "serve": {"variant": "on"}})
}

/// (path, code) of every error, in order.
fn errors_of(v: Value, segments: &[&str]) -> Vec<(String, &'static str)> {
    match validate_flag(&flag(v), &|k| segments.contains(&k)) {
        Ok(()) => vec![],
        Err(e) => e.0.into_iter().map(|e| (e.path, e.code)).collect(),
    }
}

fn one(path: &str, code: &'static str) -> Vec<(String, &'static str)> {
    vec![(path.to_owned(), code)]
}

#[test]
fn a_valid_flag_passes() {
    assert_eq!(errors_of(base(), &[]), vec![]);
}

#[test]
fn invalid_regex_is_reported_at_its_exact_path() {
    let rules = json!([
        rule("a", json!([])),
        rule("b", json!([{"attribute": "email", "op": "matches", "values": ["^ok$"]}])),
        rule("c", json!([{"attribute": "email", "op": "matches", "values": ["^fine$", "(unclosed"]}])),
    ]);
    let errs = validate_flag(&flag(with(base(), "rules", rules)), &|_| false).unwrap_err();
    assert_eq!(errs.0.len(), 1, "{errs}");
    assert_eq!(errs.0[0].path, "rules[2].clauses[0].values[1]");
    assert_eq!(errs.0[0].code, "invalid_regex");
    assert!(errs.0[0].message.contains("regex"), "{}", errs.0[0].message);
}

#[test]
fn a_huge_regex_is_rejected_by_the_size_limit() {
    let rules = json!([rule("a", json!([{"attribute": "x", "op": "matches", "values": ["(a{1000}){1000}"]}]))]);
    assert_eq!(errors_of(with(base(), "rules", rules), &[]), one("rules[0].clauses[0].values[0]", "invalid_regex"));
}

#[test]
fn operand_checks() {
    let cases = [
        (
            json!({"attribute": "x", "op": "equals", "values": ["a", "b"]}),
            "rules[0].clauses[0].values",
            "too_many_values",
        ),
        (json!({"attribute": "x", "op": "in", "values": []}), "rules[0].clauses[0].values", "empty_values"),
        (json!({"attribute": "x", "op": "exists", "values": ["a"]}), "rules[0].clauses[0].values", "unexpected_values"),
        (
            json!({"attribute": "", "op": "equals", "values": ["a"]}),
            "rules[0].clauses[0].attribute",
            "invalid_attribute",
        ),
        (
            json!({"attribute": "x", "op": "in", "values": ["a", {"o": 1}]}),
            "rules[0].clauses[0].values[1]",
            "invalid_value",
        ),
        (json!({"attribute": "x", "op": "in", "values": [null]}), "rules[0].clauses[0].values[0]", "invalid_value"),
        (json!({"attribute": "x", "op": "contains", "values": [1]}), "rules[0].clauses[0].values[0]", "invalid_value"),
        (json!({"attribute": "x", "op": "lt", "values": ["1"]}), "rules[0].clauses[0].values[0]", "invalid_value"),
        (
            json!({"attribute": "x", "op": "semver_gt", "values": ["v1.2.3"]}),
            "rules[0].clauses[0].values[0]",
            "invalid_semver",
        ),
        (
            json!({"attribute": "x", "op": "semver_eq", "values": ["1.2"]}),
            "rules[0].clauses[0].values[0]",
            "invalid_semver",
        ),
        (json!({"attribute": "x", "op": "semver_eq", "values": [1]}), "rules[0].clauses[0].values[0]", "invalid_value"),
        (
            json!({"attribute": "x", "op": "before", "values": ["2024-01-01"]}),
            "rules[0].clauses[0].values[0]",
            "invalid_datetime",
        ),
        (json!({"attribute": "x", "op": "after", "values": [true]}), "rules[0].clauses[0].values[0]", "invalid_value"),
        (json!({"op": "in_segment", "values": ["nope"]}), "rules[0].clauses[0].values[0]", "unknown_segment"),
        (json!({"op": "in_segment", "values": [3]}), "rules[0].clauses[0].values[0]", "invalid_value"),
    ];
    for (clause, path, code) in cases {
        let v = with(base(), "rules", json!([rule("r", json!([clause.clone()]))]));
        assert_eq!(errors_of(v, &["known"]), one(path, code), "{clause}");
    }
    let ok = json!([rule(
        "r",
        json!([{"op": "in_segment", "values": ["known"]},
        {"attribute": "d", "op": "before", "values": ["2024-01-01T00:00:00+01:00", 1700000000000u64]},
        {"attribute": "v", "op": "semver_lte", "values": ["1.0.0-rc.1+b.2"]},
        {"attribute": "e", "op": "exists"}])
    )]);
    assert_eq!(errors_of(with(base(), "rules", ok), &["known"]), vec![]);
}

#[test]
fn flag_level_checks_collect_every_error() {
    let v = json!({"key": "Bad Key", "kind": "boolean", "on": true, "off_variant": "gone",
        "fail_safe_variant": "also-gone",
        "variants": [{"key": "on", "value": true}, {"key": "on", "value": "yes"}, {"key": "X", "value": false}],
        "targets": [{"variant": "nope", "keys": ["u"]}],
        "rules": [rule("", json!([])), rule("r", json!([])), rule("r", json!([])),
                  {"id": "s", "serve": {"rollout": {"bucket_by": "", "variations": [
                      {"variant": "on", "weight": 60000}, {"variant": "zzz", "weight": 30000}]}}}],
        "fallthrough": {"variant": "missing"}});
    let want: Vec<(String, &str)> = [
        ("key", "invalid_key"),
        ("variants[1].key", "duplicate_key"),
        ("variants[1].value", "type_mismatch"),
        ("variants[2].key", "invalid_key"),
        ("off_variant", "unknown_variant"),
        ("fail_safe_variant", "unknown_variant"),
        ("targets[0].variant", "unknown_variant"),
        ("rules[0].id", "empty_id"),
        ("rules[2].id", "duplicate_id"),
        ("rules[3].serve.rollout.bucket_by", "invalid_attribute"),
        ("rules[3].serve.rollout.variations[1].variant", "unknown_variant"),
        ("rules[3].serve.rollout.variations", "weights_sum"),
        ("fallthrough.variant", "unknown_variant"),
    ]
    .iter()
    .map(|(p, c)| ((*p).to_owned(), *c))
    .collect();
    assert_eq!(errors_of(v, &[]), want);
}

#[test]
fn off_variant_and_variants_are_required() {
    assert_eq!(errors_of(with(base(), "off_variant", json!("")), &[]), one("off_variant", "missing_off_variant"));
    let v = json!({"key": "f", "kind": "string", "on": true, "off_variant": "a", "variants": [], "fallthrough": {"variant": "a"}});
    let codes: Vec<&str> = errors_of(v, &[]).into_iter().map(|(_, c)| c).collect();
    assert_eq!(codes, ["no_variants", "unknown_variant", "unknown_variant"]);
}

#[test]
fn variant_values_must_match_the_kind() {
    let v = |kind: &str, value: Value| {
        json!({"key": "f", "kind": kind, "on": true, "off_variant": "a", "variants": [{"key": "a", "value": value}],
            "fallthrough": {"variant": "a"}})
    };
    assert_eq!(errors_of(v("number", json!("1")), &[]), one("variants[0].value", "type_mismatch"));
    assert_eq!(errors_of(v("string", json!(1)), &[]), one("variants[0].value", "type_mismatch"));
    assert_eq!(errors_of(v("boolean", json!(null)), &[]), one("variants[0].value", "type_mismatch"));
    assert_eq!(errors_of(v("json", json!({"any": [null]})), &[]), vec![]);
    assert_eq!(errors_of(v("number", json!(1.5)), &[]), vec![]);
}

#[test]
fn weights_must_sum_to_exactly_100_000() {
    for (weights, ok) in
        [(vec![50_000, 50_000], true), (vec![50_000, 49_999], false), (vec![100_000, 1], false), (vec![], false)]
    {
        let variations: Vec<Value> = weights.iter().map(|w| json!({"variant": "on", "weight": w})).collect();
        let v = with(base(), "fallthrough", json!({"rollout": {"variations": variations}}));
        let want = if ok { vec![] } else { one("fallthrough.rollout.variations", "weights_sum") };
        assert_eq!(errors_of(v, &[]), want, "{weights:?}");
    }
    let v = with(
        base(),
        "fallthrough",
        json!({"rollout": {"variations": [{"variant": "on", "weight": u32::MAX}, {"variant": "off", "weight": 1}]}}),
    );
    assert_eq!(errors_of(v, &[]), one("fallthrough.rollout.variations", "weights_sum"), "no overflow");
}

fn segments(v: Value) -> Vec<Segment> {
    serde_json::from_value(v).expect("segments json")
}

fn seg_errors(v: Value) -> Vec<(String, &'static str)> {
    match validate_segments(&segments(v)) {
        Ok(()) => vec![],
        Err(e) => e.0.into_iter().map(|e| (e.path, e.code)).collect(),
    }
}

fn refers(key: &str, to: &[&str]) -> Value {
    let rules: Vec<Value> = to.iter().map(|t| json!({"clauses": [{"op": "in_segment", "values": [t]}]})).collect();
    json!({"key": key, "rules": rules})
}

#[test]
fn segment_paths_and_cycles() {
    assert_eq!(seg_errors(json!([refers("a", &["b"]), refers("b", &["c"]), {"key": "c"}])), vec![]);
    assert_eq!(
        seg_errors(
            json!([{"key": "a"}, {"key": "b", "rules": [{"clauses": [{"attribute": "x", "op": "lt", "values": ["no"]}]}]}])
        ),
        one("segments[1].rules[0].clauses[0].values[0]", "invalid_value")
    );
    assert_eq!(
        seg_errors(json!([refers("a", &["a"])])),
        one("segments[0].rules[0].clauses[0].values[0]", "segment_cycle")
    );
    assert_eq!(
        seg_errors(json!([refers("a", &["b"]), refers("b", &["c"]), refers("c", &["a"])])),
        one("segments[2].rules[0].clauses[0].values[0]", "segment_cycle")
    );
    assert_eq!(
        seg_errors(json!([refers("a", &["zz"])])),
        one("segments[0].rules[0].clauses[0].values[0]", "unknown_segment")
    );
    assert_eq!(
        seg_errors(json!([{"key": "a"}, {"key": "a"}, {"key": "B"}])),
        vec![("segments[1].key".to_owned(), "duplicate_key"), ("segments[2].key".to_owned(), "invalid_key")]
    );
}

#[test]
fn deep_segment_chains_are_rejected_without_deep_recursion() {
    let n = 100_000;
    let chain: Vec<Value> = (0..n)
        .map(|i| {
            if i + 1 < n {
                refers(&format!("s{i}"), &[&format!("s{}", i + 1)])
            } else {
                json!({"key": format!("s{i}")})
            }
        })
        .collect();
    let errs = seg_errors(Value::Array(chain));
    // Every segment more than 32 links from the end of the chain is too deep.
    assert_eq!(errs.len(), n - 32);
    assert!(errs.iter().all(|(_, c)| *c == "segment_too_deep"));
    let ok: Vec<Value> =
        (0..32)
            .map(|i| {
                if i < 31 {
                    refers(&format!("s{i}"), &[&format!("s{}", i + 1)])
                } else {
                    json!({"key": format!("s{i}")})
                }
            })
            .collect();
    assert_eq!(seg_errors(Value::Array(ok)), vec![]);
}

#[test]
fn snapshot_compile_prefixes_paths_and_rejects_duplicate_flags() {
    let bad_rule =
        with(base(), "rules", json!([rule("r", json!([{"attribute": "x", "op": "in_segment", "values": ["nope"]}]))]));
    let snap = Snapshot {
        revision: 1,
        flags: vec![flag(base()), flag(bad_rule), flag(base())],
        segments: segments(json!([refers("s", &["s"])])),
    };
    let errs = CompiledSnapshot::compile(&snap).unwrap_err();
    let got: Vec<(&str, &str)> = errs.0.iter().map(|e| (e.path.as_str(), e.code)).collect();
    assert_eq!(
        got,
        [
            ("segments[0].rules[0].clauses[0].values[0]", "segment_cycle"),
            ("flags[1].rules[0].clauses[0].values[0]", "unknown_segment"),
            ("flags[1].key", "duplicate_key"),
            ("flags[2].key", "duplicate_key"),
        ]
    );
    let text = errs.to_string();
    assert!(text.starts_with("4 validation error(s): segments[0]"), "{text}");
}

mod prerequisite_graph {
    use std::collections::HashMap;

    use switchyard_core::Prerequisite;
    use switchyard_core::validate::{PrerequisiteNode, validate_prerequisite_graph};

    const VARIANTS: &[&str] = &["on", "off"];

    fn needs(list: &[&str]) -> Vec<Prerequisite> {
        list.iter().map(|f| Prerequisite { flag: (*f).into(), variant: "on".into() }).collect()
    }

    /// The codes (and paths) of checking `graph` after a write of `changed`.
    fn check(graph: &[(&str, Vec<Prerequisite>)], changed: &str) -> Vec<(String, &'static str)> {
        let nodes: HashMap<&str, PrerequisiteNode<'_>> =
            graph.iter().map(|(k, p)| (*k, PrerequisiteNode { variants: VARIANTS, prerequisites: p })).collect();
        match validate_prerequisite_graph(&nodes, changed) {
            Ok(()) => vec![],
            Err(e) => e.0.into_iter().map(|e| (e.path, e.code)).collect(),
        }
    }

    #[test]
    fn loops_are_found_through_any_number_of_flags() {
        let graph = [("a", needs(&["b"])), ("b", needs(&["c"])), ("c", needs(&["a"]))];
        assert_eq!(check(&graph, "c"), [("prerequisites".to_string(), "prerequisite_cycle")]);
        assert_eq!(check(&[("a", needs(&["a"]))], "a"), [("prerequisites".to_string(), "prerequisite_cycle")]);
        let diamond = [("a", needs(&["b", "c"])), ("b", needs(&["d"])), ("c", needs(&["d"])), ("d", vec![])];
        assert_eq!(check(&diamond, "a"), [], "a shared prerequisite is no loop");
    }

    #[test]
    fn chains_of_eight_hops_pass_and_nine_do_not() {
        let keys: Vec<String> = (0..10).map(|i| format!("f{i}")).collect();
        let chain = |hops: usize| -> Vec<(&str, Vec<Prerequisite>)> {
            (0..=hops).map(|i| (keys[i].as_str(), if i < hops { needs(&[&keys[i + 1]]) } else { vec![] })).collect()
        };
        assert_eq!(check(&chain(8), "f0"), []);
        assert_eq!(check(&chain(9), "f0"), [("prerequisites".to_string(), "prerequisite_too_deep")]);
        assert_eq!(
            check(&chain(9), "f8"),
            [("prerequisites".to_string(), "prerequisite_too_deep")],
            "from the bottom too"
        );
    }

    #[test]
    fn wide_graphs_are_bounded_by_evaluations() {
        // a needs 4 flags that each need the same 16: 4 + 4 x 16 = 68 > 64.
        let bottom: Vec<String> = (0..16).map(|i| format!("z{i}")).collect();
        let bottom_refs: Vec<&str> = bottom.iter().map(String::as_str).collect();
        let mut graph: Vec<(&str, Vec<Prerequisite>)> = bottom_refs.iter().map(|k| (*k, vec![])).collect();
        for mid in ["m0", "m1", "m2", "m3"] {
            graph.push((mid, needs(&bottom_refs)));
        }
        graph.push(("a", needs(&["m0", "m1", "m2"])));
        assert_eq!(check(&graph, "a"), [], "3 + 3 x 16 = 51");
        graph.last_mut().unwrap().1 = needs(&["m0", "m1", "m2", "m3"]);
        assert_eq!(check(&graph, "a"), [("prerequisites".to_string(), "prerequisite_too_wide")]);
    }

    #[test]
    fn unknown_flags_and_variants_are_named_at_their_field() {
        let mut odd = needs(&["b"]);
        odd[0].variant = "maybe".into();
        odd.extend(needs(&["gone"]));
        let graph = [("a", odd), ("b", vec![])];
        assert_eq!(
            check(&graph, "a"),
            [
                ("prerequisites[0].variant".to_string(), "unknown_variant"),
                ("prerequisites[1].flag".to_string(), "unknown_flag")
            ]
        );
    }
}
