//! `/api/openapi.json` and an offline API docs page (no CDN: the page, its
//! script and its stylesheet are embedded; the script renders the document
//! itself). The page is served with the web UI's Content-Security-Policy
//! and headers ([`ui::CSP`](super::ui::CSP)): no inline script or style, so
//! its styles live in `web/api-docs.css` (an inline `<style>` was blocked
//! and left the page unstyled).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};

use crate::state::AppState;

const PAGE: &str = include_str!("../../../../web/api-docs.html");
const SCRIPT: &str = include_str!("../../../../web/api-docs.js");
const STYLE: &str = include_str!("../../../../web/api-docs.css");

/// Routes for the OpenAPI document and the docs page.
pub fn routes(openapi: utoipa::openapi::OpenApi) -> Vec<(&'static str, MethodRouter<AppState>)> {
    let json = openapi.to_json().unwrap_or_else(|_| "{}".to_string());
    vec![
        ("/api/openapi.json", get(move || async move { ([(header::CONTENT_TYPE, "application/json")], json) })),
        ("/api/docs", get(|| async { page(PAGE, "text/html; charset=utf-8") })),
        ("/api/docs.js", get(|| async { page(SCRIPT, "text/javascript; charset=utf-8") })),
        ("/api/docs.css", get(|| async { page(STYLE, "text/css; charset=utf-8") })),
    ]
}

fn page(body: &'static str, content_type: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    super::ui::secure((headers, body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_no_inline_script_or_style_and_no_external_asset() {
        assert!(!PAGE.contains("style=") && !PAGE.contains("<style"), "inline style: the CSP blocks it");
        for (i, _) in PAGE.match_indices("<script") {
            let tag = &PAGE[i..i + PAGE[i..].find('>').unwrap()];
            assert!(tag.contains("src="), "inline script: {tag}");
        }
        assert!(!PAGE.contains("http://") && !PAGE.contains("https://"), "external reference");
        assert!(PAGE.contains("/api/docs.css") && PAGE.contains("/api/docs.js"));
    }
}
