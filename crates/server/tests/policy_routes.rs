//! Routes registered outside the OpenAPI document (`.route("/path", get(…))`
//! in the server's source: the UI, the docs page, health, metrics) have an
//! authorization rule. The start-up check covers the OpenAPI operations; these
//! are read from the source, so a route added without a rule fails here
//! instead of answering 500 at run time (as `/api/docs.css` once did).

use std::path::Path;

use axum::http::Method;
use switchyard_server::auth::policy;

/// Every `.route("PATH", METHOD(` in the `.rs` files under `dir`.
fn routes_in(dir: &Path, found: &mut Vec<(String, String, String)>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            routes_in(&path, found);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read file");
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(\"") {
            rest = &rest[at + ".route(\"".len()..];
            let Some(end) = rest.find('"') else { break };
            let route = rest[..end].to_string();
            let after = rest[end + 1..].trim_start_matches([',', ' ', '\n']);
            let method: String = after.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
            found.push((path.display().to_string(), method.to_uppercase(), route));
        }
    }
}

#[test]
fn every_route_outside_the_openapi_document_has_a_rule() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    routes_in(&src, &mut found);
    assert!(found.iter().any(|(_, _, r)| r == "/api/docs.css"), "the scan finds the docs routes: {found:?}");
    let missing: Vec<_> = found
        .iter()
        .filter(|(_, method, route)| {
            let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
            policy::lookup(&method, route).is_none()
        })
        .collect();
    assert!(missing.is_empty(), "routes without an authorization rule (add them to auth::policy::POLICY): {missing:?}");
}
