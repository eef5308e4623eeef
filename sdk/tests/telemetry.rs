//! Telemetry end to end over a real socket: evaluation counts per (flag,
//! variant), outcomes and events arrive at `POST /sdk/v1/telemetry` with the
//! SDK key; a server that refuses costs a bounded queue whose losses are
//! reported; telemetry off sends nothing.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Peer, SnapshotReply, bool_flag, fast_builder, snapshot, within};
use serde_json::{Value, json};
use switchyard::telemetry::{Exposure, LATENCY_BUCKETS_MS, Outcome, TelemetryBatch};
use switchyard::{Client, Context};

fn split_flag() -> Value {
    json!({"key": "split", "kind": "boolean", "on": true, "off_variant": "off",
        "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
        "fallthrough": {"rollout": {"variations": [
            {"variant": "on", "weight": 50000}, {"variant": "off", "weight": 50000}]}}})
}

/// A ready client with telemetry on, flushed only when the test says.
async fn client(peer: &Peer) -> Client {
    peer.default_snapshot(SnapshotReply::Json(snapshot(3, vec![split_flag(), bool_flag("plain", true)])));
    let client = fast_builder(peer)
        .streaming(false)
        .telemetry(true)
        .telemetry_flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    within("ready", client.wait_until_ready(Duration::from_secs(5))).await.unwrap();
    client
}

fn batches(peer: &Peer) -> Vec<TelemetryBatch> {
    peer.telemetry().into_iter().map(|v| serde_json::from_value(v).unwrap()).collect()
}

#[tokio::test]
async fn evaluations_outcomes_and_events_reach_the_server() {
    let peer = Peer::start().await;
    let client = client(&peer).await;

    let mut served: HashMap<String, u64> = HashMap::new();
    for i in 0..200 {
        let user = format!("user-{i}");
        let ctx = Context::new(&user);
        let d = client.bool_detail("split", &ctx, false);
        let variant = d.variant.as_deref().unwrap().to_owned();
        *served.entry(variant.clone()).or_default() += 1;
        // Every value read counts too: 200 details + 200 values.
        assert_eq!(client.bool_value("split", &ctx, false), d.value);
        let outcome = if i % 10 == 0 {
            Outcome::failed(Duration::from_millis(250))
        } else {
            Outcome::ok(Duration::from_millis(4))
        };
        client.record(Exposure::of("split", &d).unwrap(), outcome);
    }
    for _ in 0..3 {
        assert!(client.bool_value("plain", &Context::new("u"), false));
        assert!(!client.bool_value("no-such-flag", &Context::new("u"), false));
        assert_eq!(client.string_value("plain", &Context::new("u"), "wrong type"), "wrong type");
    }
    client.track("checkout", 1.0);
    client.track("checkout", 2.5);
    client.track("bad", f64::NAN);

    within("flush", client.flush()).await.unwrap();
    let got = batches(&peer);
    assert_eq!(got.len(), 1, "{got:?}");
    let b = &got[0];
    assert!(b.sdk.starts_with("switchyard-rust/") && !b.instance.is_empty() && b.start_ms <= b.end_ms);
    let count = |flag: &str, variant: &str| {
        b.evaluations.iter().find(|e| e.flag == flag && e.variant == variant).map_or(0, |e| e.count)
    };
    for variant in ["on", "off"] {
        assert_eq!(count("split", variant), 2 * served[variant], "{variant}");
    }
    assert_eq!(count("plain", "on"), 3);
    assert_eq!(b.unattributed, 6, "an unknown flag and a wrong type serve the default");
    assert_eq!(b.outcomes.iter().map(|o| o.requests).sum::<u64>(), 200);
    assert_eq!(b.outcomes.iter().map(|o| o.errors).sum::<u64>(), 20);
    for o in &b.outcomes {
        assert_eq!(o.latency_ms_buckets.len(), LATENCY_BUCKETS_MS.len() + 1);
        assert_eq!(o.latency_ms_buckets.iter().sum::<u64>(), o.requests);
        assert_eq!(o.requests, served[&o.variant]);
    }
    assert_eq!(b.events.len(), 1);
    assert_eq!((b.events[0].event.as_str(), b.events[0].count, b.events[0].value_sum), ("checkout", 2, 3.5));
    assert_eq!(b.dropped, 1, "the NaN event");
    let seen = peer.seen("telemetry");
    assert_eq!(seen[0].authorization.as_deref(), Some("Bearer sdk-test-key"));

    // Counters were taken: the next flush has nothing new to send.
    within("flush", client.flush()).await.unwrap();
    assert_eq!(batches(&peer).len(), 1);
}

