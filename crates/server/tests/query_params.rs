//! Write routes refuse query parameters they do not declare (400 problem+json
//! naming the parameter), so a mistyped or unsupported `?dry_run=true` can
//! never turn a preview into a write. The routes are generated from the
//! OpenAPI document of `switchyard_server::http::api()` — every write route,
//! none hand-listed — and driven over real sockets on SQLite and Postgres.

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::testing::{Api, TestDb, TestServer};

const P: &str = "/api/v1/projects/shop";
const PROD: &str = "/api/v1/projects/shop/environments/production";

/// One write operation of the OpenAPI document.
struct WriteRoute {
    method: Method,
    template: String,
    /// Its declared query parameters.
    query: Vec<String>,
}

fn write_routes() -> Vec<WriteRoute> {
    use utoipa::openapi::path::{Operation, ParameterIn};
    let (_, doc) = switchyard_server::http::api();
    let mut routes = Vec::new();
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
            let query = params.filter(|p| p.parameter_in == ParameterIn::Query).map(|p| p.name.clone()).collect();
            routes.push(WriteRoute { method, template: template.clone(), query });
        }
    }
    routes
}

/// The template with every path parameter filled in with something that
/// exists in the seeded project (or a harmless unknown id).
fn fill(template: &str) -> String {
    let values = [
        ("{project}", "shop"),
        ("{env}", "production"),
        ("{flag}", "checkout"),
        ("{key}", "checkout"),
        ("{segment}", "beta"),
        ("{template}", "standard"),
        ("{incident}", "INC-1"),
        ("{id}", "1"),
        ("{secret}", "trg_unknown"),
        ("{username}", "admin"),
        ("{user}", "nobody"),
    ];
    let mut path = template.to_string();
    for (name, value) in values {
        path = path.replace(name, value);
    }
    assert!(!path.contains('{'), "a path parameter this test does not know: {template}");
    path
}

async fn seed(admin: &Api) {
    admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "shop"})), 201).await;
    admin.ok(Method::POST, &format!("{P}/environments"), Some(json!({"key": "production"})), 201).await;
    admin.ok(Method::POST, &format!("{P}/flags"), Some(json!({"key": "checkout", "kind": "boolean"})), 201).await;
    admin.ok(Method::POST, &format!("{PROD}/flags/checkout/toggle"), Some(json!({"on": true})), 200).await;
    admin.ok(Method::POST, &format!("{P}/segments"), Some(json!({"key": "beta"})), 201).await;
}

/// What a write would change: the revision, the flag's version, the audit length.
async fn state(admin: &Api) -> (Value, Value, usize) {
    let revision = admin.ok(Method::GET, PROD, None, 200).await["revision"].clone();
    let version = admin.ok(Method::GET, &format!("{PROD}/flags/checkout"), None, 200).await["version"].clone();
    let audit = admin.ok(Method::GET, &format!("{P}/audit?limit=1000"), None, 200).await;
    (revision, version, audit["items"].as_array().map_or(0, Vec::len))
}

