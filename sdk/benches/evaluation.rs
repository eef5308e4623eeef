//! Criterion benchmarks of flag checks through the SDK's public API on an
//! offline client (`Client::from_snapshot`): what an application pays per
//! check, i.e. the core engine plus the snapshot load from the `ArcSwap`.
//!
//! Shapes (the same as `crates/core/benches/evaluation.rs`): A = boolean
//! flag on, no rules; B = three rules (`country` in [DE, FR, NL]; `plan`
//! equals "enterprise"; `email` ends_with "@example.com") and a 50/50
//! fallthrough rollout, with B1 matching no rule and B2 matching the third;
//! C = string flag split 33/33/34 by key; P = a flag of shape A with one
//! prerequisite (`flag-a` serves `on`).
//!
//! The `telemetry` rows run the same checks on a networked client with
//! telemetry on (`ClientBuilder::telemetry`), its snapshot served by a
//! small in-process HTTP server: what counting each (flag, variant) adds.
//!
//! `cargo bench -p switchyard --bench evaluation -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use switchyard::{Client, Context, Snapshot};

fn snapshot_json() -> serde_json::Value {
    let boolean = |key: &str, extra: serde_json::Value| {
        let mut flag = json!({"key": key, "kind": "boolean", "on": true, "off_variant": "off",
            "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
            "fallthrough": {"variant": "on"}});
        flag.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        flag
    };
    json!({"revision": 1, "flags": [
        boolean("flag-a", json!({})),
        boolean("flag-b", json!({
            "rules": [
                {"id": "eu", "clauses": [{"attribute": "country", "op": "in", "values": ["DE", "FR", "NL"]}],
                 "serve": {"variant": "on"}},
                {"id": "ent", "clauses": [{"attribute": "plan", "op": "equals", "values": ["enterprise"]}],
                 "serve": {"variant": "on"}},
                {"id": "staff", "clauses": [{"attribute": "email", "op": "ends_with", "values": ["@example.com"]}],
                 "serve": {"variant": "on"}}],
            "fallthrough": {"rollout": {"variations": [
                {"variant": "on", "weight": 50000}, {"variant": "off", "weight": 50000}]}}})),
        {"key": "flag-c", "kind": "string", "on": true, "off_variant": "a",
         "variants": [{"key": "a", "value": "A"}, {"key": "b", "value": "B"}, {"key": "c", "value": "C"}],
         "fallthrough": {"rollout": {"variations": [
             {"variant": "a", "weight": 33000}, {"variant": "b", "weight": 33000},
             {"variant": "c", "weight": 34000}]}}},
        boolean("flag-p", json!({"prerequisites": [{"flag": "flag-a", "variant": "on"}]}))
    ]})
}

fn client() -> Client {
    let snapshot: Snapshot = serde_json::from_value(snapshot_json()).expect("bench snapshot");
    Client::from_snapshot(snapshot).expect("compiles")
}

/// A networked client with telemetry on, served by an in-process server
/// that answers snapshot polls and accepts telemetry.
fn telemetry_client(rt: &tokio::runtime::Runtime) -> Client {
    use axum::routing::{get, post};
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let app = axum::Router::new()
            .route("/sdk/v1/snapshot", get(|| async { axum::Json(snapshot_json()) }))
            .route("/sdk/v1/telemetry", post(|| async { axum::http::StatusCode::ACCEPTED }));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        let client =
            Client::builder("bench-key").base_url(base).streaming(false).telemetry(true).build().expect("build");
        client.wait_until_ready(std::time::Duration::from_secs(10)).await.expect("ready");
        client
    })
}

fn sdk(c: &mut Criterion) {
    let client = client();
    let plain = Context::new("user-42");
    let b1 = Context::new("user-42").with("country", "SE").with("plan", "free").with("email", "bob@test.org");
    let b2 = Context::new("user-42").with("country", "SE").with("plan", "free").with("email", "bob@example.com");
    assert_eq!(client.bool_detail("flag-b", &b2, false).reason.code(), "RULE_MATCH");
    assert_eq!(client.bool_detail("flag-b", &b1, false).reason.code(), "FALLTHROUGH");
    assert_eq!(client.bool_detail("flag-p", &plain, false).reason.code(), "FALLTHROUGH");

    if let Ok(spec) = std::env::var("SWITCHYARD_SDK_LOOP") {
        loop_mode(&spec, &client, [&plain, &b2]);
    }
    let mut g = c.benchmark_group("sdk");
    g.bench_function("A bool_value", |b| b.iter(|| client.bool_value(black_box("flag-a"), black_box(&plain), false)));
    g.bench_function("B1 bool_value", |b| b.iter(|| client.bool_value(black_box("flag-b"), black_box(&b1), false)));
    g.bench_function("B2 bool_value", |b| b.iter(|| client.bool_value(black_box("flag-b"), black_box(&b2), false)));
    g.bench_function("C string_value", |b| b.iter(|| client.string_value(black_box("flag-c"), black_box(&plain), "x")));
    g.bench_function("P bool_value", |b| b.iter(|| client.bool_value(black_box("flag-p"), black_box(&plain), false)));
    g.bench_function("B2 bool_detail", |b| b.iter(|| client.bool_detail(black_box("flag-b"), black_box(&b2), false)));
    g.bench_function("missing bool_value", |b| {
        b.iter(|| client.bool_value(black_box("no-such-flag"), black_box(&plain), false))
    });

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let counted = telemetry_client(&rt);
    g.bench_function("A bool_value telemetry", |b| {
        b.iter(|| counted.bool_value(black_box("flag-a"), black_box(&plain), false))
    });
    g.bench_function("B2 bool_value telemetry", |b| {
        b.iter(|| counted.bool_value(black_box("flag-b"), black_box(&b2), false))
    });
    g.bench_function("C string_value telemetry", |b| {
        b.iter(|| counted.string_value(black_box("flag-c"), black_box(&plain), "x"))
    });
    g.finish();
}

/// `SWITCHYARD_SDK_LOOP="off|telemetry A|B2|P N"`: runs N checks of the
/// shape and exits, for counting instructions per check under valgrind
/// (N = 0 gives the baseline; see docs/benchmarks.md). Time moves with
/// the load of a shared machine, instructions do not.
fn loop_mode(spec: &str, plain_client: &Client, [plain, b2]: [&Context<'_>; 2]) {
    let parts: Vec<&str> = spec.split_whitespace().collect();
    let [mode, shape, n] = parts[..] else { panic!("SWITCHYARD_SDK_LOOP: `off|telemetry A|B2|P N`") };
    let n: u64 = n.parse().expect("N");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let client = if mode == "telemetry" { telemetry_client(&rt) } else { plain_client.clone() };
    let (key, ctx) = match shape {
        "A" => ("flag-a", plain),
        "P" => ("flag-p", plain),
        _ => ("flag-b", b2),
    };
    for _ in 0..n {
        black_box(client.bool_value(black_box(key), black_box(ctx), false));
    }
    std::process::exit(0);
}

criterion_group!(benches, sdk);
criterion_main!(benches);
