//! The OFREP routes (see [`crate::ofrep`] for the protocol, the reason
//! mapping and the refetch stream). Authenticated by an SDK key, as
//! `Authorization: Bearer <key>` or `X-API-Key: <key>`; the stream by the
//! secret in its path.

use std::net::SocketAddr;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::credentials::Peer;
use crate::error::{ApiError, ApiResult};
use crate::ofrep::request::{self, ErrorCode, Failure};
use crate::ofrep::resolve::{self, Bulk, BulkMetadata, EventStream};
use crate::ofrep::schema::{OfrepBulk, OfrepBulkFailure, OfrepFailure, OfrepRequest, OfrepSuccess};
use crate::state::AppState;
use crate::store::SdkKey;

pub mod stream;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(evaluate_flag)).routes(routes!(evaluate_flags)).routes(routes!(refetch_stream))
}

type Connect = Option<Extension<ConnectInfo<SocketAddr>>>;

/// Evaluates one flag (server-side providers).
#[utoipa::path(post, path = "/ofrep/v1/evaluate/flags/{key}", tag = "ofrep", security(("sdk_key" = [])),
    params(("key" = String, Path, description = "The flag key")),
    request_body(content = OfrepRequest, content_type = "application/json"),
    responses((status = 200, body = OfrepSuccess, description = "The flag's value, variant and reason"),
        (status = 400, body = OfrepFailure, description = "`PARSE_ERROR`, `TARGETING_KEY_MISSING` or `INVALID_CONTEXT`"),
        (status = 404, body = OfrepFailure, description = "`FLAG_NOT_FOUND`")))]
async fn evaluate_flag(
    State(state): State<AppState>,
    Extension(key): Extension<SdkKey>,
    connect: Connect,
    Path(flag): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    admit(&state, &key, connect, &headers)?;
    let ctx = match parse(&body) {
        Ok(ctx) => ctx,
        Err(failure) => return Ok(failure.for_flag(&flag).into_response()),
    };
    let snapshot = compiled(&state, &key).await?;
    match resolve::resolve(&snapshot, &flag, &ctx) {
        Some(resolved) => json(&resolved, None),
        None => {
            let failure = Failure::new(ErrorCode::FlagNotFound, format!("flag `{flag}` does not exist"));
            Ok(failure.for_flag(&flag).into_response())
        }
    }
}

/// SSE metadata of a refetch (OFREP ADR-0008).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct RefetchQuery {
    /// The `etag` of the refetch event that triggered this request.
    pub flag_config_etag: Option<String>,
    /// The `lastModified` of that event (unused: the ETag says it all).
    pub flag_config_last_modified: Option<String>,
}

/// Evaluates every flag (client-side providers); `304` when `If-None-Match`
/// holds the ETag of the same revision and context.
#[utoipa::path(post, path = "/ofrep/v1/evaluate/flags", tag = "ofrep", security(("sdk_key" = [])),
    params(RefetchQuery, ("If-None-Match" = Option<String>, Header, description = "The ETag of a previous response")),
    request_body(content = OfrepRequest, content_type = "application/json"),
    responses((status = 200, body = OfrepBulk, description = "Every flag, and the refetch stream",
            headers(("ETag" = String, description = "Revision and context, quoted"))),
        (status = 304, description = "Unchanged since `If-None-Match`"),
        (status = 400, body = OfrepBulkFailure, description = "`PARSE_ERROR`, `TARGETING_KEY_MISSING` or `INVALID_CONTEXT`")))]
async fn evaluate_flags(
    State(state): State<AppState>,
    Extension(key): Extension<SdkKey>,
    connect: Connect,
    Query(query): Query<RefetchQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    admit(&state, &key, connect, &headers)?;
    let ctx = match parse(&body) {
        Ok(ctx) => ctx,
        Err(failure) => return Ok(failure.into_response()),
    };
    let snapshot = compiled(&state, &key).await?;
    stream::refetched(&state, key.environment_id, query.flag_config_etag.as_deref(), snapshot.revision()).await?;
    let etag = resolve::etag(key.environment_id, snapshot.revision(), &ctx);
    let held = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
    if resolve::not_modified(held, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, header_value(&etag)?)]).into_response());
    }
    let hash = crate::http::sdk_key::sdk_secret(&headers).map(crate::auth::secret::hash).unwrap_or_default();
    let bulk = Bulk {
        flags: resolve::resolve_all(&snapshot, &ctx),
        metadata: BulkMetadata { revision: snapshot.revision() },
        event_streams: [EventStream::sse(stream::path(&hash))],
    };
    json(&bulk, Some(&etag))
}

/// The refetch stream: `refetchEvaluation` events when the environment changes.
#[utoipa::path(get, path = "/ofrep/v1/streams/{secret}", tag = "ofrep",
    params(("secret" = String, Path, description = "From the bulk response's `eventStreams`")),
    responses((status = 200, description = "SSE: `message` events whose data is `{\"type\":\"refetchEvaluation\",\"etag\":…}`",
        body = Object, content_type = "text/event-stream")))]
async fn refetch_stream(
    State(state): State<AppState>,
    connect: Connect,
    Path(secret): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let peer = Peer(connect.map(|Extension(ConnectInfo(addr))| addr));
    // An unknown or revoked key's stream does not exist.
    let key = crate::http::sdk_key::sdk_key_by_hash(&state, peer, &headers, secret.to_ascii_lowercase())
        .await
        .map_err(|err| match err {
            ApiError::Unauthorized(_) => ApiError::NotFound { what: "stream", key: "(secret)".into() },
            other => other,
        })?;
    Ok(stream::open(&state, &key))
}

/// The body's context; errors in OFREP's shape.
fn parse(body: &[u8]) -> Result<switchyard_core::Context<'static>, Failure> {
    request::context(crate::http::json::parse(body).map_err(request::refused)?)
}

/// The key's environment, compiled at its current revision
/// (read-your-writes on every replica: see [`crate::delivery::compiled`]).
async fn compiled(state: &AppState, key: &SdkKey) -> ApiResult<std::sync::Arc<switchyard_core::CompiledSnapshot>> {
    Ok(state.compiled.latest(state.store.as_ref(), &state.hub, key.environment_id).await?)
}

/// The request limit per SDK key and client address (429 with `Retry-After`).
fn admit(state: &AppState, key: &SdkKey, connect: Connect, headers: &HeaderMap) -> ApiResult<()> {
    let client = state.credentials.client(Peer(connect.map(|Extension(ConnectInfo(addr))| addr)), headers);
    state.ofrep.admit(key.id, client).map_err(|wait| ApiError::TooManyRequests { retry_after: wait.as_secs().max(1) })
}

fn header_value(value: &str) -> ApiResult<HeaderValue> {
    HeaderValue::from_str(value).map_err(|e| ApiError::Internal(e.to_string()))
}

/// A JSON response, with an ETag when given.
fn json<T: serde::Serialize>(body: &T, etag: Option<&str>) -> ApiResult<Response> {
    let bytes = serde_json::to_vec(body).map_err(|e| ApiError::Internal(format!("serialising: {e}")))?;
    let mut response = ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes).into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, header_value(etag)?);
    }
    Ok(response)
}
