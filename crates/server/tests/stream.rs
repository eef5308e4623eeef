//! The SDK wire protocol over real sockets: snapshot with ETag, the SSE
//! stream, Last-Event-ID resume, revocation. (The SDK's own end-to-end
//! tests live in the `tests/` package.)

use std::time::Duration;

use serde_json::{Value, json};
use switchyard_server::testing::{TestDb, TestServer};

#[path = "stream/support.rs"]
mod support;
use support::*;

#[tokio::test]
async fn stream_snapshot_changes_resume_and_revocation() {
    for db in TestDb::all().await {
        let f = Fixture::new(&db).await;

        // snapshot with ETag and 304
        let resp = f.http.get(f.server.url("/sdk/v1/snapshot")).bearer_auth(&f.sdk_key).send().await.unwrap();
        let etag = resp.headers()["etag"].to_str().unwrap().to_string();
        let snap: Value = resp.json().await.unwrap();
        assert_eq!(etag, format!("\"{}\"", snap["revision"]));
        assert_eq!(snap["flags"][0]["key"], "checkout");
        let resp = f
            .http
            .get(f.server.url("/sdk/v1/snapshot"))
            .bearer_auth(&f.sdk_key)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 304);
        let resp = f.http.get(f.server.url("/sdk/v1/snapshot")).bearer_auth("sdk_wrong").send().await.unwrap();
        assert_eq!(resp.status(), 401);

        // stream: snapshot first, then one change per toggle, in order
        let mut events = f.open(None).await;
        let (event, id, data) = events.next().await.unwrap();
        assert_eq!((event.as_str(), id), ("snapshot", snap["revision"].as_u64().unwrap()));
        assert_eq!(data["flags"][0]["on"], false);
        let mut revisions = Vec::new();
        for i in 0..5 {
            revisions.push(f.toggle(i % 2 == 0).await);
        }
        for (i, rev) in revisions.iter().enumerate() {
            let (event, id, data) = events.next().await.unwrap();
            assert_eq!((event.as_str(), id), ("change", *rev));
            assert_eq!(data["flags"][0]["on"], i % 2 == 0);
        }

        // resume after the second change: exactly the three missed changes
        let mut resumed = f.open(Some(revisions[1])).await;
        for rev in &revisions[2..] {
            let (event, id, _) = resumed.next().await.unwrap();
            assert_eq!((event.as_str(), id), ("change", *rev));
        }
        // a revision from the future (the database went back) gets a reset:
        // a snapshot that replaces whatever the client holds
        let mut fresh = f.open(Some(1_000_000)).await;
        let (event, id, data) = fresh.next().await.unwrap();
        assert_eq!((event.as_str(), id), ("reset", *revisions.last().unwrap()));
        assert_eq!(data["revision"], json!(id));

        // revoking the key closes open streams and refuses new ones
        let resp = f
            .http
            .delete(f.server.url(&format!("{PROD}/sdk-keys/{}", f.sdk_key_id)))
            .bearer_auth(&f.server.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(events.next().await.is_none(), "stream closed on revocation");
        let resp = f.http.get(f.server.url("/sdk/v1/stream")).bearer_auth(&f.sdk_key).send().await.unwrap();
        assert_eq!(resp.status(), 401);

        f.server.stop().await;
        db.cleanup().await;
    }
}

