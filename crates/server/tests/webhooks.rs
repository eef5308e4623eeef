//! Outgoing webhooks over real HTTP, against SQLite and Postgres (both in
//! CI): signed deliveries on kill/restore (from the API and from triggers),
//! retries after a 500, and the SSRF guard at save and at send time. The
//! receiver is a tiny axum server on 127.0.0.1, so the servers that deliver
//! to it run with `webhook_allow_private`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use switchyard_server::config::ServeConfig;
use switchyard_server::store::{WebhookEvent, WebhookTarget};
use switchyard_server::testing::{Api, TestDb, TestServer};
use switchyard_server::webhooks::guard::AddressPolicy;
use switchyard_server::webhooks::{Attempt, NotifierOptions, send};

const P: &str = "/api/v1/projects/shop";
const FLAG: &str = "/api/v1/projects/shop/environments/production/flags/checkout";

async fn seed(admin: &Api) {
    admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "shop"})), 201).await;
    admin.ok(Method::POST, &format!("{P}/environments"), Some(json!({"key": "production"})), 201).await;
    for key in ["checkout", "search"] {
        admin
            .ok(
                Method::POST,
                &format!("{P}/flags"),
                Some(json!({"key": key, "kind": "boolean", "tags": ["shop"]})),
                201,
            )
            .await;
    }
}

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Hit {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// A loopback receiver that answers 500 to its first `fail_first` requests.
#[derive(Clone)]
struct Receiver {
    base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

#[derive(Clone)]
struct ReceiverState {
    hits: Arc<Mutex<Vec<Hit>>>,
    fail_first: usize,
    seen: Arc<AtomicUsize>,
}

async fn receive(
    State(state): State<ReceiverState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> AxumStatus {
    state.hits.lock().unwrap().push(Hit { path: uri.path().to_string(), headers, body });
    if state.seen.fetch_add(1, Ordering::SeqCst) < state.fail_first {
        AxumStatus::INTERNAL_SERVER_ERROR
    } else {
        AxumStatus::NO_CONTENT
    }
}

impl Receiver {
    async fn start(fail_first: usize) -> Receiver {
        let hits = Arc::new(Mutex::new(Vec::new()));
        let state = ReceiverState { hits: Arc::clone(&hits), fail_first, seen: Arc::new(AtomicUsize::new(0)) };
        let app = axum::Router::new().fallback(axum::routing::post(receive)).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { base, hits }
    }

    fn hits(&self, path: &str) -> Vec<Hit> {
        let hits = self.hits.lock().unwrap();
        hits.iter().filter(|h| h.path == path).cloned().collect()
    }

    /// Waits until `path` got `n` requests (or panics after `timeout`).
    async fn wait_for(&self, path: &str, n: usize, timeout: Duration) -> Vec<Hit> {
        let start = Instant::now();
        loop {
            let hits = self.hits(path);
            if hits.len() >= n {
                return hits;
            }
            assert!(start.elapsed() < timeout, "{path}: {} of {n} deliveries after {timeout:?}", hits.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn verify(secret: &str, hit: &Hit) -> Value {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&hit.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let got = hit.headers["x-switchyard-signature"].to_str().unwrap();
    assert_eq!(got, expected, "signature over the raw body");
    let ts: i64 = hit.headers["x-switchyard-timestamp"].to_str().unwrap().parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    assert_eq!(hit.headers["content-type"], "application/json");
    serde_json::from_slice(&hit.body).unwrap()
}

async fn start_server(db: &TestDb, allow_private: bool) -> TestServer {
    let mut config = ServeConfig::for_tests(db.url());
    config.webhook_allow_private = allow_private;
    TestServer::start_with(config).await
}

#[tokio::test]
async fn kills_and_restores_are_delivered_signed() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = start_server(&db, true).await;
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let receiver = Receiver::start(0).await;
        let kills_secret = "kill-hook-secret-0123456789";
        let kills = admin
            .ok(
                Method::POST,
                &format!("{P}/webhooks"),
                Some(json!({"url": format!("{}/kills?token=abc", receiver.base), "events": ["kill"], "secret": kills_secret})),
                201,
            )
            .await;
        assert_eq!(kills["secret"], kills_secret);
        let all = admin
            .ok(
                Method::POST,
                &format!("{P}/webhooks"),
                Some(json!({"url": format!("{}/all", receiver.base), "events": ["all"]})),
                201,
            )
            .await;
        let all_secret = all["secret"].as_str().unwrap().to_string();
        assert!(all_secret.starts_with("whs_"));
        let list = admin.ok(Method::GET, &format!("{P}/webhooks"), None, 200).await;
        assert_eq!(list.as_array().unwrap().len(), 2);
        assert!(!list.to_string().contains(kills_secret) && !list.to_string().contains(&all_secret));
        // the audit keeps only the URL's origin (paths and queries carry credentials)
        let audit = admin.ok(Method::GET, &format!("{P}/audit"), None, 200).await;
        let created = &audit["items"][0];
        assert_eq!(created["action"], "webhook.create");
        assert!(!created.to_string().contains("/all") && !created.to_string().contains("token=abc"));

        // a kill: both webhooks get it, signed with their own secret
        let killed = admin
            .ok(
                Method::POST,
                &format!("{FLAG}/kill"),
                Some(json!({"reason": "checkout 5xx", "incident": "INC-1"})),
                200,
            )
            .await;
        let revision = killed["revision"].as_u64().unwrap();
        let hit = &receiver.wait_for("/kills", 1, Duration::from_secs(10)).await[0];
        let body = verify(kills_secret, hit);
        assert_eq!(hit.headers["x-switchyard-event"], "kill");
        assert_eq!(body["event"], "kill");
        assert_eq!(body["project"], "shop");
        assert_eq!(body["environment"], "production");
        assert_eq!(body["flags"], json!(["checkout"]));
        assert_eq!(body["actor"], json!({"name": "admin", "kind": "user"}));
        assert_eq!(body["reason"], "checkout 5xx");
        assert_eq!(body["incident"], "INC-1");
        assert_eq!(body["revision"].as_u64(), Some(revision));
        assert!(body["at"].is_string() && body["id"].is_string());
        let hit = &receiver.wait_for("/all", 1, Duration::from_secs(10)).await[0];
        assert_eq!(verify(&all_secret, hit)["revision"].as_u64(), Some(revision));

        // a restore goes to `all` only; a no-op restore to nobody
        admin.ok(Method::DELETE, &format!("{FLAG}/kill"), Some(json!({"reason": "fixed"})), 200).await;
        admin.ok(Method::DELETE, &format!("{FLAG}/kill"), Some(json!({"reason": "again"})), 200).await;
        let hits = receiver.wait_for("/all", 2, Duration::from_secs(10)).await;
        let body = verify(&all_secret, &hits[1]);
        assert_eq!((body["event"].as_str(), body["reason"].as_str()), (Some("restore"), Some("fixed")));

        // the panic button: one delivery naming every flag
        admin
            .ok(
                Method::POST,
                "/api/v1/projects/shop/environments/production/kill",
                Some(json!({"tag": "shop", "reason": "panic"})),
                200,
            )
            .await;
        let hits = receiver.wait_for("/kills", 2, Duration::from_secs(10)).await;
        assert_eq!(verify(kills_secret, &hits[1])["flags"], json!(["checkout", "search"]));

        // a trigger's kill is announced as the trigger
        admin
            .ok(
                Method::DELETE,
                "/api/v1/projects/shop/environments/production/flags/search/kill",
                Some(json!({"reason": "ok"})),
                200,
            )
            .await;
        let created = admin
            .ok(
                Method::POST,
                "/api/v1/projects/shop/environments/production/flags/search/triggers",
                Some(json!({"name": "alertmanager", "action": "kill"})),
                201,
            )
            .await;
        let resp = reqwest::Client::new()
            .post(server.url(created["path"].as_str().unwrap()))
            .json(&json!({"status": "firing", "commonLabels": {"alertname": "SearchDown"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let hits = receiver.wait_for("/kills", 3, Duration::from_secs(10)).await;
        let body = verify(kills_secret, &hits[2]);
        assert_eq!(body["actor"], json!({"name": "alertmanager", "kind": "trigger"}));
        assert_eq!(body["reason"], "SearchDown");

        // deleted webhooks get nothing more
        let id = kills["webhook"]["id"].as_i64().unwrap();
        let deleted = admin.ok(Method::DELETE, &format!("{P}/webhooks/{id}"), None, 200).await;
        assert!(deleted["disabled_at"].is_string());
        let before_all = receiver.hits("/all").len();
        admin.ok(Method::DELETE, &format!("{FLAG}/kill"), Some(json!({"reason": "r"})), 200).await;
        admin.ok(Method::POST, &format!("{FLAG}/kill"), Some(json!({"reason": "again"})), 200).await;
        receiver.wait_for("/all", before_all + 2, Duration::from_secs(10)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(receiver.hits("/kills").len(), 3);
        assert_eq!(receiver.hits("/all").len(), before_all + 2, "no-op writes announce nothing");

        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn failed_deliveries_are_retried() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = start_server(&db, true).await;
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let receiver = Receiver::start(1).await;
        let secret = "retry-secret-0123456789";
        admin
            .ok(
                Method::POST,
                &format!("{P}/webhooks"),
                Some(
                    json!({"url": format!("{}/hook", receiver.base), "events": ["kill", "restore"], "secret": secret}),
                ),
                201,
            )
            .await;
        admin.ok(Method::POST, &format!("{FLAG}/kill"), Some(json!({"reason": "boom"})), 200).await;
        // 500 first, then (after about a second of backoff) delivered
        let hits = receiver.wait_for("/hook", 2, Duration::from_secs(10)).await;
        assert_eq!(hits[0].body, hits[1].body, "the same delivery is retried");
        assert_eq!(hits[0].headers["x-switchyard-delivery"], hits[1].headers["x-switchyard-delivery"]);
        assert_eq!(verify(secret, &hits[1])["reason"], "boom");
        // and not sent again once it succeeded
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(receiver.hits("/hook").len(), 2);
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn private_link_local_and_metadata_urls_are_refused() {
    let db = TestDb::sqlite();
    let server = start_server(&db, false).await;
    let admin = Api::new(&server, Some(&server.admin_token));
    seed(&admin).await;
    let create = |url: &str| {
        let admin = admin.clone();
        let body = json!({"url": url, "events": ["all"]});
        async move { admin.call(Method::POST, &format!("{P}/webhooks"), Some(body)).await }
    };
    for (url, code) in [
        ("http://169.254.169.254/latest/meta-data/", "forbidden_address"),
        ("http://metadata.google.internal/computeMetadata/v1/", "forbidden_address"),
        ("http://100.100.100.200/latest/meta-data/", "forbidden_address"),
        ("http://[fe80::1]/", "forbidden_address"),
        ("http://[::ffff:169.254.169.254]/", "forbidden_address"),
        ("http://127.0.0.1:9/", "forbidden_address"),
        ("http://localhost:9/", "forbidden_address"),
        ("http://10.0.0.8/", "forbidden_address"),
        ("http://0.0.0.0/", "forbidden_address"),
        ("ftp://example.com/", "invalid_url"),
        ("not a url", "invalid_url"),
    ] {
        let (status, problem) = create(url).await;
        assert_eq!(status, 422, "{url}: {problem}");
        assert_eq!(problem["errors"][0]["path"], "url", "{url}");
        assert_eq!(problem["errors"][0]["code"], code, "{url}: {problem}");
    }
    let (status, problem) = admin
        .call(
            Method::POST,
            &format!("{P}/webhooks"),
            Some(json!({"url": "http://example.com/", "events": ["all"], "secret": "short"})),
        )
        .await;
    assert_eq!((status.as_u16(), problem["errors"][0]["path"].as_str()), (422, Some("secret")));
    let list = admin.ok(Method::GET, &format!("{P}/webhooks"), None, 200).await;
    assert_eq!(list, json!([]));
    server.stop().await;
    db.cleanup().await;

    // with --webhook-allow-private: loopback is fine, metadata never
    let db = TestDb::sqlite();
    let server = start_server(&db, true).await;
    let admin = Api::new(&server, Some(&server.admin_token));
    seed(&admin).await;
    for (url, want) in
        [("http://127.0.0.1:9/", 201), ("http://169.254.169.254/", 422), ("http://metadata.google.internal/", 422)]
    {
        let (status, problem) =
            admin.call(Method::POST, &format!("{P}/webhooks"), Some(json!({"url": url, "events": ["kill"]}))).await;
        assert_eq!(status.as_u16(), want, "{url}: {problem}");
    }
    server.stop().await;
    db.cleanup().await;
}

/// The send-time check: a stored URL that the policy refuses (here, a
/// loopback receiver without `allow_private`) is never connected to.
#[tokio::test]
async fn the_address_is_checked_again_at_send_time() {
    let receiver = Receiver::start(0).await;
    let target = |url: String| WebhookTarget {
        webhook: switchyard_server::store::Webhook {
            id: 1,
            project: "shop".into(),
            url,
            events: vec![WebhookEvent::All],
            secret_prefix: "custom".into(),
            created_by: "admin".into(),
            created_at: chrono::Utc::now(),
            disabled_at: None,
        },
        secret: "secret-secret-secret".into(),
    };
    let body = Bytes::from_static(b"{}");
    let strict = NotifierOptions::default();
    let lax = NotifierOptions { policy: AddressPolicy { allow_private: true }, ..NotifierOptions::default() };
    for url in [format!("{}/a", receiver.base), format!("{}/a", receiver.base.replace("127.0.0.1", "localhost"))] {
        let outcome = send(&target(url.clone()), "d1", WebhookEvent::Kill, &body, &strict).await;
        assert!(matches!(outcome, Attempt::Failed(_)), "{url}: {outcome:?}");
    }
    assert!(receiver.hits("/a").is_empty(), "nothing was sent");
    let outcome = send(&target(format!("{}/a", receiver.base)), "d2", WebhookEvent::Kill, &body, &lax).await;
    assert!(matches!(outcome, Attempt::Delivered(204)), "{outcome:?}");
    // metadata stays refused even when private addresses are allowed
    let outcome = send(&target("http://169.254.169.254/".into()), "d3", WebhookEvent::Kill, &body, &lax).await;
    assert!(matches!(outcome, Attempt::Failed(_)), "{outcome:?}");
}
