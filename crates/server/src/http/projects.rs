//! Projects and environments.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::http::json::AppJson;
use crate::http::params::AppQuery;
use crate::ops::lifecycle_env::{EnvArchiveOutcome, EnvArchiveRequest};
use crate::state::AppState;
use crate::store::{Environment, EnvironmentPatch, NewEnvironment, NewProject, Project};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_projects, create_project))
        .routes(routes!(get_project))
        .routes(routes!(list_environments, create_environment))
        .routes(routes!(get_environment, update_environment, delete_environment))
        .routes(routes!(archive_environment))
        .routes(routes!(unarchive_environment))
        .merge(super::project_lifecycle::router())
}

/// Query of the environment list and the project list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EnvListQuery {
    /// `true`: only archived ones (default: only those not archived).
    pub archived: Option<bool>,
}

/// The reason of a delete or restore from the archive.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReasonQuery {
    /// Why (required by a delete).
    pub reason: Option<String>,
}

/// A restore from the archive.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnarchiveEnvironment {
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Lists projects visible to the caller (archived ones only with
/// `?archived=true`).
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", security(("bearer" = [])),
    params(EnvListQuery), responses((status = 200, body = Vec<Project>)))]
async fn list_projects(
    State(state): State<AppState>,
    principal: Principal,
    AppQuery(q): AppQuery<EnvListQuery>,
) -> ApiResult<AppJson<Vec<Project>>> {
    let archived = q.archived.unwrap_or(false);
    let mut projects = state.store.list_projects().await?;
    projects.retain(|p| principal.sees(Some(&p.key)) && p.archived_at.is_some() == archived);
    Ok(AppJson(projects))
}

/// Creates a project (unscoped admins) with its environments: those the body
/// lists, else the server's `SWITCHYARD_DEFAULT_ENVIRONMENTS`.
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", security(("bearer" = [])), request_body = NewProject,
    responses((status = 201, body = Project), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn create_project(
    State(state): State<AppState>,
    principal: Principal,
    AppJson(mut req): AppJson<NewProject>,
) -> ApiResult<(StatusCode, AppJson<Project>)> {
    if principal.project.is_some() {
        return Err(crate::error::ApiError::Forbidden("project-scoped tokens cannot create projects"));
    }
    let defaults = || state.config.default_environments.iter().filter(|k| !k.is_empty()).cloned().collect();
    req.environments = Some(req.environments.take().unwrap_or_else(defaults));
    Ok((StatusCode::CREATED, AppJson(state.store.create_project(&principal.actor(), req).await?)))
}

/// One project.
#[utoipa::path(get, path = "/api/v1/projects/{project}", tag = "projects", security(("bearer" = [])),
    params(("project" = String, Path)), responses((status = 200, body = Project), (status = 404, body = crate::error::Problem)))]
async fn get_project(State(state): State<AppState>, Path(project): Path<String>) -> ApiResult<AppJson<Project>> {
    Ok(AppJson(state.store.get_project(&project).await?))
}

/// Lists a project's environments with their revisions (archived ones
/// only with `?archived=true`).
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments", tag = "projects", security(("bearer" = [])),
    params(("project" = String, Path), EnvListQuery), responses((status = 200, body = Vec<Environment>)))]
async fn list_environments(
    State(state): State<AppState>,
    Path(project): Path<String>,
    AppQuery(q): AppQuery<EnvListQuery>,
) -> ApiResult<AppJson<Vec<Environment>>> {
    let archived = q.archived.unwrap_or(false);
    let mut envs = state.store.list_environments(&project).await?;
    envs.retain(|e| e.archived_at.is_some() == archived);
    Ok(AppJson(envs))
}

/// Creates an environment (admin).
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments", tag = "projects", security(("bearer" = [])),
    params(("project" = String, Path)), request_body = NewEnvironment,
    responses((status = 201, body = Environment), (status = 409, description = "The key is taken")))]
async fn create_environment(
    State(state): State<AppState>,
    principal: Principal,
    Path(project): Path<String>,
    AppJson(req): AppJson<NewEnvironment>,
) -> ApiResult<(StatusCode, AppJson<Environment>)> {
    let env = state.store.create_environment(&principal.actor(), &project, req).await?;
    Ok((StatusCode::CREATED, AppJson(env)))
}

/// One environment.
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}", tag = "projects", security(("bearer" = [])),
    params(("project" = String, Path), ("env" = String, Path)), responses((status = 200, body = Environment)))]
async fn get_environment(
    State(state): State<AppState>,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<AppJson<Environment>> {
    Ok(AppJson(state.store.get_environment(&project, &env).await?))
}

/// Changes an environment's name, colour (`#rrggbb`, `null` removes it) or
/// position in the lists (admin). Audited; SDKs see none of it.
#[utoipa::path(patch, path = "/api/v1/projects/{project}/environments/{env}", tag = "projects", security(("bearer" = [])),
    params(("project" = String, Path), ("env" = String, Path)), request_body = EnvironmentPatch,
    responses((status = 200, body = Environment), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn update_environment(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env)): Path<(String, String)>,
    AppJson(patch): AppJson<EnvironmentPatch>,
) -> ApiResult<AppJson<Environment>> {
    Ok(AppJson(state.store.update_environment(&principal.actor(), &project, &env, patch).await?))
}

/// Archives an environment (admin), in two steps like a flag: without
/// `confirm` a dry run answering whether it is in use (SDK keys used in the
/// last `days`, default 7; SDK instances connected now); with `confirm` and
/// a `reason` it is archived — refused with 409 `in_use` while in use unless
/// `force`. Archived, it is hidden from the list and refuses ordinary
/// writes (409 `environment_archived`); kills still apply, SDKs are served.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/archive", tag = "projects", security(("bearer" = [])),
    params(("project" = String, Path), ("env" = String, Path)), request_body = EnvArchiveRequest,
    responses((status = 200, body = EnvArchiveOutcome), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn archive_environment(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env)): Path<(String, String)>,
    AppJson(req): AppJson<EnvArchiveRequest>,
) -> ApiResult<AppJson<EnvArchiveOutcome>> {
    Ok(AppJson(crate::ops::lifecycle_env::archive(&state, &principal, (&project, &env), req).await?))
}

/// Restores an archived environment from the archive (admin).
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/unarchive", tag = "projects", security(("bearer" = [])),
    params(("project" = String, Path), ("env" = String, Path)), request_body = UnarchiveEnvironment,
    responses((status = 200, body = Environment), (status = 404, body = crate::error::Problem)))]
async fn unarchive_environment(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env)): Path<(String, String)>,
    AppJson(req): AppJson<UnarchiveEnvironment>,
) -> ApiResult<AppJson<Environment>> {
    Ok(AppJson(crate::ops::lifecycle_env::unarchive(&state, &principal, (&project, &env), req.reason).await?))
}

/// Deletes an archived environment with its configurations, SDK keys and
/// triggers (admin; the audit history stays): 409 `not_archived` unless it
/// is archived, 422 without a reason.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/environments/{env}", tag = "projects", security(("bearer" = [])),
    params(("project" = String, Path), ("env" = String, Path), ReasonQuery),
    responses((status = 204), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn delete_environment(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env)): Path<(String, String)>,
    AppQuery(q): AppQuery<ReasonQuery>,
) -> ApiResult<StatusCode> {
    crate::ops::lifecycle_env::delete(&state, &principal, (&project, &env), q.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}
