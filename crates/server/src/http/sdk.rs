//! The SDK API: `GET /sdk/v1/snapshot` (ETag = revision) and
//! `GET /sdk/v1/stream` (SSE). Authenticated by an SDK key, which selects
//! the environment.
//!
//! The stream subscribes to the environment's channel *before* it reads
//! what to send first (snapshot or the missed changes), so a change
//! committed in between is never lost; frames at or below the revision
//! already sent are skipped. Change frames are the hub's pre-serialised
//! `Bytes`, shared by every connection.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use switchyard_core::protocol::{self, event::RESET, event::SNAPSHOT, header::INSTANCE, header::LAST_EVENT_ID};
use tokio::sync::{broadcast, watch};
use tokio::time::{Sleep, sleep};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::delivery::hub::{EnvChannel, Frame, sse_frame};
use crate::error::{ApiError, ApiResult};
use crate::http::json::AppJson;
use crate::state::AppState;
use crate::store::SdkKey;

/// Reconnection delay hinted to SSE clients.
pub const RETRY_MS: u64 = 1000;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(snapshot))
        .routes(routes!(stream))
        .routes(routes!(ack))
        .routes(routes!(admin_stream))
}

/// The environment's full snapshot `{revision, flags, segments}`.
#[utoipa::path(get, path = "/sdk/v1/snapshot", tag = "sdk", security(("sdk_key" = [])),
    responses((status = 200, description = "Snapshot JSON; ETag is the revision", body = Object, content_type = "application/json",
        headers(("ETag" = String, description = "The revision, quoted"))),
        (status = 304, description = "Unchanged since `If-None-Match`")))]
async fn snapshot(
    State(state): State<AppState>,
    Extension(key): Extension<SdkKey>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    // The client's revision, from its ETag (`"17"`).
    let held = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).and_then(protocol::if_none_match);
    let (revision, json) = state.hub.snapshot_json_after(key.environment_id, held.unwrap_or(0)).await?;
    let etag = HeaderValue::from_str(&protocol::etag(revision)).map_err(|e| ApiError::Internal(e.to_string()))?;
    if held == Some(revision) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let mut response =
        ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json")), (header::ETAG, etag)], json)
            .into_response();
    if held.is_some_and(|held| held > revision) {
        // The client holds a revision the store no longer has: the database
        // went back (a restore). This snapshot replaces what it holds.
        response.headers_mut().insert(RESET_HEADER, HeaderValue::from_static(protocol::RESET_VALUE));
    }
    Ok(response)
}

/// Announces the heartbeat interval (milliseconds) on SDK streams.
pub const HEARTBEAT_HEADER: &str = protocol::header::HEARTBEAT_MS;

/// Marks a polled snapshot that replaces a newer one the client holds.
pub const RESET_HEADER: &str = protocol::header::RESET;

/// The change stream (`text/event-stream`).
#[utoipa::path(get, path = "/sdk/v1/stream", tag = "sdk", security(("sdk_key" = [])),
    params(("Last-Event-ID" = Option<u64>, Header, description = "Resume after this revision")),
    responses((status = 200, description = "SSE: `snapshot`, `change`, `resync` events and heartbeat comments",
        body = Object, content_type = "text/event-stream")))]
