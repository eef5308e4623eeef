//! Password changes: a user changes their own (the current password is
//! required and rate limited like a login), an admin resets another
//! user's. Either bumps the user's password version, which ends every
//! session issued before it; the caller of a change gets a fresh session.

use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::http::json::AppJson;
use crate::ops;
use crate::ops::accounts::{ChangePassword, LoginResponse};
use crate::state::AppState;
use crate::store::User;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(change_own_password)).routes(routes!(reset_password))
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
    Ok(AppJson(ops::accounts::change_own_password(&state, &principal, req).await?))
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
    Ok(AppJson(ops::accounts::reset_password(&state, &principal, &username, req.password).await?))
}
