//! A fault-injection peer: a tiny axum server that speaks the SDK wire
//! protocol from a script, so tests can produce what the real server never
//! sends on purpose (malformed events, unknown event names, 500s, 429s,
//! silence, revision gaps). End-to-end tests against the real server live
//! in the workspace's `tests/` package.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::stream;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// One step of a scripted stream response.
#[derive(Debug, Clone)]
pub enum Step {
    /// Write these bytes.
    Send(String),
    /// Pause.
    Sleep(Duration),
    /// Never end (after the previous steps).
    Hold,
}

/// What one stream connection gets.
#[derive(Debug, Clone)]
pub enum StreamReply {
    /// A non-200 status with headers.
    Status(u16, Vec<(&'static str, String)>),
    /// A 200 event stream following the steps, then EOF (unless `Hold`).
    Sse(Vec<Step>),
    /// The same from a server that asks for acknowledgements
    /// (`X-Switchyard-Acks: on-request`).
    SseAsking(Vec<Step>),
}

/// What one snapshot request gets.
#[derive(Debug, Clone)]
pub enum SnapshotReply {
    /// A non-200 status.
    Status(u16),
    /// 200 with this snapshot (304 if `If-None-Match` matches its revision).
    Json(Value),
}

/// A request the peer saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: &'static str,
    pub at: Instant,
    pub authorization: Option<String>,
    pub last_event_id: Option<String>,
    pub instance: Option<String>,
    pub if_none_match: Option<String>,
}

#[derive(Default)]
struct PeerState {
    streams: Mutex<VecDeque<StreamReply>>,
    default_stream: Mutex<Option<StreamReply>>,
    snapshots: Mutex<VecDeque<SnapshotReply>>,
    default_snapshot: Mutex<Option<SnapshotReply>>,
    seen: Mutex<Vec<Seen>>,
    acks: Mutex<Vec<Value>>,
    /// Telemetry batches accepted.
    telemetry: Mutex<Vec<Value>>,
    /// Status telemetry posts get (0 = 202 Accepted).
    telemetry_status: AtomicUsize,
    /// Stream bodies dropped (the client went away or the script ended).
    closed: AtomicUsize,
}

/// The running peer.
pub struct Peer {
    pub base_url: String,
    state: Arc<PeerState>,
    server: JoinHandle<()>,
}

impl Peer {
    /// Binds 127.0.0.1:0 first, then serves (no sleeps needed).
    pub async fn start() -> Peer {
        let state = Arc::new(PeerState::default());
        let app = Router::new()
            .route("/sdk/v1/stream", get(stream_handler))
            .route("/sdk/v1/snapshot", get(snapshot_handler))
            .route("/sdk/v1/ack", post(ack_handler))
            .route("/sdk/v1/telemetry", post(telemetry_handler))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Peer { base_url, state, server }
    }

    /// Queues the reply for the next stream connection.
    pub fn push_stream(&self, reply: StreamReply) {
        self.state.streams.lock().unwrap().push_back(reply);
    }

    /// The reply once the queue is empty (default: 503).
    pub fn default_stream(&self, reply: StreamReply) {
        *self.state.default_stream.lock().unwrap() = Some(reply);
    }

    /// Queues the reply for the next snapshot request.
    pub fn push_snapshot(&self, reply: SnapshotReply) {
        self.state.snapshots.lock().unwrap().push_back(reply);
    }

    /// The reply once the snapshot queue is empty (default: 503).
    pub fn default_snapshot(&self, reply: SnapshotReply) {
        *self.state.default_snapshot.lock().unwrap() = Some(reply);
    }

    pub fn seen(&self, path: &str) -> Vec<Seen> {
        self.state.seen.lock().unwrap().iter().filter(|s| s.path == path).cloned().collect()
    }

    pub fn streams_seen(&self) -> Vec<Seen> {
        self.seen("stream")
    }

    pub fn acks(&self) -> Vec<Value> {
        self.state.acks.lock().unwrap().clone()
    }

    /// Telemetry batches accepted so far.
    pub fn telemetry(&self) -> Vec<Value> {
        self.state.telemetry.lock().unwrap().clone()
    }

    /// Answers telemetry posts with this status (a non-2xx refuses them).
    pub fn telemetry_status(&self, code: u16) {
        self.state.telemetry_status.store(usize::from(code), Ordering::SeqCst);
    }

    pub fn closed_streams(&self) -> usize {
        self.state.closed.load(Ordering::SeqCst)
    }

