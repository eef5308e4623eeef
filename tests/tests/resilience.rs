//! Failure handling end to end: a consumer too slow to keep up is
//! disconnected (never silently skipped) and resumes; a revoked SDK key
//! makes the SDK `Unauthorized` while it keeps serving, without panics.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use switchyard::{Context, Error, Reason, Status};
use switchyard_e2e::{
    Admin, BackgroundPanics, ENV_PATH, FlagSpec, RawEnd, RawStream, RevisionWatch, Server, StallProxy, TestDb,
    eventually, flag_path, sdk, sdk_builder, seed, wait_converged,
};

/// Flags toggled by the writers: each change event carries the flag's
/// full state (~8 KiB of targets), so that a stalled stream fills the
/// socket buffers with a few hundred events rather than many thousands.
const WRITERS: usize = 4;

fn big(k: usize) -> String {
    format!("big-{k}")
}

fn big_targets() -> serde_json::Value {
    let keys: Vec<String> = (0..320).map(|i| format!("customer-{i:08}-segment-x")).collect();
    json!([{"variant": "on", "keys": keys}])
}

/// `n` toggles (on, off, on, …) split over [`WRITERS`] concurrent writers,
/// one `big-k` flag each: as fast as the server takes them, and with
/// commits racing each other to the broadcaster.
async fn write_toggles(admin: &Admin, n: usize) {
    assert!((n / WRITERS).is_multiple_of(2), "each flag must end where it started (off)");
    let writers = (0..WRITERS).map(|k| async move {
        for i in 0..n / WRITERS {
            let changed = admin.toggle(&big(k), i.is_multiple_of(2)).await;
            changed.expect("every toggle changes the state");
        }
    });
    futures_util::future::join_all(writers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_disconnected_and_resumes() {
    let panics = BackgroundPanics::install();
    let before = panics.count();
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = Server::start(&db.url()).await;
        let admin = server.admin();
        let flags: Vec<FlagSpec> = (0..WRITERS).map(|k| FlagSpec::boolean(&big(k))).collect();
        let seeded = seed(&admin, &flags).await;
        for k in 0..WRITERS {
            let cfg = admin.config(&big(k)).await;
            let mut body = cfg["config"].clone();
            body["version"] = cfg["version"].clone();
            body["targets"] = big_targets();
            admin.expect(Method::PUT, &flag_path(&big(k)), Some(body), 200).await;
        }

        // A fast SDK straight to the server, and behind a stallable path a
        // raw reader and a real SDK (generous read timeout: the stall, not
        // the SDK's silence detector, is under test).
        let proxy = StallProxy::start(server.addr).await;
        let fast = sdk(&server.base, &seeded.sdk_key);
        let slow = sdk_builder(&proxy.base, &seeded.sdk_key).read_timeout(Duration::from_secs(120)).build().unwrap();
        for client in [&fast, &slow] {
            client.wait_until_ready(Duration::from_secs(30)).await.expect("SDK ready");
        }
        let (fast_watch, slow_watch) = (RevisionWatch::start(&fast), RevisionWatch::start(&slow));
        let mut raw = RawStream::open(&proxy.base, &seeded.sdk_key, "raw-slow-reader", None).await;
        let first = raw.next(Duration::from_secs(10)).await.expect("first event");
        assert_eq!(first.event, "snapshot");
        let mut last = first.id;

        // Stall, write more changes than the channel holds (1024) plus what
        // the socket buffers absorb, resume. The stream must end after a
        // gap-free prefix, never skip a change. Two ways to end are right:
        // the server ends a lagging stream (its channel overran), or — when
        // the stall outlasts the server's TCP_USER_TIMEOUT (20 s), as with
        // slower writes on Postgres — the kernel reaps the connection whose
        // window stayed closed. (If the buffers absorbed everything, stall
        // again with twice as many changes.)
        let mut n = 1600;
        let cut_at = loop {
            proxy.pause();
            let stalled = std::time::Instant::now();
            write_toggles(&admin, n).await;
            let stalled = stalled.elapsed();
            let target = admin.revision().await;
            proxy.resume();
            let mut received = 0;
            let ended = loop {
                match raw.next(Duration::from_secs(20)).await {
                    Ok(e) => {
                        assert_eq!((e.event.as_str(), e.id), ("change", last + 1), "a change was skipped");
                        last = e.id;
                        received += 1;
                        if last == target {
                            break None;
                        }
                    }
                    Err(RawEnd::Closed) => break Some("ended by the server"),
                    Err(RawEnd::Broken) => break Some("connection broken"),
                    Err(RawEnd::Silent) => {
                        panic!("the stalled stream neither continued nor ended (at {last}, target {target})")
                    }
                }
            };
            eprintln!(
                "    stalled {stalled:.1?} for {n} changes: {received} delivered, then {}",
                ended.unwrap_or("caught up")
            );
            if ended.is_some() {
                break last;
            }
            assert!(n < 6400, "the server never disconnected the slow consumer");
            n *= 2;
        };
        let target = admin.revision().await;
        assert!(cut_at < target, "disconnected only after the last change");

        // Resuming after the last event received: the missed changes in
        // order, or one snapshot when more than the replay limit are missing.
        let mut resumed = RawStream::open(&server.base, &seeded.sdk_key, "raw-resumed", Some(cut_at)).await;
        let e = resumed.next(Duration::from_secs(10)).await.expect("resumed stream");
        match e.event.as_str() {
            "snapshot" => assert_eq!(e.id, target),
            "change" => {
                assert_eq!(e.id, cut_at + 1);
                let mut at = e.id;
                while at < target {
                    let e = resumed.next(Duration::from_secs(10)).await.expect("replayed change");
                    assert_eq!((e.event.as_str(), e.id), ("change", at + 1));
                    at = e.id;
                }
            }
            other => panic!("unexpected first event `{other}` on resume"),
        }

        // Both real SDKs serve exactly the final state, reached in order.
        for (client, watch, base) in [(&fast, fast_watch, &server.base), (&slow, slow_watch, &proxy.base)] {
            let snapshot = wait_converged(client, base, &seeded.sdk_key).await;
            // A burst of ~1000 replayed changes may outrun the subscriber:
            // a Resync is the documented answer; order must hold anyway.
            let report = watch.finish(snapshot.revision, true).await;
            eprintln!("    SDK at {}: {} updates, {} resyncs", snapshot.revision, report.changes, report.resyncs);
        }
        drop((fast, slow, raw, resumed, proxy));
        server.stop().await;
        db.cleanup().await;
    }
    assert_eq!(panics.count(), before, "a background task panicked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_makes_the_sdk_unauthorized_and_it_keeps_serving() {
    let panics = BackgroundPanics::install();
    let before = panics.count();
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = Server::start(&db.url()).await;
        let admin = server.admin();
        let seeded = seed(&admin, &[FlagSpec::boolean("checkout")]).await;
        admin.toggle("checkout", true).await.expect("a revision");
        let client = sdk(&server.base, &seeded.sdk_key);
        client.wait_until_ready(Duration::from_secs(30)).await.expect("SDK ready");
        let snapshot = wait_converged(&client, &server.base, &seeded.sdk_key).await;
        let ctx = Context::new("user-1");
        assert!(client.bool_value("checkout", &ctx, false));

        admin.expect(Method::DELETE, &format!("{ENV_PATH}/sdk-keys/{}", seeded.sdk_key_id), None, 200).await;
        eventually("the SDK reports Unauthorized", || async { client.status() == Status::Unauthorized }).await;
        // The last known flags are still served, unchanged.
        let detail = client.bool_detail("checkout", &ctx, false);
        assert!(detail.value);
        assert_eq!((detail.reason, detail.revision), (Reason::Fallthrough, snapshot.revision));
        assert!(client.bool_value("unknown", &ctx, true), "unknown flags serve the default");

        // A client started with the revoked key: Unauthorized at once,
        // defaults served.
        let fresh = sdk(&server.base, &seeded.sdk_key);
        match fresh.wait_until_ready(Duration::from_secs(30)).await {
            Err(Error::Unauthorized) => {}
            other => panic!("expected Unauthorized, got {other:?}"),
        }
        assert_eq!(fresh.status(), Status::Unauthorized);
        let detail = fresh.bool_detail("checkout", &ctx, false);
        assert_eq!((detail.value, detail.reason), (false, Reason::NotReady));
        assert_eq!(fresh.string_value("checkout", &ctx, "dflt"), "dflt");

        // The server refuses the key everywhere.
        let resp = reqwest::Client::new()
            .get(server.url("/sdk/v1/snapshot"))
            .bearer_auth(&seeded.sdk_key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        drop((client, fresh));
        server.stop().await;
        db.cleanup().await;
    }
    assert_eq!(panics.count(), before, "a background task panicked");
}