/// Behind a load balancer an SDK's ack can reach another replica than its
/// stream; the ack is forwarded (Postgres NOTIFY) to the replica holding it.
#[tokio::test]
async fn acks_reach_the_replica_holding_the_stream() {
    let Some(db) = TestDb::postgres().await else { return };
    let f = Fixture::new(&db).await;
    let b = TestServer::start(&db.url()).await;
    let stream = f
        .http
        .get(b.url("/sdk/v1/stream"))
        .bearer_auth(&f.sdk_key)
        .header("x-switchyard-instance", "replica-test")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let revision = f.toggle(true).await;
    let receipt_on_b = || f.receipt_on(&b, revision);
    let before = receipt_on_b().await;
    assert_eq!((before["connected"].as_u64(), before["applied"].as_u64()), (Some(1), Some(0)), "{before}");
    // The ack goes to replica A, which does not hold the stream.
    let resp = f
        .http
        .post(f.server.url("/sdk/v1/ack"))
        .bearer_auth(&f.sdk_key)
        .json(&json!({"instance": "replica-test", "revision": revision, "held_ms": 0.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = receipt_on_b().await;
        if r["applied"].as_u64() == Some(1) {
            assert_eq!(r["pending"].as_u64(), Some(0));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "forwarded ack never arrived: {r}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(stream);
    b.stop().await;
    f.server.stop().await;
    db.cleanup().await;
}

/// A kill sent to replica A counts the SDKs streaming from replica B: the
/// receipt is collected from every live replica.
#[tokio::test]
async fn receipts_count_every_replica() {
    let Some(db) = TestDb::postgres().await else { return };
    let f = Fixture::new(&db).await;
    let b = TestServer::start(&db.url()).await;
    let sdk = switchyard::Client::builder(f.sdk_key.clone()).base_url(b.base.clone()).build().unwrap();
    sdk.wait_until_ready(Duration::from_secs(10)).await.unwrap();
    let current = f.toggle(true).await;
    // Replicas discover each other within a few seconds.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let r = f.receipt_on(&f.server, current).await;
        if r["connected"].as_u64() == Some(1) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "replica A never saw B's stream: {r}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let killed = f.admin(&format!("{PROD}/flags/checkout/kill?wait=10s"), json!({"reason": "fleet receipt"})).await;
    let r = &killed["receipt"];
    assert_eq!(
        (r["connected"].as_u64(), r["applied"].as_u64(), r["pending"].as_u64()),
        (Some(1), Some(1), Some(0)),
        "{killed}"
    );
    assert!(r["max_ms"].as_f64().is_some());
    let ctx = switchyard::Context::new("u1");
    assert_eq!(sdk.bool_detail("checkout", &ctx, true).reason.code(), "KILLED");
    drop(sdk);
    b.stop().await;
    f.server.stop().await;
    db.cleanup().await;
}

/// Peer liveness is what Postgres knows: a crashed replica is not waited
/// for, a hung one (connected, silent) is named in `unanswered`, and a
/// replica stopping gracefully says goodbye.
#[tokio::test]
async fn receipts_know_which_replicas_are_alive() {
    let Some(db) = TestDb::postgres().await else { return };
    let f = Fixture::new(&db).await;
    let b = TestServer::start(&db.url()).await;
    let c = TestServer::start(&db.url()).await;
    let sdk = switchyard::Client::builder(f.sdk_key.clone()).base_url(b.base.clone()).build().unwrap();
    sdk.wait_until_ready(Duration::from_secs(10)).await.unwrap();
    let current = f.toggle(true).await;
    // Every replica is listed once its LISTEN is in place.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = f.receipt_on(&f.server, current).await;
        if r["replicas"] == 3 && r["connected"] == 1 && r["applied"] == 1 {
            assert_eq!(r["unanswered"], json!([]), "{r}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "replica A never counted B and C: {r}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // C crashes: its LISTEN connection drops with it.
    let c_name = c.state.fleet.application_name();
    c.crash().await;
    let crashed = std::time::Instant::now();
    while connected_as(&db, &c_name).await {
        assert!(crashed.elapsed() < Duration::from_secs(5), "C's connection outlived it");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("a crashed replica left pg_stat_activity within {:?}", crashed.elapsed());
    let started = std::time::Instant::now();
    let r = f.receipt_on(&f.server, current).await;
    let took = started.elapsed();
    eprintln!("receipt right after a replica crashed: {took:?} ({r})");
    assert_eq!(
        (r["replicas"].as_u64(), r["connected"].as_u64(), r["applied"].as_u64()),
        (Some(2), Some(1), Some(1)),
        "{r}"
    );
    assert_eq!(r["unanswered"], json!([]), "{r}");
    // Not waited for at all (the hung-peer timeout is 500 ms; generous bound for a loaded machine).
    assert!(took < Duration::from_secs(2), "{took:?}");

    // A hung replica: listed in Postgres, never answers.
    use sqlx::Connection as _;
    let mut ghost = sqlx::PgConnection::connect(&db.url()).await.unwrap();
    sqlx::query("SET application_name = 'switchyard/ghost'").execute(&mut ghost).await.unwrap();
    let started = std::time::Instant::now();
    let r = f.receipt_on(&f.server, current).await;
    eprintln!("receipt with a hung peer: {:?} ({r})", started.elapsed());
    assert_eq!(r["unanswered"], json!(["ghost"]), "{r}");
    assert_eq!((r["replicas"].as_u64(), r["connected"].as_u64()), (Some(2), Some(1)), "{r}");
    let killed = f.admin(&format!("{PROD}/flags/checkout/kill?wait=1s"), json!({"reason": "hung peer"})).await;
    assert_eq!(killed["receipt"]["applied"], 1, "{killed}");
    assert_eq!(killed["receipt"]["unanswered"], json!(["ghost"]), "not complete while a peer is silent: {killed}");
    ghost.close().await.unwrap();

    // B stops gracefully: it leaves, and A stops counting it at once.
    drop(sdk);
    let b_name = b.state.fleet.application_name();
    b.stop().await;
    assert!(!connected_as(&db, &b_name).await, "B did not say goodbye");
    let r = f.receipt_on(&f.server, current).await;
    assert_eq!((r["replicas"].as_u64(), r["connected"].as_u64()), (Some(1), Some(0)), "{r}");
    assert_eq!(r["unanswered"], json!([]), "{r}");
    f.server.stop().await;
    db.cleanup().await;
}

/// Every kill records when it was applied fleet-wide, not only a waited-on
/// one: a kill without `?wait=` gets its `flag.kill.applied` event from the
/// background, once the connected SDK applied it; a waited-on kill gets
/// exactly one.
#[tokio::test]
async fn every_kill_records_its_receipt() {
    for db in TestDb::all().await {
        let f = Fixture::new(&db).await;
        f.admin("/api/v1/projects/shop/flags", json!({"key": "banner", "kind": "boolean"})).await;
        let sdk = switchyard::Client::builder(f.sdk_key.clone()).base_url(f.server.base.clone()).build().unwrap();
        sdk.wait_until_ready(Duration::from_secs(10)).await.unwrap();

        let waited = f.admin(&format!("{PROD}/flags/banner/kill?wait=10s"), json!({"reason": "waited"})).await;
        let waited_rev = waited["revision"].as_u64().unwrap();
        assert_eq!(waited["receipt"]["applied"], 1, "{waited}");
        let killed = f.admin(&format!("{PROD}/flags/checkout/kill"), json!({"reason": "fire and forget"})).await;
        assert!(killed["receipt"].is_null(), "{killed}");
        let revision = killed["revision"].as_u64().unwrap();

        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let applied = loop {
            let events = f.audit().await;
            let found = events.iter().find(|e| e["action"] == "flag.kill.applied" && e["revision"] == revision);
            if let Some(e) = found {
                break e.clone();
            }
            assert!(std::time::Instant::now() < deadline, "{}: no flag.kill.applied for {revision}", db.label());
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(applied["flag"], "checkout");
        assert_eq!(applied["actor"], "admin");
        let r = &applied["after"];
        assert_eq!((r["connected"].as_u64(), r["applied"].as_u64()), (Some(1), Some(1)), "{}: {applied}", db.label());
        assert_eq!(r["complete"], true);
        let (p50, max) = (r["p50_ms"].as_f64(), r["max_ms"].as_f64());
        assert!(p50.zip(max).is_some_and(|(p50, max)| p50 <= max), "an applied SDK has a latency: {applied}");
        let waited_events = f
            .audit()
            .await
            .into_iter()
            .filter(|e| e["action"] == "flag.kill.applied" && e["revision"] == waited_rev)
            .count();
        assert_eq!(waited_events, 1, "{}: a waited kill is recorded once", db.label());
        drop(sdk);
        f.server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_kill_awaited_in_the_background_is_recorded_at_shutdown() {
    let db = TestDb::sqlite();
    let f = Fixture::new(&db).await;
    // An SDK instance that holds its stream but never acknowledges.
    let _silent = f
        .http
        .get(f.server.url("/sdk/v1/stream"))
        .bearer_auth(&f.sdk_key)
        .header("x-switchyard-instance", "never-acks")
        .send()
        .await
        .unwrap();
    let killed = f.admin(&format!("{PROD}/flags/checkout/kill"), json!({"reason": "right before a deploy"})).await;
    let revision = killed["revision"].as_u64().unwrap();
    // Shut down long before the 30 s background wait would end.
    let Fixture { server, .. } = f;
    server.stop_gracefully().await;

    let f = Fixture {
        server: TestServer::start(&db.url()).await,
        http: reqwest::Client::new(),
        sdk_key: String::new(),
        sdk_key_id: 0,
    };
    let events = f.audit().await;
    let applied = events
        .iter()
        .find(|e| e["action"] == "flag.kill.applied" && e["revision"] == revision)
        .unwrap_or_else(|| panic!("no flag.kill.applied recorded at shutdown: {events:?}"));
    let r = &applied["after"];
    assert_eq!((r["connected"].as_u64(), r["applied"].as_u64()), (Some(1), Some(0)), "{applied}");
    assert_eq!(r["complete"], false, "{applied}");
    f.server.stop().await;
    db.cleanup().await;
}
