//! Shared pieces of the webhook tests: the seeded project, a loopback receiver that records (and can refuse) deliveries, signature checks, servers with fast retries, history polling.

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
use switchyard_server::testing::{Api, TestDb, TestServer};

pub const P: &str = "/api/v1/projects/shop";
pub const FLAG: &str = "/api/v1/projects/shop/environments/production/flags/checkout";

pub async fn seed(admin: &Api) {
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
pub struct Hit {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A loopback receiver that answers `status_when_failing` to its first
/// `fail_first` requests, then 204; paths under `/gone` always get 404.
#[derive(Clone)]
pub struct Receiver {
    pub base: String,
    pub hits: Arc<Mutex<Vec<Hit>>>,
}

#[derive(Clone)]
pub struct ReceiverState {
    pub hits: Arc<Mutex<Vec<Hit>>>,
    pub fail_first: usize,
    pub seen: Arc<AtomicUsize>,
}

pub async fn receive(
    State(state): State<ReceiverState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> AxumStatus {
    let gone = uri.path().starts_with("/gone");
    state.hits.lock().unwrap().push(Hit { path: uri.path().to_string(), headers, body });
    if gone {
        AxumStatus::NOT_FOUND
    } else if state.seen.fetch_add(1, Ordering::SeqCst) < state.fail_first {
        AxumStatus::SERVICE_UNAVAILABLE
    } else {
        AxumStatus::NO_CONTENT
    }
}

impl Receiver {
    pub async fn start(fail_first: usize) -> Receiver {
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

    pub fn hits(&self, path: &str) -> Vec<Hit> {
        let hits = self.hits.lock().unwrap();
        hits.iter().filter(|h| h.path == path).cloned().collect()
    }

    /// Waits until `path` got `n` requests (or panics after `timeout`).
    pub async fn wait_for(&self, path: &str, n: usize, timeout: Duration) -> Vec<Hit> {
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

pub fn verify(secret: &str, hit: &Hit) -> Value {
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

pub async fn start_server(db: &TestDb, allow_private: bool) -> TestServer {
    let mut config = ServeConfig::for_tests(db.url());
    config.webhook_allow_private = allow_private;
    // Fast retries: 50 ms, 200 ms, 800 ms, …
    config.webhook_retry_base = Duration::from_millis(50);
    config.webhook_max_attempts = 4;
    TestServer::start_with(config).await
}

/// Creates a webhook; returns its id and secret.
pub async fn create_hook(admin: &Api, url: String, events: Option<Value>) -> (i64, String) {
    let mut body = json!({"url": url});
    if let Some(events) = events {
        body["events"] = events;
    }
    let created = admin.ok(Method::POST, &format!("{P}/webhooks"), Some(body), 201).await;
    (created["webhook"]["id"].as_i64().unwrap(), created["secret"].as_str().unwrap().to_string())
}

/// Polls the delivery history of a webhook until `done` holds for it.
pub async fn wait_history(admin: &Api, id: i64, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let history = admin.ok(Method::GET, &format!("{P}/webhooks/{id}/deliveries"), None, 200).await;
        let history = history.as_array().unwrap().clone();
        if done(&history) {
            return history;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "history of webhook {id}: {history:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
