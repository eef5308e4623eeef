//! Login, the current principal, users and API tokens over HTTP; the
//! workflows are [`crate::ops::accounts`].

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::json::AppJson;
use crate::ops;
pub use crate::ops::accounts::{CreateToken, CreateUser, CreatedToken, LoginResponse};
use crate::state::AppState;
use crate::store::{ActorKind, ApiToken, Membership, Role, User};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(me))
        .routes(routes!(list_users, create_user))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// Login request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// Logs in a local user.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    AppJson(req): AppJson<LoginRequest>,
) -> ApiResult<AppJson<LoginResponse>> {
    if let Some(client) = state.login_limiter.client(Some(peer), &headers)
        && let Err(wait) = state.login_limiter.check(client)
    {
        return Err(ApiError::TooManyRequests { retry_after: wait.as_secs().max(1) });
    }
    let session = ops::accounts::login(&state, &req.username, req.password).await;
    match &session {
        Ok(_) => tracing::info!(username = %req.username, client = %peer.ip(), "login succeeded"),
        Err(ApiError::Unauthorized(_)) => {
            tracing::info!(username = %req.username, client = %peer.ip(), "login failed")
        }
        Err(_) => {}
    }
    Ok(AppJson(session?))
}

/// The current principal.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    /// Name.
    pub name: String,
    /// User or token.
    pub kind: ActorKind,
    /// Role.
    pub role: Role,
    /// Project scope.
    pub project: Option<String>,
    /// A user's roles in single projects (there, the higher of it and
    /// `role` applies); none for tokens.
    #[serde(default)]
    pub memberships: Vec<Membership>,
}

/// Who am I?
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])), responses((status = 200, body = Me)))]
async fn me(State(state): State<AppState>, principal: Principal) -> ApiResult<AppJson<Me>> {
    let memberships = match principal.kind {
        ActorKind::User => state.store.memberships(&principal.name).await?,
        _ => Vec::new(),
    };
    let Principal { name, kind, role, project, .. } = principal;
    Ok(AppJson(Me { name, kind, role, project, memberships }))
}

/// Lists users (unscoped admins).
#[utoipa::path(get, path = "/api/v1/users", tag = "auth", security(("bearer" = [])), responses((status = 200, body = Vec<User>)))]
async fn list_users(State(state): State<AppState>) -> ApiResult<AppJson<Vec<User>>> {
    Ok(AppJson(state.store.list_users().await?))
}

/// Creates a user (unscoped admins: users' roles are global).
#[utoipa::path(post, path = "/api/v1/users", tag = "auth", security(("bearer" = [])), request_body = CreateUser,
    responses((status = 201, body = User), (status = 409, description = "The user name is taken")))]
async fn create_user(
    State(state): State<AppState>,
    principal: Principal,
    AppJson(req): AppJson<CreateUser>,
) -> ApiResult<(StatusCode, AppJson<User>)> {
    Ok((StatusCode::CREATED, AppJson(ops::accounts::create_user(&state, &principal, req).await?)))
}

/// Lists API tokens (admin); a project-limited admin sees its project's only.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth", security(("bearer" = [])), responses((status = 200, body = Vec<ApiToken>)))]
async fn list_tokens(State(state): State<AppState>, principal: Principal) -> ApiResult<AppJson<Vec<ApiToken>>> {
    Ok(AppJson(ops::accounts::list_tokens(&*state.store, &principal).await?))
}

/// Creates an API token (admin), never wider than its creator: a
/// project-limited admin mints tokens for its project only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", security(("bearer" = [])), request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 404, description = "`project` does not exist")))]
async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    AppJson(req): AppJson<CreateToken>,
) -> ApiResult<(StatusCode, AppJson<CreatedToken>)> {
    Ok((StatusCode::CREATED, AppJson(ops::accounts::create_token(&state, &principal, req).await?)))
}

/// Revokes an API token (admin; a project-limited admin, its project's
/// only: others are 404); it stops working at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = ApiToken)))]
async fn revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> ApiResult<AppJson<ApiToken>> {
    Ok(AppJson(ops::accounts::revoke_token(&*state.store, &principal, id).await?))
}
