//! Failure handling against a fault-injection peer (see `common`): server
//! errors, rate limits, rejected keys, silence, polling, staleness.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use switchyard::{Context, Error, Status};
use tokio_stream::StreamExt;

fn ctx() -> Context<'static> {
    Context::new("user-1")
}

#[tokio::test]
async fn server_errors_and_rate_limits_back_off_then_recover() {
    let peer = Peer::start().await;
    peer.push_stream(StreamReply::Status(500, vec![]));
    peer.push_stream(StreamReply::Status(429, vec![("retry-after", "1".into())]));
    peer.push_stream(StreamReply::Sse(vec![snapshot_frame(&snapshot(2, vec![bool_flag("a", true)])), Step::Hold]));
    let client = fast_builder(&peer).build().unwrap();
    let mut statuses = client.status_stream();
    within("ready", client.wait_until_ready(Duration::from_secs(5))).await.unwrap();
    let streams = peer.streams_seen();
    assert_eq!(streams.len(), 3);
    let waited = streams[2].at - streams[1].at;
    assert!(waited >= Duration::from_millis(950), "Retry-After honoured: waited {waited:?}");
    // The status went through Error (no data yet) before Ready.
    let mut seen = Vec::new();
    while let Ok(Some(s)) = tokio::time::timeout(Duration::from_millis(50), statuses.next()).await {
        seen.push(s.code());
    }
    assert_eq!(seen.last(), Some(&"READY"), "{seen:?}");
}

#[tokio::test]
async fn unauthorized_is_reported_at_once_and_never_retried_in_a_tight_loop() {
    let peer = Peer::start().await;
    peer.default_stream(StreamReply::Status(401, vec![]));
    peer.default_snapshot(SnapshotReply::Status(401));
    let client = fast_builder(&peer).polling_interval(Duration::from_millis(20)).build().unwrap();
    let started = Instant::now();
    let err = within("wait", client.wait_until_ready(Duration::from_secs(5))).await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(client.status(), Status::Unauthorized);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(peer.streams_seen().len(), 1, "no stream retries within the minute");
    assert!(peer.seen("snapshot").len() <= 1, "no polling with a rejected key: {:?}", peer.seen("snapshot").len());
    assert!(!client.bool_value("a", &ctx(), false), "defaults are served");
}

#[tokio::test]
async fn silence_beyond_two_heartbeats_reconnects_but_heartbeats_keep_the_stream() {
    let peer = Peer::start().await;
    let mut steps = vec![snapshot_frame(&snapshot(5, vec![bool_flag("a", true)]))];
    for _ in 0..10 {
        steps.push(Step::Sleep(Duration::from_millis(100)));
        steps.push(heartbeat());
    }
    steps.push(Step::Hold); // then silence
    peer.push_stream(StreamReply::Sse(steps));
    peer.push_stream(StreamReply::Sse(vec![change_frame(&change(6, vec![bool_flag("a", false)])), Step::Hold]));
    let client = fast_builder(&peer).heartbeat_interval(Duration::from_millis(300)).build().unwrap();
    eventually("revision 6", || client.revision() == Some(6)).await;
    let streams = peer.streams_seen();
    assert_eq!(streams.len(), 2);
    let lived = streams[1].at - streams[0].at;
    assert!(lived >= Duration::from_millis(1000), "heartbeats kept the first stream alive ({lived:?})");
    assert_eq!(streams[1].last_event_id.as_deref(), Some("5"));
}

#[tokio::test]
async fn polls_the_snapshot_with_an_etag_while_the_stream_is_down() {
    let peer = Peer::start().await;
    peer.default_stream(StreamReply::Status(503, vec![]));
    peer.default_snapshot(SnapshotReply::Json(snapshot(3, vec![bool_flag("a", true)])));
    let client = fast_builder(&peer).polling_interval(Duration::from_millis(50)).build().unwrap();
    within("ready", client.wait_until_ready(Duration::from_secs(5))).await.unwrap();
    assert!(client.bool_value("a", &ctx(), false));
    eventually("a conditional poll", || {
        peer.seen("snapshot").iter().any(|s| s.if_none_match.as_deref() == Some("\"3\""))
    })
    .await;
    assert_eq!(peer.seen("snapshot")[0].if_none_match, None);
    assert_eq!(client.status(), Status::Ready, "polling keeps the client in sync");
}

#[tokio::test]
async fn streaming_off_only_polls() {
    let peer = Peer::start().await;
    peer.push_snapshot(SnapshotReply::Status(500));
    peer.default_snapshot(SnapshotReply::Json(snapshot(4, vec![bool_flag("a", true)])));
    let client = fast_builder(&peer).streaming(false).polling_interval(Duration::from_millis(30)).build().unwrap();
    within("ready", client.wait_until_ready(Duration::from_secs(5))).await.unwrap();
    eventually("a few polls", || peer.seen("snapshot").len() >= 4).await;
    assert!(peer.streams_seen().is_empty());
    assert_eq!(client.revision(), Some(4));
}

#[tokio::test]
async fn losing_the_server_turns_stale_and_fail_safe_flags_fail_closed() {
    let peer = Peer::start().await;
    let mut guarded = bool_flag("guarded", true);
    guarded["fail_safe_variant"] = json!("off");
    peer.push_stream(StreamReply::Sse(vec![snapshot_frame(&snapshot(5, vec![guarded, bool_flag("plain", true)]))]));
    // The stream ends; every reconnect and poll then fails.
    peer.default_stream(StreamReply::Status(503, vec![]));
    let client = fast_builder(&peer)
        .stale_bound(Duration::from_millis(1000))
        .polling_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    within("ready", client.wait_until_ready(Duration::from_secs(5))).await.unwrap();
    assert!(client.bool_value("guarded", &ctx(), false));
    eventually("stale status", || matches!(client.status(), Status::Stale { .. })).await;
    eventually("fail-safe served", || !client.bool_value("guarded", &ctx(), true)).await;
    let d = client.bool_detail("guarded", &ctx(), true);
    assert_eq!((d.value, d.variant.as_deref(), d.reason.code(), d.stale), (false, Some("off"), "FAIL_SAFE", true));
    let d = client.bool_detail("plain", &ctx(), false);
    assert_eq!((d.value, d.reason.code(), d.stale), (true, "FALLTHROUGH", true), "last known value, marked stale");
}
