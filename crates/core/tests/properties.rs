//! Property tests: rollout distribution and monotonicity, and evaluation
//! never panicking on any flag that passes validation.

use proptest::prelude::*;
use serde_json::{Value, json};
use switchyard_core::{
    Clause, CompiledSnapshot, Context, Flag, FlagKind, Operator, Rollout, Rule, Segment, SegmentRule, Serve, Snapshot,
    Variant, WeightedVariant,
};

const KEYS: usize = 100_000;

fn variants(keys: &[&str]) -> Vec<Variant> {
    keys.iter().map(|k| Variant { key: (*k).into(), value: json!(k), name: None, description: None }).collect()
}

fn rollout_flag(salt: &str, arms: &[(&str, u32)]) -> Flag {
    let names: Vec<&str> = arms.iter().map(|(k, _)| *k).collect();
    Flag {
        key: "rollout".into(),
        kind: FlagKind::String,
        variants: variants(&names),
        salt: salt.into(),
        version: 1,
        on: true,
        off_variant: names[0].into(),
        kill: None,
        targets: vec![],
        rules: vec![],
        fallthrough: Serve::Rollout(Rollout {
            bucket_by: None,
            variations: arms.iter().map(|(k, w)| WeightedVariant { variant: (*k).into(), weight: *w }).collect(),
        }),
        fail_safe_variant: None,
    }
}

fn compile(flags: Vec<Flag>, segments: Vec<Segment>) -> Result<CompiledSnapshot, String> {
    CompiledSnapshot::compile(&Snapshot { revision: 1, flags, segments }).map_err(|e| e.to_string())
}

/// Counts how many of `KEYS` pseudo-random keys land in each arm.
fn distribution(salt: &str, arms: &[(&str, u32)], key_seed: u64) -> Vec<usize> {
    let snap = compile(vec![rollout_flag(salt, arms)], vec![]).expect("compiles");
    let mut counts = vec![0usize; arms.len()];
    let mut state = key_seed | 1;
    for _ in 0..KEYS {
        // xorshift64*: cheap, deterministic per seed, independent of xxh3.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let key = format!("{:x}", state.wrapping_mul(0x2545_f491_4f6c_dd1d));
        let ev = snap.evaluate("rollout", &Context::new(key.as_str())).expect("flag");
        let i = arms.iter().position(|(k, _)| *k == ev.variant_key()).expect("arm");
        counts[i] += 1;
    }
    counts
}

fn assert_within_one_percent(counts: &[usize], arms: &[(&str, u32)]) -> Result<(), TestCaseError> {
    for (n, (name, weight)) in counts.iter().zip(arms) {
        let share = *n as f64 / KEYS as f64;
        let want = f64::from(*weight) / 100_000.0;
        prop_assert!((share - want).abs() <= 0.01, "arm {name}: {share:.4} vs {want:.4}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    #[test]
    fn fifty_fifty_is_within_one_percent(salt in "[a-z0-9-]{0,20}", seed in any::<u64>()) {
        let arms = [("on", 50_000), ("off", 50_000)];
        assert_within_one_percent(&distribution(&salt, &arms, seed), &arms)?;
    }

    #[test]
    fn thirds_are_within_one_percent(salt in "[a-z0-9-]{0,20}", seed in any::<u64>()) {
        let arms = [("a", 33_000), ("b", 33_000), ("c", 34_000)];
        assert_within_one_percent(&distribution(&salt, &arms, seed), &arms)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Raising the first arm's weight never moves anyone out of it.
    #[test]
    fn rollouts_are_monotonic(key in "\\PC{0,24}", salt in "[a-z0-9]{0,12}", p in 0u32..=100_000, q in 0u32..=100_000) {
        let (p, q) = (p.min(q), p.max(q));
        let snap_p = compile(vec![rollout_flag(&salt, &[("in", p), ("out", 100_000 - p)])], vec![]).expect("p");
        let snap_q = compile(vec![rollout_flag(&salt, &[("in", q), ("out", 100_000 - q)])], vec![]).expect("q");
        let ctx = Context::new(key.as_str());
        let at_p = snap_p.evaluate("rollout", &ctx).expect("flag").variant_key() == "in";
        let at_q = snap_q.evaluate("rollout", &ctx).expect("flag").variant_key() == "in";
        prop_assert!(!at_p || at_q, "in at {p} but not at {q}");
    }
}

// ---------------------------------------------------------------- arbitrary flags

const ATTRS: &[&str] = &["key", "plan", "age", "email", "version", "created", "groups", "beta"];

fn operand() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z@.]{0,8}".prop_map(Value::from),
        prop_oneof![
            Just("1.2.3"),
            Just("2.0.0-rc.1"),
            Just("v1"),
            Just("2024-01-01T00:00:00Z"),
            Just("(a|b"),
            Just("^a.*$"),
            Just("seg-a"),
            Just("seg-b"),
            Just("nope")
        ]
        .prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        Just(json!([1, "x"])),
        Just(json!({"a": 1})),
    ]
}

