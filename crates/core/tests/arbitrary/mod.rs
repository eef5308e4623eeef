//! Generators shared by the property tests: flags that mostly pass
//! validation, contexts, and two segments (`seg-b` uses `seg-a`).

use proptest::prelude::*;
use serde_json::{Value, json};
use switchyard_core::{
    Clause, Context, Flag, FlagKind, Operator, Rollout, Rule, Segment, SegmentRule, Serve, Variant, WeightedVariant,
};

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

pub fn clause() -> impl Strategy<Value = Clause> {
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

pub fn arbitrary_flag() -> impl Strategy<Value = Flag> {
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
            prerequisites: Vec::new(),
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

pub fn arbitrary_context() -> impl Strategy<Value = Context<'static>> {
    ("\\PC{0,12}", prop::collection::btree_map(proptest::sample::select(&ATTRS[1..]), attr_value(), 0..6)).prop_map(
        |(key, attrs)| {
            let json = json!({"key": key, "attributes": attrs});
            serde_json::from_value(json).expect("generated contexts are valid")
        },
    )
}

pub fn segments() -> Vec<Segment> {
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
