//! The fan-out floor: the plainest server that speaks enough of the SDK
//! protocol for real `switchyard::Client`s — axum's `Sse` and one
//! `tokio::sync::broadcast` channel, an `Event` built per connection, no
//! store, no auth, no receipts. `src/bin/fanout.rs` measures it with the
//! same clients in the same run as the real server; the ratio of the two
//! is the figure that survives this machine's drift.
//!
//! - `GET /sdk/v1/stream`: `event: snapshot` (10 boolean flags), then one
//!   `event: change` per change.
//! - `POST /change`: toggles `flag-0`, broadcasts the change, answers
//!   `{"revision": n}` (the driver's "admin call").
//! - `POST /sdk/v1/ack`: 204. `GET /sdk/v1/snapshot`: the snapshot.
//!
//! Prints `listening http://127.0.0.1:PORT` once bound (port 0).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use futures_util::{Stream, StreamExt, future, stream};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

const FLAGS: usize = 10;

struct Floor {
    /// (revision, whether flag-0 is on).
    state: Mutex<(u64, bool)>,
    tx: broadcast::Sender<(u64, Arc<str>)>,
}

fn flag(i: usize, on: bool) -> Value {
    json!({"key": format!("flag-{i}"), "kind": "boolean", "on": on, "off_variant": "off",
        "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
        "fallthrough": {"variant": "on"}})
}

fn snapshot(revision: u64, on: bool) -> Value {
    let flags: Vec<Value> = (0..FLAGS).map(|i| flag(i, i != 0 || on)).collect();
    json!({"revision": revision, "flags": flags, "segments": []})
}

async fn stream(State(floor): State<Arc<Floor>>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // Subscribe before reading the state, so no change falls in between.
    let (rx, first) = {
        let state = floor.state.lock().expect("state");
        (
            floor.tx.subscribe(),
            Event::default().event("snapshot").id(state.0.to_string()).data(snapshot(state.0, state.1).to_string()),
        )
    };
    let changes = BroadcastStream::new(rx)
        .take_while(|m| future::ready(m.is_ok()))
        .filter_map(|m| future::ready(m.ok()))
        .map(|(rev, data)| Ok(Event::default().event("change").id(rev.to_string()).data(&*data)));
    Sse::new(stream::once(future::ready(Ok(first))).chain(changes)).keep_alive(KeepAlive::default())
}

async fn change(State(floor): State<Arc<Floor>>) -> Json<Value> {
    let mut state = floor.state.lock().expect("state");
    state.0 += 1;
    state.1 = !state.1;
    let data: Arc<str> = json!({"revision": state.0, "flags": [flag(0, state.1)]}).to_string().into();
    let _ = floor.tx.send((state.0, data));
    Json(json!({"revision": state.0}))
}

async fn snapshot_route(State(floor): State<Arc<Floor>>) -> Json<Value> {
    let state = *floor.state.lock().expect("state");
    Json(snapshot(state.0, state.1))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let floor = Arc::new(Floor { state: Mutex::new((1, true)), tx: broadcast::channel(1024).0 });
    let app = Router::new()
        .route("/sdk/v1/stream", get(stream))
        .route("/sdk/v1/snapshot", get(snapshot_route))
        .route("/sdk/v1/ack", post(|| async { StatusCode::NO_CONTENT }))
        .route("/change", post(change))
        .with_state(floor);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening http://{}", listener.local_addr()?);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}
