//! [`HostileProxy`]: an HTTP proxy (in process, on real loopback sockets)
//! in front of the real server that mistreats the SDK's traffic the way
//! broken proxies and load balancers do. The [`Hostility`] applies to
//! `GET /sdk/v1/stream` responses (cuts, stalls, byte-splitting, injected
//! lines, floods, replays) or, for [`Hostility::Status`], to every SDK
//! request. Switching the hostility cuts the streams in flight, so the next
//! connection gets the new treatment.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};

/// How the proxy treats SDK traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hostility {
    /// Forwards faithfully.
    Pass,
    /// Aborts each stream response after this many body bytes (mid-frame
    /// more often than not), every connection.
    CutAfter(usize),
    /// Forwards this many body bytes of each stream, then keeps the
    /// connection open and silent.
    StallAfter(usize),
    /// Forwards each stream one byte per chunk.
    SplitBytes,
    /// CRLF line endings, a byte-order mark, garbage lines, unknown events
    /// (with bogus ids) and empty lines between the frames.
    Inject,
    /// After the first chunk (`retry:`), garbage without any line end,
    /// until the client hangs up.
    Flood,
    /// Every frame of earlier connections (old ids) is replayed after the
    /// first live ones.
    Replay,
    /// Every SDK request is answered with this status (and `Retry-After`
    /// seconds, if given), never reaching the server.
    Status(u16, Option<u64>),
}

/// The running proxy.
pub struct HostileProxy {
    /// `http://127.0.0.1:PORT` of the proxy.
    pub base: String,
    state: Arc<ProxyState>,
    task: tokio::task::JoinHandle<()>,
}

struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    mode: watch::Sender<Hostility>,
    streams: AtomicUsize,
    snapshots: AtomicUsize,
    /// Largest number of flood bytes one connection took before hanging up.
    flood_max: AtomicUsize,
    /// Flood connections the client hung up on.
    floods_ended: AtomicUsize,
    /// Complete frames seen on earlier stream connections (for replay).
    frames: Mutex<Vec<Bytes>>,
}

