//! A project's lifecycle over HTTP (global admins): archive after the
//! in-use check, restore from the archive, delete an archived one; the
//! workflow is [`crate::ops::lifecycle_project`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::http::json::AppJson;
use crate::http::params::AppQuery;
use crate::ops::lifecycle_env::EnvArchiveRequest;
use crate::ops::lifecycle_project::{self as lifecycle, ProjectArchiveOutcome};
use crate::state::AppState;
use crate::store::Project;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(archive_project))
        .routes(routes!(unarchive_project))
        .routes(routes!(delete_project))
}

/// The reason of a project's delete.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteProjectQuery {
    /// Why (required).
    pub reason: Option<String>,
}

/// A project's restore from the archive.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnarchiveProject {
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Archives a project (global admins), in two steps like an environment:
/// without `confirm` a dry run answering whether it is in use (its SDK keys
/// used in the last `days`, default 7; SDK instances connected to any of
/// its environments now); with `confirm` and a `reason` it is archived —
/// refused with 409 `in_use` while in use unless `force`. Archived, it is
/// hidden from the project list, its SDK keys get 401 (open streams on this
/// replica close at once), and ordinary writes get 409 `project_archived`;
/// kills still apply.
#[utoipa::path(post, path = "/api/v1/projects/{project}/archive", tag = "projects", security(("bearer" = [])),
    params(("project" = String, Path)), request_body = EnvArchiveRequest,
    responses((status = 200, body = ProjectArchiveOutcome), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
async fn archive_project(
    State(state): State<AppState>,
    principal: Principal,
    Path(project): Path<String>,
    AppJson(req): AppJson<EnvArchiveRequest>,
) -> ApiResult<AppJson<ProjectArchiveOutcome>> {
    Ok(AppJson(lifecycle::archive(&state, &principal, &project, req).await?))
}

/// Restores an archived project from the archive (global admins); its SDK
/// keys authenticate again.
#[utoipa::path(post, path = "/api/v1/projects/{project}/unarchive", tag = "projects", security(("bearer" = [])),
    params(("project" = String, Path)), request_body = UnarchiveProject,
    responses((status = 200, body = Project), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
async fn unarchive_project(
    State(state): State<AppState>,
    principal: Principal,
    Path(project): Path<String>,
    AppJson(req): AppJson<UnarchiveProject>,
) -> ApiResult<AppJson<Project>> {
    Ok(AppJson(lifecycle::unarchive(&state, &principal, &project, req.reason).await?))
}

/// Deletes an archived project with its environments, flags, segments, SDK
/// keys, webhooks and API tokens (global admins; the audit history stays):
/// 409 `not_archived` unless it is archived, 422 without a reason.
#[utoipa::path(delete, path = "/api/v1/projects/{project}", tag = "projects", security(("bearer" = [])),
    params(("project" = String, Path), DeleteProjectQuery),
    responses((status = 204), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn delete_project(
    State(state): State<AppState>,
    principal: Principal,
    Path(project): Path<String>,
    AppQuery(q): AppQuery<DeleteProjectQuery>,
) -> ApiResult<StatusCode> {
    lifecycle::delete(&state, &principal, &project, q.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}
