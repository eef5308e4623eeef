//! Login, the current principal, users and API tokens.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{Principal, password, policy, secret};
use crate::error::{ApiError, ApiResult};
use crate::http::json::AppJson;
use crate::state::AppState;
use crate::store::{Actor, ActorKind, ApiToken, NewApiToken, NewUser, Role, User};

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
pub struct LoginRequest {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A session token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token (JWT, HS256).
    pub token: String,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// The user's role.
    pub role: Role,
    /// The user name.
    pub username: String,
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
    let user = state.store.user_by_name(&req.username).await?;
    // Verify against a dummy hash when the user is unknown: same timing.
    let hash = user.as_ref().map_or(password::dummy_hash(), |u| u.password_hash.as_str()).to_string();
    let ok = verify_password(req.password, hash).await?;
    let user = user.filter(|_| ok);
    let Some(user) = user else {
        tracing::info!(username = %req.username, client = %peer.ip(), "login failed");
        return Err(ApiError::Unauthorized("invalid user name or password"));
    };
    tracing::info!(username = %user.user.username, client = %peer.ip(), "login succeeded");
    Ok(AppJson(session_for(&state, &user.user, user.password_version)?))
}

/// A fresh session token for `user` at password version `pwv`.
pub(crate) fn session_for(state: &AppState, user: &User, pwv: i64) -> ApiResult<LoginResponse> {
    let ttl = chrono::Duration::from_std(state.config.session_ttl).unwrap_or(chrono::Duration::hours(8));
    let expires_at = Utc::now() + ttl;
    let token =
        state.jwt.issue(&user.username, user.role, pwv, expires_at).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(LoginResponse { token, expires_at, role: user.role, username: user.username.clone() })
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
}

/// Who am I?
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])), responses((status = 200, body = Me)))]
async fn me(principal: Principal) -> AppJson<Me> {
    AppJson(Me { name: principal.name, kind: principal.kind, role: principal.role, project: principal.project })
}

/// A user to create.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUser {
    /// Login name.
    #[schema(pattern = r"^[a-z0-9][a-z0-9_.-]{0,127}$", example = "alice")]
    pub username: String,
    /// Password (at least 12 characters, or the configured minimum).
    #[schema(min_length = 12)]
    pub password: String,
    /// Role.
    pub role: Role,
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
    switchyard_core::validate_key(&req.username).map_err(|e| ApiError::invalid("username", e.code, e.message))?;
    check_length(&state, "password", &req.password)?;
    let hash = hash_password(req.password).await?;
    let user = NewUser { username: req.username, password_hash: hash, role: req.role };
    Ok((StatusCode::CREATED, AppJson(state.store.create_user(&principal.actor(), user).await?)))
}

/// Verifies off the async threads (argon2 is deliberately slow).
pub async fn verify_password(candidate: String, hash: String) -> ApiResult<bool> {
    tokio::task::spawn_blocking(move || password::verify(&candidate, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// A 422 naming `path` unless `password` has the configured minimum length.
pub fn check_length(state: &AppState, path: &str, password: &str) -> ApiResult<()> {
    password::check_length(password, state.config.min_password_length)
        .map_err(|message| ApiError::invalid(path, "password_too_short", message))
}

/// Hashes off the async threads (argon2 is deliberately slow).
pub async fn hash_password(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateToken {
    /// Display name (the audit actor name).
    #[schema(pattern = r"\S", min_length = 1, max_length = 128, example = "pager")]
    pub name: String,
    /// Role; `responder` makes a kill-only token.
    pub role: Role,
    /// Limit the token to one project.
    #[serde(default)]
    pub project: Option<String>,
}

/// A created token; the secret is shown only here.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    /// The secret (`sya_…`), shown once.
    pub secret: String,
    /// The stored token.
    #[schema(value_type = Object)]
    pub token: serde_json::Value,
}

/// Lists API tokens (admin); a project-limited admin sees its project's only.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth", security(("bearer" = [])), responses((status = 200, body = Vec<ApiToken>)))]
async fn list_tokens(State(state): State<AppState>, principal: Principal) -> ApiResult<AppJson<Vec<ApiToken>>> {
    let mut tokens = state.store.list_api_tokens().await?;
    tokens.retain(|t| principal.sees(t.project.as_deref()));
    Ok(AppJson(tokens))
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
    if req.name.trim().is_empty() || req.name.chars().count() > 128 {
        return Err(ApiError::invalid("name", "invalid_name", "a name of 1 to 128 characters is required"));
    }
    policy::grant(&principal, req.role, req.project.as_deref())?;
    if let Some(project) = &req.project {
        state.store.get_project(project).await?;
    }
    let secret = secret::random_token(secret::API_TOKEN_PREFIX);
    let new = NewApiToken {
        name: req.name,
        role: req.role,
        project: req.project,
        hash: secret::hash(&secret),
        prefix: secret::display_prefix(&secret),
    };
    let token = state.store.create_api_token(&principal.actor(), new).await?;
    state.credentials.created(crate::auth::credentials::Kind::ApiToken);
    let token = serde_json::to_value(token).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((StatusCode::CREATED, AppJson(CreatedToken { secret, token })))
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
    let visible =
        state.store.list_api_tokens().await?.iter().any(|t| t.id == id && principal.sees(t.project.as_deref()));
    if !visible {
        return Err(ApiError::NotFound { what: "token", key: id.to_string() });
    }
    Ok(AppJson(state.store.revoke_api_token(&principal.actor(), id).await?))
}

/// What start-up did about the `admin` user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// Created with a generated password (print it once).
    Generated(String),
    /// Created with SWITCHYARD_ADMIN_PASSWORD.
    FromConfig,
    /// Users existed already: nothing was created, and any
    /// SWITCHYARD_ADMIN_PASSWORD was ignored.
    Existing,
}

/// Creates the `admin` user on a fresh database. A configured password
/// shorter than the minimum is refused before anything is written.
pub async fn bootstrap_admin(state: &AppState) -> anyhow::Result<Bootstrap> {
    if state.store.user_count().await? > 0 {
        return Ok(Bootstrap::Existing);
    }
    let (password, generated) = match state.config.admin_password.clone() {
        Some(p) => (p, false),
        None => (secret::random_token("pw")[3..27].to_string(), true),
    };
    if let Err(message) = password::check_length(&password, state.config.min_password_length) {
        anyhow::bail!(
            "SWITCHYARD_ADMIN_PASSWORD is too short: {message} (SWITCHYARD_MIN_PASSWORD_LENGTH sets the minimum)"
        );
    }
    let hash = hash_password(password.clone()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let user = NewUser { username: "admin".into(), password_hash: hash, role: Role::Admin };
    state.store.create_user(&Actor::system(), user).await?;
    Ok(if generated { Bootstrap::Generated(password) } else { Bootstrap::FromConfig })
}
