//! The fleet view over real sockets, on SQLite and Postgres: an SDK names
//! its service when it connects and shows with it; an SDK that only polls
//! shows as `poll`; an OFREP refetch stream as `ofrep`; identity headers
//! that are too long or hold control characters count as absent (never a
//! 5xx); a viewer may read it, an unknown environment is 404; `switchyard
//! fleet` prints it (the real binary). The SDK processes, a lagging client
//! and replicas are in `tests/tests/fleet.rs`.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use switchyard_server::testing::{TestServer, for_each_store};

const ENV: &str = "/api/v1/projects/shop/environments/production";

async fn admin(server: &TestServer, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(server.url(path))
        .bearer_auth(&server.admin_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

async fn seed(server: &TestServer) -> String {
    admin(server, "/api/v1/projects", json!({"key": "shop"})).await;
    admin(server, "/api/v1/projects/shop/environments", json!({"key": "production"})).await;
    admin(server, "/api/v1/projects/shop/flags", json!({"key": "checkout", "kind": "boolean"})).await;
    let key = admin(server, &format!("{ENV}/sdk-keys"), json!({"name": "svc"})).await;
    key["secret"].as_str().unwrap().to_string()
}

async fn fleet(server: &TestServer, token: &str) -> (u16, Value) {
    let resp = reqwest::Client::new().get(server.url(&format!("{ENV}/fleet"))).bearer_auth(token).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

/// Polls the fleet view until `check` holds (at most 30 s); returns it.
async fn until(server: &TestServer, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, view) = fleet(server, &server.admin_token).await;
        assert_eq!(status, 200, "{view}");
        if check(&view) {
            return view;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {view}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn instances(view: &Value) -> Vec<Value> {
    view["instances"].as_array().cloned().unwrap_or_default()
}

fn by_instance(view: &Value, id: &str) -> Option<Value> {
    instances(view).into_iter().find(|r| r["instance"] == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdks_show_with_their_service_and_transport() {
    for_each_store(|server| async move {
        let key = seed(&server).await;
        let (status, empty) = fleet(&server, &server.admin_token).await;
        assert_eq!((status, instances(&empty).len()), (200, 0), "{empty}");

        let streaming = switchyard::Client::builder(key.as_str())
            .base_url(server.base.as_str())
            .service_name("checkout")
            .service_version("1.4.2")
            .build()
            .unwrap();
        let polling = switchyard::Client::builder(key.as_str())
            .base_url(server.base.as_str())
            .service_name("search")
            .streaming(false)
            .polling_interval(Duration::from_millis(100))
            .build()
            .unwrap();
        streaming.wait_until_ready(Duration::from_secs(10)).await.unwrap();
        polling.wait_until_ready(Duration::from_secs(10)).await.unwrap();
        let service = |v: &Value, s: &str| instances(v).into_iter().find(|r| r["service"] == s);
        let view = until(&server, "both SDKs, current", |v| {
            ["checkout", "search"].iter().all(|s| service(v, s).is_some_and(|r| r["lag_revisions"] == 0))
        })
        .await;
        let row = service(&view, "checkout").unwrap();
        assert_eq!((row["transport"].as_str(), row["service_version"].as_str()), (Some("sse"), Some("1.4.2")));
        assert_eq!(row["revision"], view["revision"]);
        assert_eq!(service(&view, "search").unwrap()["transport"], "poll");
        assert_eq!((view["replicas"].as_u64(), view["unanswered"].clone()), (Some(1), json!([])));

        // A viewer may read it; an unknown environment is 404.
        let viewer = admin(&server, "/api/v1/tokens", json!({"name": "v", "role": "viewer"})).await;
        let viewer = viewer["secret"].as_str().unwrap();
        assert_eq!(fleet(&server, viewer).await.0, 200);
        let missing = reqwest::Client::new()
            .get(server.url("/api/v1/projects/shop/environments/nope/fleet"))
            .bearer_auth(&server.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
        drop((streaming, polling));
        server
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_identity_headers_count_as_absent() {
    for_each_store(|server| async move {
        let key = seed(&server).await;
        let long = "x".repeat(65);
        let cases: [(&str, &str, &str); 4] = [
            ("raw-long", long.as_str(), "1"),
            ("raw-tab", "tab\there", "1"),
            ("raw-fine", "billing", "2.0"),
            ("raw-latin1", "caf\u{e9}", "1"),
        ];
        let mut streams = Vec::new();
        for (instance, service, version) in cases {
            let resp = reqwest::Client::new()
                .get(server.url("/sdk/v1/stream"))
                .bearer_auth(&key)
                .header("x-switchyard-instance", instance)
                .header("x-switchyard-service", reqwest::header::HeaderValue::from_bytes(service.as_bytes()).unwrap())
                .header("x-switchyard-service-version", version)
                .header("x-switchyard-sdk", "raw/1")
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{instance}");
            streams.push(resp.bytes_stream());
        }
        let view = until(&server, "four raw streams", |v| instances(v).len() == 4).await;
        for (instance, expected) in
            [("raw-long", None), ("raw-tab", None), ("raw-fine", Some("billing")), ("raw-latin1", None)]
        {
            let row = by_instance(&view, instance).unwrap();
            assert_eq!(row["service"].as_str(), expected, "{row}");
            assert_eq!(row["sdk"], "raw/1");
            // Connected, never acknowledged: revision 0, behind by the whole history.
            assert_eq!(row["revision"], 0);
            assert_eq!(row["lag_revisions"], view["revision"]);
        }
        // A poll with an invalid instance id is not listed; a valid one is.
        for (instance, listed) in [("y".repeat(65), false), ("poller-1".to_string(), true)] {
            let resp = reqwest::Client::new()
                .get(server.url("/sdk/v1/snapshot"))
                .bearer_auth(&key)
                .header("x-switchyard-instance", &instance)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let (_, view) = fleet(&server, &server.admin_token).await;
            assert_eq!(by_instance(&view, &instance).is_some(), listed, "{instance}: {view}");
        }
        drop(streams);
        server
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ofrep_refetch_stream_shows_as_ofrep() {
    for_each_store(|server| async move {
        let key = seed(&server).await;
        let bulk = reqwest::Client::new()
            .post(server.url("/ofrep/v1/evaluate/flags"))
            .bearer_auth(&key)
            .json(&json!({"context": {"targetingKey": "u"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(bulk.status(), 200);
        let body: Value = bulk.json().await.unwrap();
        let path = body["eventStreams"][0]["endpoint"]["requestUri"].as_str().unwrap().to_string();
        let resp = reqwest::Client::new().get(server.url(&path)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let mut stream = resp.bytes_stream();
        let _ = stream.next().await;
        let view = until(&server, "the OFREP client", |v| instances(v).iter().any(|r| r["transport"] == "ofrep")).await;
        let row = instances(&view).into_iter().find(|r| r["transport"] == "ofrep").unwrap();
        assert!(row["instance"].as_str().unwrap().starts_with("ofrep-"), "{row}");
        drop(stream);
        server
    })
    .await;
}

/// An SDK (or an OFREP client) that closes its stream leaves the fleet
/// (and the receipts' count of connected instances) when it closes, not
/// when the server next writes to it: with heartbeats an hour apart, only
/// the server noticing the close itself can drop it (hyper reads the
/// connection for EOF while it streams the response; serving with
/// `half_close`, which stops that read, fails this).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stream_leaves_the_fleet_before_any_write() {
    for db in switchyard_server::testing::TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let mut config = switchyard_server::config::ServeConfig::for_tests(db.url());
        config.heartbeat = Duration::from_secs(3600);
        let server = TestServer::start_with(config).await;
        let key = seed(&server).await;
        let sdk = switchyard::Client::builder(key.as_str())
            .base_url(server.base.as_str())
            .service_name("leaving")
            .build()
            .unwrap();
        sdk.wait_until_ready(Duration::from_secs(10)).await.unwrap();
        until(&server, "the SDK, connected", |v| instances(v).iter().any(|r| r["service"] == "leaving")).await;
        let mut raw = reqwest::Client::new()
            .get(server.url("/sdk/v1/stream"))
            .bearer_auth(&key)
            .header("x-switchyard-instance", "raw-leaving")
            .send()
            .await
            .unwrap()
            .bytes_stream();
        raw.next().await.expect("the first frames").unwrap();
        until(&server, "the raw stream, connected", |v| by_instance(v, "raw-leaving").is_some()).await;
        // An OFREP refetch stream (its path names the key's SHA-256).
        let secret = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(key.as_bytes()));
        let mut ofrep = reqwest::Client::new()
            .get(server.url(&format!("/ofrep/v1/streams/{secret}")))
            .send()
            .await
            .unwrap()
            .bytes_stream();
        ofrep.next().await.expect("the first frames").unwrap();
        until(&server, "three streams", |v| instances(v).len() == 3).await;

        drop((sdk, raw, ofrep));
        until(&server, "both gone", |v| instances(v).is_empty()).await;
        server.stop().await;
        db.cleanup().await;
    }
}
