//! SDK telemetry: `POST /sdk/v1/telemetry` (an SDK's batch, by SDK key) and
//! `GET …/flags/{flag}/telemetry` (one flag's per-variant series, viewer
//! role). The workflows are [`crate::ops::telemetry`] and
//! [`crate::ops::telemetry_series`].

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::credentials::Peer;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::json::{AppJson, WireJson};
use crate::http::params::AppQuery;
use crate::ops::telemetry::TelemetryBatch;
use crate::ops::telemetry_series::{FlagTelemetry, SeriesQuery};
use crate::state::AppState;
use crate::store::SdkKey;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ingest)).routes(routes!(series))
}

/// An SDK's telemetry batch: counts since its previous batch, added to the
/// environment's per-minute aggregates. Unknown flag keys are counted. Its
/// evaluations are also attributed to its instance and to the service named
/// by `X-Switchyard-Service` (optional; an invalid value counts as absent).
#[utoipa::path(post, path = "/sdk/v1/telemetry", tag = "sdk", security(("sdk_key" = [])),
    request_body = crate::http::schema::telemetry::TelemetryBatch,
    responses((status = 202, description = "Accepted and added up"),
        (status = 400, description = "Invalid batch (`invalid_window`, `window_in_future`, `window_too_old`, \
            `out_of_range`, `invalid_outcome`, `invalid_key`, `invalid_instance`); nothing was added", body = Problem),
        (status = 401, body = Problem),
        (status = 413, description = "More than 10,000 items, or a body over the limit", body = Problem),
        (status = 429, description = "Over `SWITCHYARD_TELEMETRY_RATE` batches per minute for this SDK key and \
            client address (`Retry-After`); the SDK keeps the batch for its next flush", body = Problem)))]
async fn ingest(
    State(state): State<AppState>,
    Extension(key): Extension<SdkKey>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    WireJson(batch): WireJson<TelemetryBatch>,
) -> ApiResult<StatusCode> {
    let client = state.credentials.client(Peer(connect.map(|Extension(ConnectInfo(addr))| addr)), &headers);
    let admitted = state.telemetry_limiter.check(key.id, client);
    admitted.map_err(|wait| ApiError::TooManyRequests { retry_after: wait.as_secs().max(1) })?;
    let now_ms = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
    let service = crate::http::sdk::identity(&headers).service;
    crate::ops::telemetry::ingest(&state, (key.environment_id, service), batch, now_ms).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The range and resolution of a series.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesParams {
    /// Start (RFC 3339, inclusive, rounded down to the minute); default `to` minus one hour.
    pub from: Option<DateTime<Utc>>,
    /// End (RFC 3339, exclusive, rounded up to the minute); default now.
    pub to: Option<DateTime<Utc>>,
    /// Step in seconds, a multiple of 60 (default 60); at most 1,440 steps.
    pub step: Option<i64>,
}

/// One flag's telemetry in one environment, per variant and step, with totals.
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/telemetry", tag = "telemetry",
    security(("bearer" = [])),
    params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path), SeriesParams),
    responses((status = 200, body = FlagTelemetry),
        (status = 400, description = "`invalid_range`, `invalid_step`, `too_many_points`", body = Problem),
        (status = 404, body = Problem)))]
async fn series(
    State(state): State<AppState>,
    Path((project, env, flag)): Path<(String, String, String)>,
    AppQuery(p): AppQuery<SeriesParams>,
) -> ApiResult<AppJson<FlagTelemetry>> {
    let to = p.to.unwrap_or_else(Utc::now);
    let from = p.from.unwrap_or(to - chrono::Duration::hours(1));
    let query = SeriesQuery { from, to, step_seconds: p.step.unwrap_or(60) };
    Ok(AppJson(crate::ops::telemetry_series::series(&state.store, &project, &env, &flag, query).await?))
}
