//! The authorization middleware, layered on every route: it looks up the
//! matched route's rule in the [policy table](crate::auth::policy), checks the
//! credential the rule asks for and, for admin routes, runs
//! [`policy::authorize`] against the project in the path — all before the
//! handler runs, so before any body is read or parsed (a forbidden caller
//! with a malformed body gets 403, not 422). Handlers receive the checked
//! [`Principal`] (or `SdkKey`) from the request extensions.
//!
//! Also the request's authentication against the application state
//! (bearer → principal, SDK key → key): `auth` holds the pieces (JWT keys,
//! the credential guard, the SDK-key cache) and never the state itself.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::Principal;
use crate::auth::credentials::{Kind, Peer};
use crate::auth::policy::{self, Access, Permission, Scope};
use crate::auth::principal::{bearer, request_meta};
use crate::auth::secret;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{ActorKind, ApiToken};

/// The middleware (`route_layer`, so it runs only for matched routes).
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    match admit(&state, request).await {
        Ok(request) => next.run(request).await,
        Err(Refused::Error(err)) => err.into_response(),
        Err(Refused::Unlisted(route)) => unlisted(&method, &route),
    }
}

/// Why a request was not admitted.
enum Refused {
    /// The credential or the policy said no.
    Error(ApiError),
    /// The route has no rule for this method.
    Unlisted(String),
}

impl From<ApiError> for Refused {
    fn from(err: ApiError) -> Self {
        Refused::Error(err)
    }
}

/// Fails closed. A method the path has no rule for is a 405 (with `Allow`
/// from the rules), whether or not a handler exists; a path with no rule
/// at all is a bug the start-up check missed: 500, logged.
fn unlisted(method: &axum::http::Method, route: &str) -> Response {
    let allowed = policy::methods(route);
    if allowed.is_empty() {
        return ApiError::Internal(format!(
            "{method} {route} has no authorization policy (add it to auth::policy::POLICY)"
        ))
        .into_response();
    }
    let mut response = ApiError::MethodNotAllowed.into_response();
    if let Ok(allow) = axum::http::HeaderValue::from_str(&allowed.join(",")) {
        response.headers_mut().insert(axum::http::header::ALLOW, allow);
    }
    response
}

/// Checks the request against its route's rule; returns it with the
/// authenticated caller in its extensions.
async fn admit(state: &AppState, mut request: Request) -> Result<Request, Refused> {
    let route = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_default();
    let Some(access) = policy::lookup(request.method(), &route) else {
        return Err(Refused::Unlisted(route));
    };
    match access {
        Access::Public | Access::TriggerSecret => Ok(request),
        Access::MetricsToken => {
            metrics_token(state, request.headers())?;
            Ok(request)
        }
        Access::SdkKey => {
            let peer = Peer(request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0));
            let key = crate::http::sdk_key::sdk_key(state, peer, request.headers()).await?;
            request.extensions_mut().insert(key);
            Ok(request)
        }
        Access::Principal(permission, scope) => Ok(admit_principal(state, request, permission, scope).await?),
    }
}

/// Authenticates an admin request's principal (with its role in the path's
/// project, if any) and authorizes it against the rule.
async fn admit_principal(
    state: &AppState,
    request: Request,
    permission: Permission,
    scope: Scope,
) -> Result<Request, ApiError> {
    let (mut parts, body) = request.into_parts();
    let project = match scope {
        Scope::Path => path_project(&mut parts, state).await,
        Scope::Own | Scope::Global => Ok(None),
    };
    // Authentication first: a bad path of an unauthenticated request is still a 401.
    let principal = authenticate(&parts, state, project.as_ref().ok().and_then(Option::as_deref)).await?;
    let project = project?;
    policy::authorize(&principal, permission, scope, project.as_deref())?;
    parts.extensions.insert(principal);
    Ok(Request::from_parts(parts, body))
}

/// The (percent-decoded) `{project}` of the matched path.
async fn path_project(parts: &mut Parts, state: &AppState) -> Result<Option<String>, ApiError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|e| ApiError::bad_request("invalid_path", e.body_text()))?;
    Ok(params.iter().find(|(name, _)| *name == "project").map(|(_, value)| value.to_string()))
}

