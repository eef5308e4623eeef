//! Proves that evaluation and context building do not allocate: a counting
//! global allocator, evaluations repeated many times, count delta must be 0.
//!
//! Counting is per thread (the test harness allocates on other threads).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

use serde_json::json;
use switchyard_core::{CompiledSnapshot, Context, Snapshot};

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn bump() {
    // `try_with`: the slot may be gone while a thread shuts down.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: delegates every call to `System`, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations<R>(mut f: impl FnMut() -> R) -> u64 {
    let before = ALLOCS.with(Cell::get);
    for _ in 0..1_000 {
        black_box(f());
    }
    ALLOCS.with(Cell::get) - before
}

fn snapshot() -> CompiledSnapshot {
    let bool_variants = json!([{"key": "on", "value": true}, {"key": "off", "value": false}]);
    let half =
        json!({"rollout": {"variations": [{"variant": "on", "weight": 50000}, {"variant": "off", "weight": 50000}]}});
    let snap: Snapshot = serde_json::from_value(json!({
        "revision": 1,
        "segments": [
            {"key": "staff", "included": ["alice"]},
            {"key": "beta", "excluded": ["mallory"], "rules": [{"clauses": [
                {"op": "in_segment", "values": ["staff"]}]}, {"clauses": [
                {"attribute": "groups", "op": "in", "values": ["beta", "early"]}]}]}],
        "flags": [
            {"key": "a", "kind": "boolean", "on": true, "off_variant": "off", "variants": bool_variants,
             "fallthrough": {"variant": "on"}},
            {"key": "b", "kind": "boolean", "on": true, "off_variant": "off", "variants": bool_variants,
             "rules": [
                {"id": "eu", "clauses": [{"attribute": "country", "op": "in", "values": ["DE", "FR", "NL"]}], "serve": {"variant": "on"}},
                {"id": "ent", "clauses": [{"attribute": "plan", "op": "equals", "values": ["enterprise"]}], "serve": {"variant": "on"}},
                {"id": "staff", "clauses": [{"attribute": "email", "op": "ends_with", "values": ["@example.com"]}], "serve": {"variant": "on"}}],
             "fallthrough": half},
            {"key": "c", "kind": "string", "on": true, "off_variant": "x",
             "variants": [{"key": "x", "value": "X"}, {"key": "y", "value": "Y"}, {"key": "z", "value": "Z"}],
             "fallthrough": {"rollout": {"variations": [{"variant": "x", "weight": 33000}, {"variant": "y", "weight": 33000}, {"variant": "z", "weight": 34000}]}}},
            {"key": "seg", "kind": "boolean", "on": true, "off_variant": "off", "variants": bool_variants,
             "rules": [{"id": "s", "clauses": [{"op": "in_segment", "values": ["beta"]}], "serve": {"variant": "on"}}],
             "fallthrough": {"variant": "off"}},
            {"key": "re", "kind": "boolean", "on": true, "off_variant": "off", "variants": bool_variants,
             "rules": [
                {"id": "v", "clauses": [{"attribute": "version", "op": "semver_gte", "values": ["2.0.0-rc.1.long-prerelease"]},
                                        {"attribute": "created", "op": "after", "values": ["2020-01-01T00:00:00Z"]}], "serve": {"variant": "off"}},
                {"id": "r", "clauses": [{"attribute": "email", "op": "matches", "values": ["^[a-z.]+@(example|test)\\.(com|org)$"]}], "serve": {"variant": "on"}}],
             "fallthrough": {"variant": "off"}},
            {"key": "p", "kind": "boolean", "on": true, "off_variant": "off", "variants": bool_variants,
             "prerequisites": [{"flag": "a", "variant": "on"}], "fallthrough": {"variant": "on"}},
            {"key": "p2", "kind": "boolean", "on": true, "off_variant": "off", "variants": bool_variants,
             "prerequisites": [{"flag": "p", "variant": "on"}, {"flag": "seg", "variant": "on"}],
             "fallthrough": {"variant": "on"}},
            {"key": "num", "kind": "string", "on": true, "off_variant": "x",
             "variants": [{"key": "x", "value": "X"}, {"key": "y", "value": "Y"}],
             "fallthrough": {"rollout": {"bucket_by": "org_id", "variations": [{"variant": "x", "weight": 50000}, {"variant": "y", "weight": 50000}]}}}
        ]
    }))
    .expect("snapshot json");
    CompiledSnapshot::compile(&snap).expect("compiles")
}