/// Operands that suit the operator (so that most generated flags pass
/// validation and reach evaluation).
fn fitting_operands(op: Operator) -> BoxedStrategy<Vec<Value>> {
    let pick = |items: &'static [&'static str]| {
        prop::collection::vec(proptest::sample::select(items).prop_map(Value::from), 1..3).boxed()
    };
    let scalar = prop_oneof![
        "[a-z@.]{0,6}".prop_map(Value::from),
        (-100i32..100).prop_map(Value::from),
        any::<bool>().prop_map(Value::from)
    ];
    match op {
        Operator::Equals => scalar.prop_map(|v| vec![v]).boxed(),
        Operator::In => prop::collection::vec(scalar, 1..4).boxed(),
        Operator::Contains | Operator::StartsWith | Operator::EndsWith => {
            prop::collection::vec("[a-z@.]{0,4}".prop_map(Value::from), 1..3).boxed()
        }
        Operator::Matches => pick(&["^a", "b$", "[0-9]+", "(?i)X", ".*", "^\\p{L}+$"]),
        Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte => {
            prop::collection::vec((-100.0f64..100.0).prop_map(Value::from), 1..3).boxed()
        }
        Operator::SemverEq | Operator::SemverLt | Operator::SemverLte | Operator::SemverGt | Operator::SemverGte => {
            pick(&["0.0.0", "1.2.3", "2.0.0-rc.1", "2.0.0", "10.0.0+b"])
        }
        Operator::Before | Operator::After => prop::collection::vec(
            prop_oneof![
                Just(json!("2024-01-01T00:00:00Z")),
                Just(json!("1999-12-31T23:59:59.5+01:00")),
                Just(json!(1_700_000_000_000u64))
            ],
            1..3,
        )
        .boxed(),
        Operator::Exists => Just(vec![]).boxed(),
        Operator::InSegment => pick(&["seg-a", "seg-b"]),
    }
}

fn clause() -> impl Strategy<Value = Clause> {
    let op = proptest::sample::select(&Operator::ALL[..]);
    let with_values = op.prop_flat_map(|op| {
        let values = prop_oneof![7 => fitting_operands(op), 1 => prop::collection::vec(operand(), 0..3).boxed()];
        (Just(op), values)
    });
    (proptest::sample::select(&ATTRS[..8]), with_values, any::<bool>())
        .prop_map(|(attribute, (op, values), negate)| Clause { attribute: attribute.into(), op, values, negate })
}

fn serve() -> impl Strategy<Value = Serve> {
    prop_oneof![
        proptest::sample::select(&["on", "off", "x"][..]).prop_map(|v| Serve::Variant(v.into())),
        (0u32..=100_000, proptest::option::of(proptest::sample::select(ATTRS))).prop_map(|(w, by)| {
            Serve::Rollout(Rollout {
                bucket_by: by.map(Into::into),
                variations: vec![
                    WeightedVariant { variant: "on".into(), weight: w },
                    WeightedVariant { variant: "off".into(), weight: 100_000 - w },
                ],
            })
        }),
    ]
}

