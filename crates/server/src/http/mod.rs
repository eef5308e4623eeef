//! The HTTP API. One module per resource, each exposing `router()`; the
//! OpenAPI document is collected from the `#[utoipa::path]` annotations.
//!
//! ## Layout
//! - [`guard`]: the authorization middleware and request authentication (bearer, SDK key).
//! - [`json`]: the `AppJson` extractor (problem-body rejections, depth limit, text policy) and the
//!   text policy on path and query parameters.
//! - [`params`]: path and query parameters shared by several resources (`?wait=`).
//! - [`query_guard`]: write routes refuse query parameters they do not declare.
//! - [`auth`]: login, users, API tokens.
//! - [`passwords`]: changing one's own password, an admin resetting another user's.
//! - [`projects`]: projects and environments.
//! - [`members`]: a project's members (per-project user roles).
//! - [`project_lifecycle`]: archiving, restoring and deleting a project (global admins).
//! - [`project_tokens`]: a project's API tokens, minted by its admins.
//! - [`flags`]: flag definitions.
//! - [`configs`]: per-environment configuration, toggle, history, restore-to-time, change sets.
//! - [`revert`]: undo one change, restore one version (both with a dry run).
//! - [`kill`]: kill switches, the panic button, delivery receipts (workflow in [`crate::ops::kill`]).
//! - [`segments`], [`audit`], [`sdk_keys`], [`evaluate`].
//! - [`sdk_key`]: authentication of SDK keys (SDK and OFREP routes).
//! - [`triggers`]: alert trigger URLs (`/hooks/v1/triggers/{secret}`) and their management.
//! - [`webhooks`]: project webhooks (outgoing kill/restore notifications).
//! - [`sdk`]: the SDK API (snapshot, SSE stream).
//! - [`ofrep`]: the OpenFeature Remote Evaluation Protocol routes (see [`crate::ofrep`]).
//! - [`metrics`]: `GET /metrics` and the request-metrics middleware.
//! - [`fleet`]: the connected SDK instances of an environment; the blast radius of a kill.
//! - [`insights`]: a flag's usage per environment; the project's stale flags.
//! - [`incident`]: a project's incidents and one incident's timeline (see [`crate::ops::incident`]).
//! - [`telemetry`]: SDK telemetry in (`POST /sdk/v1/telemetry`) and a flag's telemetry series out.
//! - [`release`]: release plan templates and a flag's plan (start, status, pause, resume, abort, promote).
//! - [`approvals`]: approval policies and change requests (open, approve, comment, apply, cancel).
//! - [`schedule`]: scheduled changes of a flag's configuration (schedule, list, show, edit, cancel).
//! - [`docs`]: `/api/openapi.json` and the offline API docs page.
//! - [`openapi`]: the document's shared parts (security schemes, problem responses).
//! - [`closed`]: `additionalProperties: false` on every schema an admin request body reaches.
//! - [`schema`]: the OpenAPI schemas of store, ops and delivery types (mirrors; where new schema types go).

pub mod approvals;
pub mod audit;
pub mod auth;
pub mod closed;
pub mod configs;
pub mod docs;
pub mod evaluate;
pub mod flags;
pub mod fleet;
pub mod guard;
pub mod incident;
pub mod insights;
pub mod json;
pub mod kill;
pub mod members;
pub mod metrics;
pub mod ofrep;
pub mod openapi;
pub mod params;
pub mod passwords;
pub mod project_lifecycle;
pub mod project_tokens;
pub mod projects;
pub mod query_guard;
pub mod release;
pub mod revert;
pub mod schedule;
pub mod schema;
pub mod sdk;
pub mod sdk_key;
pub mod sdk_keys;
pub mod segments;
pub mod telemetry;
pub mod triggers;
pub mod ui;
pub mod webhooks;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, StatusCode};
use axum::routing::get;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::state::AppState;

/// The OpenAPI document's fixed parts.
#[derive(OpenApi)]
#[openapi(
    info(title = "Switchyard API", description = "Feature flags with kill switches: admin API and SDK API."),
    components(schemas(crate::error::Problem, crate::error::FieldError, crate::store::Delivery))
)]
pub struct ApiDoc;

/// The API routes and their OpenAPI document (with the parts every
/// operation shares, see [`openapi`]).
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(passwords::router())
        .merge(projects::router())
        .merge(members::router())
        .merge(flags::router())
        .merge(configs::router())
        .merge(revert::router())
        .merge(kill::router())
        .merge(segments::router())
        .merge(audit::router())
        .merge(sdk_keys::router())
        .merge(evaluate::router())
        .merge(sdk::router())
        .merge(ofrep::router())
        .merge(telemetry::router())
        .merge(release::router())
        .merge(schedule::router())
        .merge(approvals::router())
        .merge(fleet::router())
        .merge(insights::router())
        .merge(incident::router())
        .merge(triggers::router())
        .merge(webhooks::router())
        .split_for_parts();
    utoipa::Modify::modify(&openapi::SharedParts, &mut doc);
    closed::close_request_bodies(&mut doc);
    (router, doc)
}

