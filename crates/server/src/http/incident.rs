//! Incidents over HTTP: a project's incidents and one incident's timeline
//! with its times (viewer role; [`crate::ops::incident`]), and drills that
//! rehearse a rollback (responder role; [`crate::ops::drill`]).

use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Principal;
use crate::error::{ApiResult, Problem};
use crate::http::json::AppJson;
use crate::http::params::{AppQuery, EnvFlag, WaitQuery};
use crate::ops::drill::{DrillReport, DrillRequest};
use crate::ops::incident::{self as op, DEFAULT_BEFORE_MINUTES, Timeline};
use crate::state::AppState;
use crate::store::IncidentSummary;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_incidents)).routes(routes!(incident)).routes(routes!(drill))
}

/// `?limit=` of the incident list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncidentListParams {
    /// How many incidents (default 50, at most 1000).
    pub limit: Option<u32>,
}

/// `?before_minutes=` of a timeline.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    /// How many minutes before the incident's first event to show the
    /// project's changes from (default 30, at most 1440).
    #[param(maximum = 1440)]
    pub before_minutes: Option<u32>,
}

/// The project's incidents (every incident id its audit events carry),
/// most recent first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/incidents", tag = "incidents", security(("bearer" = [])),
    params(("project" = String, Path), IncidentListParams),
    responses((status = 200, body = Vec<IncidentSummary>), (status = 404, body = Problem)))]
async fn list_incidents(
    State(state): State<AppState>,
    Path(project): Path<String>,
    AppQuery(p): AppQuery<IncidentListParams>,
) -> ApiResult<AppJson<Vec<IncidentSummary>>> {
    Ok(AppJson(op::list(&state, &project, p.limit.unwrap_or(50)).await?))
}

/// One incident's timeline: trigger fires, kills, panics, guard trips,
/// restores and their delivery receipts in time order, the project's
/// changes in the minutes before, and the times (to mitigate: the fleet
/// applied the first kill; to restore).
#[utoipa::path(get, path = "/api/v1/projects/{project}/incidents/{incident}", tag = "incidents",
    security(("bearer" = [])), params(("project" = String, Path), ("incident" = String, Path), TimelineParams),
    responses((status = 200, body = Timeline), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn incident(
    State(state): State<AppState>,
    Path((project, incident)): Path<(String, String)>,
    AppQuery(p): AppQuery<TimelineParams>,
) -> ApiResult<AppJson<Timeline>> {
    let before = p.before_minutes.unwrap_or(DEFAULT_BEFORE_MINUTES);
    Ok(AppJson(op::incident(&state, &project, &incident, before).await?))
}

/// Rehearses a rollback: kills the flag under a drill incident id, waits
/// until every connected SDK applied it, restores it, waits again, and
/// reports both receipts and step times (`?wait=`: each step's longest
/// wait, default 30 s). Refused (422 on `force`) in a production-like
/// environment unless `force`; 409 when the flag is already killed.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/drill", tag = "incidents",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path), WaitQuery),
    request_body = DrillRequest,
    responses((status = 200, body = DrillReport), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn drill(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
    AppQuery(wait): AppQuery<WaitQuery>,
    AppJson(body): AppJson<DrillRequest>,
) -> ApiResult<AppJson<DrillReport>> {
    let place = (project.as_str(), env.as_str(), flag.as_str());
    Ok(AppJson(crate::ops::drill::drill(&state, &principal, place, body, wait.duration()?).await?))
}
