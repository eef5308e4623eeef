//! Routes registered outside the OpenAPI document (the UI, the docs page,
//! health, metrics) have an authorization rule. The start-up check covers
//! the OpenAPI operations and these; here they are read from
//! `http::plain_routes`, the one list the router takes them from, so a
//! route added without a rule fails here instead of answering 500 at run
//! time (as `/api/docs.css` once did).

use axum::http::Method;
use switchyard_server::auth::policy;
use switchyard_server::http;

#[test]
fn every_route_outside_the_openapi_document_has_a_rule() {
    let plain = http::plain_routes(http::api().1);
    let paths: Vec<&str> = plain.iter().map(|(path, _)| *path).collect();
    for known in ["/", "/api/docs.css", "/api/openapi.json", "/healthz", "/readyz", "/metrics"] {
        assert!(paths.contains(&known), "the list holds {known}: {paths:?}");
    }
    let missing: Vec<_> = paths.iter().filter(|path| policy::lookup(&Method::GET, path).is_none()).collect();
    assert!(missing.is_empty(), "routes without an authorization rule (add them to auth::policy::POLICY): {missing:?}");
    assert_eq!(policy::check_plain_routes(paths.iter().copied()), Ok(()));
    assert!(policy::check_plain_routes(["/no-rule-for-this"]).is_err(), "the start-up check can fail");
}
