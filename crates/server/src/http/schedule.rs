//! Scheduled changes over HTTP: schedule a change of one flag in one
//! environment, list the environment's, show, edit or cancel one. The
//! workflow is [`crate::ops::schedule`]; a change is applied by
//! [`crate::ops::scheduler`] when due, never in a request.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Principal;
use crate::error::{ApiResult, Problem};
use crate::http::json::AppJson;
use crate::http::params::EnvFlag;
use crate::ops::schedule as op;
use crate::state::AppState;
use crate::store::{NewScheduledChange, ScheduleEdit, ScheduledChange};

/// `/projects/{project}/environments/{env}/scheduled/{id}`.
type EnvId = Path<(String, String, i64)>;

/// The body of a cancellation.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelSchedule {
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(schedule))
        .routes(routes!(list))
        .routes(routes!(get_one, edit))
        .routes(routes!(cancel))
}

/// Schedules a change of the flag (any field of a configuration write:
/// `on`, `off_variant`, `prerequisites`, `targets`, `rules`, `fallthrough`,
/// `fail_safe_variant`) for a time; validated now as PUT validates it (a
/// prerequisite loop: 409 `prerequisite_cycle`; an archived flag: 409
/// `archived`), applied then by the scheduler (audited as `scheduler`,
/// requested by the caller) if the caller may still make it then (else
/// `failed`, `result` saying why). Fields the change does not set keep
/// their value of then.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/schedule", tag = "schedule",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    request_body = NewScheduledChange,
    responses((status = 201, body = ScheduledChange), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn schedule(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
    AppJson(body): AppJson<NewScheduledChange>,
) -> ApiResult<(StatusCode, AppJson<ScheduledChange>)> {
    let created = op::schedule(&*state.store, &principal, (&project, &env, &flag), body).await?;
    Ok((StatusCode::CREATED, AppJson(created)))
}

/// The environment's scheduled changes: pending ones first (soonest
/// first), then applied, cancelled and failed ones (newest first); at most 200.
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/scheduled", tag = "schedule",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path)),
    responses((status = 200, body = Vec<ScheduledChange>), (status = 404, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<AppJson<Vec<ScheduledChange>>> {
    Ok(AppJson(state.store.list_scheduled_changes(&project, &env).await?))
}

/// One scheduled change.
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/scheduled/{id}", tag = "schedule",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = ScheduledChange), (status = 404, body = Problem)))]
async fn get_one(
    State(state): State<AppState>,
    Path((project, env, id)): EnvId,
) -> ApiResult<AppJson<ScheduledChange>> {
    Ok(AppJson(state.store.get_scheduled_change(&project, &env, id).await?))
}

/// Edits a pending change: its time, its change, its reason (409
/// `schedule_state` once applied, cancelled or failed).
#[utoipa::path(patch, path = "/api/v1/projects/{project}/environments/{env}/scheduled/{id}", tag = "schedule",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("id" = i64, Path)),
    request_body = ScheduleEdit,
    responses((status = 200, body = ScheduledChange), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn edit(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, id)): EnvId,
    AppJson(body): AppJson<ScheduleEdit>,
) -> ApiResult<AppJson<ScheduledChange>> {
    Ok(AppJson(op::edit(&*state.store, &principal, (&project, &env, id), body).await?))
}

/// Cancels a pending change (409 `schedule_state` once applied, cancelled or failed).
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/scheduled/{id}/cancel", tag = "schedule",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("id" = i64, Path)),
    request_body = CancelSchedule,
    responses((status = 200, body = ScheduledChange), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn cancel(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, id)): EnvId,
    AppJson(body): AppJson<CancelSchedule>,
) -> ApiResult<AppJson<ScheduledChange>> {
    Ok(AppJson(op::cancel(&*state.store, &principal, (&project, &env, id), body.reason).await?))
}
