//! Who is calling, and what they may do.
//!
//! | permission | viewer | responder | editor | admin |
//! |------------|:------:|:---------:|:------:|:-----:|
//! | `Read`     |   ✓    |     ✓     |   ✓    |   ✓   |
//! | `Kill`     |        |     ✓     |   ✓    |   ✓   |
//! | `Edit`     |        |           |   ✓    |   ✓   |
//! | `Admin`    |        |           |        |   ✓   |
//!
//! A token limited to one project gets 404 for every other project, as if
//! it did not exist (no probing of other projects' keys).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::auth::{credentials, secret};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{Actor, ActorKind, Role};

/// What an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read flags, configurations, segments, audit; evaluate.
    Read,
    /// Kill and restore flags.
    Kill,
    /// Edit flags, configurations and segments.
    Edit,
    /// Projects, environments, users, tokens, SDK keys, triggers.
    Admin,
}

impl Permission {
    /// The role matrix above.
    pub fn allowed_for(self, role: Role) -> bool {
        match self {
            Permission::Read => true,
            Permission::Kill => matches!(role, Role::Responder | Role::Editor | Role::Admin),
            Permission::Edit => matches!(role, Role::Editor | Role::Admin),
            Permission::Admin => role == Role::Admin,
        }
    }
}

/// The authenticated caller of an admin route.
#[derive(Debug, Clone)]
pub struct Principal {
    /// User or token name.
    pub name: String,
    /// User (JWT) or token.
    pub kind: ActorKind,
    /// Role.
    pub role: Role,
    /// Project the credential is limited to, if any.
    pub project: Option<String>,
    /// `x-request-id` of this request.
    pub request_id: Option<String>,
    /// Peer address.
    pub client_addr: Option<String>,
}

impl Principal {
    /// Fails with 403 unless the role grants `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if permission.allowed_for(self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden("your role does not allow this operation"))
        }
    }

    /// Like [`Principal::require`], for an operation on `project`; a
    /// credential limited to another project gets 404.
    pub fn require_in(&self, permission: Permission, project: &str) -> Result<(), ApiError> {
        if let Some(scope) = &self.project
            && scope != project
        {
            return Err(ApiError::NotFound { what: "project", key: project.to_string() });
        }
        self.require(permission)
    }

    /// The audit actor for writes made by this principal.
    pub fn actor(&self) -> Actor {
        Actor {
            name: self.name.clone(),
            kind: self.kind,
            request_id: self.request_id.clone(),
            client_addr: self.client_addr.clone(),
        }
    }
}

/// The request id and peer address of a request (for audit events).
pub fn request_meta(parts: &Parts) -> (Option<String>, Option<String>) {
    let request_id =
        parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(|s| s.chars().take(128).collect());
    let addr = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
    (request_id, addr)
}

/// The bearer credential of a request, if any.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()).filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers).ok_or(ApiError::Unauthorized("missing bearer token"))?;
        let (request_id, client_addr) = request_meta(parts);
        if token.starts_with(secret::API_TOKEN_PREFIX) && token[secret::API_TOKEN_PREFIX.len()..].starts_with('_') {
            let stored = credentials::api_token(state, parts, token).await?;
            return Ok(Principal {
                name: stored.name,
                kind: ActorKind::Token,
                role: stored.role,
                project: stored.project,
                request_id,
                client_addr,
            });
        }
        let claims = state.jwt.verify(token).ok_or_else(|| credentials::session_failed(state, parts, token))?;
        // A password change or reset bumps the user's version and so ends
        // every session issued before it (counted as a failed authentication).
        let current = state.store.user_by_name(&claims.sub).await?;
        if current.is_none_or(|u| u.password_version != claims.pwv) {
            return Err(credentials::session_ended(state, parts, token));
        }
        Ok(Principal {
            name: claims.sub,
            kind: ActorKind::User,
            role: claims.role,
            project: None,
            request_id,
            client_addr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix() {
        let table = [
            (Role::Viewer, [true, false, false, false]),
            (Role::Responder, [true, true, false, false]),
            (Role::Editor, [true, true, true, false]),
            (Role::Admin, [true, true, true, true]),
        ];
        for (role, expected) in table {
            let all = [Permission::Read, Permission::Kill, Permission::Edit, Permission::Admin];
            let got = all.map(|p| p.allowed_for(role));
            assert_eq!(got, expected, "{role:?}");
        }
    }
}