async fn stream(
    State(state): State<AppState>,
    Extension(key): Extension<SdkKey>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let channel = state.hub.channel(key.environment_id);
    let rx = channel.subscribe();
    let revoked = state.hub.revocation(key.id);
    let last_id = headers.get(LAST_EVENT_ID).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());

    let mut first = vec![Bytes::from(protocol::retry_frame(RETRY_MS))];
    let sent = match resume_frames(&state, key.environment_id, last_id).await? {
        Some((frames, revision)) => {
            first.extend(frames);
            revision
        }
        None => {
            let (revision, json) = state.hub.snapshot_json_after(key.environment_id, last_id.unwrap_or(0)).await?;
            // A client ahead of the store (the database was restored to an
            // earlier state) gets `reset`: replace, even with an older revision.
            let event = if last_id.is_some_and(|id| id > revision) { RESET } else { SNAPSHOT };
            first.push(sse_frame(event, revision, std::str::from_utf8(&json).unwrap_or("{}")));
            revision
        }
    };
    let instance = headers
        .get(INSTANCE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| valid_instance(v))
        .map_or_else(|| format!("anonymous-{}", uuid::Uuid::new_v4()), str::to_string);
    channel.connections.fetch_add(1, Ordering::Relaxed);
    channel.receipts.connect(&instance);
    // Resuming at `Last-Event-ID` means the client has applied that revision
    // (and acknowledged it on its previous stream, maybe to a server that has
    // since restarted). Count it: with nothing new to apply the client sends
    // no ack, and receipts of the current revision (a repeated kill) would
    // show every reconnected instance as pending.
    if let Some(applied) = last_id.filter(|id| *id <= sent) {
        channel.receipts.resumed(&instance, applied);
    }
    let live = Live {
        rx,
        sent,
        revoked: Some(revoked),
        expires: stream_deadline(state.config.stream_max_age, rand::random::<f64>()).map(|d| Box::pin(sleep(d))),
        closing: state.hub.closing(),
        hub: Arc::clone(&state.hub),
        _guard: ConnectionGuard { channel, instance: Some(instance) },
    };
    let body = stream::iter(first.into_iter().map(Ok::<_, std::convert::Infallible>)).chain(live.into_stream());
    let mut response = Response::new(Body::from_stream(body));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(protocol::EVENT_STREAM));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    // SDKs time silence (2 × this) and staleness from it.
    let heartbeat_ms = u64::try_from(state.config.heartbeat.as_millis()).unwrap_or(u64::MAX);
    h.insert(HEARTBEAT_HEADER, HeaderValue::from(heartbeat_ms));
    Ok(response)
}

/// Live changes of one environment for admin clients (the web UI): the
/// same `change` frames SDKs get, without the initial snapshot.
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/stream", tag = "configs",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path)),
    responses((status = 200, description = "SSE of `change` events", body = Object, content_type = "text/event-stream")))]
async fn admin_stream(
    State(state): State<AppState>,
    axum::extract::Path((project, env)): axum::extract::Path<(String, String)>,
) -> ApiResult<Response> {
    let env = state.store.get_environment(&project, &env).await?;
    let channel = state.hub.channel(env.id);
    let rx = channel.subscribe();
    let sent = channel.revision();
    let live = Live {
        rx,
        sent,
        revoked: None,
        expires: None,
        closing: state.hub.closing(),
        hub: Arc::clone(&state.hub),
        _guard: ConnectionGuard::admin(channel),
    };
    let first = Bytes::from(protocol::retry_frame(RETRY_MS));
    let body = stream::iter([Ok::<_, std::convert::Infallible>(first)]).chain(live.into_stream());
    let mut response = Response::new(Body::from_stream(body));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(protocol::EVENT_STREAM));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// The missed changes after `last_id`, if the log still has them all.
async fn resume_frames(state: &AppState, env: i64, last_id: Option<u64>) -> ApiResult<Option<(Vec<Bytes>, u64)>> {
    let Some(last_id) = last_id else { return Ok(None) };
    if last_id > state.hub.channel(env).revision() {
        // A revision we never broadcast (another server's, or a reset database).
        return Ok(None);
    }
    const MAX_REPLAY: u32 = 1_000;
    let Some(events) = state.store.changes_since(env, last_id, MAX_REPLAY).await? else { return Ok(None) };
    if events.len() >= MAX_REPLAY as usize {
        // Far behind: one snapshot is cheaper than a thousand deltas.
        return Ok(None);
    }
    let revision = events.last().map_or(last_id, |e| e.revision);
    Ok(Some((events.iter().map(crate::delivery::hub::change_frame).collect(), revision)))
}

use futures_util::StreamExt;

