//! A project's API tokens, for the project's admins (issue 19 §5): tokens
//! limited to the project, of a role no higher than the caller's there
//! (`policy::grant` in [`crate::ops::accounts::create_token`]). A global
//! admin can do the same through `/api/v1/tokens`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::http::json::AppJson;
use crate::ops;
use crate::ops::accounts::{CreateToken, CreatedToken};
use crate::state::AppState;
use crate::store::{ApiToken, Role};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_tokens, create_token)).routes(routes!(revoke_token))
}

/// A token to create for the path's project (the project is the path's:
/// the body cannot name another).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProjectToken {
    /// Display name (the audit actor name).
    #[schema(pattern = r"\S", min_length = 1, max_length = 128, example = "deploy-bot")]
    pub name: String,
    /// Role in the project; never above the caller's own there (403).
    pub role: Role,
}

/// Lists the tokens limited to the project (the project's admins).
#[utoipa::path(get, path = "/api/v1/projects/{project}/tokens", tag = "auth", security(("bearer" = [])),
    params(("project" = String, Path)),
    responses((status = 200, body = Vec<ApiToken>), (status = 404, body = crate::error::Problem)))]
async fn list_tokens(State(state): State<AppState>, Path(project): Path<String>) -> ApiResult<AppJson<Vec<ApiToken>>> {
    Ok(AppJson(ops::accounts::project_tokens(&*state.store, &project).await?))
}

/// Creates a token limited to the project (the project's admins, including
/// users who are admins of it only), of a role no higher than the caller's
/// there; the secret is shown once.
#[utoipa::path(post, path = "/api/v1/projects/{project}/tokens", tag = "auth", security(("bearer" = [])),
    params(("project" = String, Path)), request_body = CreateProjectToken,
    responses((status = 201, body = CreatedToken), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    Path(project): Path<String>,
    AppJson(req): AppJson<CreateProjectToken>,
) -> ApiResult<(StatusCode, AppJson<CreatedToken>)> {
    let input = CreateToken { name: req.name, role: req.role, project: Some(project) };
    Ok((StatusCode::CREATED, AppJson(ops::accounts::create_token(&state, &principal, input).await?)))
}

/// Revokes a token limited to the project; it stops working at once. Any
/// other token is 404.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/tokens/{id}", tag = "auth", security(("bearer" = [])),
    params(("project" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = ApiToken), (status = 404, body = crate::error::Problem)))]
async fn revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, id)): Path<(String, i64)>,
) -> ApiResult<AppJson<ApiToken>> {
    Ok(AppJson(ops::accounts::revoke_project_token(&*state.store, &principal, &project, id).await?))
}
