//! Helpers for the end-to-end tests (see `tests/` in this package): the
//! real server (each in its own tokio runtime, like its own process), the
//! real SDK and a real database (SQLite and Postgres), over real loopback
//! sockets. Nothing is mocked; nothing sleeps to wait for a server: every
//! wait polls a condition against a deadline ([`eventually`]).
//!
//! - [`Server`]: start (optionally on a given address or with a given
//!   configuration), stop gracefully, crash (drop its runtime: every socket
//!   closes at once).
//! - [`Admin`]: a small JSON client of the admin API bound to one token.
//! - [`seed`]: project `shop`, environment `production`, flags, an SDK key.
//! - [`sdk`]: an SDK client tuned for tests (short reconnection backoff).
//! - [`assert_converged`] / [`wait_converged`]: SDK state == server snapshot.
//! - [`RevisionWatch`]: checks a client's `subscribe()` stream: revisions
//!   never go backwards or repeat.
//! - [`StallProxy`]: a TCP proxy whose server→client direction can be
//!   paused, to make a consumer slow (small socket buffers on its side).
//! - [`HostileProxy`] (module `hostile`): an HTTP proxy that cuts, stalls,
//!   splits, pollutes, floods or replays SDK streams, or refuses SDK
//!   requests with a status.
//! - [`RawStream`]: a raw SSE reader over reqwest.
//! - [`PgCluster`] (module `cluster`): a private Postgres cluster for one
//!   test, to stop and start for real (same data directory and port).
//! - [`BackgroundPanics`]: counts panics on runtime worker threads (a
//!   panicking spawned task does not fail a test by itself).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchyard::core::CompiledSnapshot;
use switchyard::{Client, Context, Snapshot, Update};
pub use switchyard_server::config::ServeConfig;
use switchyard_server::testing::{ADMIN_PASSWORD, login};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{oneshot, watch};

pub use switchyard_server::testing::{TestDb, pg_admin_url};

mod cluster;
mod hostile;
pub use cluster::PgCluster;
pub use hostile::{HostileProxy, Hostility};

/// The project every test uses.
pub const PROJECT: &str = "shop";
/// The environment every test uses.
pub const ENV: &str = "production";
/// `/api/v1/projects/shop/environments/production`.
pub const ENV_PATH: &str = "/api/v1/projects/shop/environments/production";

/// Generous bound for anything a test waits for (a loaded 2-core machine
/// running several test binaries).
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The configuration path of a flag in the test environment.
pub fn flag_path(flag: &str) -> String {
    format!("{ENV_PATH}/flags/{flag}")
}

// ---------------------------------------------------------------- server

/// How a [`Server`] ends.
enum Stop {
    /// `SIGTERM`: stop accepting, `goaway` to streams, finish requests.
    Graceful,
    /// `SIGKILL`: the runtime is dropped; every socket closes at once.
    Crash,
}

/// A real Switchyard server on a loopback port, in its own thread and
/// tokio runtime (so that stopping it really closes every connection, as
/// a process exit would; `TestServer::stop` aborts only the accept loop).
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The bound address (to start a successor on the same port).
    pub addr: SocketAddr,
    /// A session token of `admin`.
    pub admin_token: String,
    stop: Option<oneshot::Sender<Stop>>,
    done: Option<oneshot::Receiver<()>>,
}