/// Unregisters the stream when it ends.
struct ConnectionGuard {
    channel: Arc<EnvChannel>,
    /// The SDK instance (`None` for admin streams, which are not SDKs).
    instance: Option<String>,
}

impl ConnectionGuard {
    /// An admin (UI) stream: not counted as an SDK connection.
    fn admin(channel: Arc<EnvChannel>) -> ConnectionGuard {
        ConnectionGuard { channel, instance: None }
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if let Some(instance) = &self.instance {
            self.channel.connections.fetch_sub(1, Ordering::Relaxed);
            self.channel.receipts.disconnect(instance);
        }
    }
}

/// An SDK instance id, as sent on the stream and in acks: 1 to 64 bytes
/// (a longer one would not fit the NOTIFY that forwards acks).
fn valid_instance(instance: &str) -> bool {
    (1..=protocol::MAX_INSTANCE_LEN).contains(&instance.chars().count())
}

/// An SDK acknowledgement.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct Ack {
    /// The instance id sent as `X-Switchyard-Instance` on the stream.
    #[schema(min_length = 1, max_length = 64)]
    pub instance: String,
    /// The revision now applied.
    pub revision: u64,
    /// How long the SDK held this acknowledgement after applying (ms); the
    /// apply time is the arrival time minus this.
    #[serde(default)]
    pub held_ms: f64,
}

/// An SDK instance reports the revision it has applied.
#[utoipa::path(post, path = "/sdk/v1/ack", tag = "sdk", security(("sdk_key" = [])), request_body = Ack,
    responses((status = 204), (status = 401, body = crate::error::Problem)))]
