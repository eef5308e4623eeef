//! The start-up checks of the [policy table](super): every route the
//! server serves has a rule, and the rules are coherent.

use axum::http::Method;

use super::{Access, POLICY, Scope, lookup};

/// Every route outside the OpenAPI document (`paths`, all GET:
/// [`crate::http::plain_routes`]) has a rule. The server refuses to start
/// otherwise.
pub fn check_plain_routes<'a>(paths: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    let missing: Vec<String> = paths
        .into_iter()
        .filter(|path| lookup(&Method::GET, path).is_none())
        .map(|path| format!("GET {path} has no authorization policy (add it to auth::policy::POLICY)"))
        .collect();
    if missing.is_empty() { Ok(()) } else { Err(missing.join("; ")) }
}

/// Every operation of the OpenAPI document has a rule, and the rules are
/// coherent ([`Scope::Path`] is for `{project}` routes only, and those are
/// `Path` or [`Scope::Global`]: unscoped principals with their global role,
/// stricter than `Path`, for a project's own lifecycle). The
/// server refuses to start otherwise.
pub fn check_routes(openapi: &utoipa::openapi::OpenApi) -> Result<(), String> {
    let mut problems = Vec::new();
    for (path, item) in &openapi.paths.paths {
        for method in operations(item) {
            if lookup(&method, path).is_none() {
                problems.push(format!("{method} {path} has no authorization policy (add it to auth::policy::POLICY)"));
            }
        }
    }
    for rule in POLICY {
        let names_project = rule.path.contains("{project}");
        let path_scoped = matches!(rule.access, Access::Principal(_, Scope::Path));
        let global = matches!(rule.access, Access::Principal(_, Scope::Global));
        if names_project != path_scoped && !(names_project && global) {
            problems.push(format!(
                "{} {}: `{{project}}` routes, and only they, use Scope::Path (or Scope::Global)",
                rule.method, rule.path
            ));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}

/// The methods of an OpenAPI path item.
pub fn operations(item: &utoipa::openapi::PathItem) -> Vec<Method> {
    [
        (Method::GET, &item.get),
        (Method::POST, &item.post),
        (Method::PUT, &item.put),
        (Method::PATCH, &item.patch),
        (Method::DELETE, &item.delete),
        (Method::HEAD, &item.head),
        (Method::OPTIONS, &item.options),
        (Method::TRACE, &item.trace),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.is_some().then_some(m))
    .collect()
}
