//! Password changes: a user changes their own (the current password is
//! required and rate limited like a login), an admin resets another
//! user's. Either bumps the user's password version, which ends every
//! session issued before it; the caller of a change gets a fresh session.

use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::auth::{LoginResponse, check_length, hash_password, session_for, verify_password};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::json::AppJson;
use crate::state::AppState;
use crate::store::{ActorKind, PasswordChange, User};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(change_own_password)).routes(routes!(reset_password))
}

/// A change of one's own password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The password in use now.
    pub current_password: String,
    /// The new password (at least the configured minimum, 12 by default).
    pub new_password: String,
}

/// A password set by an admin.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    /// The new password (at least the configured minimum, 12 by default).
    pub password: String,
}

/// Changes the caller's own password. Every earlier session of the user
/// ends; the answer is a fresh session token.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", security(("bearer" = [])), request_body = ChangePassword,
    responses((status = 200, body = LoginResponse), (status = 400, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
async fn change_own_password(
    State(state): State<AppState>,
    principal: Principal,
    AppJson(req): AppJson<ChangePassword>,
) -> ApiResult<AppJson<LoginResponse>> {
    if principal.kind != ActorKind::User {
        return Err(ApiError::bad_request("not_a_user", "an API token has no password; log in as a user"));
    }
    // Guessing the current password with a stolen session must cost what
    // a login costs: the login quota, per user.
    if let Err(wait) = state.password_limiter.check(&principal.name) {
        return Err(ApiError::TooManyRequests { retry_after: wait.as_secs().max(1) });
    }
    let stored = state.store.user_by_name(&principal.name).await?;
    let stored = stored.ok_or(ApiError::Unauthorized("session ended: the user no longer exists"))?;
    if !verify_password(req.current_password, stored.password_hash).await? {
        tracing::info!(username = %principal.name, "password change refused: wrong current password");
        return Err(ApiError::invalid("current_password", "incorrect_password", "the current password is not correct"));
    }
    check_length(&state, "new_password", &req.new_password)?;
    let hash = hash_password(req.new_password).await?;
    let user = state.store.set_password(&principal.actor(), &principal.name, &hash, PasswordChange::Own).await?;
    tracing::info!(username = %user.username, "password changed; earlier sessions ended");
    // The version now stored (another change may have raced this one).
    let now = state.store.user_by_name(&user.username).await?;
    let version = now.map_or(stored.password_version + 1, |u| u.password_version);
    Ok(AppJson(session_for(&state, &user, version)?))
}

/// Sets another user's password (unscoped admins: users are global). Every
/// session of that user ends.
#[utoipa::path(post, path = "/api/v1/users/{username}/password", tag = "auth", security(("bearer" = [])),
    params(("username" = String, Path)), request_body = ResetPassword,
    responses((status = 200, body = User), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn reset_password(
    State(state): State<AppState>,
    principal: Principal,
    Path(username): Path<String>,
    AppJson(req): AppJson<ResetPassword>,
) -> ApiResult<AppJson<User>> {
    if state.store.user_by_name(&username).await?.is_none() {
        return Err(ApiError::NotFound { what: "user", key: username });
    }
    check_length(&state, "password", &req.password)?;
    let hash = hash_password(req.password).await?;
    let user = state.store.set_password(&principal.actor(), &username, &hash, PasswordChange::Reset).await?;
    tracing::info!(username = %user.username, by = %principal.name, "password reset; the user's sessions ended");
    Ok(AppJson(user))
}