async fn ack(
    State(state): State<AppState>,
    Extension(key): Extension<SdkKey>,
    AppJson(body): AppJson<Ack>,
) -> ApiResult<StatusCode> {
    if !valid_instance(&body.instance) {
        return Err(ApiError::invalid("instance", "invalid_instance", "an instance id of 1 to 64 bytes is required"));
    }
    // A revision that does not exist yet cannot have been applied: a buggy
    // or forged ack must not make a receipt say "applied". (This replica
    // may not have heard of a commit made on another one yet: the store
    // decides then.) Checked here, before a forward, for both paths.
    if body.revision > state.hub.channel(key.environment_id).revision() {
        let current = state.store.environment_by_id(key.environment_id).await?.revision;
        if body.revision > current {
            return Err(ApiError::invalid(
                "revision",
                "unknown_revision",
                format!("revision {} does not exist (the environment is at {current})", body.revision),
            ));
        }
    }
    if !state.hub.record_ack(key.environment_id, &body.instance, body.revision, body.held_ms) {
        // Behind a load balancer the ack may reach another replica than the
        // stream: hand it to the one that holds the stream.
        let payload = crate::delivery::listener::AckNotice {
            environment_id: key.environment_id,
            instance: body.instance,
            revision: body.revision,
            held_ms: body.held_ms,
        };
        if let Ok(payload) = serde_json::to_string(&payload) {
            state.store.notify_peers(crate::delivery::listener::ACK_CHANNEL, &payload).await?;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The share of the maximum stream age that is always served; each
/// connection's age is drawn uniformly from `[MIN_AGE_SHARE, 1] × max age`.
const MIN_AGE_SHARE: f64 = 0.75;

/// How long a new SDK stream may live (`None`: for ever, `max_age` 0):
/// `max_age × (MIN_AGE_SHARE + (1 − MIN_AGE_SHARE) × unit)` for a random
/// `unit` in `[0, 1)`. Streams that all connected at once (to the first
/// replica up after a rolling restart) thus end spread over the last
/// quarter of the age, and their reconnections spread over the replicas.
fn stream_deadline(max_age: std::time::Duration, unit: f64) -> Option<std::time::Duration> {
    if max_age.is_zero() {
        return None;
    }
    let share = MIN_AGE_SHARE + (1.0 - MIN_AGE_SHARE) * unit.clamp(0.0, 1.0);
    Some(max_age.mul_f64(share))
}

/// The live part of a stream.
struct Live {
    rx: broadcast::Receiver<Frame>,
    sent: u64,
    /// Turns `true` when the SDK key is revoked (`None` for admin streams).
    revoked: Option<watch::Receiver<bool>>,
    /// When the stream reaches its (jittered) maximum age and says `goaway`
    /// (`None`: never; admin streams, or the limit disabled).
    expires: Option<std::pin::Pin<Box<Sleep>>>,
    /// Server shutdown: send `goaway` and end.
    closing: watch::Receiver<bool>,
    hub: Arc<crate::delivery::hub::Hub>,
    _guard: ConnectionGuard,
}

/// What woke a live stream.
enum Wake {
    Frame(Frame),
    Revoked,
    Closing,
    Expired,
    Lagged,
    Ended,
}

impl Live {
    fn into_stream(self) -> impl futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> {
        stream::unfold(Some(self), |state| async move {
            let mut live = state?;
            loop {
                let wake = tokio::select! {
                    biased;
                    true = revoked(&mut live.revoked) => Wake::Revoked,
                    Ok(_) = live.closing.wait_for(|c| *c) => Wake::Closing,
                    () = expired(&mut live.expires) => Wake::Expired,
                    frame = live.rx.recv() => match frame {
                        Ok(frame) => Wake::Frame(frame),
                        // Too slow: end the stream; the SDK resumes with Last-Event-ID.
                        Err(broadcast::error::RecvError::Lagged(_)) => Wake::Lagged,
                        Err(broadcast::error::RecvError::Closed) => Wake::Ended,
                    },
                };
                match wake {
                    Wake::Frame((revision, bytes)) => {
                        if revision != 0 && revision <= live.sent {
                            continue;
                        }
                        live.sent = live.sent.max(revision);
                        return Some((Ok(bytes), Some(live)));
                    }
                    // The SDK reconnects (to another replica behind the
                    // balancer) and resumes after the last revision it got:
                    // frames still queued here are replayed from the log.
                    Wake::Closing => return Some((Ok(goaway()), None)),
                    Wake::Expired => {
                        live.hub.metrics().streams_expired.inc();
                        return Some((Ok(goaway()), None));
                    }
                    Wake::Lagged => {
                        live.hub.metrics().slow_consumers_dropped.inc();
                        return None;
                    }
                    Wake::Revoked | Wake::Ended => return None,
                }
            }
        })
    }
}

/// The last frame of a stream the server ends on purpose.
fn goaway() -> Bytes {
    Bytes::from_static(protocol::GOAWAY_FRAME.as_bytes())
}

/// Resolves when the stream reached its maximum age; never without one.
async fn expired(expires: &mut Option<std::pin::Pin<Box<Sleep>>>) {
    match expires {
        Some(sleep) => sleep.as_mut().await,
        None => std::future::pending().await,
    }
}

/// Resolves `true` once the key is revoked; never for admin streams.
async fn revoked(rx: &mut Option<watch::Receiver<bool>>) -> bool {
    match rx {
        Some(rx) => {
            // Err means the hub dropped the signal, which it only does on revocation.
            let _ = rx.wait_for(|revoked| *revoked).await;
            true
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::stream_deadline;

    #[test]
    fn stream_age_is_jittered_over_the_last_quarter() {
        let age = Duration::from_secs(1800);
        assert_eq!(stream_deadline(age, 0.0), Some(Duration::from_secs(1350)));
        assert_eq!(stream_deadline(age, 0.5), Some(Duration::from_secs(1575)));
        assert_eq!(stream_deadline(age, 1.0), Some(age));
        // Out-of-range draws are clamped, never beyond the maximum.
        assert_eq!(stream_deadline(age, 7.0), Some(age));
        assert_eq!(stream_deadline(age, -1.0), Some(Duration::from_secs(1350)));
    }

    #[test]
    fn a_zero_max_age_disables_the_limit() {
        assert_eq!(stream_deadline(Duration::ZERO, 0.3), None);
    }
}
