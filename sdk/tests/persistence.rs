//! The persisted snapshot: written on change, served after a restart
//! during an outage, never served for another environment.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use switchyard::{Client, Context, Status};

#[tokio::test]
async fn a_restart_during_an_outage_serves_the_persisted_flags() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flags.json");
    let peer = Peer::start().await;
    let mut guarded = bool_flag("guarded", true);
    guarded["fail_safe_variant"] = json!("off");
    peer.push_stream(StreamReply::Sse(vec![
        snapshot_frame(&snapshot(4, vec![bool_flag("a", true), guarded.clone()])),
        change_frame(&change(5, vec![bool_flag("b", true)])),
        Step::Hold,
    ]));
    let client = fast_builder(&peer).persist_path(&path).build().unwrap();
    eventually("revision 5", || client.revision() == Some(5)).await;
    eventually("persisted revision 5", || std::fs::read_to_string(&path).is_ok_and(|t| t.contains("\"revision\":5")))
        .await;
    drop(client);
    let base_url = peer.base_url.clone();
    peer.stop();
    drop(peer);

    // Same server address (now refusing connections), same key.
    let ctx = Context::new("user-1");
    let restarted = Client::builder("sdk-test-key")
        .base_url(&base_url)
        .persist_path(&path)
        .initial_backoff(Duration::from_millis(20))
        .max_backoff(Duration::from_millis(100))
        .build()
        .unwrap();
    eventually("persisted flags served", || restarted.revision() == Some(5)).await;
    assert!(restarted.bool_value("a", &ctx, false));
    assert!(restarted.bool_value("b", &ctx, false));
    assert!(matches!(restarted.status(), Status::Stale { .. }), "{:?}", restarted.status());
    let err = restarted.wait_until_ready(Duration::from_millis(100)).await.unwrap_err();
    assert!(err.to_string().contains("STALE"), "{err}");

    // With a stale bound shorter than the file's age, fail-safe flags fail closed.
    tokio::time::sleep(Duration::from_millis(60)).await;
    let bounded = Client::builder("sdk-test-key")
        .base_url(&base_url)
        .persist_path(&path)
        .stale_bound(Duration::from_millis(50))
        .build()
        .unwrap();
    eventually("persisted flags served", || bounded.revision() == Some(5)).await;
    let d = bounded.bool_detail("guarded", &ctx, true);
    assert_eq!((d.value, d.reason.code(), d.stale), (false, "FAIL_SAFE", true));
    assert!(d.age.unwrap() >= Duration::from_millis(50));

    // Another key (another environment) never serves this file.
    let other = Client::builder("another-key")
        .base_url(&base_url)
        .persist_path(&path)
        .initial_backoff(Duration::from_millis(20))
        .max_backoff(Duration::from_millis(100))
        .build()
        .unwrap();
    eventually("error status", || matches!(other.status(), Status::Error(_))).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(other.revision(), None);
    assert!(!other.bool_value("a", &ctx, false));

    // The same file opens offline.
    let offline = Client::from_file(&path).unwrap();
    assert_eq!(offline.revision(), Some(5));
    assert!(offline.bool_value("b", &ctx, false));
}

#[tokio::test]
async fn a_server_snapshot_replaces_persisted_data_even_at_a_lower_revision() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flags.json");
    let peer = Peer::start().await;
    peer.push_stream(StreamReply::Sse(vec![snapshot_frame(&snapshot(9, vec![bool_flag("a", true)])), Step::Hold]));
    let client = fast_builder(&peer).persist_path(&path).build().unwrap();
    eventually("persisted", || std::fs::read_to_string(&path).is_ok_and(|t| t.contains("\"revision\":9"))).await;
    drop(client);

    // The server was rebuilt and is at revision 2 now; it is unreachable
    // at first, so the persisted revision 9 is served until it answers.
    peer.push_stream(StreamReply::Status(503, vec![]));
    peer.push_stream(StreamReply::Sse(vec![snapshot_frame(&snapshot(2, vec![bool_flag("a", false)])), Step::Hold]));
    let client = fast_builder(&peer).persist_path(&path).build().unwrap();
    within("ready", client.wait_until_ready(Duration::from_secs(5))).await.unwrap();
    assert_eq!(client.revision(), Some(2));
    assert!(!client.bool_value("a", &Context::new("u"), true));
}
