//! The OpenAPI document's shared parts, applied to every operation so that
//! no annotation has to repeat them (and none can forget them):
//!
//! - the security schemes: `bearer` (a session JWT or an API token) and
//!   `sdk_key` (an environment's SDK key, on `/sdk/v1/*`);
//! - the error responses: every error is `application/problem+json`
//!   ([`Problem`](crate::error::Problem)), one shared response per status
//!   under `components/responses`, with an example and its headers
//!   (`WWW-Authenticate` on 401, `Retry-After` on 429);
//! - the statuses every operation can answer, derived from its shape:
//!   401 and 429 (secured: repeated failed authentication from one address
//!   or with one credential is rate limited), 403 (`bearer`-secured: the role or the token's project
//!   may not allow it), 404 (a path parameter names something), 400 (a
//!   malformed path segment, body or query string), 413/415/422 (a JSON
//!   body), 422 (a query value). Statuses only some operations answer (409, 429, 404 without a
//!   path parameter) stay in their annotations; this turns them into the
//!   shared responses too.
//!
//! `tests/openapi.rs` checks the result structurally; `tests/schemathesis`
//! checks it against the running server.

use serde_json::json;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder, Schema, Type};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The error statuses with a shared response: status, component name, description, example code.
const ERRORS: &[(u16, &str, &str, &str)] = &[
    (400, "BadRequest", "Malformed request: unreadable JSON, bad query string or path segment", "malformed_json"),
    (401, "Unauthorized", "Missing, invalid, expired or revoked credentials", "unauthorized"),
    (403, "Forbidden", "Authenticated, but the role or the token's project does not allow this", "forbidden"),
    (404, "NotFound", "The project, environment, flag or other object named in the path does not exist", "not_found"),
    (409, "Conflict", "Already exists, or a stale `version` (the body carries `current_version`)", "already_exists"),
    (413, "PayloadTooLarge", "Request body larger than the configured limit", "payload_too_large"),
    (415, "UnsupportedMediaType", "The body is not `Content-Type: application/json`", "unsupported_media_type"),
    (422, "ValidationFailed", "Well-formed, but invalid: `errors` names each field", "validation_failed"),
    (429, "TooManyRequests", "Rate limited: retry after `Retry-After` seconds", "rate_limited"),
];

/// Adds the security schemes, the shared error responses and each
/// operation's derived error statuses.
pub struct SharedParts;

impl utoipa::Modify for SharedParts {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A session token from `POST /api/v1/auth/login`, or an API token (`sya_…`)"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "sdk_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An environment's SDK key (`sdk_…`)"))
                    .build(),
            ),
        );
        for &(status, name, description, code) in ERRORS {
            components.responses.insert(name.to_string(), RefOr::T(problem_response(status, description, code)));
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            for operation in operations(item) {
                add_errors(operation, own_errors(path));
            }
        }
    }
}

/// Error statuses whose bodies a route documents itself: OFREP's 400 and
/// 404 are the protocol's shape, not problems.
fn own_errors(path: &str) -> &'static [u16] {
    if path.starts_with("/ofrep/v1/evaluate/") { &[400, 404] } else { &[] }
}

/// The operations of a path item.
pub fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The security scheme names an operation requires.
pub fn schemes(operation: &Operation) -> Vec<String> {
    let value = serde_json::to_value(&operation.security).unwrap_or_default();
    let requirements = value.as_array().cloned().unwrap_or_default();
    requirements.iter().filter_map(|r| r.as_object()).flat_map(|r| r.keys().cloned()).collect()
}

/// Adds the derived statuses; `own` statuses keep the annotation's
/// response (a problem body is added beside it: the layers in front of
/// every handler may answer one).
fn add_errors(operation: &mut Operation, own: &[u16]) {
    let statuses = error_statuses(operation);
    let responses = &mut operation.responses.responses;
    for status in statuses {
        responses.entry(status.to_string()).or_insert_with(|| RefOr::T(Response::new("")));
    }
    share(responses, own);
}

/// The error statuses an operation's shape implies (credentials, path,
/// query and body parameters).
fn error_statuses(operation: &Operation) -> Vec<u16> {
    let schemes = schemes(operation);
    let params = operation.parameters.as_deref().unwrap_or_default();
    let has_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
    let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
    let has_body = operation.request_body.is_some();
    let mut statuses = Vec::new();
    if !schemes.is_empty() {
        statuses.extend([401, 429]);
    }
    if schemes.iter().any(|s| s == "bearer") {
        statuses.push(403);
    }
    if has_path {
        statuses.push(404);
    }
    if has_path || has_body || has_query {
        statuses.push(400);
    }
    if has_body || has_query {
        statuses.push(422);
    }
    if has_body {
        statuses.extend([413, 415]);
    }
    statuses
}

/// Points each error response at its shared problem response; `own`
/// statuses keep theirs, with a problem body beside it.
fn share(responses: &mut std::collections::BTreeMap<String, RefOr<Response>>, own: &[u16]) {
    for (status, response) in responses.iter_mut() {
        let Some(&(code, name, ..)) = ERRORS.iter().find(|e| e.0.to_string() == *status) else { continue };
        match response {
            RefOr::T(response) if own.contains(&code) => {
                let problem = RefOr::Ref(Ref::from_schema_name("Problem"));
                response.content.insert(PROBLEM_JSON.to_string(), ContentBuilder::new().schema(Some(problem)).build());
            }
            _ => *response = RefOr::Ref(Ref::from_response_name(name)),
        }
    }
}

fn problem_response(status: u16, description: &str, code: &str) -> Response {
    let reason = axum::http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
    let example = json!({
        "type": format!("https://switchyard.dev/problems/{code}"),
        "title": reason,
        "status": status,
        "code": code,
        "detail": description,
    });
    let schema: RefOr<Schema> = RefOr::Ref(Ref::from_schema_name("Problem"));
    let content = ContentBuilder::new().schema(Some(schema)).example(Some(example)).build();
    let mut response = ResponseBuilder::new().description(description).content(PROBLEM_JSON, content);
    if status == 401 {
        response = response.header("WWW-Authenticate", header(Type::String, "Always `Bearer`"));
    }
    if status == 429 {
        response = response.header("Retry-After", header(Type::Integer, "Seconds until a retry may succeed"));
    }
    response.build()
}

fn header(kind: Type, description: &str) -> Header {
    HeaderBuilder::new().schema(ObjectBuilder::new().schema_type(kind)).description(Some(description)).build()
}
