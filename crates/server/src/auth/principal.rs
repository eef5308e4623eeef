//! Who is calling: the [`Principal`] that admin credentials (user session
//! JWTs and API tokens) authenticate into (by [`crate::http::guard`]). What a principal may do is decided
//! in one place, [`policy`](super::policy), before the handler runs; the
//! `Principal` extractor only hands handlers the principal the
//! [`guard`](crate::http::guard) middleware authenticated and authorized.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::store::{Actor, ActorKind, Role};

/// The authenticated caller of an admin route.
#[derive(Debug, Clone)]
pub struct Principal {
    /// User or token name.
    pub name: String,
    /// User (JWT) or token.
    pub kind: ActorKind,
    /// Role on this request: for a user on a route naming a project, the
    /// higher of their global role and their membership's there (issue 19
    /// §5); otherwise the global role (a token's: its role).
    pub role: Role,
    /// The role outside any project: a user's global role, a token's role.
    pub global_role: Role,
    /// Project the credential is limited to, if any.
    pub project: Option<String>,
    /// `x-request-id` of this request.
    pub request_id: Option<String>,
    /// Peer address.
    pub client_addr: Option<String>,
    /// The user's or token's id.
    pub id: Option<i64>,
}

impl Principal {
    /// The audit actor for writes made by this principal.
    pub fn actor(&self) -> Actor {
        Actor {
            name: self.name.clone(),
            kind: self.kind,
            request_id: self.request_id.clone(),
            client_addr: self.client_addr.clone(),
            id: self.id,
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

/// The principal the [`guard`](crate::http::guard) admitted. A handler taking a
/// `Principal` on a route whose rule is not a principal rule is a bug: 500.
impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(|| {
            ApiError::Internal("a handler asked for a principal on a route without a principal rule".into())
        })
    }
}
