//! The stream protocol against a fault-injection peer (see `common`):
//! snapshots, changes, acks, old revisions, malformed and unknown events,
//! resync, gaps, lagging subscribers, shutdown.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use switchyard::{Context, Status, Update};
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
    within("ready", client.wait_until_ready(Duration::from_secs(5))).await.unwrap();
    assert_eq!(client.status(), Status::Ready);

    let first = within("first update", updates.next()).await.unwrap();
    let Update::Changed(first) = first else { panic!("{first:?}") };
    assert_eq!((&*first.key, first.old_revision, first.new_revision), ("a", 0, 5));
    let second = within("second update", updates.next()).await.unwrap();
    let Update::Changed(second) = second else { panic!("{second:?}") };
    assert_eq!((&*second.key, second.old_revision, second.new_revision), ("a", 5, 6));
    assert!(client.bool_value("a", &ctx(), false));
    let d = client.bool_detail("a", &ctx(), false);
    assert_eq!((d.revision, d.stale), (6, false));
    assert!(d.age.unwrap() < Duration::from_secs(2));

    eventually("ack of revision 6", || peer.acks().iter().any(|a| a["revision"] == 6)).await;
    let stream = &peer.streams_seen()[0];
    assert_eq!(stream.authorization.as_deref(), Some("Bearer sdk-test-key"));
    assert_eq!(stream.last_event_id, None);
    let instance = stream.instance.clone().expect("X-Switchyard-Instance header");
    assert!(uuid_like(&instance), "{instance}");
    assert!(peer.acks().iter().all(|a| a["instance"] == json!(instance)));
    assert!(peer.acks().len() <= 2, "acks are coalesced: {:?}", peer.acks());
    assert_eq!(peer.streams_seen().len(), 1);
}