/// `/metrics` needs `Authorization: Bearer <--metrics-token>`; without a
/// configured token it is closed on the API listener.
pub fn metrics_token(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &state.config.metrics_token else {
        return Err(ApiError::Unauthorized(
            "metrics need a bearer token: start the server with --metrics-token (or serve them on --metrics-listen)",
        ));
    };
    // Compare hashes: equal length, and nothing learned from timing.
    match bearer(headers) {
        Some(given) if secret::hash(given) == secret::hash(expected) => Ok(()),
        _ => Err(ApiError::Unauthorized("missing or wrong metrics token")),
    }
}

/// Authenticates the bearer credential of an admin request: an API token
/// (`sya_…`) or a session JWT. SDK keys and anything else: 401. Lookups and
/// failures go through [`crate::auth::credentials`] (negative cache, failure limits).
/// A session's role is read from the store with the user on every request
/// (never the token's claim), raised by their membership of `project`: a
/// role or membership change applies to the very next request.
pub async fn authenticate(parts: &Parts, state: &AppState, project: Option<&str>) -> Result<Principal, ApiError> {
    let token = bearer(&parts.headers).ok_or(ApiError::Unauthorized("missing bearer token"))?;
    let (request_id, client_addr) = request_meta(parts);
    if token.starts_with(secret::API_TOKEN_PREFIX) && token[secret::API_TOKEN_PREFIX.len()..].starts_with('_') {
        return Ok(token_principal(api_token(state, parts, token).await?, (request_id, client_addr)));
    }
    let claims = state.jwt.verify(token).ok_or_else(|| session_failed(state, parts, token))?;
    // A password change or reset bumps the user's version and so ends
    // every session issued before it (counted as a failed authentication).
    let current = state.store.session_user(&claims.sub, project).await?;
    let Some(current) = current.filter(|u| u.user.password_version == claims.pwv) else {
        return Err(session_ended(state, parts, token));
    };
    let global_role = current.user.user.role;
    let role = current.project_role.map_or(global_role, |r| policy::higher(r, global_role));
    let id = Some(current.user.user.id);
    Ok(Principal {
        name: claims.sub,
        kind: ActorKind::User,
        role,
        global_role,
        project: None,
        request_id,
        client_addr,
        id,
    })
}

/// The principal of a usable API token.
fn token_principal(stored: ApiToken, (request_id, client_addr): (Option<String>, Option<String>)) -> Principal {
    let (name, role, project, id) = (stored.name, stored.role, stored.project, Some(stored.id));
    Principal { name, kind: ActorKind::Token, role, global_role: role, project, request_id, client_addr, id }
}

/// The usable (not revoked) API token `token` presented by a request.
pub async fn api_token(state: &AppState, parts: &Parts, token: &str) -> ApiResult<ApiToken> {
    let guard = &state.credentials;
    let hash = secret::hash(token);
    let fetch = || state.store.api_token_by_hash(&hash);
    match guard.lookup(Kind::ApiToken, &hash, fetch, |t: &ApiToken| t.revoked_at.is_none()).await? {
        Some(token) => Ok(token),
        None => Err(session_or_token_failed(state, parts, Kind::ApiToken, &hash)),
    }
}

/// The answer to a session token that does not verify.
pub fn session_failed(state: &AppState, parts: &Parts, token: &str) -> ApiError {
    session_or_token_failed(state, parts, Kind::Session, &secret::hash(token))
}

/// The answer to a valid session token whose user's password changed since
/// it was issued (or whose user is gone).
pub fn session_ended(state: &AppState, parts: &Parts, token: &str) -> ApiError {
    let client = state.credentials.client(Peer::of(parts), &parts.headers);
    let rejection = ApiError::Unauthorized("session ended: the password was changed; log in again");
    state.credentials.failed(Kind::Session, client, &secret::hash(token), rejection)
}

fn session_or_token_failed(state: &AppState, parts: &Parts, kind: Kind, hash: &str) -> ApiError {
    let client = state.credentials.client(Peer::of(parts), &parts.headers);
    let rejection = match kind {
        Kind::ApiToken => ApiError::Unauthorized("invalid or revoked API token"),
        _ => ApiError::Unauthorized("invalid or expired session token"),
    };
    state.credentials.failed(kind, client, hash, rejection)
}
