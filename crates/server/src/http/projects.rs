//! Projects and environments.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::http::json::AppJson;
use crate::state::AppState;
use crate::store::{Environment, EnvironmentPatch, NewEnvironment, NewProject, Project};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_projects, create_project))
        .routes(routes!(get_project))
        .routes(routes!(list_environments, create_environment))
        .routes(routes!(get_environment, update_environment))
}

/// Lists projects visible to the caller.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", security(("bearer" = [])),
    responses((status = 200, body = Vec<Project>)))]
async fn list_projects(State(state): State<AppState>, principal: Principal) -> ApiResult<AppJson<Vec<Project>>> {
    let mut projects = state.store.list_projects().await?;
    projects.retain(|p| principal.sees(Some(&p.key)));
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

/// Lists a project's environments with their revisions.
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments", tag = "projects", security(("bearer" = [])),
    params(("project" = String, Path)), responses((status = 200, body = Vec<Environment>)))]
async fn list_environments(
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> ApiResult<AppJson<Vec<Environment>>> {
    Ok(AppJson(state.store.list_environments(&project).await?))
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