impl Server {
    /// Starts a server on `database_url`, on a fresh port.
    pub async fn start(database_url: &str) -> Server {
        Self::start_on(database_url, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a server on `database_url` bound to `addr` (e.g. the address
    /// of a server that just stopped: tokio sets `SO_REUSEADDR`, and a
    /// bind that still fails with `AddrInUse` is retried until
    /// [`DEADLINE`]).
    pub async fn start_on(database_url: &str, addr: SocketAddr) -> Server {
        Self::launch(ServeConfig::for_tests(database_url), addr).await
    }

    /// Starts a server with a custom configuration (start from
    /// [`ServeConfig::for_tests`]; its `listen` is ignored: a fresh port).
    pub async fn start_with(config: ServeConfig) -> Server {
        Self::launch(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    async fn launch(config: ServeConfig, addr: SocketAddr) -> Server {
        let (ready_tx, ready_rx) = oneshot::channel::<Result<SocketAddr, String>>();
        let (stop_tx, stop_rx) = oneshot::channel::<Stop>();
        let (done_tx, done_rx) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("switchyard-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("switchyard-server")
                    .enable_all()
                    .build()
                    .expect("server runtime");
                rt.block_on(run_server(config, addr, ready_tx, stop_rx));
                // Cancels every task left (connections, hub, listener) and
                // closes their sockets and database connections.
                drop(rt);
                let _ = done_tx.send(());
            })
            .expect("server thread");
        let addr = match ready_rx.await {
            Ok(Ok(addr)) => addr,
            Ok(Err(err)) => panic!("server failed to start: {err}"),
            Err(_) => panic!("server thread died while starting"),
        };
        let base = format!("http://{addr}");
        let admin_token = login(&base, "admin", ADMIN_PASSWORD).await;
        Server { base, addr, admin_token, stop: Some(stop_tx), done: Some(done_rx) }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An [`Admin`] client with the admin session.
    pub fn admin(&self) -> Admin {
        Admin::new(&self.base, &self.admin_token)
    }

    /// Graceful stop, as on `SIGTERM`: streams get `goaway`, in-flight
    /// requests finish; returns once the port is free and every task ended.
    pub async fn stop(mut self) {
        self.end(Stop::Graceful).await;
    }

    /// Hard stop, as on `SIGKILL`: every connection is cut at once.
    pub async fn crash(mut self) {
        self.end(Stop::Crash).await;
    }

    async fn end(&mut self, how: Stop) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(how);
        }
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A panicking test: make the server thread exit (without waiting).
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(Stop::Crash);
        }
    }
}

async fn run_server(
    config: ServeConfig,
    addr: SocketAddr,
    ready: oneshot::Sender<Result<SocketAddr, String>>,
    stop: oneshot::Receiver<Stop>,
) {
    let deadline = Instant::now() + DEADLINE;
    let listener = loop {
        match TcpListener::bind(addr).await {
            Ok(listener) => break listener,
            Err(err) if err.kind() == std::io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(err) => {
                let _ = ready.send(Err(format!("bind {addr}: {err}")));
                return;
            }
        }
    };
    let bound = listener.local_addr().expect("local addr");
    let built = match switchyard_server::build(config).await {
        Ok(built) => built,
        Err(err) => {
            let _ = ready.send(Err(format!("{err:#}")));
            return;
        }
    };
    let state = built.state.clone();
    let (graceful_tx, graceful_rx) = oneshot::channel::<()>();
    let serve = switchyard_server::serve::serve(built.app, listener, state, async move {
        let _ = graceful_rx.await;
    });
    tokio::pin!(serve);
    let _ = ready.send(Ok(bound));
    tokio::select! {
        result = &mut serve => {
            if let Err(err) = result {
                eprintln!("server on {bound} ended: {err:#}");
            }
        }
        how = stop => match how {
            Ok(Stop::Graceful) => {
                let _ = graceful_tx.send(());
                let _ = serve.await;
            }
            Ok(Stop::Crash) | Err(_) => {}
        },
    }
}

// ---------------------------------------------------------------- admin API

/// A small JSON client of the admin API bound to one credential.
#[derive(Clone)]
pub struct Admin {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Admin {
    /// A client of the server at `base` with bearer `token`.
    pub fn new(base: &str, token: &str) -> Admin {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client");
        Admin { http, base: base.to_string(), token: token.to_string() }
    }

    /// The same server with another token.
    pub fn with_token(&self, token: &str) -> Admin {
        Admin { http: self.http.clone(), base: self.base.clone(), token: token.to_string() }
    }

    /// One request; `Err` only when no HTTP response arrived.
    pub async fn try_call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    /// One request; panics when the server is unreachable.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let what = format!("{method} {path}");
        self.try_call(method, path, body).await.unwrap_or_else(|err| panic!("{what}: {err}"))
    }

    /// Asserts the status and returns the body.
    pub async fn expect(&self, method: Method, path: &str, body: Option<Value>, status: u16) -> Value {
        let (got, body) = self.call(method.clone(), path, body).await;
        assert_eq!(got.as_u16(), status, "{method} {path} → {body}");
        body
    }

    /// `GET`, expecting 200.
    pub async fn get(&self, path: &str) -> Value {
        self.expect(Method::GET, path, None, 200).await
    }

    /// `POST`, expecting 200 or 201.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let (status, resp) = self.call(Method::POST, path, Some(body)).await;
        assert!(matches!(status.as_u16(), 200 | 201), "POST {path} → {status} {resp}");
        resp
    }

    /// Creates an API token of `role`; returns its secret.
    pub async fn create_token(&self, name: &str, role: &str) -> String {
        let body = self.post("/api/v1/tokens", json!({"name": name, "role": role})).await;
        body["secret"].as_str().expect("token secret").to_string()
    }

    /// Toggles a flag in the test environment; returns the new revision
    /// (`None` when it was already in that state).
    pub async fn toggle(&self, flag: &str, on: bool) -> Option<u64> {
        let body = self.post(&format!("{}/toggle", flag_path(flag)), json!({"on": on, "reason": "e2e"})).await;
        body["revision"].as_u64()
    }

    /// The configuration record of a flag in the test environment.
    pub async fn config(&self, flag: &str) -> Value {
        self.get(&flag_path(flag)).await
    }

    /// The environment's current revision.
    pub async fn revision(&self) -> u64 {
        self.get(ENV_PATH).await["revision"].as_u64().expect("revision")
    }
}

// ---------------------------------------------------------------- seed

/// A flag to create.
#[derive(Debug, Clone)]
pub struct FlagSpec {
    /// Key.
    pub key: String,
    /// `boolean`, `string`, ...
    pub kind: &'static str,
    /// Variant keys (values: `true`/`false` for booleans, the key itself for strings).
    pub variants: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
}

impl FlagSpec {
    /// A boolean flag (variants `on`, `off`).
    pub fn boolean(key: &str) -> FlagSpec {
        FlagSpec { key: key.into(), kind: "boolean", variants: vec!["on".into(), "off".into()], tags: vec![] }
    }

