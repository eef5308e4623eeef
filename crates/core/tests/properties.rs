//! Property tests: rollout distribution and monotonicity, and evaluation
//! never panicking on any flag that passes validation.

mod arbitrary;

use arbitrary::{arbitrary_context, arbitrary_flag, segments};
use proptest::prelude::*;
use serde_json::json;
use switchyard_core::{
    CompiledSnapshot, Context, Flag, FlagKind, Rollout, Segment, Serve, Snapshot, Variant, WeightedVariant,
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
        prerequisites: vec![],
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