impl HostileProxy {
    /// A proxy to the server at `upstream` (`http://127.0.0.1:PORT`), passing everything.
    pub async fn start(upstream: &str) -> HostileProxy {
        let http = reqwest::Client::builder().tcp_nodelay(true).build().expect("proxy http client");
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http,
            mode: watch::Sender::new(Hostility::Pass),
            streams: AtomicUsize::new(0),
            snapshots: AtomicUsize::new(0),
            flood_max: AtomicUsize::new(0),
            floods_ended: AtomicUsize::new(0),
            frames: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(forward).with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
        let base = format!("http://{}", listener.local_addr().expect("proxy addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        HostileProxy { base, state, task }
    }

    /// Switches the treatment (streams in flight are cut).
    pub fn set(&self, mode: Hostility) {
        self.state.mode.send_replace(mode);
    }

    /// `GET /sdk/v1/stream` requests so far.
    pub fn stream_requests(&self) -> usize {
        self.state.streams.load(Ordering::SeqCst)
    }

    /// `GET /sdk/v1/snapshot` requests so far.
    pub fn snapshot_requests(&self) -> usize {
        self.state.snapshots.load(Ordering::SeqCst)
    }

    /// The most flood bytes one connection accepted before the client hung up.
    pub fn flood_max(&self) -> usize {
        self.state.flood_max.load(Ordering::SeqCst)
    }

    /// Flooded connections the client hung up on.
    pub fn floods_ended(&self) -> usize {
        self.state.floods_ended.load(Ordering::SeqCst)
    }
}

impl Drop for HostileProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn problem(status: u16, retry_after: Option<u64>) -> Response {
    let code = StatusCode::from_u16(status).expect("status");
    let mut resp = Response::new(Body::from(format!(r#"{{"title":"proxy says {status}","status":{status}}}"#)));
    *resp.status_mut() = code;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    if let Some(secs) = retry_after {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

async fn forward(State(state): State<Arc<ProxyState>>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let is_stream = path == "/sdk/v1/stream";
    match path.as_str() {
        "/sdk/v1/stream" => state.streams.fetch_add(1, Ordering::SeqCst),
        "/sdk/v1/snapshot" => state.snapshots.fetch_add(1, Ordering::SeqCst),
        _ => 0,
    };
    let mode = state.mode.borrow().clone();
    if let Hostility::Status(status, retry_after) = mode
        && path.starts_with("/sdk/")
    {
        return problem(status, retry_after);
    }
    let url = format!("{}{}", state.upstream, req.uri().path_and_query().map_or("/", |p| p.as_str()));
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
    let mut upstream = state.http.request(parts.method, url).body(body);
    for (name, value) in &parts.headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            upstream = upstream.header(name, value);
        }
    }
    let Ok(resp) = upstream.send().await else {
        return problem(502, None);
    };
    let status = resp.status();
    let headers = copy_headers(resp.headers());
    let body = if is_stream && status == StatusCode::OK {
        let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
        tokio::spawn(pump(Arc::clone(&state), mode, resp, tx));
        Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async { rx.recv().await.map(|x| (x, rx)) }))
    } else {
        Body::from(resp.bytes().await.unwrap_or_default())
    };
    let mut out = Response::new(body);
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out
}

fn copy_headers(from: &HeaderMap) -> HeaderMap {
    let mut to = HeaderMap::new();
    for (name, value) in from {
        if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING && name != header::CONNECTION {
            to.append(name, value.clone());
        }
    }
    to
}

type Tx = mpsc::Sender<Result<Bytes, std::io::Error>>;

/// Moves one stream's body from the server to the client, mistreated.
async fn pump(state: Arc<ProxyState>, mode: Hostility, resp: reqwest::Response, tx: Tx) {
    let mut changed = state.mode.subscribe();
    changed.borrow_and_update();
    let mut body = resp.bytes_stream();
    let mut sent = 0usize;
    let mut pending = Vec::<u8>::new();
    let mut chunks = 0usize;
    let mut replayed = false;
    if mode == Hostility::Inject && tx.send(Ok(Bytes::from_static(b"\xEF\xBB\xBF"))).await.is_err() {
        return;
    }
    loop {
        let chunk = tokio::select! {
            chunk = body.next() => chunk,
            _ = changed.changed() => {
                let _ = tx.send(Err(std::io::Error::other("hostility changed"))).await;
                return;
            }
        };
        let Some(Ok(chunk)) = chunk else { return };
        chunks += 1;
        record_frames(&state, &mut pending, &chunk);
        let ok = match &mode {
            Hostility::Pass | Hostility::Status(..) => send(&tx, chunk).await,
            Hostility::CutAfter(limit) | Hostility::StallAfter(limit) => {
                let room = limit.saturating_sub(sent);
                let part = chunk.slice(..room.min(chunk.len()));
                sent += part.len();
                let ok = part.is_empty() || send(&tx, part).await;
                if ok && sent >= *limit {
                    if matches!(mode, Hostility::CutAfter(_)) {
                        let _ = tx.send(Err(std::io::Error::other("cut by the proxy"))).await;
                    } else {
                        drop(body);
                        tx.closed().await;
                    }
                    return;
                }
                ok
            }
            Hostility::SplitBytes => {
                let mut ok = true;
                for i in 0..chunk.len() {
                    ok = ok && send(&tx, chunk.slice(i..i + 1)).await;
                }
                ok
            }
            // Junk only between whole frames.
            Hostility::Inject => send(&tx, Bytes::from(inject(&chunk, pending.is_empty()))).await,
            Hostility::Flood => {
                if !send(&tx, chunk).await {
                    return;
                }
                drop(body);
                return flood(&state, &tx).await;
            }
            Hostility::Replay => {
                let mut ok = send(&tx, chunk).await;
                if chunks >= 2 && !replayed && pending.is_empty() {
                    replayed = true;
                    let old: Vec<Bytes> = state.frames.lock().unwrap().clone();
                    for frame in old {
                        ok = ok && send(&tx, frame).await;
                    }
                }
                ok
            }
        };
        if !ok {
            return;
        }
    }
}

/// Records complete frames with an id or a name, for replays on later
/// connections.
fn record_frames(state: &ProxyState, pending: &mut Vec<u8>, chunk: &[u8]) {
    pending.extend_from_slice(chunk);
    while let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
        let frame: Vec<u8> = pending.drain(..end + 2).collect();
        if frame.starts_with(b"id:") || frame.starts_with(b"event:") {
            state.frames.lock().unwrap().push(Bytes::from(frame));
        }
    }
}

async fn send(tx: &Tx, bytes: Bytes) -> bool {
    tx.send(Ok(bytes)).await.is_ok()
}

/// CRLF line ends, then (when the chunk ends a frame) junk the SDK must
/// ignore.
fn inject(chunk: &[u8], at_boundary: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(chunk.len() * 2 + 128);
    for &b in chunk {
        if b == b'\n' {
            out.extend_from_slice(b"\r\n");
        } else {
            out.push(b);
        }
    }
    if !at_boundary {
        return out;
    }
    out.extend_from_slice(b"\r\ngarbage without a colon\r\nx-unknown-field: 1\r\n\r\n");
    out.extend_from_slice(b"event: proxy-news\r\nid: 999999\r\ndata: {\"not\": \"for you\"}\r\n\r\n");
    out.extend_from_slice(b"\r\n\r\n");
    out
}

/// Garbage without line ends until the client hangs up.
async fn flood(state: &ProxyState, tx: &Tx) {
    let junk = Bytes::from(vec![b'x'; 16 * 1024]);
    let mut flooded = 0usize;
    while send(tx, junk.clone()).await {
        flooded += junk.len();
        state.flood_max.fetch_max(flooded, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    state.floods_ended.fetch_add(1, Ordering::SeqCst);
}