    /// A string flag whose variant values are their keys.
    pub fn string(key: &str, variants: &[&str]) -> FlagSpec {
        FlagSpec {
            key: key.into(),
            kind: "string",
            variants: variants.iter().map(|v| v.to_string()).collect(),
            tags: vec![],
        }
    }

    /// With a tag.
    pub fn tagged(mut self, tag: &str) -> FlagSpec {
        self.tags.push(tag.into());
        self
    }

    fn body(&self) -> Value {
        let mut body = json!({"key": self.key, "kind": self.kind, "tags": self.tags});
        if self.kind == "string" {
            body["variants"] = self.variants.iter().map(|v| json!({"key": v, "value": v})).collect();
        }
        body
    }
}

/// What [`seed`] created.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// The SDK key secret of the test environment.
    pub sdk_key: String,
    /// Its id (to revoke it).
    pub sdk_key_id: i64,
}

/// Creates project `shop`, environment `production`, the flags and an SDK key.
pub async fn seed(admin: &Admin, flags: &[FlagSpec]) -> Seeded {
    admin.expect(Method::POST, "/api/v1/projects", Some(json!({"key": PROJECT, "name": "Shop"})), 201).await;
    admin.expect(Method::POST, "/api/v1/projects/shop/environments", Some(json!({"key": ENV})), 201).await;
    for flag in flags {
        admin.expect(Method::POST, "/api/v1/projects/shop/flags", Some(flag.body()), 201).await;
    }
    let key = admin.expect(Method::POST, &format!("{ENV_PATH}/sdk-keys"), Some(json!({"name": "e2e"})), 201).await;
    Seeded {
        sdk_key: key["secret"].as_str().expect("sdk key").to_string(),
        sdk_key_id: key["key"]["id"].as_i64().expect("sdk key id"),
    }
}

// ---------------------------------------------------------------- SDK

/// An SDK client for tests: the default options except a short
/// reconnection backoff (servers restart within the test).
pub fn sdk(base: &str, sdk_key: &str) -> Client {
    sdk_builder(base, sdk_key).build().expect("building the SDK client")
}

/// The builder behind [`sdk`], to adjust further.
pub fn sdk_builder(base: &str, sdk_key: &str) -> switchyard::ClientBuilder {
    Client::builder(sdk_key)
        .base_url(base)
        .initial_backoff(Duration::from_millis(50))
        .max_backoff(Duration::from_millis(500))
        .polling_interval(Duration::from_secs(2))
}

/// The server's snapshot for `sdk_key` (`GET /sdk/v1/snapshot`).
pub async fn server_snapshot(base: &str, sdk_key: &str) -> Snapshot {
    let resp = reqwest::Client::new()
        .get(format!("{base}/sdk/v1/snapshot"))
        .bearer_auth(sdk_key)
        .send()
        .await
        .expect("snapshot request");
    assert_eq!(resp.status(), 200, "GET /sdk/v1/snapshot");
    resp.json().await.expect("snapshot body")
}

