//! Release plans over HTTP: templates of a project, and one flag's plan in
//! one environment (start, status, pause, resume, abort, promote). The
//! workflows are [`crate::ops::release`]; a plan's steps run in
//! [`crate::ops::scheduler`], not in a request.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Principal;
use crate::error::{ApiResult, Problem};
use crate::http::json::AppJson;
use crate::http::params::EnvFlag;
use crate::ops::release as op;
use crate::state::AppState;
use crate::store::{NewReleaseTemplate, ReleasePlan, ReleaseTemplate, StartRelease};

/// The body of pause, resume, abort and promote.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanAction {
    /// Why (required to abort).
    #[serde(default)]
    pub reason: Option<String>,
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_templates, create_template))
        .routes(routes!(get_template, delete_template))
        .routes(routes!(status, start))
        .routes(routes!(list_plans))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(abort))
        .routes(routes!(promote))
}

/// The project's release plan templates.
#[utoipa::path(get, path = "/api/v1/projects/{project}/release-templates", tag = "release",
    security(("bearer" = [])), params(("project" = String, Path)),
    responses((status = 200, body = Vec<ReleaseTemplate>), (status = 404, body = Problem)))]
async fn list_templates(
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> ApiResult<AppJson<Vec<ReleaseTemplate>>> {
    Ok(AppJson(state.store.list_release_templates(&project).await?))
}

/// Creates a release plan template (stages and guard metrics, reusable across flags).
#[utoipa::path(post, path = "/api/v1/projects/{project}/release-templates", tag = "release",
    security(("bearer" = [])), params(("project" = String, Path)), request_body = NewReleaseTemplate,
    responses((status = 201, body = ReleaseTemplate), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_template(
    State(state): State<AppState>,
    principal: Principal,
    Path(project): Path<String>,
    AppJson(body): AppJson<NewReleaseTemplate>,
) -> ApiResult<(StatusCode, AppJson<ReleaseTemplate>)> {
    Ok((StatusCode::CREATED, AppJson(op::create_template(&*state.store, &principal, &project, body).await?)))
}

/// One release plan template.
#[utoipa::path(get, path = "/api/v1/projects/{project}/release-templates/{template}", tag = "release",
    security(("bearer" = [])), params(("project" = String, Path), ("template" = String, Path)),
    responses((status = 200, body = ReleaseTemplate), (status = 404, body = Problem)))]
async fn get_template(
    State(state): State<AppState>,
    Path((project, template)): Path<(String, String)>,
) -> ApiResult<AppJson<ReleaseTemplate>> {
    Ok(AppJson(state.store.get_release_template(&project, &template).await?))
}

/// Deletes a release plan template (plans started from it keep their copy).
#[utoipa::path(delete, path = "/api/v1/projects/{project}/release-templates/{template}", tag = "release",
    security(("bearer" = [])), params(("project" = String, Path), ("template" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn delete_template(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, template)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state.store.delete_release_template(&principal.actor(), &project, &template).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The flag's newest release plan in the environment (any state).
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/release", tag = "release",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    responses((status = 200, body = ReleasePlan), (status = 404, body = Problem)))]
async fn status(State(state): State<AppState>, Path((project, env, flag)): EnvFlag) -> ApiResult<AppJson<ReleasePlan>> {
    Ok(AppJson(op::status(&*state.store, (&project, &env, &flag)).await?))
}

/// Every release plan of the flag in the environment, newest first; `[]`
/// when it never had one (the UI asks this, not `GET …/release`, so a flag
/// without a plan is not a 404).
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/releases", tag = "release",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    responses((status = 200, body = Vec<ReleasePlan>), (status = 404, body = Problem)))]
async fn list_plans(
    State(state): State<AppState>,
    Path((project, env, flag)): EnvFlag,
) -> ApiResult<AppJson<Vec<ReleasePlan>>> {
    Ok(AppJson(state.store.list_plans(&project, &env, &flag).await?))
}

/// Starts a release plan: its first stage is applied at the next scheduler
/// tick, each next one when the stage's minimum duration is over and the
/// guard agrees. Where the environment's approval policy is on, the plan is
/// `awaiting_approval` instead, beside a change request for its first
/// stage's split (named in its `summary`): applying that request starts it,
/// cancelling it aborts it. 409 `plan_active` when one is awaiting
/// approval, running or paused.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/release", tag = "release",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    request_body = StartRelease,
    responses((status = 201, body = ReleasePlan), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn start(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
    AppJson(body): AppJson<StartRelease>,
) -> ApiResult<(StatusCode, AppJson<ReleasePlan>)> {
    Ok((StatusCode::CREATED, AppJson(op::start(&state, &principal, (&project, &env, &flag), body).await?)))
}

/// Holds a running plan at its stage (409 `plan_state` unless running).
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/release/pause", tag = "release",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    request_body = PlanAction, responses((status = 200, body = ReleasePlan), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn pause(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
    AppJson(body): AppJson<PlanAction>,
) -> ApiResult<AppJson<ReleasePlan>> {
    Ok(AppJson(op::pause(&state, &principal, (&project, &env, &flag), body.reason).await?))
}

/// Resumes a paused plan (409 `plan_state` unless paused).
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/release/resume", tag = "release",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    request_body = PlanAction, responses((status = 200, body = ReleasePlan), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn resume(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
    AppJson(body): AppJson<PlanAction>,
) -> ApiResult<AppJson<ReleasePlan>> {
    Ok(AppJson(op::resume(&state, &principal, (&project, &env, &flag), body.reason).await?))
}

/// Stops a running or paused plan and serves the control variant to
/// everyone again (responder and up; reason required).
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/release/abort", tag = "release",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    request_body = PlanAction, responses((status = 200, body = ReleasePlan), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn abort(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
    AppJson(body): AppJson<PlanAction>,
) -> ApiResult<AppJson<ReleasePlan>> {
    Ok(AppJson(op::abort(&state, &principal, (&project, &env, &flag), body.reason).await?))
}

/// Applies the next stage now, without waiting for its minimum duration
/// or sample (a guard trip still rolls back); after the last stage,
/// completes the plan. 409 `plan_state` unless running.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/release/promote", tag = "release",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    request_body = PlanAction, responses((status = 200, body = ReleasePlan), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn promote(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
    AppJson(body): AppJson<PlanAction>,
) -> ApiResult<AppJson<ReleasePlan>> {
    Ok(AppJson(op::promote(&state, &principal, (&project, &env, &flag), body.reason).await?))
}