fn arbitrary_flag() -> impl Strategy<Value = Flag> {
    let rule = (prop::collection::vec(clause(), 0..4), serve(), 0u8..4).prop_map(|(clauses, serve, id)| Rule {
        id: format!("r{id}"),
        description: None,
        clauses,
        serve,
    });
    (
        prop::collection::vec(rule, 0..4),
        serve(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec("[a-z0-9-]{1,6}", 0..3),
    )
        .prop_map(|(rules, fallthrough, on, killed, target_keys)| Flag {
            key: "f".into(),
            kind: FlagKind::Boolean,
            variants: vec![
                Variant { key: "on".into(), value: json!(true), name: None, description: None },
                Variant { key: "off".into(), value: json!(false), name: None, description: None },
            ],
            salt: String::new(),
            version: 1,
            on,
            off_variant: "off".into(),
            kill: killed.then(|| switchyard_core::Kill {
                reason: "r".into(),
                by: "b".into(),
                at: "t".into(),
                incident: None,
            }),
            targets: vec![switchyard_core::Target { variant: "on".into(), keys: target_keys }],
            rules,
            fallthrough,
            fail_safe_variant: None,
        })
}

fn attr_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        "\\PC{0,10}".prop_map(Value::from),
        prop_oneof![Just("1.2.3"), Just("2.0.0-rc.1+b"), Just("2024-01-01T00:00:00Z"), Just("a@b.c")]
            .prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        prop::collection::vec("[a-z]{0,3}", 0..3).prop_map(Value::from),
    ]
}

fn arbitrary_context() -> impl Strategy<Value = Context<'static>> {
    ("\\PC{0,12}", prop::collection::btree_map(proptest::sample::select(&ATTRS[1..]), attr_value(), 0..6)).prop_map(
        |(key, attrs)| {
            let json = json!({"key": key, "attributes": attrs});
            serde_json::from_value(json).expect("generated contexts are valid")
        },
    )
}

fn segments() -> Vec<Segment> {
    let rule = |clauses| SegmentRule { id: String::new(), clauses };
    let c = |attribute: &str, op, values: Vec<Value>| Clause { attribute: attribute.into(), op, values, negate: false };
    vec![
        Segment {
            key: "seg-a".into(),
            version: 1,
            included: vec!["a".into()],
            excluded: vec![],
            rules: vec![rule(vec![c("plan", Operator::In, vec![json!("pro")])])],
        },
        Segment {
            key: "seg-b".into(),
            version: 1,
            included: vec![],
            excluded: vec!["b".into()],
            rules: vec![rule(vec![c("", Operator::InSegment, vec![json!("seg-a")])])],
        },
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// Any flag that compiles evaluates, for any context, without panicking
    /// and with a variant of the flag.
    #[test]
    fn valid_flags_never_panic(flag in arbitrary_flag(), contexts in prop::collection::vec(arbitrary_context(), 1..4)) {
        let Ok(snap) = compile(vec![flag], segments()) else { return Ok(()) };
        for ctx in &contexts {
            let ev = snap.evaluate("f", ctx).expect("flag exists");
            prop_assert!(ev.variant_key() == "on" || ev.variant_key() == "off");
            let _ = snap.bool_detail("f", ctx, false);
            let _ = snap.string_detail("f", ctx, String::new());
            let _ = snap.number_detail("f", ctx, 0.0);
            let _ = snap.evaluate_detail("f", ctx);
        }
    }
}

/// Guards the generator: most generated flags must compile, or the
/// never-panics property would only ever test validation.
#[test]
fn most_generated_flags_compile() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = arbitrary_flag();
    let total = 500;
    let ok = (0..total)
        .filter(|_| {
            let flag = strategy.new_tree(&mut runner).expect("tree").current();
            compile(vec![flag], segments()).is_ok()
        })
        .count();
    assert!(ok * 100 / total >= 25, "only {ok} of {total} generated flags compile");
}