/// Context keys every comparison evaluates (targets in the tests use them).
pub fn probe_contexts() -> Vec<Context<'static>> {
    let mut out: Vec<Context<'static>> =
        (0..6).map(|i| Context::new(format!("user-{i}")).with("plan", "pro")).collect();
    out.push(Context::new("anonymous"));
    out
}

/// Differences between what `client` serves and `server` (empty: equal):
/// the revision, the set of flags, each flag's version, on/off and kill,
/// and every flag's evaluation (value, variant, reason) for
/// [`probe_contexts`].
pub fn differences(client: &Client, server: &Snapshot) -> Vec<String> {
    let mut diffs = Vec::new();
    let Some(ours) = client.snapshot() else {
        return vec!["the client has no snapshot".into()];
    };
    if ours.revision() != server.revision {
        diffs.push(format!("revision: client {} vs server {}", ours.revision(), server.revision));
    }
    let theirs = CompiledSnapshot::compile(server).expect("the server snapshot compiles");
    let mut our_keys: Vec<&str> = ours.flag_keys().collect();
    let mut their_keys: Vec<&str> = theirs.flag_keys().collect();
    our_keys.sort_unstable();
    their_keys.sort_unstable();
    if our_keys != their_keys {
        diffs.push(format!("flags: client {our_keys:?} vs server {their_keys:?}"));
    }
    let contexts = probe_contexts();
    for flag in theirs.flags() {
        let key = flag.key();
        let Some(mine) = ours.flag(key) else { continue };
        let state = |f: &switchyard::core::CompiledFlag| (f.version(), f.is_on(), f.kill().cloned());
        if state(mine) != state(flag) {
            diffs.push(format!("{key}: client (version, on, kill) {:?} vs server {:?}", state(mine), state(flag)));
        }
        for ctx in &contexts {
            let got = client.json_detail(key, ctx, Value::Null);
            let want = theirs.json_detail(key, ctx, Value::Null);
            let got = (got.value, got.variant, got.reason.code());
            let want = (want.value, want.variant, want.reason.code());
            if got != want {
                diffs.push(format!("{key} for {}: client {got:?} vs server {want:?}", ctx.key()));
            }
        }
    }
    diffs
}

/// Asserts that `client` serves exactly `server`.
pub fn assert_converged(client: &Client, server: &Snapshot) {
    let diffs = differences(client, server);
    assert!(diffs.is_empty(), "the SDK differs from the server:\n  {}", diffs.join("\n  "));
}

/// Waits until `client` serves the server's current snapshot, then
/// asserts they are equal in every respect (see [`differences`]). Call it
/// once writes have stopped. Returns the snapshot.
pub async fn wait_converged(client: &Client, base: &str, sdk_key: &str) -> Snapshot {
    let server = server_snapshot(base, sdk_key).await;
    let want = server.revision;
    eventually(&format!("the SDK reaches revision {want}"), || async { client.revision() >= Some(want) }).await;
    assert_converged(client, &server);
    server
}

// ---------------------------------------------------------------- waiting

/// Polls `condition` every 20 ms until it holds; panics after [`DEADLINE`].
pub async fn eventually<F, Fut>(what: &str, condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    eventually_within(DEADLINE, what, condition).await;
}

