//! Write routes refuse query parameters they do not declare.
//!
//! A client that sends `POST …/revert?dry_run=true` to a route that does not
//! know `dry_run` must not get a write: serde would ignore the unknown
//! field and the request would apply. So every `POST`/`PUT`/`PATCH`/`DELETE`
//! route accepts exactly the query parameters its `#[utoipa::path]`
//! declares (the OpenAPI document is the one source of truth), and anything
//! else is answered 400 `unknown_query_parameter` naming it — before
//! authentication, body parsing or any store access. A write route with no
//! declaration accepts none. Reads are not checked (cache busters are
//! harmless there).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::{Operation, ParameterIn};

use crate::error::ApiError;

/// The declared query parameters of every write route, by method and route
/// template (`/api/v1/projects/{project}/…`, as axum's [`MatchedPath`]).
#[derive(Debug, Default)]
pub struct DeclaredQueries {
    routes: HashMap<(Method, String), HashSet<String>>,
    /// Every documented route template, whatever its methods.
    templates: HashSet<String>,
}

impl DeclaredQueries {
    /// Reads the declarations from the OpenAPI document.
    pub fn from_openapi(doc: &OpenApi) -> DeclaredQueries {
        let mut routes = HashMap::new();
        let templates = doc.paths.paths.keys().cloned().collect();
        for (template, item) in &doc.paths.paths {
            let ops: [(Method, &Option<Operation>); 4] = [
                (Method::POST, &item.post),
                (Method::PUT, &item.put),
                (Method::PATCH, &item.patch),
                (Method::DELETE, &item.delete),
            ];
            for (method, op) in ops {
                let Some(op) = op else { continue };
                let params = item.parameters.iter().flatten().chain(op.parameters.iter().flatten());
                let names = params.filter(|p| p.parameter_in == ParameterIn::Query).map(|p| p.name.clone()).collect();
                routes.insert((method, template.clone()), names);
            }
        }
        DeclaredQueries { routes, templates }
    }

    /// The first parameter of `query` that the write route does not declare.
    /// A documented route that does not take this method is left to the
    /// router (405 with `Allow`, whatever the query says).
    pub fn unknown(&self, method: &Method, route: &str, query: &str) -> Option<String> {
        let declared = self.routes.get(&(method.clone(), route.to_string()));
        if declared.is_none() && self.templates.contains(route) {
            return None;
        }
        form_urlencoded::parse(query.as_bytes())
            .map(|(name, _)| name.into_owned())
            .find(|name| !declared.is_some_and(|d| d.contains(name)))
    }
}

fn is_write(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE)
}

/// The middleware (a route layer: it needs the [`MatchedPath`]).
pub async fn refuse_unknown(State(declared): State<Arc<DeclaredQueries>>, req: Request, next: Next) -> Response {
    if is_write(req.method())
        && let Some(query) = req.uri().query()
    {
        let route = req.extensions().get::<MatchedPath>().map_or(req.uri().path(), MatchedPath::as_str);
        if let Some(name) = declared.unknown(req.method(), route, query) {
            let message = format!(
                "unknown query parameter `{name}` for {} {route}: nothing was done (see /api/openapi.json for what this route accepts)",
                req.method()
            );
            return ApiError::bad_query(&name, "unknown_query_parameter", message).into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_declared_parameters_pass() {
        let mut declared = DeclaredQueries::default();
        declared.routes.insert((Method::POST, "/a/{x}".into()), HashSet::from(["wait".to_string()]));
        assert_eq!(declared.unknown(&Method::POST, "/a/{x}", "wait=1s"), None);
        assert_eq!(declared.unknown(&Method::POST, "/a/{x}", "wait=1s&dry_run=true").as_deref(), Some("dry_run"));
        assert_eq!(declared.unknown(&Method::POST, "/b", "x=1").as_deref(), Some("x"), "undeclared route: none");
        assert_eq!(declared.unknown(&Method::POST, "/a/{x}", "dry%5Frun").as_deref(), Some("dry_run"), "decoded");
        assert_eq!(declared.unknown(&Method::POST, "/a/{x}", ""), None);
        declared.templates.insert("/a/{x}".into());
        assert_eq!(declared.unknown(&Method::PUT, "/a/{x}", "wait=1s"), None, "undeclared method: the router's 405");
        assert_eq!(declared.unknown(&Method::PUT, "/b", "x=1").as_deref(), Some("x"));
    }
}
