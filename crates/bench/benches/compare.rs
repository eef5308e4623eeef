//! Side-by-side evaluation: the same four shapes in Switchyard,
//! `unleash-yggdrasil` (Unleash's Rust engine) and
//! `launchdarkly-server-sdk-evaluation` (LaunchDarkly's Rust engine), in one
//! criterion run, then a table of medians and ratios (see docs/benchmarks.md).
//!
//! ```text
//! cargo bench -p switchyard-bench --bench compare -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Shapes: **A** boolean flag on, no rules; **B** three rules (`country` in
//! [DE, FR, NL]; `plan` equals "enterprise"; `email` ends with
//! "@example.com") then a 50 % rollout by key, **B1** matching no rule,
//! **B2** matching the third; **C** string flag split 33/33/34 by key.
//! Each engine is called as its SDK calls it: look the flag up by key in
//! the engine's store, evaluate with a context built beforehand. Unleash has
//! no rules-then-rollout flag: B is three `default` strategies with one
//! constraint each, then a 50 % `flexibleRollout` (strategies are ORed, in
//! order); C is a flag with three weighted variants (`get_variant`, which
//! returns an owned variant). LaunchDarkly's store is a `HashMap` of flags,
//! evaluated by reference (its SDK's store clones the flag; not done here).
//!
//! The clock is the thread's CPU time on Linux, as in
//! `crates/core/benches/evaluation.rs` (`SWITCHYARD_BENCH_CLOCK=wall` for
//! wall time). With `SWITCHYARD_EVAL_LOOP="<engine> <shape> <n>"` the binary
//! instead evaluates one shape `n` times and exits: `crates/bench/instructions.sh`
//! runs that under valgrind to count instructions per evaluation, which,
//! unlike time, does not move with the load of a shared machine.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::Criterion;
use criterion::measurement::Measurement;

#[path = "../../core/benches/support/clock.rs"]
mod clock;

/// The shapes, in report order.
const SHAPES: [&str; 4] = ["A", "B1", "B2", "C"];
/// The engines, in report order (Switchyard first: ratios are against it).
const ENGINES: [&str; 3] = ["switchyard", "yggdrasil", "launchdarkly"];

/// One evaluation per engine: a flag key and what the engine needs for it.
mod switchyard_side {
    use serde_json::json;
    use switchyard_core::{CompiledSnapshot, Context, Snapshot};

    pub struct Engine {
        snap: CompiledSnapshot,
        plain: Context<'static>,
        b1: Context<'static>,
        b2: Context<'static>,
    }

    impl Engine {
        pub fn new() -> Self {
            let bools = json!([{"key": "on", "value": true}, {"key": "off", "value": false}]);
            let snap: Snapshot = serde_json::from_value(json!({"revision": 1, "flags": [
                {"key": "flag-a", "kind": "boolean", "on": true, "off_variant": "off", "variants": bools,
                 "fallthrough": {"variant": "on"}},
                {"key": "flag-b", "kind": "boolean", "on": true, "off_variant": "off", "variants": bools,
                 "rules": [
                    {"id": "eu", "clauses": [{"attribute": "country", "op": "in", "values": ["DE", "FR", "NL"]}],
                     "serve": {"variant": "on"}},
                    {"id": "ent", "clauses": [{"attribute": "plan", "op": "equals", "values": ["enterprise"]}],
                     "serve": {"variant": "on"}},
                    {"id": "staff", "clauses": [{"attribute": "email", "op": "ends_with", "values": ["@example.com"]}],
                     "serve": {"variant": "on"}}],
                 "fallthrough": {"rollout": {"variations": [
                    {"variant": "on", "weight": 50000}, {"variant": "off", "weight": 50000}]}}},
                {"key": "flag-c", "kind": "string", "on": true, "off_variant": "a",
                 "variants": [{"key": "a", "value": "A"}, {"key": "b", "value": "B"}, {"key": "c", "value": "C"}],
                 "fallthrough": {"rollout": {"variations": [
                    {"variant": "a", "weight": 33000}, {"variant": "b", "weight": 33000},
                    {"variant": "c", "weight": 34000}]}}}]}))
            .expect("snapshot");
            let ctx = |email| Context::new("user-42").with("country", "SE").with("plan", "free").with("email", email);
            Engine {
                snap: CompiledSnapshot::compile(&snap).expect("compiles"),
                plain: Context::new("user-42"),
                b1: ctx("bob@test.org"),
                b2: ctx("bob@example.com"),
            }
        }

