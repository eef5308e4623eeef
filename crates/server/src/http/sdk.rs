//! The SDK API: `GET /sdk/v1/snapshot` (ETag = revision), `GET
//! /sdk/v1/stream` (SSE) and `POST /sdk/v1/ack`, plus the admin UI's
//! change stream. Authenticated by an SDK key, which selects the
//! environment (see [`crate::auth::sdk_keys`]).
//!
//! Thin handlers: read the headers and body, call [`crate::delivery`]
//! (the stream's life, acks) and shape the response.

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use switchyard_core::protocol::{self, Ack, header::INSTANCE, header::LAST_EVENT_ID};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::delivery;
use crate::delivery::acks::AckError;
use crate::delivery::listener::AckNotice;
use crate::delivery::roster::Identity;
use crate::delivery::stream::Connect;
use crate::error::{ApiError, ApiResult};
use crate::http::json::WireJson;
use crate::state::AppState;
use crate::store::SdkKey;

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
    if let Some(instance) = text(&headers, INSTANCE).filter(|i| delivery::stream::valid_instance(i)) {
        let pollers = &state.hub.channel(key.environment_id).receipts.pollers;
        pollers.polled(instance, identity(&headers), revision);
    }
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

/// A header's value as text, if it is.
fn text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Who an SDK says it is; an invalid value counts as absent.
pub(crate) fn identity(headers: &HeaderMap) -> Identity {
    let label = |name| text(headers, name).filter(|v| protocol::valid_label(v)).map(str::to_string);
    Identity {
        service: label(protocol::header::SERVICE),
        service_version: label(protocol::header::SERVICE_VERSION),
        sdk: label(protocol::header::SDK),
    }
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
    let text = |name: &str| text(&headers, name);
    let connect = Connect {
        environment_id: key.environment_id,
        last_event_id: text(LAST_EVENT_ID).and_then(|v| v.trim().parse().ok()),
        instance: text(INSTANCE).map(str::to_string),
        identity: identity(&headers),
        max_age: state.config.stream_max_age,
    };
    let revoked = state.sdk_keys.revocation(key.id);
    let body = delivery::stream::sdk(&state.hub, state.store.as_ref(), connect, revoked).await?;
    let mut response = sse_response(body);
    // SDKs time silence (2 × this) and staleness from it.
    let heartbeat_ms = u64::try_from(state.config.heartbeat.as_millis()).unwrap_or(u64::MAX);
    response.headers_mut().insert(HEARTBEAT_HEADER, HeaderValue::from(heartbeat_ms));
    // SDKs acknowledge when an `ack` event asks (see `delivery::acks`).
    response.headers_mut().insert(protocol::header::ACKS, HeaderValue::from_static(protocol::ACKS_ON_REQUEST));
    response.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
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
    Ok(sse_response(delivery::stream::admin(&state.hub, env.id)))
}

/// A `text/event-stream` response of `body`, never cached.
fn sse_response(body: delivery::stream::SseBody) -> Response {
    let mut response = Response::new(Body::from_stream(body));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(protocol::EVENT_STREAM));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// An SDK instance reports the revision it has applied.
#[utoipa::path(post, path = "/sdk/v1/ack", tag = "sdk", security(("sdk_key" = [])), request_body = crate::http::schema::sdk::Ack,
    responses((status = 204), (status = 401, body = crate::error::Problem)))]
async fn ack(
    State(state): State<AppState>,
    Extension(key): Extension<SdkKey>,
    WireJson(body): WireJson<Ack>,
) -> ApiResult<StatusCode> {
    if !delivery::stream::valid_instance(&body.instance) {
        return Err(ApiError::invalid("instance", "invalid_instance", "an instance id of 1 to 64 bytes is required"));
    }
    let (instance, revision, held_ms) = (body.instance, body.revision, body.held_ms);
    let notice = AckNotice { environment_id: key.environment_id, instance, revision, held_ms };
    match delivery::acks::accept(&state.hub, state.store.as_ref(), notice).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(AckError::Store(err)) => Err(err.into()),
        Err(AckError::UnknownRevision { current }) => Err(ApiError::invalid(
            "revision",
            "unknown_revision",
            format!("revision {revision} does not exist (the environment is at {current})"),
        )),
    }
}