    /// Stops accepting connections (the port then refuses).
    pub fn stop(&self) {
        self.server.abort();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn record(state: &PeerState, path: &'static str, headers: &HeaderMap) {
    state.seen.lock().unwrap().push(Seen {
        path,
        at: Instant::now(),
        authorization: header_str(headers, "authorization"),
        last_event_id: header_str(headers, "last-event-id"),
        instance: header_str(headers, "x-switchyard-instance"),
        if_none_match: header_str(headers, "if-none-match"),
    });
}

struct CloseGuard(Arc<PeerState>);

impl Drop for CloseGuard {
    fn drop(&mut self) {
        self.0.closed.fetch_add(1, Ordering::SeqCst);
    }
}

async fn stream_handler(State(state): State<Arc<PeerState>>, headers: HeaderMap) -> Response {
    record(&state, "stream", &headers);
    let reply = state.streams.lock().unwrap().pop_front();
    let reply = reply.or_else(|| state.default_stream.lock().unwrap().clone());
    match reply.unwrap_or(StreamReply::Status(503, vec![])) {
        StreamReply::Status(code, headers) => {
            let mut resp = problem(code);
            for (name, value) in headers {
                resp.headers_mut().insert(name, value.parse().unwrap());
            }
            resp
        }
        StreamReply::Sse(steps) => sse_reply(state, steps, false),
        StreamReply::SseAsking(steps) => sse_reply(state, steps, true),
    }
}

/// A 200 event stream following `steps`; `asking`: with the header of a
/// server that asks for acknowledgements.
fn sse_reply(state: Arc<PeerState>, steps: Vec<Step>, asking: bool) -> Response {
    let guard = CloseGuard(state.clone());
    let steps: VecDeque<Step> = steps.into();
    let body = stream::unfold((steps, guard), |(mut steps, guard)| async move {
        loop {
            match steps.pop_front()? {
                Step::Send(text) => {
                    return Some((Ok::<_, std::io::Error>(text), (steps, guard)));
                }
                Step::Sleep(d) => tokio::time::sleep(d).await,
                Step::Hold => std::future::pending::<()>().await,
            }
        }
    });
    let mut resp = Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(body))
        .unwrap();
    if asking {
        let value = switchyard_core::protocol::ACKS_ON_REQUEST.parse().unwrap();
        resp.headers_mut().insert(switchyard_core::protocol::header::ACKS, value);
    }
    resp
}

async fn snapshot_handler(State(state): State<Arc<PeerState>>, headers: HeaderMap) -> Response {
    record(&state, "snapshot", &headers);
    let reply = state.snapshots.lock().unwrap().pop_front();
    let reply = reply.or_else(|| state.default_snapshot.lock().unwrap().clone());
    match reply.unwrap_or(SnapshotReply::Status(503)) {
        SnapshotReply::Status(code) => problem(code),
        SnapshotReply::Json(snapshot) => {
            let etag = format!("\"{}\"", snapshot["revision"]);
            if header_str(&headers, "if-none-match").as_deref() == Some(etag.as_str()) {
                return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
            }
            ([(header::ETAG, etag)], axum::Json(snapshot)).into_response()
        }
    }
}

async fn ack_handler(
    State(state): State<Arc<PeerState>>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> StatusCode {
    record(&state, "ack", &headers);
    state.acks.lock().unwrap().push(body);
    StatusCode::NO_CONTENT
}

async fn telemetry_handler(
    State(state): State<Arc<PeerState>>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    record(&state, "telemetry", &headers);
    match state.telemetry_status.load(Ordering::SeqCst) {
        0 => {
            state.telemetry.lock().unwrap().push(body);
            StatusCode::ACCEPTED.into_response()
        }
        code => problem(u16::try_from(code).unwrap()),
    }
}

fn problem(code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap();
    let body = json!({"type": "about:blank", "title": status.canonical_reason(), "status": code}).to_string();
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/problem+json")
        .body(Body::from(body))
        .unwrap()
}

// ---- frames and data ----

/// `retry:` line (short, so tests reconnect fast).
pub fn retry(ms: u64) -> Step {
    Step::Send(format!("retry: {ms}\n\n"))
}

pub fn snapshot_frame(snapshot: &Value) -> Step {
    Step::Send(format!("event: snapshot\nid: {}\ndata: {snapshot}\n\n", snapshot["revision"]))
}

pub fn change_frame(change: &Value) -> Step {
    Step::Send(format!("event: change\nid: {}\ndata: {change}\n\n", change["revision"]))
}

pub fn raw(text: &str) -> Step {
    Step::Send(text.to_owned())
}

pub fn heartbeat() -> Step {
    Step::Send(": heartbeat\n\n".to_owned())
}

/// A boolean flag serving `value` to everyone (fallthrough).
pub fn bool_flag(key: &str, value: bool) -> Value {
    json!({"key": key, "kind": "boolean", "on": true, "off_variant": "off", "version": 1,
           "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
           "fallthrough": {"variant": if value { "on" } else { "off" }}})
}

pub fn snapshot(revision: u64, flags: Vec<Value>) -> Value {
    json!({"revision": revision, "flags": flags, "segments": []})
}

pub fn change(revision: u64, flags: Vec<Value>) -> Value {
    json!({"revision": revision, "flags": flags})
}

/// Waits until `cond` holds (checking every 10 ms), at most 10 s.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Awaits `fut`, at most 10 s.
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), fut).await.unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// A builder tuned for fast tests.
pub fn fast_builder(peer: &Peer) -> switchyard::ClientBuilder {
    switchyard::Client::builder("sdk-test-key")
        .base_url(&peer.base_url)
        .initial_backoff(Duration::from_millis(20))
        .max_backoff(Duration::from_millis(200))
        .read_timeout(Duration::from_secs(3))
        .polling_interval(Duration::from_secs(60))
}