/// [`eventually`] with another deadline.
pub async fn eventually_within<F, Fut>(within: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if condition().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out after {within:?} waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------- revisions

/// Records a client's `subscribe()` stream and checks that revisions never
/// go backwards or repeat: within one applied revision each flag appears
/// once (keys ascending), and every later revision starts at or after the
/// previous one.
pub struct RevisionWatch {
    state: Arc<Mutex<WatchState>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct WatchState {
    changes: usize,
    resyncs: usize,
    last: Option<(u64, u64, String)>,
    violations: Vec<String>,
}

/// What a [`RevisionWatch`] saw.
#[derive(Debug)]
pub struct WatchReport {
    /// `Update::Changed` items.
    pub changes: usize,
    /// `Update::Resync` items.
    pub resyncs: usize,
    /// The last revision seen.
    pub last_revision: Option<u64>,
    /// Every ordering violation.
    pub violations: Vec<String>,
}

impl RevisionWatch {
    /// Subscribes now.
    pub fn start(client: &Client) -> RevisionWatch {
        let mut updates = client.subscribe();
        let state = Arc::new(Mutex::new(WatchState::default()));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Some(update) = updates.next().await {
                let mut s = shared.lock().unwrap();
                match update {
                    Update::Changed(c) => {
                        s.changes += 1;
                        let (old, new, key) = (c.old_revision, c.new_revision, c.key.to_string());
                        if old >= new {
                            s.violations.push(format!("{key}: old revision {old} >= new {new}"));
                        }
                        if let Some((last_old, last_new, last_key)) = s.last.clone() {
                            if new < last_new {
                                s.violations.push(format!("{key}: revision {new} after {last_new} (backwards)"));
                            } else if new == last_new && (old != last_old || key <= last_key) {
                                s.violations.push(format!("{key}@{new} (from {old}) repeats or reorders {last_key}@{last_new} (from {last_old})"));
                            } else if new > last_new && old < last_new {
                                s.violations.push(format!(
                                    "{key}: revision {new} applied from {old}, before the last one {last_new}"
                                ));
                            }
                        }
                        s.last = Some((old, new, key));
                    }
                    Update::Resync => s.resyncs += 1,
                    _ => {}
                }
            }
        });
        RevisionWatch { state, task }
    }

    /// What was seen so far.
    pub fn report(&self) -> WatchReport {
        let s = self.state.lock().unwrap();
        WatchReport {
            changes: s.changes,
            resyncs: s.resyncs,
            last_revision: s.last.as_ref().map(|l| l.1),
            violations: s.violations.clone(),
        }
    }

    /// Waits until an update of `revision` (or later) was seen, then stops
    /// and asserts that there were no violations (and, unless
    /// `allow_resync`, no `Resync`: the subscriber never lagged).
    pub async fn finish(self, revision: u64, allow_resync: bool) -> WatchReport {
        eventually(&format!("the update stream reaches revision {revision}"), || async {
            self.report().last_revision >= Some(revision)
        })
        .await;
        self.task.abort();
        let report = self.report();
        assert!(report.violations.is_empty(), "revision order violated: {:#?}", report.violations);
        if !allow_resync {
            assert_eq!(report.resyncs, 0, "the update subscriber lagged (Resync)");
        }
        report
    }
}

// ---------------------------------------------------------------- raw SSE

type ByteStream = Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// One SSE event of a [`RawStream`].
#[derive(Debug, Clone)]
pub struct RawEvent {
    /// `snapshot`, `change`, `resync`, `goaway`.
    pub event: String,
    /// The `id:` (the revision).
    pub id: u64,
    /// The JSON data.
    pub data: Value,
}

/// A raw SSE reader over reqwest (no SDK): reads only when asked.
pub struct RawStream {
    body: ByteStream,
    buf: String,
}

/// How reading a [`RawStream`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum RawEnd {
    /// The server ended the response cleanly.
    Closed,
    /// The connection broke (reset, or closed mid-response).
    Broken,
    /// Nothing within the wait.
    Silent,
}

impl RawStream {
    /// Opens `GET /sdk/v1/stream` (as SDK instance `instance`).
    pub async fn open(base: &str, sdk_key: &str, instance: &str, last_event_id: Option<u64>) -> RawStream {
        let http = reqwest::Client::builder().tcp_nodelay(true).build().expect("http client");
        let mut req =
            http.get(format!("{base}/sdk/v1/stream")).bearer_auth(sdk_key).header("x-switchyard-instance", instance);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let resp = req.send().await.expect("stream request");
        assert_eq!(resp.status(), 200, "GET /sdk/v1/stream");
        RawStream { body: Box::pin(resp.bytes_stream()), buf: String::new() }
    }

    /// The next event (heartbeats and `retry:` skipped), or how it ended.
    pub async fn next(&mut self, wait: Duration) -> Result<RawEvent, RawEnd> {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = (String::new(), 0, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        event = v.into();
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        id = v.parse().expect("numeric id");
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = v.into();
                    }
                }
                if !event.is_empty() {
                    let data = serde_json::from_str(&data).unwrap_or_else(|e| panic!("bad {event} data: {e}"));
                    return Ok(RawEvent { event, id, data });
                }
            }
            match tokio::time::timeout(wait, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.buf.push_str(std::str::from_utf8(&chunk).expect("utf-8")),
                Ok(Some(Err(_))) => return Err(RawEnd::Broken),
                Ok(None) => return Err(RawEnd::Closed),
                Err(_) => return Err(RawEnd::Silent),
            }
        }
    }
}

