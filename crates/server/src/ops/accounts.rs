//! Accounts: logging in, users, passwords (a user changing their own, an
//! admin resetting another's), API tokens, and the `admin` user of a fresh
//! database. A password change or reset bumps the user's password version,
//! which ends every session issued before it.
//!
//! Must not touch: HTTP types (the handler applies the per-address login
//! limit, which needs the peer and headers), the role × scope matrix (the
//! authorization guard and [`crate::auth::policy`] own it; ops only call
//! `policy::grant` so that nobody mints a token wider than themselves).
//! Password hashing runs off the async threads (argon2 is deliberately slow).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::OpResult;
use crate::auth::{Principal, password, policy, secret};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{Actor, ActorKind, ApiToken, NewApiToken, NewUser, PasswordChange, Role, Store, User};

/// A session token.
#[derive(Debug, Serialize, Deserialize)]
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

/// A user to create.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login name.
    pub username: String,
    /// Password (at least 12 characters, or the configured minimum).
    pub password: String,
    /// Role.
    pub role: Role,
}

/// A token to create.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Display name (the audit actor name).
    pub name: String,
    /// Role; `responder` makes a kill-only token.
    pub role: Role,
    /// Limit the token to one project.
    #[serde(default)]
    pub project: Option<String>,
}

/// A created token; the secret is shown only here.
#[derive(Debug, Serialize, Deserialize)]
pub struct CreatedToken {
    /// The secret (`sya_…`), shown once.
    pub secret: String,
    /// The stored token.
    pub token: serde_json::Value,
}

/// A change of one's own password.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The password in use now.
    pub current_password: String,
    /// The new password (at least the configured minimum, 12 by default).
    pub new_password: String,
}

/// Logs in a local user: a fresh session, or 401 (the same answer, and
/// about the same time, for an unknown user and a wrong password).
#[tracing::instrument(name = "login", skip_all, fields(username = %username))]
pub async fn login(state: &AppState, username: &str, candidate: String) -> OpResult<LoginResponse> {
    let user = state.store.user_by_name(username).await?;
    // Verify against a dummy hash when the user is unknown: same timing.
    let hash = user.as_ref().map_or(password::dummy_hash(), |u| u.password_hash.as_str()).to_string();
    let ok = verify_password(candidate, hash).await?;
    let Some(user) = user.filter(|_| ok) else {
        return Err(ApiError::Unauthorized("invalid user name or password"));
    };
    session_for(state, &user.user, user.password_version)
}

/// A fresh session token for `user` at password version `pwv`.
pub fn session_for(state: &AppState, user: &User, pwv: i64) -> OpResult<LoginResponse> {
    let ttl = chrono::Duration::from_std(state.config.session_ttl).unwrap_or(chrono::Duration::hours(8));
    let expires_at = Utc::now() + ttl;
    let token =
        state.jwt.issue(&user.username, user.role, pwv, expires_at).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(LoginResponse { token, expires_at, role: user.role, username: user.username.clone() })
}

/// Creates a user (422 on a bad user name or a short password).
#[tracing::instrument(name = "user.create", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, username = %input.username,
))]
pub async fn create_user(state: &AppState, principal: &Principal, input: CreateUser) -> OpResult<User> {
    switchyard_core::validate_key(&input.username).map_err(|e| ApiError::invalid("username", e.code, e.message))?;
    check_length(state, "password", &input.password)?;
    let hash = hash_password(input.password).await?;
    let user = NewUser { username: input.username, password_hash: hash, role: input.role };
    Ok(state.store.create_user(&principal.actor(), user).await?)
}

/// Changes the caller's own password (the current one is required, and
/// guessing it costs what a login costs: the login quota, per user). Every
/// earlier session of the user ends; the answer is a fresh session.
#[tracing::instrument(name = "password.change", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name,
))]
pub async fn change_own_password(
    state: &AppState,
    principal: &Principal,
    input: ChangePassword,
) -> OpResult<LoginResponse> {
    if principal.kind != ActorKind::User {
        return Err(ApiError::bad_request("not_a_user", "an API token has no password; log in as a user"));
    }
    if let Err(wait) = state.password_limiter.check(&principal.name) {
        return Err(ApiError::TooManyRequests { retry_after: wait.as_secs().max(1) });
    }
    let stored = state.store.user_by_name(&principal.name).await?;
    let stored = stored.ok_or(ApiError::Unauthorized("session ended: the user no longer exists"))?;
    if !verify_password(input.current_password, stored.password_hash).await? {
        tracing::info!(username = %principal.name, "password change refused: wrong current password");
        return Err(ApiError::invalid("current_password", "incorrect_password", "the current password is not correct"));
    }
    check_length(state, "new_password", &input.new_password)?;
    let hash = hash_password(input.new_password).await?;
    let user = state.store.set_password(&principal.actor(), &principal.name, &hash, PasswordChange::Own).await?;
    tracing::info!(username = %user.username, "password changed; earlier sessions ended");
    // The version now stored (another change may have raced this one).
    let now = state.store.user_by_name(&user.username).await?;
    let version = now.map_or(stored.password_version + 1, |u| u.password_version);
    session_for(state, &user, version)
}