#[tokio::test]
async fn a_refusing_server_costs_a_bounded_queue_and_losses_are_reported() {
    let peer = Peer::start().await;
    let client = client(&peer).await;
    peer.telemetry_status(503);
    for _ in 0..8 {
        client.track("checkout", 1.0);
        let err = within("flush", client.flush()).await.unwrap_err();
        let switchyard::Error::TelemetryNotSent { pending, .. } = err else { panic!("{err}") };
        assert!(pending <= 6, "{pending}");
    }
    peer.telemetry_status(0);
    within("flush", client.flush()).await.unwrap();
    let got = batches(&peer);
    // Six batches kept (one minute at the default interval), two lost and
    // reported: every event is either delivered or counted as dropped.
    assert_eq!(got.len(), 6);
    let delivered: u64 = got.iter().flat_map(|b| &b.events).map(|e| e.count).sum();
    let dropped: u64 = got.iter().map(|b| b.dropped).sum();
    assert_eq!((delivered, dropped), (6, 2));
}

#[tokio::test]
async fn telemetry_off_sends_nothing() {
    let peer = Peer::start().await;
    peer.default_snapshot(SnapshotReply::Json(snapshot(1, vec![bool_flag("plain", true)])));
    let client = fast_builder(&peer).streaming(false).build().unwrap();
    within("ready", client.wait_until_ready(Duration::from_secs(5))).await.unwrap();
    assert!(client.bool_value("plain", &Context::new("u"), false));
    client.record(Exposure::new("plain", "on"), Outcome::ok(Duration::from_millis(1)));
    client.track("checkout", 1.0);
    within("flush", client.flush()).await.unwrap();
    assert!(peer.seen("telemetry").is_empty());
}

#[tokio::test]
async fn the_background_flush_sends_without_being_asked() {
    let peer = Peer::start().await;
    peer.default_snapshot(SnapshotReply::Json(snapshot(1, vec![bool_flag("plain", true)])));
    let client = fast_builder(&peer)
        .streaming(false)
        .telemetry(true)
        .telemetry_flush_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    within("ready", client.wait_until_ready(Duration::from_secs(5))).await.unwrap();
    assert!(client.bool_value("plain", &Context::new("u"), false));
    common::eventually("a batch arrives", || !peer.telemetry().is_empty()).await;
    let b = &batches(&peer)[0];
    assert_eq!(b.evaluations[0].count, 1);
}

/// Inside a request scope, evaluations are remembered (details and values,
/// once per pair), outcomes go to the variants served, and events count
/// per variant as well as in total; another client's scope, a spawned
/// task and code outside the scope are not attributed.
#[tokio::test]
async fn request_scopes_attribute_outcomes_and_events_to_the_variants_served() {
    let peer = Peer::start().await;
    let client = client(&peer).await;
    let other =
        Client::from_snapshot(serde_json::from_value(snapshot(1, vec![bool_flag("plain", true)])).unwrap()).unwrap();
    let scope = client.request_scope();
    let ctx = Context::new("user-7");
    let split = scope
        .run(async {
            let d = client.bool_detail("split", &ctx, false);
            client.bool_value("split", &ctx, false);
            client.bool_value("plain", &ctx, false);
            client.bool_value("no-such-flag", &ctx, false);
            other.bool_value("plain", &ctx, false); // another client: not this scope's
            client.track("checkout", 4.0);
            let spawned = tokio::spawn({
                let client = client.clone();
                async move { client.bool_value("plain", &Context::new("elsewhere"), false) }
            });
            spawned.await.unwrap();
            d.variant.unwrap().to_string()
        })
        .await;
    let pairs: Vec<(String, String)> =
        scope.exposures().into_iter().map(|(f, v)| (f.to_string(), v.to_string())).collect();
    assert_eq!(pairs, [("split".to_string(), split.clone()), ("plain".to_string(), "on".to_string())]);
    client.track("checkout", 1.0); // outside: counted in total only
    assert_eq!(client.record(&scope, Outcome::failed(Duration::from_millis(9))), 2);
    assert_eq!(other.record(&scope, Outcome::ok(Duration::from_millis(1))), 0, "not its scope");

    within("flush", client.flush()).await.unwrap();
    let b = &batches(&peer)[0];
    let outcomes: Vec<(&str, &str, u64, u64)> =
        b.outcomes.iter().map(|o| (o.flag.as_str(), o.variant.as_str(), o.requests, o.errors)).collect();
    let mut expected = vec![("plain", "on", 1, 1), ("split", split.as_str(), 1, 1)];
    expected.sort();
    assert_eq!(outcomes, expected);
    assert_eq!((b.events[0].count, b.events[0].value_sum), (2, 5.0));
    let per_variant: Vec<(&str, &str, &str, u64, f64)> = b
        .variant_events
        .iter()
        .map(|e| (e.flag.as_str(), e.variant.as_str(), e.event.as_str(), e.count, e.value_sum))
        .collect();
    let mut expected = vec![("plain", "on", "checkout", 1, 4.0), ("split", split.as_str(), "checkout", 1, 4.0)];
    expected.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(per_variant, expected);
}
