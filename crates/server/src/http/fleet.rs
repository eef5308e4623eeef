//! The fleet view: `GET …/environments/{env}/fleet` (viewer role), every
//! SDK instance connected to the environment on any replica, and
//! `GET …/environments/{env}/blast-radius` (viewer role), who a kill of
//! some flags would reach now. The workflows are [`crate::ops::fleet`] and
//! [`crate::ops::blast`].

use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiResult, Problem};
use crate::http::json::AppJson;
use crate::http::params::AppQuery;
use crate::ops::blast::{BlastRadius, Selection};
use crate::ops::fleet::FleetView;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(fleet)).routes(routes!(blast_radius))
}

/// The flags of a blast radius (at least one, by key or tag).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BlastParams {
    /// Flag keys, comma-separated (`checkout,search`).
    #[param(example = "checkout")]
    pub flags: Option<String>,
    /// Every flag with this tag too.
    pub tag: Option<String>,
}

/// Who killing these flags would reach now (the dry run of a kill or the
/// panic button; reads only): connected SDK instances per service, those
/// that evaluated the flags in the last 15 minutes (telemetry), the
/// evaluation rate, the variants served and the one a kill would serve.
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/blast-radius", tag = "kill",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), BlastParams),
    responses((status = 200, body = BlastRadius), (status = 404, body = Problem),
        (status = 422, description = "`flags`: none given, or none carries the tag", body = Problem)))]
async fn blast_radius(
    State(state): State<AppState>,
    Path((project, env)): Path<(String, String)>,
    AppQuery(p): AppQuery<BlastParams>,
) -> ApiResult<AppJson<BlastRadius>> {
    let keys = p.flags.as_deref().unwrap_or_default().split(',').map(str::trim).filter(|f| !f.is_empty());
    let selection = Selection { flags: keys.map(str::to_string).collect(), tag: p.tag };
    Ok(AppJson(crate::ops::blast::blast_radius(&state, (&project, &env), selection).await?))
}

/// The SDK instances connected to an environment (streams, recent snapshot
/// polls, OFREP refetch streams) on every live replica: service, versions,
/// replica, revision, lag, last seen, transport.
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/fleet", tag = "fleet",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path)),
    responses((status = 200, body = FleetView), (status = 404, body = Problem)))]
async fn fleet(
    State(state): State<AppState>,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<AppJson<FleetView>> {
    Ok(AppJson(crate::ops::fleet::view(&state, &project, &env).await?))
}
