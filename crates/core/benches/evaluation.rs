//! Criterion benchmarks of lookup + evaluation (see docs/benchmarks.md).
//!
//! Shapes: A = boolean flag on, no rules; B = three rules (`country` in
//! [DE, FR, NL]; `plan` equals "enterprise"; `email` ends_with
//! "@example.com") and a 50/50 fallthrough rollout, with B1 matching no rule
//! and B2 matching the third; C = string flag split 33/33/34 by key;
//! P = a flag of shape A with one prerequisite (`flag-a` serves `on`), so
//! P − A is what following one prerequisite costs.
//!
//! `cargo bench -p switchyard-core --bench evaluation -- --warm-up-time 1 --measurement-time 3`
//!
//! On Linux the clock is the benchmark thread's CPU time (see [`clock`]);
//! set `SWITCHYARD_BENCH_CLOCK=wall` for wall-clock time.

use std::collections::HashMap;
use std::hint::black_box;

use criterion::measurement::Measurement;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use switchyard_core::strmap::{FastHashMap, StrTable};
use switchyard_core::{ChangeEvent, CompiledSnapshot, Context, Flag, Snapshot};

fn flag(value: serde_json::Value) -> Flag {
    serde_json::from_value(value).expect("bench flag")
}

fn flag_a(key: &str) -> Flag {
    flag(json!({"key": key, "kind": "boolean", "on": true, "off_variant": "off",
        "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
        "fallthrough": {"variant": "on"}}))
}

fn flag_b(key: &str) -> Flag {
    flag(json!({"key": key, "kind": "boolean", "on": true, "off_variant": "off",
        "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
        "rules": [
            {"id": "eu", "clauses": [{"attribute": "country", "op": "in", "values": ["DE", "FR", "NL"]}],
             "serve": {"variant": "on"}},
            {"id": "ent", "clauses": [{"attribute": "plan", "op": "equals", "values": ["enterprise"]}],
             "serve": {"variant": "on"}},
            {"id": "staff", "clauses": [{"attribute": "email", "op": "ends_with", "values": ["@example.com"]}],
             "serve": {"variant": "on"}}],
        "fallthrough": {"rollout": {"variations": [
            {"variant": "on", "weight": 50000}, {"variant": "off", "weight": 50000}]}}}))
}

fn flag_c(key: &str) -> Flag {
    flag(json!({"key": key, "kind": "string", "on": true, "off_variant": "a",
        "variants": [{"key": "a", "value": "A"}, {"key": "b", "value": "B"}, {"key": "c", "value": "C"}],
        "fallthrough": {"rollout": {"variations": [
            {"variant": "a", "weight": 33000}, {"variant": "b", "weight": 33000},
            {"variant": "c", "weight": 34000}]}}}))
}

fn flag_p(key: &str, needs: &str) -> Flag {
    let mut f = flag_a(key);
    f.prerequisites = vec![switchyard_core::Prerequisite { flag: needs.into(), variant: "on".into() }];
    f
}

fn small_snapshot() -> CompiledSnapshot {
    let flags = vec![flag_a("flag-a"), flag_b("flag-b"), flag_c("flag-c"), flag_p("flag-p", "flag-a")];
    let snap = Snapshot { revision: 1, flags, segments: vec![] };
    CompiledSnapshot::compile(&snap).expect("compiles")
}

fn big_snapshot() -> CompiledSnapshot {
    let flags = (0..1000)
        .map(|i| {
            let key = format!("flag-{i:04}");
            match i % 3 {
                0 => flag_a(&key),
                1 => flag_b(&key),
                _ => flag_c(&key),
            }
        })
        .collect();
    CompiledSnapshot::compile(&Snapshot { revision: 1, flags, segments: vec![] }).expect("compiles")
}

fn ctx_b1() -> Context<'static> {
    Context::new("user-42").with("country", "SE").with("plan", "free").with("email", "bob@test.org")
}

fn ctx_b2() -> Context<'static> {
    Context::new("user-42").with("country", "SE").with("plan", "free").with("email", "bob@example.com")
}

/// Lookup + evaluate; returns a pointer-sized result so nothing is optimised away.
fn eval<'s>(snap: &'s CompiledSnapshot, key: &str, ctx: &Context<'_>) -> Option<&'s str> {
    snap.evaluate(key, ctx).map(|e| e.variant_key())
}

