//! Webhook delivery that outlives a server and is shared by replicas: a
//! delivery still pending when its server crashes is sent by the next
//! server on the same database, and two replicas on one Postgres send each event
//! exactly once. Real servers (each in its own runtime), a real loopback
//! receiver (axum on port 0; the servers run with `webhook_allow_private`),
//! real databases.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use reqwest::Method;
use serde_json::{Value, json};
use switchyard_e2e::{Admin, DEADLINE, FlagSpec, Server, TestDb, eventually, flag_path, seed};
use switchyard_server::config::ServeConfig;
use switchyard_server::webhooks::sign;

const HOOKS: &str = "/api/v1/projects/shop/webhooks";
const SECRET: &str = "e2e-webhook-secret-0123456789";

/// One request the receiver got, and what it answered.
#[derive(Clone, Debug)]
struct Hit {
    at: Instant,
    delivery: String,
    body: Bytes,
    answered: u16,
}

/// A loopback webhook receiver that answers 503 while `failing`, else 204,
/// and checks every signature.
#[derive(Clone)]
struct Receiver {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    failing: Arc<AtomicBool>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert_eq!(header("x-switchyard-signature"), sign(SECRET, &body), "signature over the raw body");
    let status =
        if r.failing.load(Ordering::SeqCst) { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::NO_CONTENT };
    let hit = Hit { at: Instant::now(), delivery: header("x-switchyard-delivery"), body, answered: status.as_u16() };
    r.hits.lock().unwrap().push(hit);
    status
}

impl Receiver {
    async fn start(failing: bool) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            url: format!("http://{}/hook", listener.local_addr().unwrap()),
            hits: Arc::default(),
            failing: Arc::new(AtomicBool::new(failing)),
        };
        let app = axum::Router::new().fallback(axum::routing::post(receive)).with_state(receiver.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        receiver
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Waits until `done` holds for the hits so far.
    async fn wait(&self, what: &str, done: impl Fn(&[Hit]) -> bool) -> Vec<Hit> {
        let start = Instant::now();
        loop {
            let hits = self.hits();
            if done(&hits) {
                return hits;
            }
            assert!(start.elapsed() < DEADLINE, "{what}: {} hits {hits:?}", hits.len());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

fn config(db: &TestDb) -> ServeConfig {
    let mut config = ServeConfig::for_tests(db.url());
    config.webhook_allow_private = true;
    config.webhook_retry_base = Duration::from_millis(100);
    config.webhook_max_attempts = 20;
    config
}

async fn start(db: &TestDb) -> Server {
    Server::start_with(config(db)).await
}

async fn create_hook(admin: &Admin, receiver: &Receiver) -> i64 {
    let hook = admin.post(HOOKS, json!({"url": receiver.url, "secret": SECRET})).await;
    hook["webhook"]["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_delivery_is_sent_after_a_restart() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let receiver = Receiver::start(true).await;
        let server = start(&db).await;
        let admin = server.admin();
        seed(&admin, &[FlagSpec::boolean("checkout")]).await;
        let hook = create_hook(&admin, &receiver).await;
        admin.post(&format!("{}/kill", flag_path("checkout")), json!({"reason": "boom", "incident": "INC-9"})).await;
        // the receiver is down (503): the delivery stays pending, retried;
        // then the server dies (no graceful shutdown: the runtime is dropped)
        let failed = receiver.wait("a failed attempt", |h| h.len() >= 2).await;
        server.crash().await;

        receiver.failing.store(false, Ordering::SeqCst);
        let server = start(&db).await;
        let hits = receiver.wait("delivery after the restart", |h| h.iter().any(|h| h.answered == 204)).await;
        let ok = hits.iter().find(|h| h.answered == 204).unwrap();
        assert_eq!(ok.delivery, failed[0].delivery, "the same delivery id");
        assert_eq!(ok.body, failed[0].body, "the same body");
        let body: Value = serde_json::from_slice(&ok.body).unwrap();
        assert_eq!((body["event"].as_str(), body["incident"].as_str()), (Some("flag.killed"), Some("INC-9")));
        // The receiver saw the 204 before the server recorded it: wait for
        // the record (this raced under load in CI).
        let path = format!("{HOOKS}/{hook}/deliveries");
        let admin = server.admin();
        eventually("the delivery is recorded as delivered", || async {
            admin.get(&path).await[0]["status"] == "delivered"
        })
        .await;
        let history = admin.get(&path).await;
        assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
        assert_eq!(history[0]["status"], "delivered");
        assert!(history[0]["attempts"].as_u64().unwrap() >= 3, "{history}");
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_send_each_event_once() {
    let Some(db) = TestDb::postgres().await else { return };
    let receiver = Receiver::start(false).await;
    let a = start(&db).await;
    let b = start(&db).await;
    let admins = [a.admin(), b.admin()];
    seed(&admins[0], &[FlagSpec::boolean("checkout")]).await;
    let hook = create_hook(&admins[0], &receiver).await;
    const EVENTS: usize = 20;
    let mut latencies = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS {
        // kill, restore, kill, … alternating replicas
        let (admin, kill) = (&admins[i % 2], i % 2 == 0);
        let method = if kill { Method::POST } else { Method::DELETE };
        let sent = Instant::now();
        admin
            .expect(method, &format!("{}/kill", flag_path("checkout")), Some(json!({"reason": format!("r{i}")})), 200)
            .await;
        let hits = receiver.wait("the event", |h| h.len() > i).await;
        latencies.push(hits[i].at.saturating_duration_since(sent));
    }
    // give a second sender time to show itself
    tokio::time::sleep(Duration::from_secs(1)).await;
    let hits = receiver.hits();
    let mut ids: Vec<&str> = hits.iter().map(|h| h.delivery.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((hits.len(), ids.len()), (EVENTS, EVENTS), "each event exactly once");
    let path = format!("{HOOKS}/{hook}/deliveries");
    eventually("every delivery is recorded", || async {
        let history = admins[1].get(&path).await;
        history.as_array().is_some_and(|h| h.iter().all(|d| d["status"] == "delivered"))
    })
    .await;
    let history = admins[1].get(&path).await;
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), EVENTS);
    assert!(history.iter().all(|d| d["status"] == "delivered" && d["attempts"] == 1), "{history:?}");
    latencies.sort_unstable();
    eprintln!(
        "kill/restore request sent → webhook received, over 2 replicas: p50 {:?}, max {:?} ({EVENTS} events)",
        latencies[EVENTS / 2],
        latencies[EVENTS - 1]
    );
    a.stop().await;
    b.stop().await;
    db.cleanup().await;
}