        /// One evaluation of `shape`, resolved ahead: the closure returns
        /// the variant key served (pointer-sized, so nothing is optimised away).
        pub fn case<'s>(&'s self, shape: &str) -> impl Fn() -> Option<&'s str> + 's {
            use std::hint::black_box;
            let (key, ctx) = match shape {
                "A" => ("flag-a", &self.plain),
                "B1" => ("flag-b", &self.b1),
                "B2" => ("flag-b", &self.b2),
                _ => ("flag-c", &self.plain),
            };
            move || self.snap.evaluate(black_box(key), black_box(ctx)).map(|e| e.variant_key())
        }
    }
}

mod yggdrasil_side {
    use std::collections::HashMap;

    use serde_json::json;
    use unleash_types::client_features::ClientFeatures;
    use unleash_yggdrasil::{Context, EngineState};

    pub struct Engine {
        engine: EngineState,
        plain: Context,
        b1: Context,
        b2: Context,
    }

    fn constraint(name: &str, op: &str, values: &[&str]) -> serde_json::Value {
        json!({"name": "default", "constraints": [{"contextName": name, "operator": op, "values": values}]})
    }

    impl Engine {
        pub fn new() -> Self {
            let variant = |name: &str, weight: i32, value: &str| {
                json!({"name": name, "weight": weight, "weightType": "variable", "stickiness": "userId",
                       "payload": {"type": "string", "value": value}})
            };
            let features: ClientFeatures = serde_json::from_value(json!({"version": 2, "features": [
                {"name": "flag-a", "enabled": true, "strategies": []},
                {"name": "flag-b", "enabled": true, "strategies": [
                    constraint("country", "IN", &["DE", "FR", "NL"]),
                    constraint("plan", "IN", &["enterprise"]),
                    constraint("email", "STR_ENDS_WITH", &["@example.com"]),
                    {"name": "flexibleRollout", "parameters":
                        {"rollout": "50", "stickiness": "userId", "groupId": "flag-b"}}]},
                {"name": "flag-c", "enabled": true, "strategies": [{"name": "default"}],
                 "variants": [variant("a", 330, "A"), variant("b", 330, "B"), variant("c", 340, "C")]}]}))
            .expect("unleash features");
            let engine = EngineState::default();
            let warnings = engine.take_state(unleash_yggdrasil::UpdateMessage::FullResponse(features));
            assert!(warnings.as_ref().is_none_or(|w| w.is_empty()), "unleash warnings: {warnings:?}");
            let ctx = |email: &str| Context {
                user_id: Some("user-42".into()),
                properties: Some(HashMap::from([
                    ("country".into(), "SE".into()),
                    ("plan".into(), "free".into()),
                    ("email".into(), email.into()),
                ])),
                ..Context::default()
            };
            let plain = Context { user_id: Some("user-42".into()), ..Context::default() };
            Engine { engine, plain, b1: ctx("bob@test.org"), b2: ctx("bob@example.com") }
        }

        /// One evaluation of `shape`: `is_enabled` for A and B (1 = on), the
        /// served variant name's length for C (`get_variant`).
        pub fn case(&self, shape: &str) -> impl Fn() -> usize + '_ {
            use std::hint::black_box;
            let (key, ctx, variant) = match shape {
                "A" => ("flag-a", &self.plain, false),
                "B1" => ("flag-b", &self.b1, false),
                "B2" => ("flag-b", &self.b2, false),
                _ => ("flag-c", &self.plain, true),
            };
            move || {
                if variant {
                    self.engine.get_variant(black_box(key), black_box(ctx), &None).name.len()
                } else {
                    usize::from(self.engine.is_enabled(black_box(key), black_box(ctx), &None))
                }
            }
        }
    }
}

