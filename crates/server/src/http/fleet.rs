//! The fleet view: `GET …/environments/{env}/fleet` (viewer role), every
//! SDK instance connected to the environment on any replica. The workflow
//! is [`crate::ops::fleet`].

use axum::extract::{Path, State};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiResult, Problem};
use crate::http::json::AppJson;
use crate::ops::fleet::FleetView;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(fleet))
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