#[tokio::test]
async fn acknowledges_only_what_a_server_that_asks_asks_for() {
    let peer = Peer::start().await;
    let ask = |revision| {
        let request = switchyard_core::protocol::AckRequest { revision, hold_ms: 0 };
        raw(&switchyard_core::protocol::ack_request_frame(&request))
    };
    peer.push_stream(StreamReply::SseAsking(vec![
        retry(10),
        snapshot_frame(&snapshot(5, vec![bool_flag("a", false)])),
        // Changes nobody asked about are applied, not acknowledged.
        change_frame(&change(6, vec![bool_flag("a", true)])),
        Step::Sleep(Duration::from_millis(300)),
        change_frame(&change(7, vec![bool_flag("a", false)])),
        ask(7),
        Step::Hold,
    ]));
    let client = fast_builder(&peer).build().unwrap();
    within("ready", client.wait_until_ready(Duration::from_secs(5))).await.unwrap();
    eventually("ack of revision 7", || peer.acks().iter().any(|a| a["revision"] == 7)).await;
    let revisions: Vec<_> = peer.acks().iter().map(|a| a["revision"].clone()).collect();
    assert_eq!(revisions, [json!(7)], "only the revision asked for is acknowledged");
    assert!(peer.acks()[0]["held_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{:?}", peer.acks());
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
    assert!(client.bool_value("a", &ctx(), false), "an old revision was applied");
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
    peer.push_stream(StreamReply::Sse(vec![change_frame(&change(6, vec![bool_flag("b", true)])), Step::Hold]));
    let client = fast_builder(&peer).build().unwrap();
    eventually("revision 6", || client.revision() == Some(6)).await;
    assert!(client.bool_value("a", &ctx(), false), "good data survived the malformed event");
    assert!(client.bool_value("b", &ctx(), false));
    let streams = peer.streams_seen();
    assert_eq!(streams.len(), 2);
    assert_eq!(streams[1].last_event_id.as_deref(), Some("5"), "resumes with Last-Event-ID");
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
    peer.push_stream(StreamReply::Sse(vec![snapshot_frame(&snapshot(9, vec![bool_flag("a", false)])), Step::Hold]));
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
    peer.push_stream(StreamReply::Sse(vec![snapshot_frame(&snapshot(8, vec![bool_flag("a", false)])), Step::Hold]));
    let client = fast_builder(&peer).build().unwrap();
    eventually("revision 8", || client.revision() == Some(8)).await;
    let streams = peer.streams_seen();
    assert_eq!(streams.len(), 3);
    assert_eq!(streams[1].last_event_id, None, "a gap resyncs");
    assert_eq!(streams[2].last_event_id, None, "an invalid change resyncs");
    assert!(!client.bool_value("a", &ctx(), true));
}

#[tokio::test]
async fn lagging_subscribers_get_a_resync_instead_of_silent_loss() {
    let peer = Peer::start().await;
    let mut steps = vec![snapshot_frame(&snapshot(1, vec![bool_flag("a", true)]))];
    for rev in 2..=1300u64 {
        steps.push(change_frame(&change(rev, vec![bool_flag("a", rev % 2 == 0)])));
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
    assert!(items.contains(&Update::Resync), "a lagging subscriber is told to resync");
    assert!(items.len() <= 1100, "{}", items.len());
    let Some(Update::Changed(last)) = items.last() else { panic!("{:?}", items.last()) };
    assert_eq!(last.new_revision, 1300, "then it keeps receiving");
}

#[tokio::test]
async fn dropping_the_last_clone_stops_the_background_sync() {
    let peer = Peer::start().await;
    peer.push_stream(StreamReply::Sse(vec![snapshot_frame(&snapshot(1, vec![bool_flag("a", true)])), Step::Hold]));
    let client = fast_builder(&peer).build().unwrap();
    let clone = client.clone();
    within("ready", client.wait_until_ready(Duration::from_secs(5))).await.unwrap();
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

#[tokio::test]
async fn goaway_resumes_at_once_with_last_event_id_and_no_backoff_penalty() {
    let peer = Peer::start().await;
    let goaway = || raw("retry: 250\nevent: goaway\ndata: {}\n\n");
    peer.push_stream(StreamReply::Sse(vec![
        retry(1000),
        snapshot_frame(&snapshot(5, vec![bool_flag("a", true)])),
        goaway(),
        Step::Hold,
    ]));
    peer.push_stream(StreamReply::Sse(vec![
        change_frame(&change(6, vec![bool_flag("a", false)])),
        goaway(),
        Step::Hold,
    ]));
    peer.push_stream(StreamReply::Sse(vec![
        change_frame(&change(7, vec![bool_flag("a", true)])),
        goaway(),
        Step::Hold,
    ]));
    peer.push_stream(StreamReply::Sse(vec![change_frame(&change(8, vec![bool_flag("a", false)])), Step::Hold]));
    // A backoff far beyond the 10 s the test waits: three server-ended
    // streams in a row would take minutes if goaway counted as a failure.
    let client = fast_builder(&peer)
        .initial_backoff(Duration::from_secs(60))
        .max_backoff(Duration::from_secs(120))
        .build()
        .unwrap();
    let mut updates = client.subscribe();
    eventually("revision 8 after three goaways", || client.revision() == Some(8)).await;
    let ids: Vec<Option<String>> = peer.streams_seen().iter().map(|s| s.last_event_id.clone()).collect();
    assert_eq!(ids, [None, Some("5".into()), Some("6".into()), Some("7".into())], "each resume sends Last-Event-ID");
    let mut revisions = Vec::new();
    while revisions.len() < 4 {
        match within("updates", updates.next()).await {
            Some(Update::Changed(c)) => revisions.push((c.old_revision, c.new_revision)),
            other => panic!("unexpected update {other:?}"),
        }
    }
    assert_eq!(revisions, [(0, 5), (5, 6), (6, 7), (7, 8)], "every change applied once, in order");
    assert_eq!(client.status(), Status::Ready);
}