mod launchdarkly_side {
    use std::collections::HashMap;

    use launchdarkly_server_sdk_evaluation::{AttributeValue, Context, ContextBuilder, Flag, Segment, Store, evaluate};
    use serde_json::json;

    /// LaunchDarkly's in-memory store shape: flags by key.
    pub struct Flags(HashMap<String, Flag>);

    impl Store for Flags {
        fn flag(&self, key: &str) -> Option<Flag> {
            self.0.get(key).cloned()
        }
        fn segment(&self, _key: &str) -> Option<Segment> {
            None
        }
    }

    pub struct Engine {
        flags: Flags,
        plain: Context,
        b1: Context,
        b2: Context,
    }

    fn flag(
        key: &str,
        variations: serde_json::Value,
        rules: serde_json::Value,
        fallthrough: serde_json::Value,
    ) -> Flag {
        serde_json::from_value(json!({"key": key, "version": 1, "on": true, "targets": [], "contextTargets": [],
            "rules": rules, "prerequisites": [], "fallthrough": fallthrough, "offVariation": 1,
            "variations": variations, "salt": key, "clientSide": false}))
        .expect("launchdarkly flag")
    }

    fn rule(id: &str, attribute: &str, op: &str, values: &[&str]) -> serde_json::Value {
        json!({"id": id, "variation": 0, "trackEvents": false, "clauses": [
            {"contextKind": "user", "attribute": attribute, "op": op, "values": values, "negate": false}]})
    }

    impl Engine {
        pub fn new() -> Self {
            let bools = json!([true, false]);
            let rollout = |w: &[u32]| {
                let v: Vec<_> = w.iter().enumerate().map(|(i, w)| json!({"variation": i, "weight": w})).collect();
                json!({"rollout": {"variations": v}})
            };
            let flags = [
                flag("flag-a", bools.clone(), json!([]), json!({"variation": 0})),
                flag(
                    "flag-b",
                    bools,
                    json!([
                        rule("eu", "country", "in", &["DE", "FR", "NL"]),
                        rule("ent", "plan", "in", &["enterprise"]),
                        rule("staff", "email", "endsWith", &["@example.com"])
                    ]),
                    rollout(&[50_000, 50_000]),
                ),
                flag("flag-c", json!(["A", "B", "C"]), json!([]), rollout(&[33_000, 33_000, 34_000])),
            ];
            let ctx = |email: &str| {
                ContextBuilder::new("user-42")
                    .set_value("country", AttributeValue::from("SE"))
                    .set_value("plan", AttributeValue::from("free"))
                    .set_value("email", AttributeValue::from(email))
                    .build()
                    .expect("context")
            };
            Engine {
                flags: Flags(flags.into_iter().map(|f| (f.key.clone(), f)).collect()),
                plain: ContextBuilder::new("user-42").build().expect("context"),
                b1: ctx("bob@test.org"),
                b2: ctx("bob@example.com"),
            }
        }

        /// One evaluation of `shape`: the index of the variation served.
        pub fn case(&self, shape: &str) -> impl Fn() -> Option<usize> + '_ {
            use std::hint::black_box;
            let (key, ctx) = match shape {
                "A" => ("flag-a", &self.plain),
                "B1" => ("flag-b", &self.b1),
                "B2" => ("flag-b", &self.b2),
                _ => ("flag-c", &self.plain),
            };
            move || {
                let flag = self.flags.0.get(black_box(key))?;
                evaluate(&self.flags, flag, black_box(ctx), None).variation_index.map(|i| i as usize)
            }
        }
    }
}

struct Engines {
    switchyard: switchyard_side::Engine,
    yggdrasil: yggdrasil_side::Engine,
    launchdarkly: launchdarkly_side::Engine,
}

