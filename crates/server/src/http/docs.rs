//! `/api/openapi.json` and an offline API docs page (no CDN: the page and
//! its script are embedded; the script renders the document itself).

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

const PAGE: &str = include_str!("../../../../web/api-docs.html");
const SCRIPT: &str = include_str!("../../../../web/api-docs.js");

/// Routes for the OpenAPI document and the docs page.
pub fn router(openapi: utoipa::openapi::OpenApi) -> Router<AppState> {
    let json = openapi.to_json().unwrap_or_else(|_| "{}".to_string());
    Router::new()
        .route("/api/openapi.json", get(move || async move { ([(header::CONTENT_TYPE, "application/json")], json) }))
        .route("/api/docs", get(|| async { page(PAGE, "text/html; charset=utf-8") }))
        .route("/api/docs.js", get(|| async { page(SCRIPT, "text/javascript; charset=utf-8") }))
}

fn page(body: &'static str, content_type: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, "default-src 'self'; frame-ancestors 'none'"),
        ],
        body,
    )
}