fn check(snap: &CompiledSnapshot, flag: &str, ctx: &Context<'_>, variant: &str, reason: &str) {
    let ev = snap.evaluate(flag, ctx).expect("flag exists");
    assert_eq!((ev.variant_key(), ev.reason().code()), (variant, reason), "{flag}");
    let n = allocations(|| snap.evaluate(black_box(flag), black_box(ctx)).map(|e| e.variant_key()));
    assert_eq!(n, 0, "{flag}: {n} allocations in 1000 evaluations");
}

#[test]
fn evaluation_does_not_allocate() {
    let snap = snapshot();
    let b1 = Context::new("user-42").with("country", "SE").with("plan", "free").with("email", "bob@test.org");
    let b2 = Context::new("user-42").with("country", "SE").with("plan", "free").with("email", "bob@example.com");
    let plain = Context::new("user-42");
    check(&snap, "a", &plain, "on", "FALLTHROUGH");
    let b1_variant = snap.evaluate("b", &b1).map(|e| e.variant_key()).unwrap_or_default();
    check(&snap, "b", &b1, b1_variant, "FALLTHROUGH");
    check(&snap, "b", &b2, "on", "RULE_MATCH");
    let c_variant = snap.evaluate("c", &plain).map(|e| e.variant_key()).unwrap_or_default();
    check(&snap, "c", &plain, c_variant, "FALLTHROUGH");
    // Segment membership through a nested segment, and through a list attribute.
    check(&snap, "seg", &Context::new("alice"), "on", "RULE_MATCH");
    check(&snap, "seg", &Context::new("bob").with("groups", vec!["x", "early"]), "on", "RULE_MATCH");
    check(&snap, "seg", &Context::new("mallory").with("groups", vec!["beta"]), "off", "FALLTHROUGH");
    // Regex match (after the regex's per-thread cache exists), long semver
    // pre-release and RFC 3339 parsing on the context side.
    let re = Context::new("u")
        .with("email", "bob@example.com")
        .with("version", "1.0.0-beta.with.many.identifiers+build.metadata")
        .with("created", "2024-05-01T12:00:00.123+02:00");
    check(&snap, "re", &re, "on", "RULE_MATCH");
    // Bucketing by an integral number formats it on the stack.
    let num = Context::new("u").with("org_id", 123_456_789);
    let num_variant = snap.evaluate("num", &num).map(|e| e.variant_key()).unwrap_or_default();
    check(&snap, "num", &num, num_variant, "FALLTHROUGH");
    // Prerequisites: one met, a chain of two, and one not met for this context.
    check(&snap, "p", &plain, "on", "FALLTHROUGH");
    check(&snap, "p2", &Context::new("alice"), "on", "FALLTHROUGH");
    check(&snap, "p2", &plain, "off", "PREREQUISITE_FAILED");
    let failed = snap.evaluate("p2", &plain).map(|e| e.reason());
    assert_eq!(
        failed.map(|r| serde_json::to_value(r).unwrap()),
        Some(json!({"kind": "PREREQUISITE_FAILED", "prerequisite": "seg", "cause": "NOT_MET"}))
    );
    assert_eq!(allocations(|| snap.bool_value(black_box("p2"), &plain, true)), 0);
    // Typed values (no detail) do not allocate either for bool flags.
    assert_eq!(allocations(|| snap.bool_value(black_box("b"), &b2, false)), 0);
}

#[test]
fn building_a_borrowed_context_does_not_allocate() {
    let n = allocations(|| {
        Context::new(black_box("user-42"))
            .with("country", black_box("SE"))
            .with("plan", black_box("pro"))
            .with("email", black_box("bob@example.com"))
    });
    assert_eq!(n, 0, "{n} allocations building 1000 contexts");
    let n = allocations(|| Context::new("u").with("age", 42).with("beta", true).with("score", 1.5));
    assert_eq!(n, 0);
}

#[test]
fn the_counter_counts() {
    assert!(allocations(|| Box::new(black_box(1u8))) >= 1_000);
}