impl Engines {
    /// Builds the three engines and checks they agree where the shapes
    /// leave no choice (A on, B2 on; B1 and C depend on each hash).
    fn new() -> Self {
        let e = Engines {
            switchyard: switchyard_side::Engine::new(),
            yggdrasil: yggdrasil_side::Engine::new(),
            launchdarkly: launchdarkly_side::Engine::new(),
        };
        for shape in ["A", "B2"] {
            assert_eq!(e.switchyard.case(shape)(), Some("on"), "switchyard {shape}");
            assert_eq!(e.yggdrasil.case(shape)(), 1, "yggdrasil {shape}");
            assert_eq!(e.launchdarkly.case(shape)(), Some(0), "launchdarkly {shape}");
        }
        assert!(matches!(e.switchyard.case("C")(), Some("a" | "b" | "c")));
        assert_eq!(e.yggdrasil.case("C")(), 1, "yggdrasil C serves a variant");
        assert!(e.launchdarkly.case("C")().is_some_and(|i| i < 3));
        e
    }
}

/// Calls `f` `n` times.
fn repeat<R>(n: u64, f: impl Fn() -> R) {
    for _ in 0..n {
        black_box(f());
    }
}

fn bench<M: Measurement>(c: &mut Criterion<M>, engines: &Engines) {
    for shape in SHAPES {
        let mut g = c.benchmark_group(format!("compare-{shape}"));
        // The shape is resolved outside the timed loop (`case`).
        g.bench_function("switchyard", |b| b.iter(engines.switchyard.case(shape)));
        g.bench_function("yggdrasil", |b| b.iter(engines.yggdrasil.case(shape)));
        g.bench_function("launchdarkly", |b| b.iter(engines.launchdarkly.case(shape)));
        g.finish();
    }
}

/// Where criterion writes (`$CARGO_TARGET_DIR` or the workspace `target`).
fn criterion_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("criterion")
}

/// The median of the last run of one benchmark, in ns.
fn median_ns(dir: &std::path::Path, shape: &str, engine: &str) -> Option<f64> {
    let path = dir.join(format!("compare-{shape}")).join(engine).join("new/estimates.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn print_ratios(dir: &std::path::Path) {
    println!("\nmedians (ns) and ratios to switchyard, this run:");
    println!(
        "{:<6} {:>12} {:>12} {:>14} {:>11} {:>13}",
        "shape", "switchyard", "yggdrasil", "launchdarkly", "ygg/sw", "ld/sw"
    );
    for shape in SHAPES {
        let m: Vec<Option<f64>> = ENGINES.iter().map(|e| median_ns(dir, shape, e)).collect();
        let (Some(sw), Some(ygg), Some(ld)) = (m[0], m[1], m[2]) else {
            println!("{shape:<6} (not run)");
            continue;
        };
        println!("{shape:<6} {sw:>12.2} {ygg:>12.2} {ld:>14.2} {:>10.1}x {:>12.1}x", ygg / sw, ld / sw);
    }
}

/// `SWITCHYARD_EVAL_LOOP="<engine> <shape> <n>"`: evaluate `n` times, for
/// counting instructions under valgrind (setup is the same for every `n`).
fn eval_loop(spec: &str, engines: &Engines) {
    let parts: Vec<&str> = spec.split_whitespace().collect();
    let [engine, shape, n] = parts[..] else {
        panic!("SWITCHYARD_EVAL_LOOP must be `<engine> <shape> <n>`, got {spec:?}");
    };
    assert!(ENGINES.contains(&engine) && SHAPES.contains(&shape), "unknown engine or shape in {spec:?}");
    let n: u64 = n.parse().expect("n");
    match engine {
        "switchyard" => repeat(n, engines.switchyard.case(shape)),
        "yggdrasil" => repeat(n, engines.yggdrasil.case(shape)),
        _ => repeat(n, engines.launchdarkly.case(shape)),
    }
}

fn main() {
    let engines = Engines::new();
    if let Ok(spec) = std::env::var("SWITCHYARD_EVAL_LOOP") {
        return eval_loop(&spec, &engines);
    }
    let dir = criterion_dir();
    let mut c =
        Criterion::default().with_measurement(clock::Clock::from_env()).output_directory(&dir).configure_from_args();
    bench(&mut c, &engines);
    c.final_summary();
    print_ratios(&dir);
}
