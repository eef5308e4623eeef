//! Segments: reusable sets of contexts, project-wide.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::flags::if_match;
use crate::http::json::AppJson;
use crate::state::AppState;
use crate::store::{SegmentInput, SegmentRecord};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_segments, create_segment)).routes(routes!(
        get_segment,
        put_segment,
        delete_segment
    ))
}

/// Lists segments.
#[utoipa::path(get, path = "/api/v1/projects/{project}/segments", tag = "segments", security(("bearer" = [])),
    params(("project" = String, Path)), responses((status = 200, body = Vec<SegmentRecord>)))]
async fn list_segments(
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> ApiResult<AppJson<Vec<SegmentRecord>>> {
    Ok(AppJson(state.store.list_segments(&project).await?))
}

/// Creates a segment.
#[utoipa::path(post, path = "/api/v1/projects/{project}/segments", tag = "segments", security(("bearer" = [])),
    params(("project" = String, Path)), request_body = SegmentInput,
    responses((status = 201, body = SegmentRecord), (status = 409, description = "The key is taken")))]
async fn create_segment(
    State(state): State<AppState>,
    principal: Principal,
    Path(project): Path<String>,
    AppJson(body): AppJson<SegmentInput>,
) -> ApiResult<(StatusCode, AppJson<SegmentRecord>)> {
    Ok((StatusCode::CREATED, AppJson(state.store.create_segment(&principal.actor(), &project, body).await?)))
}

/// One segment.
#[utoipa::path(get, path = "/api/v1/projects/{project}/segments/{segment}", tag = "segments", security(("bearer" = [])),
    params(("project" = String, Path), ("segment" = String, Path)), responses((status = 200, body = SegmentRecord)))]
async fn get_segment(
    State(state): State<AppState>,
    Path((project, segment)): Path<(String, String)>,
) -> ApiResult<AppJson<SegmentRecord>> {
    Ok(AppJson(state.store.get_segment(&project, &segment).await?))
}

/// A segment write with its expected version.
#[derive(Debug, Deserialize, ToSchema)]
// Through a map: the flattened segment's unknown fields are refused too.
#[serde(try_from = "serde_json::Map<String, serde_json::Value>")]
pub struct PutSegment {
    /// Expected version (or `If-Match`).
    pub version: Option<u64>,
    /// The new segment (its key must match the path).
    #[serde(flatten)]
    pub segment: SegmentInput,
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for PutSegment {
    type Error = String;

    fn try_from(mut map: serde_json::Map<String, serde_json::Value>) -> Result<Self, String> {
        let version = crate::http::json::take(&mut map, "version")?;
        Ok(PutSegment { version, segment: crate::http::json::rest(map)? })
    }
}

/// Replaces a segment.
#[utoipa::path(put, path = "/api/v1/projects/{project}/segments/{segment}", tag = "segments", security(("bearer" = [])),
    params(("project" = String, Path), ("segment" = String, Path)), request_body = PutSegment,
    responses((status = 200, body = SegmentRecord), (status = 409, body = crate::error::Problem)))]
async fn put_segment(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path((project, segment)): Path<(String, String)>,
    AppJson(body): AppJson<PutSegment>,
) -> ApiResult<AppJson<SegmentRecord>> {
    if body.segment.key != segment {
        return Err(ApiError::invalid("key", "key_mismatch", "the body's key must match the path"));
    }
    let version = body
        .version
        .or(if_match(&headers)?)
        .ok_or_else(|| ApiError::invalid("version", "required", "the expected version is required"))?;
    Ok(AppJson(state.store.update_segment(&principal.actor(), &project, &segment, body.segment, version).await?))
}

/// Deletes a segment (409 while referenced).
#[utoipa::path(delete, path = "/api/v1/projects/{project}/segments/{segment}", tag = "segments", security(("bearer" = [])),
    params(("project" = String, Path), ("segment" = String, Path)), responses((status = 204), (status = 409, body = crate::error::Problem)))]
async fn delete_segment(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, segment)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state.store.delete_segment(&principal.actor(), &project, &segment).await?;
    Ok(StatusCode::NO_CONTENT)
}
