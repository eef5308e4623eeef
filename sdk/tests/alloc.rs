//! Proves that flag checks through the public getters allocate nothing
//! beyond the returned value: a counting global allocator (per thread, the
//! harness allocates on other threads), many checks, count the delta.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

mod common;

use std::time::Duration;

use serde_json::{Value, json};
use switchyard::{Client, Context, Snapshot};

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn bump() {
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

/// Allocations per call, averaged over 1 000 calls.
fn per_call<R>(mut f: impl FnMut() -> R) -> u64 {
    black_box(f()); // warm up (thread-local ArcSwap debt slots)
    let before = ALLOCS.with(Cell::get);
    for _ in 0..1_000 {
        black_box(f());
    }
    (ALLOCS.with(Cell::get) - before) / 1_000
}

#[test]
fn getters_allocate_nothing_beyond_the_returned_value() {
    let snapshot: Snapshot = serde_json::from_value(json!({"revision": 1, "flags": [
        {"key": "b", "kind": "boolean", "on": true, "off_variant": "off",
         "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
         "rules": [{"id": "eu", "clauses": [{"attribute": "country", "op": "in", "values": ["DE", "FR"]}],
                    "serve": {"variant": "on"}}],
         "fallthrough": {"rollout": {"variations": [{"variant": "on", "weight": 50000}, {"variant": "off", "weight": 50000}]}}},
        {"key": "n", "kind": "number", "on": true, "off_variant": "x",
         "variants": [{"key": "x", "value": 3}], "fallthrough": {"variant": "x"}},
        {"key": "s", "kind": "string", "on": true, "off_variant": "x",
         "variants": [{"key": "x", "value": "hello"}], "fallthrough": {"variant": "x"}},
        {"key": "p", "kind": "boolean", "on": true, "off_variant": "off",
         "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
         "prerequisites": [{"flag": "b", "variant": "on"}], "fallthrough": {"variant": "on"}}
    ]}))
    .unwrap();
    let client = Client::from_snapshot(snapshot).unwrap();
    let eu = Context::new("user-1").with("country", "DE");
    let other = Context::new("user-2").with("country", "SE");

    assert_eq!(per_call(|| client.bool_value("b", &eu, false)), 0);
    assert_eq!(per_call(|| client.bool_value("b", &other, false)), 0);
    assert_eq!(per_call(|| client.bool_value("missing", &other, false)), 0);
    assert_eq!(per_call(|| client.number_value("n", &eu, 0.0)), 0);
    assert_eq!(per_call(|| client.json_value("b", &eu, Value::Null)), 0);
    assert_eq!(per_call(|| client.bool_detail("b", &eu, false)), 0, "details share the variant and rule id");
    assert_eq!(per_call(|| client.number_detail("n", &eu, 0.0)), 0);
    // A flag with a prerequisite, met (rule `eu` of `b`) and not met.
    let sweden = Context::new("user-4").with("country", "SE");
    assert!(!client.bool_value("b", &sweden, true), "user-4 is in b's off half");
    assert_eq!(client.bool_detail("p", &sweden, true).reason.code(), "PREREQUISITE_FAILED");
    assert!(client.bool_value("p", &eu, false));
    assert_eq!(per_call(|| client.bool_value("p", &eu, false)), 0);
    assert_eq!(per_call(|| client.bool_value("p", &sweden, true)), 0);
    assert_eq!(per_call(|| client.bool_detail("p", &sweden, true)), 0, "the reason shares the prerequisite's key");
    // The returned String is the only allocation; a `&str` default is not
    // converted unless it is served.
    assert_eq!(per_call(|| client.string_value("s", &eu, "default")), 1);
    assert_eq!(per_call(|| client.string_value("missing", &eu, "default")), 1);
}

/// With telemetry on, every check also counts its (flag, variant): still no
/// allocation (the counters are allocated when a snapshot is applied).
#[tokio::test]
async fn telemetry_counting_allocates_nothing() {
    let peer = common::Peer::start().await;
    let flag = json!({"key": "b", "kind": "boolean", "on": true, "off_variant": "off",
        "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
        "fallthrough": {"rollout": {"variations": [{"variant": "on", "weight": 50000}, {"variant": "off", "weight": 50000}]}}});
    peer.default_snapshot(common::SnapshotReply::Json(common::snapshot(1, vec![flag])));
    let client = common::fast_builder(&peer)
        .streaming(false)
        .telemetry(true)
        .telemetry_flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    common::within("ready", client.wait_until_ready(Duration::from_secs(5))).await.unwrap();
    let ctx = Context::new("user-1");
    assert_eq!(per_call(|| client.bool_value("b", &ctx, false)), 0);
    assert_eq!(per_call(|| client.bool_value("missing", &ctx, false)), 0);
    assert_eq!(per_call(|| client.bool_detail("b", &ctx, false)), 0);
    // The counts are real: 1 000 + 1 warm-up per call above, flushed.
    client.flush().await.unwrap();
    let batch: switchyard::telemetry::TelemetryBatch = serde_json::from_value(peer.telemetry()[0].clone()).unwrap();
    assert_eq!(batch.evaluations.iter().map(|e| e.count).sum::<u64>(), 2_002);
    assert_eq!(batch.unattributed, 1_001);
}