fn prebuilt<M: Measurement>(c: &mut Criterion<M>) {
    let snap = small_snapshot();
    let (b1, b2, plain) = (ctx_b1(), ctx_b2(), Context::new("user-42"));
    assert_eq!(eval(&snap, "flag-b", &b2), Some("on"));
    assert_eq!(snap.evaluate("flag-p", &plain).map(|e| e.reason), Some(switchyard_core::EvalReason::Fallthrough));
    let mut g = c.benchmark_group("eval");
    g.bench_function("A", |b| b.iter(|| eval(&snap, black_box("flag-a"), black_box(&plain))));
    g.bench_function("B1", |b| b.iter(|| eval(&snap, black_box("flag-b"), black_box(&b1))));
    g.bench_function("B2", |b| b.iter(|| eval(&snap, black_box("flag-b"), black_box(&b2))));
    g.bench_function("C", |b| b.iter(|| eval(&snap, black_box("flag-c"), black_box(&plain))));
    g.bench_function("P", |b| b.iter(|| eval(&snap, black_box("flag-p"), black_box(&plain))));
    g.bench_function("B1 bool_detail", |b| b.iter(|| snap.bool_detail(black_box("flag-b"), black_box(&b1), false)));
    g.finish();
}

fn build_ctx(email: &'static str) -> Context<'static> {
    Context::new(black_box("user-42"))
        .with("country", black_box("SE"))
        .with("plan", black_box("free"))
        .with("email", black_box(email))
}

fn built_inside<M: Measurement>(c: &mut Criterion<M>) {
    let snap = small_snapshot();
    let mut g = c.benchmark_group("eval+ctx");
    g.bench_function("context only", |b| b.iter(|| build_ctx("bob@test.org")));
    g.bench_function("A", |b| b.iter(|| eval(&snap, black_box("flag-a"), &build_ctx("bob@test.org"))));
    g.bench_function("B1", |b| b.iter(|| eval(&snap, black_box("flag-b"), &build_ctx("bob@test.org"))));
    g.bench_function("B2", |b| b.iter(|| eval(&snap, black_box("flag-b"), &build_ctx("bob@example.com"))));
    g.bench_function("C", |b| b.iter(|| eval(&snap, black_box("flag-c"), &build_ctx("bob@test.org"))));
    g.finish();
}

fn thousand<M: Measurement>(c: &mut Criterion<M>) {
    let snap = big_snapshot();
    let (b1, plain) = (ctx_b1(), Context::new("user-42"));
    let mut g = c.benchmark_group("eval 1000 flags");
    g.bench_function("A", |b| b.iter(|| eval(&snap, black_box("flag-0777"), black_box(&plain))));
    g.bench_function("B1", |b| b.iter(|| eval(&snap, black_box("flag-0778"), black_box(&b1))));
    g.bench_function("C", |b| b.iter(|| eval(&snap, black_box("flag-0779"), black_box(&plain))));
    g.finish();
}

/// Applying a one-flag change (a toggle), as an SDK does per change event:
/// the incremental path next to what it replaced (copy the model, apply,
/// compile everything).
fn change<M: Measurement>(c: &mut Criterion<M>) {
    let mut g = c.benchmark_group("apply toggle");
    for n in [10usize, 1000] {
        let flags: Vec<Flag> = (0..n).map(|i| flag_b(&format!("flag-{i:04}"))).collect();
        let model = Snapshot { revision: 1, flags, segments: vec![] };
        let compiled = CompiledSnapshot::compile(&model).expect("compiles");
        let mut toggled = flag_b("flag-0003");
        toggled.on = false;
        let change = ChangeEvent { revision: 2, flags: vec![toggled], ..ChangeEvent::default() };
        g.bench_function(format!("{n} flags: with_change"), |b| {
            b.iter(|| compiled.with_change(black_box(change.clone())).map(|s| s.len()))
        });
        g.bench_function(format!("{n} flags: copy + apply + full compile"), |b| {
            b.iter(|| {
                let mut next = model.clone();
                next.apply(black_box(&change));
                CompiledSnapshot::compile_owned(next).map(|s| s.len())
            })
        });
    }
    g.finish();
}

/// Why the snapshot index is a [`StrTable`]: the alternatives, measured.
fn lookup<M: Measurement>(c: &mut Criterion<M>) {
    let keys: Vec<String> = (0..1000).map(|i| format!("flag-{i:04}")).collect();
    let table = StrTable::build(keys.iter().enumerate().map(|(i, k)| (k.as_str(), i)));
    let fx: FastHashMap<Box<str>, usize> = keys.iter().enumerate().map(|(i, k)| (k.as_str().into(), i)).collect();
    let sip: HashMap<Box<str>, usize> = keys.iter().enumerate().map(|(i, k)| (k.as_str().into(), i)).collect();
    let sorted: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut g = c.benchmark_group("lookup 1000 keys");
    g.bench_function("StrTable (used)", |b| b.iter(|| table.get(black_box("flag-0777")).copied()));
    g.bench_function("std HashMap + FastHasher", |b| b.iter(|| fx.get(black_box("flag-0777")).copied()));
    g.bench_function("std SipHash map", |b| b.iter(|| sip.get(black_box("flag-0777")).copied()));
    g.bench_function("sorted vec binary search", |b| b.iter(|| sorted.binary_search(&black_box("flag-0777")).ok()));
    g.finish();
}

#[path = "support/clock.rs"]
mod clock;

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(clock::Clock::from_env());
    targets = prebuilt, built_inside, thousand, lookup, change
}
criterion_main!(benches);