// ---------------------------------------------------------------- proxy

/// A TCP proxy to one upstream whose server→client direction can be
/// paused: a consumer behind a paused proxy is "slow" (its stream stops
/// draining). The proxy's sockets use small buffers so that the backlog
/// piles up in the server, not in the proxy.
pub struct StallProxy {
    /// `http://127.0.0.1:PORT` of the proxy.
    pub base: String,
    paused: watch::Sender<bool>,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

const PROXY_BUFFER: u32 = 8 * 1024;

impl StallProxy {
    /// Proxies to `upstream`.
    pub async fn start(upstream: SocketAddr) -> StallProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
        let base = format!("http://{}", listener.local_addr().expect("proxy addr"));
        let (paused, _) = watch::channel(false);
        let accepted = Arc::new(AtomicUsize::new(0));
        let (pause_rx, count) = (paused.subscribe(), Arc::clone(&accepted));
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((down, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::Relaxed);
                connections.spawn(proxy_connection(down, upstream, pause_rx.clone()));
            }
        });
        StallProxy { base, paused, accepted, task }
    }

    /// Stops forwarding server→client bytes.
    pub fn pause(&self) {
        self.paused.send_replace(true);
    }

    /// Forwards again.
    pub fn resume(&self) {
        self.paused.send_replace(false);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for StallProxy {
    fn drop(&mut self) {
        // Dropping the accept task drops its JoinSet: every connection closes.
        self.task.abort();
    }
}

async fn proxy_connection(down: TcpStream, upstream: SocketAddr, mut paused: watch::Receiver<bool>) {
    let _ = down.set_nodelay(true);
    let sock = TcpSocket::new_v4().expect("socket");
    let _ = sock.set_recv_buffer_size(PROXY_BUFFER);
    let Ok(up) = sock.connect(upstream).await else {
        return;
    };
    let _ = up.set_nodelay(true);
    let (mut down_r, mut down_w) = down.into_split();
    let (mut up_r, mut up_w) = up.into_split();
    let to_server = async {
        let _ = tokio::io::copy(&mut down_r, &mut up_w).await;
    };
    let to_client = async {
        let mut buf = vec![0u8; PROXY_BUFFER as usize];
        loop {
            if paused.wait_for(|p| !*p).await.is_err() {
                return;
            }
            match up_r.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if down_w.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    // Either side closing ends the connection (all halves dropped).
    tokio::select! {
        () = to_server => {}
        () = to_client => {}
    }
}

// ---------------------------------------------------------------- Postgres

/// Terminates every backend connected to database `name` (run from the
/// admin connection); returns how many were terminated.
pub async fn terminate_backends(name: &str) -> i64 {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(&pg_admin_url()).await.expect("admin connection");
    let terminated: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(name)
    .fetch_all(&mut conn)
    .await
    .expect("pg_terminate_backend");
    let _ = conn.close().await;
    terminated.into_iter().filter(|t| t.0).count() as i64
}

/// The database name of a Postgres [`TestDb`].
pub fn pg_name(db: &TestDb) -> Option<&str> {
    match db {
        TestDb::Postgres { name } => Some(name),
        TestDb::Sqlite { .. } => None,
    }
}

// ---------------------------------------------------------------- panics

/// Counts panics on tokio worker threads and server threads: a panicking
/// spawned task (an SDK background task, a server handler) is swallowed by
/// tokio and would not fail a test on its own.
pub struct BackgroundPanics;

static BACKGROUND_PANICS: AtomicUsize = AtomicUsize::new(0);

impl BackgroundPanics {
    /// Installs the counting hook once per process (it chains to the
    /// default hook, so the message is still printed).
    pub fn install() -> BackgroundPanics {
        static ONCE: OnceLock<()> = OnceLock::new();
        ONCE.get_or_init(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                let name = std::thread::current().name().unwrap_or("").to_string();
                if name.starts_with("tokio-runtime-worker") || name.starts_with("switchyard-server") {
                    BACKGROUND_PANICS.fetch_add(1, Ordering::SeqCst);
                }
                previous(info);
            }));
        });
        BackgroundPanics
    }

    /// Panics counted so far in this process.
    pub fn count(&self) -> usize {
        BACKGROUND_PANICS.load(Ordering::SeqCst)
    }
}