/// The whole application: API, SDK API, docs, health, with the layers that
/// apply to every route.
pub fn app(state: AppState) -> Router {
    let body_limit = state.config.body_limit;
    let cors = cors(&state.config.cors_origins);
    let (routes, declared) = routes(&state);
    let request_id = HeaderName::from_static("x-request-id");
    routes
        .fallback(
            |uri: axum::http::Uri| async move { ApiError::NotFound { what: "route", key: uri.path().to_string() } },
        )
        // Authorization before every extractor (so before any body is read).
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), guard::guard))
        // Before any extractor: an unknown parameter never reaches a handler.
        .route_layer(axum::middleware::from_fn_with_state(declared, query_guard::refuse_unknown))
        // The text policy on path and query parameters (bodies: `AppJson`).
        .route_layer(axum::middleware::from_fn(json::refuse_bad_uri))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .with_state(state)
        // Limits every body, not only `Bytes`-based extractors (PITFALLS).
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(axum::middleware::map_response(problem_bodies))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(cors)
}

/// Every route (API, docs, UI, health, and `/metrics` unless it has its
/// own listener), and the query parameters each API operation declares.
fn routes(state: &AppState) -> (Router<AppState>, std::sync::Arc<query_guard::DeclaredQueries>) {
    let (mut routes, openapi) = api();
    let declared = std::sync::Arc::new(query_guard::DeclaredQueries::from_openapi(&openapi));
    for (path, route) in plain_routes(openapi) {
        if path != "/metrics" || state.config.metrics_listen.is_none() {
            routes = routes.route(path, route);
        }
    }
    (routes, declared)
}

/// The routes outside the OpenAPI document — the docs page, the UI,
/// health, `/metrics` — every one a GET: the one list the router takes
/// them from, and the one [`crate::auth::policy::check_plain_routes`]
/// checks at start (and `tests/policy_routes.rs`). A route the document
/// does not describe goes here.
pub fn plain_routes(openapi: utoipa::openapi::OpenApi) -> Vec<(&'static str, axum::routing::MethodRouter<AppState>)> {
    let mut routes = docs::routes(openapi);
    routes.extend(ui::routes());
    routes.push(("/healthz", get(|| async { "ok" })));
    routes.push(("/readyz", get(readyz)));
    routes.push(("/metrics", get(metrics::scrape)));
    routes
}

/// `/metrics` alone, for its own listener (`--metrics-listen`): behind the
/// metrics token when one is configured, open otherwise (the operator chose
/// a private address).
pub fn metrics_app(state: AppState) -> Router {
    let router = Router::new().route("/metrics", get(metrics::scrape));
    let router = match state.config.metrics_token {
        Some(_) => router.route_layer(axum::middleware::from_fn_with_state(state.clone(), guard::guard)),
        None => router,
    };
    router.with_state(state)
}

/// Gives the errors that axum and tower answer themselves (400 from the
/// path and query extractors, 405 from the router, 413 from the body limit)
/// the same problem+json body as ours.
async fn problem_bodies(response: axum::response::Response) -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    // Ours already: problems, and OFREP's JSON error bodies (its protocol's shape).
    let ours = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(b"application/problem+json") || v.as_bytes().starts_with(b"application/json")
    });
    if ours {
        return response;
    }
    match response.status() {
        StatusCode::BAD_REQUEST => {
            let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap_or_default();
            let detail = String::from_utf8_lossy(&body).trim().to_string();
            ApiError::bad_request("invalid_request", detail).into_response()
        }
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge.into_response(),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allow = response.headers().get(header::ALLOW).cloned();
            let mut problem = ApiError::MethodNotAllowed.into_response();
            if let Some(allow) = allow {
                problem.headers_mut().insert(header::ALLOW, allow);
            }
            problem
        }
        _ => response,
    }
}

/// CORS is closed unless origins are configured: no `Access-Control-*`
/// headers at all, so browsers refuse cross-origin reads. Configured
/// origins get bearer-token access (no cookies, so no credentials mode).
fn cors(origins: &[String]) -> tower::util::Either<tower_http::cors::CorsLayer, tower::layer::util::Identity> {
    use axum::http::{HeaderValue, Method, header};
    if origins.is_empty() {
        return tower::util::Either::Right(tower::layer::util::Identity::new());
    }
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    tower::util::Either::Left(
        tower_http::cors::CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            // If-None-Match and X-API-Key: OFREP's web provider.
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_MATCH,
                header::IF_NONE_MATCH,
                HeaderName::from_static("x-api-key"),
            ])
            .expose_headers([header::ETAG]),
    )
}

/// Ready: the database answers and, on Postgres, the change listener is
/// connected and caught up.
async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> (StatusCode, &'static str) {
    if state.store.ping().await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "database unreachable");
    }
    if state.store.backend() == crate::store::Backend::Postgres && !state.listener.is_ready() {
        return (StatusCode::SERVICE_UNAVAILABLE, "change listener not connected");
    }
    (StatusCode::OK, "ready")
}
