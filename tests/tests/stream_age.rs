//! The maximum stream age (`SWITCHYARD_STREAM_MAX_AGE`): a server with a
//! very short one (300 ms) ends every SDK stream with `goaway` after 75–100 %
//! of it; the real SDK resumes with `Last-Event-ID` each time, while a
//! writer keeps toggling flags, and misses nothing: every toggle arrives
//! exactly once, in order, and it ends on the server's exact state.

use std::time::Duration;

use switchyard_e2e::{
    FlagSpec, RawEnd, RawStream, RevisionWatch, ServeConfig, Server, TestDb, eventually, sdk, seed, wait_converged,
};

const FLAGS: usize = 3;
/// SDK streams the test wants to see end at their maximum age.
const EXPIRED_STREAMS: f64 = 4.0;

/// One sample of `family` (with `labels` inside its braces, or none) from
/// the server's `/metrics`; 0 when absent.
async fn metric(http: &reqwest::Client, server: &Server, family: &str, labels: &str) -> f64 {
    let body = http
        .get(server.url("/metrics"))
        .bearer_auth(switchyard_server::testing::METRICS_TOKEN)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    body.lines()
        .filter(|l| l.starts_with(family) && l[family.len()..].starts_with(['{', ' ']) && l.contains(labels))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_end_at_their_maximum_age_and_the_sdk_resumes_without_loss() {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client");
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let mut config = ServeConfig::for_tests(db.url());
        config.stream_max_age = Duration::from_millis(300);
        let server = Server::start_with(config).await;
        let admin = server.admin();
        let flags: Vec<FlagSpec> = (0..FLAGS).map(|f| FlagSpec::boolean(&format!("f{f}"))).collect();
        let seeded = seed(&admin, &flags).await;

        // On the wire: a snapshot, then `goaway` and a clean end.
        let mut raw = RawStream::open(&server.base, &seeded.sdk_key, "raw-ageing", None).await;
        assert_eq!(raw.next(Duration::from_secs(30)).await.expect("first event").event, "snapshot");
        assert_eq!(raw.next(Duration::from_secs(30)).await.expect("goaway").event, "goaway");
        assert_eq!(raw.next(Duration::from_secs(30)).await.unwrap_err(), RawEnd::Closed);
        let expired_before = metric(&http, &server, "switchyard_streams_expired_total", "").await;
        assert!(expired_before >= 1.0, "the expired stream is counted");

        let client = sdk(&server.base, &seeded.sdk_key);
        client.wait_until_ready(Duration::from_secs(30)).await.expect("SDK ready");
        let watch = RevisionWatch::start(&client);
        let stream_route = r#"route="/sdk/v1/stream",method="GET",status="200""#;
        let opened_before = metric(&http, &server, "switchyard_http_requests_total", stream_route).await;

        // Toggle round-robin until the SDK's stream has aged out several
        // times (each toggle changes one flag: one update each).
        let mut toggles = 0usize;
        let mut on = [false; FLAGS];
        loop {
            let f = toggles % FLAGS;
            on[f] = !on[f];
            admin.toggle(&format!("f{f}"), on[f]).await.expect("every toggle changes the flag");
            toggles += 1;
            let expired = metric(&http, &server, "switchyard_streams_expired_total", "").await - expired_before;
            if expired >= EXPIRED_STREAMS && toggles >= 20 {
                break;
            }
            assert!(toggles < 5_000, "SDK streams do not age out ({expired} so far)");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        let snapshot = wait_converged(&client, &server.base, &seeded.sdk_key).await;
        let report = watch.finish(snapshot.revision, false).await;
        assert_eq!(report.changes, toggles, "every toggle applied exactly once");
        // Every goaway was followed by a new stream (the last one maybe
        // only now).
        eventually("the SDK reconnected after each goaway", || async {
            metric(&http, &server, "switchyard_http_requests_total", stream_route).await - opened_before
                >= EXPIRED_STREAMS
        })
        .await;
        eprintln!("    {toggles} toggles, SDK at revision {}", snapshot.revision);
        eventually("one SDK stream is open", || async {
            metric(&http, &server, "switchyard_sdk_streams", r#"environment="shop/production""#).await == 1.0
        })
        .await;

        drop((client, raw));
        server.stop().await;
        db.cleanup().await;
    }
}
