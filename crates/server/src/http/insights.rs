//! Flag insights: `GET …/flags/{flag}/usage` (who still evaluates a flag,
//! per environment) and `GET …/stale-flags` (the project's removal
//! candidates), viewer role. The workflows are [`crate::ops::usage`] and
//! [`crate::ops::stale`].

use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiResult, Problem};
use crate::http::json::AppJson;
use crate::http::params::AppQuery;
use crate::ops::stale::StaleReport;
use crate::ops::usage::FlagUsage;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(usage)).routes(routes!(stale))
}

/// One flag's usage in every environment, from SDK telemetry: when it was
/// last evaluated, its evaluations per variant over 24 hours and 7 days,
/// and the services (and how many of their instances) that evaluate it.
#[utoipa::path(get, path = "/api/v1/projects/{project}/flags/{flag}/usage", tag = "telemetry",
    security(("bearer" = [])), params(("project" = String, Path), ("flag" = String, Path)),
    responses((status = 200, body = FlagUsage), (status = 404, body = Problem)))]
async fn usage(
    State(state): State<AppState>,
    Path((project, flag)): Path<(String, String)>,
) -> ApiResult<AppJson<FlagUsage>> {
    Ok(AppJson(crate::ops::usage::usage(&state.store, &project, &flag).await?))
}

/// The look-back and scope of the stale-flag report.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StaleParams {
    /// Days (1 to 3650); default `SWITCHYARD_STALE_DAYS` (30).
    #[param(minimum = 1, maximum = 3650, example = 30)]
    pub days: Option<u32>,
    /// Only this environment's telemetry (expiry counts everywhere).
    pub environment: Option<String>,
}

/// The project's removal candidates: flags past their `expires_at`,
/// temporary flags that served one variant to every evaluation for the
/// look-back, and flags no SDK evaluated in it, per environment.
#[utoipa::path(get, path = "/api/v1/projects/{project}/stale-flags", tag = "telemetry",
    security(("bearer" = [])), params(("project" = String, Path), StaleParams),
    responses((status = 200, body = StaleReport), (status = 400, description = "`invalid_query`: `days` out of range", body = Problem),
        (status = 404, body = Problem)))]
async fn stale(
    State(state): State<AppState>,
    Path(project): Path<String>,
    AppQuery(p): AppQuery<StaleParams>,
) -> ApiResult<AppJson<StaleReport>> {
    let days = p.days.unwrap_or(state.config.stale_after_days);
    Ok(AppJson(crate::ops::stale::report(&state.store, &project, days, p.environment.as_deref()).await?))
}
