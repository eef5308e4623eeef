//! Flag definitions (environment-independent); writes are [`crate::ops::configs`].

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::json::AppJson;
use crate::http::params::AppQuery;
use crate::ops;
use crate::ops::lifecycle::{ArchiveOutcome, ArchiveRequest, UnarchiveRequest};
use crate::state::AppState;
use crate::store::{FlagDefinition, FlagPatch, FlagQuery, FlagSummary, NewFlag, Page};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_flags, create_flag))
        .routes(routes!(get_flag, patch_flag, delete_flag))
        .routes(routes!(archive_flag))
        .routes(routes!(unarchive_flag))
}

/// Query of the flag list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only flags with this tag.
    pub tag: Option<String>,
    /// Text in key, name or description.
    pub q: Option<String>,
    /// `on`, `off` or `killed` (with `environment`).
    #[param(pattern = r"^(on|off|killed)$")]
    pub state: Option<String>,
    /// Environment of the state filter.
    pub environment: Option<String>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
    /// Page size (≤ 1000).
    pub limit: Option<u32>,
    /// `true`: only archived flags (default: only flags not archived).
    pub archived: Option<bool>,
}

/// Lists flags with per-environment state; filterable, cursor-paginated.
#[utoipa::path(get, path = "/api/v1/projects/{project}/flags", tag = "flags", security(("bearer" = [])),
    params(("project" = String, Path), ListQuery), responses((status = 200, body = Page<FlagSummary>)))]
async fn list_flags(
    State(state): State<AppState>,
    Path(project): Path<String>,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<AppJson<Page<FlagSummary>>> {
    if let Some(s) = &q.state {
        if !matches!(s.as_str(), "on" | "off" | "killed") {
            return Err(ApiError::invalid("state", "invalid_state", "state must be on, off or killed"));
        }
        if q.environment.is_none() {
            return Err(ApiError::invalid("environment", "required", "the state filter needs an environment"));
        }
    }
    let query = FlagQuery {
        tag: q.tag,
        q: q.q,
        state: q.state,
        environment: q.environment,
        cursor: q.cursor,
        limit: Some(q.limit.unwrap_or(100).clamp(1, 1000)),
        archived: q.archived.unwrap_or(false),
    };
    Ok(AppJson(state.store.list_flags(&project, &query).await?))
}

/// Creates a flag (off in every environment).
#[utoipa::path(post, path = "/api/v1/projects/{project}/flags", tag = "flags", security(("bearer" = [])),
    params(("project" = String, Path)), request_body = NewFlag,
    responses((status = 201, body = FlagDefinition), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn create_flag(
    State(state): State<AppState>,
    principal: Principal,
    Path(project): Path<String>,
    AppJson(req): AppJson<NewFlag>,
) -> ApiResult<(StatusCode, AppJson<FlagDefinition>)> {
    let flag = ops::configs::create_flag(&*state.store, &principal, &project, req).await?;
    Ok((StatusCode::CREATED, AppJson(flag)))
}

/// One flag definition.
#[utoipa::path(get, path = "/api/v1/projects/{project}/flags/{flag}", tag = "flags", security(("bearer" = [])),
    params(("project" = String, Path), ("flag" = String, Path)), responses((status = 200, body = FlagDefinition)))]
async fn get_flag(
    State(state): State<AppState>,
    Path((project, flag)): Path<(String, String)>,
) -> ApiResult<AppJson<FlagDefinition>> {
    Ok(AppJson(state.store.get_flag(&project, &flag).await?))
}

/// A definition patch with its optional expected version.
#[derive(Debug, Deserialize, ToSchema)]
// Through a map: the flattened patch's unknown fields are refused too.
#[serde(try_from = "serde_json::Map<String, serde_json::Value>")]
pub struct PatchBody {
    /// Expected definition version (or `If-Match`).
    pub version: Option<u64>,
    /// The fields to change.
    #[serde(flatten)]
    pub patch: FlagPatch,
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for PatchBody {
    type Error = String;

    fn try_from(mut map: serde_json::Map<String, serde_json::Value>) -> Result<Self, String> {
        let version = crate::http::json::take(&mut map, "version")?;
        Ok(PatchBody { version, patch: crate::http::json::rest(map)? })
    }
}

/// Updates a flag definition (optimistic concurrency with `version` or `If-Match`).
#[utoipa::path(patch, path = "/api/v1/projects/{project}/flags/{flag}", tag = "flags", security(("bearer" = [])),
    params(("project" = String, Path), ("flag" = String, Path)), request_body = PatchBody,
    responses((status = 200, body = FlagDefinition), (status = 409, body = crate::error::Problem)))]