fn assert_refused(route: &WriteRoute, status: reqwest::StatusCode, body: &Value, name: &str) {
    let what = format!("{} {} with ?{name}", route.method, route.template);
    assert_eq!(status, 400, "{what}: {body}");
    assert_eq!(body["code"], "unknown_query_parameter", "{what}: {body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(&format!("`{name}`")), "{what}: the detail must name the parameter: {body}");
    assert_eq!(body["errors"][0]["path"], name, "{what}: errors[].path names it: {body}");
}

#[tokio::test]
async fn every_write_route_refuses_unknown_query_parameters() {
    let routes = write_routes();
    assert!(routes.len() >= 30, "the route table lists only {} write routes", routes.len());
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = TestServer::start(&db.url()).await;
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let before = state(&admin).await;
        for route in &routes {
            let path = fill(&route.template);
            // An unknown parameter alone, and next to every declared one
            // (which must not be the one named).
            let mut cases = vec![("dry_run_typo".to_string(), "dry_run_typo=true".to_string())];
            for known in &route.query {
                cases.push(("zz_unknown".into(), format!("{known}=1&zz_unknown=1")));
            }
            for (name, query) in cases {
                let (status, body) =
                    admin.call(route.method.clone(), &format!("{path}?{query}"), Some(json!({}))).await;
                assert_refused(route, status, &body, &name);
            }
        }
        assert_eq!(state(&admin).await, before, "{}: a refused request wrote something", db.label());
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_revert_preview_with_a_mistyped_parameter_writes_nothing() {
    for db in TestDb::all().await {
        let server = TestServer::start(&db.url()).await;
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let before = state(&admin).await;
        let body = json!({"to_version": 1, "reason": "preview"});
        let (status, problem) = admin.post(&format!("{PROD}/flags/checkout/revert?dryrun=true"), body).await;
        assert_eq!(status, 400, "{}: {problem}", db.label());
        assert_eq!(problem["code"], "unknown_query_parameter");
        assert!(problem["detail"].as_str().unwrap_or_default().contains("`dryrun`"), "{problem}");
        assert_eq!(state(&admin).await, before, "{}: the flag was reverted", db.label());
        let cfg = admin.ok(Method::GET, &format!("{PROD}/flags/checkout"), None, 200).await;
        assert_eq!(cfg["config"]["on"], true, "{}: still on", db.label());
        server.stop().await;
        db.cleanup().await;
    }
}

/// A value the schema of a query parameter refuses, if it refuses any.
fn bad_value(schema: &Value, doc: &Value) -> Option<&'static str> {
    let schema = match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.rsplit('/').next().unwrap()],
        None => schema,
    };
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if types.iter().any(|t| matches!(*t, "integer" | "number")) {
        Some("many")
    } else if types.contains(&"boolean") {
        Some("perhaps")
    } else if schema["format"] == "date-time" {
        Some("yesterday")
    } else if schema.get("enum").is_some() || schema.get("pattern").is_some() {
        Some("no-such-value")
    } else {
        None
    }
}

/// A new-user review: `GET …/audit?limit=many` answered a 400 whose only
/// clue was axum's text. Every query parameter of every GET operation
/// whose schema refuses some value is sent one: 400 (422 for a value the
/// op refuses, as `?state=`) naming the parameter in `errors[].path`, on
/// both stores. (Write routes check their body
/// first; their `?wait=` and `?dry_run=` already name themselves.)
#[tokio::test]
async fn a_bad_query_value_is_named_in_errors_path() {
    let (_, doc) = switchyard_server::http::api();
    let doc = serde_json::to_value(&doc).unwrap();
    let mut cases = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap().iter().filter(|(m, _)| *m == "get") {
            let params = op["parameters"].as_array().into_iter().flatten();
            for p in params.filter(|p| p["in"] == "query") {
                let name = p["name"].as_str().unwrap().to_string();
                if let Some(value) = bad_value(&p["schema"], &doc) {
                    let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                    cases.push((method, template.clone(), name, value));
                }
            }
        }
    }
    assert!(cases.len() >= 10, "only {} typed query parameters in the document", cases.len());
    for db in TestDb::all().await {
        let server = TestServer::start(&db.url()).await;
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let before = state(&admin).await;
        for (method, template, name, value) in &cases {
            let url = format!("{}?{name}={value}", fill(template));
            let (status, problem) = admin.call(method.clone(), &url, None).await;
            let what = format!("{}: {method} {template}?{name}={value}", db.label());
            assert!(status == 400 || status == 422, "{what}: {status} {problem}");
            let paths: Vec<&str> =
                problem["errors"].as_array().into_iter().flatten().filter_map(|e| e["path"].as_str()).collect();
            assert_eq!(paths, [name.as_str()], "{what}: {problem}");
        }
        assert_eq!(state(&admin).await, before, "{}: a refused request wrote something", db.label());
        server.stop().await;
        db.cleanup().await;
    }
}