/// Sets another user's password (404 for an unknown user). Every session of
/// that user ends.
#[tracing::instrument(name = "password.reset", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, username = %username,
))]
pub async fn reset_password(state: &AppState, principal: &Principal, username: &str, new: String) -> OpResult<User> {
    if state.store.user_by_name(username).await?.is_none() {
        return Err(ApiError::NotFound { what: "user", key: username.to_string() });
    }
    check_length(state, "password", &new)?;
    let hash = hash_password(new).await?;
    let user = state.store.set_password(&principal.actor(), username, &hash, PasswordChange::Reset).await?;
    tracing::info!(username = %user.username, by = %principal.name, "password reset; the user's sessions ended");
    Ok(user)
}

/// The API tokens the caller may see (a project-limited admin: its project's only).
pub async fn list_tokens(store: &dyn Store, principal: &Principal) -> OpResult<Vec<ApiToken>> {
    let mut tokens = store.list_api_tokens().await?;
    tokens.retain(|t| principal.sees(t.project.as_deref()));
    Ok(tokens)
}

/// Creates an API token, never wider than its creator: a project-limited
/// admin mints tokens for its project only (404 for an unknown project).
/// On `…/projects/{project}/tokens` the caller's role is its role in that
/// project, so a project admin (a user whose membership there is admin)
/// mints tokens limited to it, of its role there at most.
#[tracing::instrument(name = "token.create", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = input.project.as_deref(),
))]
pub async fn create_token(state: &AppState, principal: &Principal, input: CreateToken) -> OpResult<CreatedToken> {
    if input.name.trim().is_empty() || input.name.chars().count() > 128 {
        return Err(ApiError::invalid("name", "invalid_name", "a name of 1 to 128 characters is required"));
    }
    policy::grant(principal, input.role, input.project.as_deref())?;
    if let Some(project) = &input.project {
        state.store.get_project(project).await?;
    }
    let secret = secret::random_token(secret::API_TOKEN_PREFIX);
    let (hash, prefix) = (secret::hash(&secret), secret::display_prefix(&secret));
    let new = NewApiToken { name: input.name, role: input.role, project: input.project, hash, prefix };
    let token = state.store.create_api_token(&principal.actor(), new).await?;
    state.credentials.created(crate::auth::credentials::Kind::ApiToken);
    let token = serde_json::to_value(token).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(CreatedToken { secret, token })
}

/// Revokes an API token; it stops working at once. A token the caller may
/// not see is a 404, as an unknown one.
#[tracing::instrument(name = "token.revoke", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, token = id,
))]
pub async fn revoke_token(store: &dyn Store, principal: &Principal, id: i64) -> OpResult<ApiToken> {
    let visible = store.list_api_tokens().await?.iter().any(|t| t.id == id && principal.sees(t.project.as_deref()));
    if !visible {
        return Err(ApiError::NotFound { what: "token", key: id.to_string() });
    }
    Ok(store.revoke_api_token(&principal.actor(), id).await?)
}

/// The API tokens limited to `project` (`…/projects/{project}/tokens`: the
/// route made the caller an admin there).
pub async fn project_tokens(store: &dyn Store, project: &str) -> OpResult<Vec<ApiToken>> {
    store.get_project(project).await?;
    let mut tokens = store.list_api_tokens().await?;
    tokens.retain(|t| t.project.as_deref() == Some(project));
    Ok(tokens)
}

/// Revokes a token limited to `project`; any other token (unscoped, of
/// another project, unknown) is the same 404.
#[tracing::instrument(name = "token.revoke", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project, token = id,
))]
pub async fn revoke_project_token(
    store: &dyn Store,
    principal: &Principal,
    project: &str,
    id: i64,
) -> OpResult<ApiToken> {
    if !project_tokens(store, project).await?.iter().any(|t| t.id == id) {
        return Err(ApiError::NotFound { what: "token", key: id.to_string() });
    }
    Ok(store.revoke_api_token(&principal.actor(), id).await?)
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

/// Verifies off the async threads.
pub async fn verify_password(candidate: String, hash: String) -> OpResult<bool> {
    tokio::task::spawn_blocking(move || password::verify(&candidate, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// A 422 naming `path` unless `password` has the configured minimum length.
pub fn check_length(state: &AppState, path: &str, password: &str) -> OpResult<()> {
    password::check_length(password, state.config.min_password_length)
        .map_err(|message| ApiError::invalid(path, "password_too_short", message))
}

/// Hashes off the async threads.
pub async fn hash_password(password: String) -> OpResult<String> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))
}