async fn patch_flag(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path((project, flag)): Path<(String, String)>,
    AppJson(body): AppJson<PatchBody>,
) -> ApiResult<AppJson<FlagDefinition>> {
    let expected = body.version.or(if_match(&headers)?);
    Ok(AppJson(ops::configs::update_flag(&*state.store, &principal, (&project, &flag), body.patch, expected).await?))
}

/// The reason of a delete.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Why (required).
    pub reason: Option<String>,
}

/// Deletes an archived flag in every environment (the audit history stays);
/// 409 `not_archived` unless it is archived, 422 without a reason.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/flags/{flag}", tag = "flags", security(("bearer" = [])),
    params(("project" = String, Path), ("flag" = String, Path), DeleteQuery),
    responses((status = 204), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn delete_flag(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, flag)): Path<(String, String)>,
    AppQuery(q): AppQuery<DeleteQuery>,
) -> ApiResult<StatusCode> {
    ops::configs::delete_flag(&*state.store, &principal, (&project, &flag), q.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Archives a flag, in two steps: without `confirm` (or with `dry_run`) a
/// dry run answering, per environment, when it was last evaluated, which
/// connected SDK instances evaluate it, and what archiving stops (its release
/// plan, pending scheduled changes and open change requests); with `confirm`
/// and a `reason` it is archived: left out of every SDK snapshot (a revision
/// per environment), of default lists and tag selections, and refusing edits
/// until restored; in the same transaction its plans are aborted and its
/// scheduled changes and change requests cancelled (reason `flag archived`).
/// 409 `prerequisite_in_use` while another flag names it as a prerequisite.
#[utoipa::path(post, path = "/api/v1/projects/{project}/flags/{flag}/archive", tag = "flags", security(("bearer" = [])),
    params(("project" = String, Path), ("flag" = String, Path)), request_body = ArchiveRequest,
    responses((status = 200, body = ArchiveOutcome), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn archive_flag(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, flag)): Path<(String, String)>,
    AppJson(req): AppJson<ArchiveRequest>,
) -> ApiResult<AppJson<ArchiveOutcome>> {
    Ok(AppJson(ops::lifecycle::archive(&state, &principal, (&project, &flag), req).await?))
}

/// Restores an archived flag from the archive, with its configurations as
/// they were (a kill included): back in every SDK snapshot. 409
/// `prerequisite_archived` while one of its prerequisites is archived.
#[utoipa::path(post, path = "/api/v1/projects/{project}/flags/{flag}/unarchive", tag = "flags", security(("bearer" = [])),
    params(("project" = String, Path), ("flag" = String, Path)), request_body = UnarchiveRequest,
    responses((status = 200, body = FlagDefinition), (status = 409, body = crate::error::Problem)))]
async fn unarchive_flag(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, flag)): Path<(String, String)>,
    AppJson(req): AppJson<UnarchiveRequest>,
) -> ApiResult<AppJson<FlagDefinition>> {
    Ok(AppJson(ops::lifecycle::unarchive(&*state.store, &principal, (&project, &flag), req).await?))
}

/// Parses `If-Match: "7"` / `If-Match: 7` into a version.
pub fn if_match(headers: &HeaderMap) -> ApiResult<Option<u64>> {
    let Some(value) = headers.get(axum::http::header::IF_MATCH) else { return Ok(None) };
    let text = value.to_str().unwrap_or("").trim().trim_start_matches("W/").trim_matches('"');
    text.parse::<u64>()
        .map(Some)
        .map_err(|_| ApiError::bad_request("invalid_if_match", "If-Match must be a version number"))
}
