//! Sync behaviour against a fault-injection peer (see `common`).

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use switchyard::{Context, Error, Status, Update};
use tokio_stream::StreamExt;

fn ctx() -> Context<'static> {
    Context::new("user-1")
}

#[tokio::test]
async fn streams_a_snapshot_then_changes_and_acknowledges_them() {
    let peer = Peer::start().await;
    peer.push_stream(StreamReply::Sse(vec![
        retry(10),
        snapshot_frame(&snapshot(5, vec![bool_flag("a", false)])),
        Step::Sleep(Duration::from_millis(100)),
        change_frame(&change(6, vec![bool_flag("a", true)])),
        Step::Hold,
    ]));
    let client = fast_builder(&peer).build().unwrap();
    let mut updates = client.subscribe();
    within("ready", client.wait_until_ready(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(client.status(), Status::Ready);

    let first = within("first update", updates.next()).await.unwrap();
    let Update::Changed(first) = first else {
        panic!("{first:?}")
    };
    assert_eq!(
        (&*first.key, first.old_revision, first.new_revision),
        ("a", 0, 5)
    );
    let second = within("second update", updates.next()).await.unwrap();
    let Update::Changed(second) = second else {
        panic!("{second:?}")
    };
    assert_eq!(
        (&*second.key, second.old_revision, second.new_revision),
        ("a", 5, 6)
    );
    assert!(client.bool_value("a", &ctx(), false));
    let d = client.bool_detail("a", &ctx(), false);
    assert_eq!((d.revision, d.stale), (6, false));
    assert!(d.age.unwrap() < Duration::from_secs(2));

    eventually("ack of revision 6", || {
        peer.acks().iter().any(|a| a["revision"] == 6)
    })
    .await;
    let stream = &peer.streams_seen()[0];
    assert_eq!(stream.authorization.as_deref(), Some("Bearer sdk-test-key"));
    assert_eq!(stream.last_event_id, None);
    let instance = stream
        .instance
        .clone()
        .expect("X-Switchyard-Instance header");
    assert!(uuid_like(&instance), "{instance}");
    assert!(peer.acks().iter().all(|a| a["instance"] == json!(instance)));
    assert!(
        peer.acks().len() <= 2,
        "acks are coalesced: {:?}",
        peer.acks()
    );
    assert_eq!(peer.streams_seen().len(), 1);
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

#[tokio::test]
async fn ignores_revisions_it_already_has() {
    let peer = Peer::start().await;
    peer.push_stream(StreamReply::Sse(vec![
        snapshot_frame(&snapshot(5, vec![bool_flag("a", true)])),
        change_frame(&change(4, vec![bool_flag("a", false)])),
        change_frame(&change(5, vec![bool_flag("a", false)])),
        snapshot_frame(&snapshot(3, vec![bool_flag("a", false)])),
        change_frame(&change(6, vec![bool_flag("marker", true)])),
        Step::Hold,
    ]));
    let client = fast_builder(&peer).build().unwrap();
    eventually("revision 6", || client.revision() == Some(6)).await;
    assert!(
        client.bool_value("a", &ctx(), false),
        "an old revision was applied"
    );
    assert!(client.bool_value("marker", &ctx(), false));
    assert_eq!(peer.streams_seen().len(), 1, "old revisions are not errors");
}

#[tokio::test]
async fn a_malformed_event_keeps_the_last_good_state_and_resumes() {
    let peer = Peer::start().await;
    peer.push_stream(StreamReply::Sse(vec![
        snapshot_frame(&snapshot(5, vec![bool_flag("a", true)])),
        raw("event: change\nid: 6\ndata: {\"revision\": 6, \"flags\": [{\"key\n\n"),
        Step::Hold,
    ]));
    peer.push_stream(StreamReply::Sse(vec![
        change_frame(&change(6, vec![bool_flag("b", true)])),
        Step::Hold,
    ]));
    let client = fast_builder(&peer).build().unwrap();
    eventually("revision 6", || client.revision() == Some(6)).await;
    assert!(
        client.bool_value("a", &ctx(), false),
        "good data survived the malformed event"
    );
    assert!(client.bool_value("b", &ctx(), false));
    let streams = peer.streams_seen();
    assert_eq!(streams.len(), 2);
    assert_eq!(
        streams[1].last_event_id.as_deref(),
        Some("5"),
        "resumes with Last-Event-ID"
    );
    eventually("first stream closed", || peer.closed_streams() >= 1).await;
}

#[tokio::test]
async fn unknown_events_are_ignored_without_reconnecting() {
    let peer = Peer::start().await;
    peer.push_stream(StreamReply::Sse(vec![
        raw(": hello\n\n"),
        snapshot_frame(&snapshot(5, vec![bool_flag("a", true)])),
        raw("event: surprise\nid: 99\ndata: {\"whatever\": [1, 2]}\n\n"),
        raw("data: a default-named message\n\n"),
        heartbeat(),
        change_frame(&change(6, vec![bool_flag("a", false)])),
        Step::Hold,
    ]));
    let client = fast_builder(&peer).build().unwrap();
    eventually("revision 6", || client.revision() == Some(6)).await;
    assert!(!client.bool_value("a", &ctx(), true));
    assert_eq!(peer.streams_seen().len(), 1);
}

#[tokio::test]
async fn resync_reconnects_for_a_full_snapshot() {
    let peer = Peer::start().await;
    peer.push_stream(StreamReply::Sse(vec![
        snapshot_frame(&snapshot(5, vec![bool_flag("a", true)])),
        raw("event: resync\ndata: {}\n\n"),
        Step::Hold,
    ]));
    peer.push_stream(StreamReply::Sse(vec![
        snapshot_frame(&snapshot(9, vec![bool_flag("a", false)])),
        Step::Hold,
    ]));
    let client = fast_builder(&peer).build().unwrap();
    eventually("revision 9", || client.revision() == Some(9)).await;
    assert!(!client.bool_value("a", &ctx(), true));
    let streams = peer.streams_seen();
    assert_eq!(streams[1].last_event_id, None, "resync drops Last-Event-ID");
}

#[tokio::test]
async fn a_revision_gap_or_an_invalid_change_resyncs_and_keeps_the_good_snapshot() {
    let peer = Peer::start().await;
    // Revision 7 after 5: 6 is missing.
    peer.push_stream(StreamReply::Sse(vec![
        snapshot_frame(&snapshot(5, vec![bool_flag("a", true)])),
        change_frame(&change(7, vec![bool_flag("a", false)])),
        Step::Hold,
    ]));
    // A change that does not compile (unknown off variant).
    let mut broken = bool_flag("a", false);
    broken["off_variant"] = json!("nope");
    peer.push_stream(StreamReply::Sse(vec![
        snapshot_frame(&snapshot(7, vec![bool_flag("a", true)])),
        change_frame(&change(8, vec![broken])),
        Step::Hold,
    ]));
    peer.push_stream(StreamReply::Sse(vec![
        snapshot_frame(&snapshot(8, vec![bool_flag("a", false)])),
        Step::Hold,
    ]));
    let client = fast_builder(&peer).build().unwrap();
    eventually("revision 8", || client.revision() == Some(8)).await;
    let streams = peer.streams_seen();
    assert_eq!(streams.len(), 3);
    assert_eq!(streams[1].last_event_id, None, "a gap resyncs");
    assert_eq!(streams[2].last_event_id, None, "an invalid change resyncs");
    assert!(!client.bool_value("a", &ctx(), true));
}

#[tokio::test]
async fn server_errors_and_rate_limits_back_off_then_recover() {
    let peer = Peer::start().await;
    peer.push_stream(StreamReply::Status(500, vec![]));
    peer.push_stream(StreamReply::Status(429, vec![("retry-after", "1".into())]));
    peer.push_stream(StreamReply::Sse(vec![
        snapshot_frame(&snapshot(2, vec![bool_flag("a", true)])),
        Step::Hold,
    ]));
    let client = fast_builder(&peer).build().unwrap();
    let mut statuses = client.status_stream();
    within("ready", client.wait_until_ready(Duration::from_secs(5)))
        .await
        .unwrap();
    let streams = peer.streams_seen();
    assert_eq!(streams.len(), 3);
    let waited = streams[2].at - streams[1].at;
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After honoured: waited {waited:?}"
    );
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
    let client = fast_builder(&peer)
        .polling_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = within("wait", client.wait_until_ready(Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(client.status(), Status::Unauthorized);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        peer.streams_seen().len(),
        1,
        "no stream retries within the minute"
    );
    assert!(
        peer.seen("snapshot").len() <= 1,
        "no polling with a rejected key: {:?}",
        peer.seen("snapshot").len()
    );
    assert!(
        !client.bool_value("a", &ctx(), false),
        "defaults are served"
    );
}

#[tokio::test]
async fn silence_beyond_the_read_timeout_reconnects_but_heartbeats_keep_the_stream() {
    let peer = Peer::start().await;
    let mut steps = vec![snapshot_frame(&snapshot(5, vec![bool_flag("a", true)]))];
    for _ in 0..10 {
        steps.push(Step::Sleep(Duration::from_millis(100)));
        steps.push(heartbeat());
    }
    steps.push(Step::Hold); // then silence
    peer.push_stream(StreamReply::Sse(steps));
    peer.push_stream(StreamReply::Sse(vec![
        change_frame(&change(6, vec![bool_flag("a", false)])),
        Step::Hold,
    ]));
    let client = fast_builder(&peer)
        .read_timeout(Duration::from_millis(600))
        .build()
        .unwrap();
    eventually("revision 6", || client.revision() == Some(6)).await;
    let streams = peer.streams_seen();
    assert_eq!(streams.len(), 2);
    let lived = streams[1].at - streams[0].at;
    assert!(
        lived >= Duration::from_millis(1000),
        "heartbeats kept the first stream alive ({lived:?})"
    );
    assert_eq!(streams[1].last_event_id.as_deref(), Some("5"));
}

#[tokio::test]
async fn polls_the_snapshot_with_an_etag_while_the_stream_is_down() {
    let peer = Peer::start().await;
    peer.default_stream(StreamReply::Status(503, vec![]));
    peer.default_snapshot(SnapshotReply::Json(snapshot(3, vec![bool_flag("a", true)])));
    let client = fast_builder(&peer)
        .polling_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    within("ready", client.wait_until_ready(Duration::from_secs(5)))
        .await
        .unwrap();
    assert!(client.bool_value("a", &ctx(), false));
    eventually("a conditional poll", || {
        peer.seen("snapshot")
            .iter()
            .any(|s| s.if_none_match.as_deref() == Some("\"3\""))
    })
    .await;
    assert_eq!(peer.seen("snapshot")[0].if_none_match, None);
    assert_eq!(
        client.status(),
        Status::Ready,
        "polling keeps the client in sync"
    );
}

#[tokio::test]
async fn streaming_off_only_polls() {
    let peer = Peer::start().await;
    peer.push_snapshot(SnapshotReply::Status(500));
    peer.default_snapshot(SnapshotReply::Json(snapshot(4, vec![bool_flag("a", true)])));
    let client = fast_builder(&peer)
        .streaming(false)
        .polling_interval(Duration::from_millis(30))
        .build()
        .unwrap();
    within("ready", client.wait_until_ready(Duration::from_secs(5)))
        .await
        .unwrap();
    eventually("a few polls", || peer.seen("snapshot").len() >= 4).await;
    assert!(peer.streams_seen().is_empty());
    assert_eq!(client.revision(), Some(4));
}

#[tokio::test]
async fn losing_the_server_turns_stale_and_fail_safe_flags_fail_closed() {
    let peer = Peer::start().await;
    let mut guarded = bool_flag("guarded", true);
    guarded["fail_safe_variant"] = json!("off");
    peer.push_stream(StreamReply::Sse(vec![snapshot_frame(&snapshot(
        5,
        vec![guarded, bool_flag("plain", true)],
    ))]));
    // The stream ends; every reconnect and poll then fails.
    peer.default_stream(StreamReply::Status(503, vec![]));
    let client = fast_builder(&peer)
        .stale_bound(Duration::from_millis(1000))
        .polling_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    within("ready", client.wait_until_ready(Duration::from_secs(5)))
        .await
        .unwrap();
    assert!(client.bool_value("guarded", &ctx(), false));
    eventually("stale status", || {
        matches!(client.status(), Status::Stale { .. })
    })
    .await;
    eventually("fail-safe served", || {
        !client.bool_value("guarded", &ctx(), true)
    })
    .await;
    let d = client.bool_detail("guarded", &ctx(), true);
    assert_eq!(
        (d.value, d.variant.as_deref(), d.reason.code(), d.stale),
        (false, Some("off"), "FAIL_SAFE", true)
    );
    let d = client.bool_detail("plain", &ctx(), false);
    assert_eq!(
        (d.value, d.reason.code(), d.stale),
        (true, "FALLTHROUGH", true),
        "last known value, marked stale"
    );
}

#[tokio::test]
async fn lagging_subscribers_get_a_resync_instead_of_silent_loss() {
    let peer = Peer::start().await;
    let mut steps = vec![snapshot_frame(&snapshot(1, vec![bool_flag("a", true)]))];
    for rev in 2..=1300u64 {
        steps.push(change_frame(&change(
            rev,
            vec![bool_flag("a", rev % 2 == 0)],
        )));
    }
    steps.push(Step::Hold);
    peer.push_stream(StreamReply::Sse(steps));
    let client = fast_builder(&peer).build().unwrap();
    let mut updates = client.subscribe();
    eventually("revision 1300", || client.revision() == Some(1300)).await;
    let mut items = Vec::new();
    while let Ok(Some(u)) = tokio::time::timeout(Duration::from_millis(50), updates.next()).await {
        items.push(u);
    }
    assert!(
        items.contains(&Update::Resync),
        "a lagging subscriber is told to resync"
    );
    assert!(items.len() <= 1100, "{}", items.len());
    let Some(Update::Changed(last)) = items.last() else {
        panic!("{:?}", items.last())
    };
    assert_eq!(last.new_revision, 1300, "then it keeps receiving");
}

#[tokio::test]
async fn dropping_the_last_clone_stops_the_background_sync() {
    let peer = Peer::start().await;
    peer.push_stream(StreamReply::Sse(vec![
        snapshot_frame(&snapshot(1, vec![bool_flag("a", true)])),
        Step::Hold,
    ]));
    let client = fast_builder(&peer).build().unwrap();
    let clone = client.clone();
    within("ready", client.wait_until_ready(Duration::from_secs(5)))
        .await
        .unwrap();
    let mut statuses = client.status_stream();
    drop(client);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(peer.closed_streams(), 0, "a clone keeps it alive");
    assert!(clone.bool_value("a", &ctx(), false));
    drop(clone);
    eventually("stream closed", || peer.closed_streams() == 1).await;
    // The status stream ends once the sync is gone.
    let rest: Vec<Status> = within("status stream end", async {
        let mut rest = Vec::new();
        while let Some(s) = statuses.next().await {
            rest.push(s);
        }
        rest
    })
    .await;
    assert!(rest.len() <= 1);
    assert_eq!(peer.streams_seen().len(), 1);
}
