//! The authorization matrix, generated from the route table: every
//! operation of the OpenAPI document (plus the policy's routes outside it)
//! × every kind of caller (global admin session, project admin / editor /
//! viewer / responder tokens, sessions of global viewers who are admin /
//! editor / responder members of the own project, SDK key, metrics token,
//! no credential) × own
//! project vs another project, over real sockets on SQLite and Postgres.
//!
//! The expected outcome is computed here from the policy's documented
//! semantics (see `auth::policy`), not by calling the server's decision
//! function. An operation without a rule fails the test. Every request with
//! a body sends a malformed one, so a refusal (401/403/404) also proves
//! that authorization ran before the body was parsed.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchyard_server::auth::policy::{self, Access, Permission, Scope};
use switchyard_server::store::Role;
use switchyard_server::testing::{Api, METRICS_TOKEN, TestDb, TestServer, login};

const OWN: &str = "own";
const OTHER: &str = "other";

/// A kind of caller.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    /// A user session of an admin: unscoped.
    GlobalAdmin,
    /// An API token limited to `own`.
    ProjectToken(Role),
    /// A user session of a global viewer who is a member of `own` with this role.
    Member(Role),
    Sdk,
    Metrics,
    Nobody,
}

/// Which project a request is about.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    Own,
    Other,
}

#[derive(Debug, PartialEq)]
enum Expect {
    /// Anything but 401, 403, a 404 about the project, or a 5xx.
    Allowed,
    /// Exactly this refusal.
    Refused(u16),
}

fn rank(role: Role) -> u8 {
    [Role::Viewer, Role::Responder, Role::Editor, Role::Admin].iter().position(|r| *r == role).unwrap() as u8
}

fn least(permission: Permission) -> Role {
    match permission {
        Permission::Read => Role::Viewer,
        Permission::Kill => Role::Responder,
        Permission::Edit => Role::Editor,
        Permission::Admin => Role::Admin,
    }
}

/// The documented semantics of a rule, for one caller and target.
fn expect(access: Access, who: Who, target: Target) -> Expect {
    match access {
        Access::Public => Expect::Allowed,
        // The route's own credential only; a wrong trigger secret is a 404.
        Access::TriggerSecret => Expect::Refused(404),
        Access::MetricsToken => {
            if who == Who::Metrics {
                Expect::Allowed
            } else {
                Expect::Refused(401)
            }
        }
        Access::SdkKey => {
            if who == Who::Sdk {
                Expect::Allowed
            } else {
                Expect::Refused(401)
            }
        }
        Access::Principal(permission, scope) => {
            let (role, scoped) = match who {
                Who::GlobalAdmin => (Role::Admin, false),
                Who::ProjectToken(role) => (role, true),
                // A membership raises the role on routes naming its project only.
                Who::Member(role) if scope == Scope::Path && target == Target::Own => (role, false),
                Who::Member(_) => (Role::Viewer, false),
                Who::Sdk | Who::Metrics | Who::Nobody => return Expect::Refused(401),
            };
            let outside = scoped && target == Target::Other;
            match scope {
                Scope::Path if outside => return Expect::Refused(404),
                Scope::Global if scoped => return Expect::Refused(403),
                _ => {}
            }
            if rank(role) < rank(least(permission)) {
                return Expect::Refused(403);
            }
            // Own-scope routes: another project's object is invisible.
            if scope == Scope::Own && outside { Expect::Refused(404) } else { Expect::Allowed }
        }
    }
}

/// One route of the table.
struct Route {
    method: Method,
    path: String,
    access: Option<Access>,
}

/// Every OpenAPI operation, then the policy's routes outside the document.
fn routes() -> Vec<Route> {
    let (_, openapi) = switchyard_server::http::api();
    let mut routes = Vec::new();
    for (path, item) in &openapi.paths.paths {
        for method in policy::operations(item) {
            routes.push(Route { access: policy::lookup(&method, path), method, path: path.clone() });
        }
    }
    for rule in policy::POLICY {
        let method = Method::from_bytes(rule.method.as_bytes()).unwrap();
        if !routes.iter().any(|r| r.method == method && r.path == rule.path) {
            routes.push(Route { method, path: rule.path.to_string(), access: Some(rule.access) });
        }
    }
    routes
}

/// The objects the matrix points at.
struct World {
    own_token_id: i64,
    other_token_id: i64,
}

/// A concrete path: parameters filled in for `target`. An unknown parameter
/// fails: give new routes' parameters a value here.
fn concrete(template: &str, target: Target, world: &World) -> String {
    let project = if target == Target::Own { OWN } else { OTHER };
    let token = if target == Target::Own { world.own_token_id } else { world.other_token_id };
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').unwrap() + start;
        out.push_str(&rest[..start]);
        let value = match &rest[start + 1..end] {
            "project" => project.to_string(),
            "env" => "prod".into(),
            "flag" | "key" => "f".into(),
            "segment" => "s".into(),
            "template" => "t".into(),
            "incident" => "INC-1".into(),
            "id" if template.starts_with("/api/v1/tokens/") => token.to_string(),
            "id" => "999999".into(),
            "revision" => "1".into(),
            "secret" => "trg_not-a-real-secret".into(),
            "username" => "admin".into(),
            // A user with no membership anywhere: members' writes never touch the callers'.
            "user" => "target-user".into(),
            "*path" => "app.js".into(),
            other => panic!("no matrix value for the path parameter `{other}` of {template}: add one"),
        };
        out.push_str(&value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Targets worth trying: both projects when the path names one or points
/// at an object (`{id}`) of an own-scope route; otherwise just one.
fn targets(route: &Route) -> Vec<Target> {
    let own_object = matches!(route.access, Some(Access::Principal(_, Scope::Own))) && route.path.contains("{id}");
    if route.path.contains("{project}") || own_object { vec![Target::Own, Target::Other] } else { vec![Target::Own] }
}

async fn seed(server: &TestServer) -> (World, Vec<(Who, Option<String>)>) {
    let admin = Api::new(server, Some(&server.admin_token));
    for project in [OWN, OTHER] {
        let p = format!("/api/v1/projects/{project}");
        admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": project})), 201).await;
        admin.ok(Method::POST, &format!("{p}/environments"), Some(json!({"key": "prod"})), 201).await;
        admin.ok(Method::POST, &format!("{p}/flags"), Some(json!({"key": "f", "kind": "boolean"})), 201).await;
        admin.ok(Method::POST, &format!("{p}/segments"), Some(json!({"key": "s"})), 201).await;
    }
    let token = |name: &str, role: &str, project: &str| {
        let body = json!({"name": name, "role": role, "project": project});
        let admin = admin.clone();
        async move { admin.ok(Method::POST, "/api/v1/tokens", Some(body), 201).await }
    };
    let world = World {
        own_token_id: token("own-target", "viewer", OWN).await["token"]["id"].as_i64().unwrap(),
        other_token_id: token("other-target", "viewer", OTHER).await["token"]["id"].as_i64().unwrap(),
    };
    let mut callers = vec![(Who::GlobalAdmin, Some(server.admin_token.clone()))];
    for role in [Role::Admin, Role::Editor, Role::Viewer, Role::Responder] {
        let created = token(&format!("own-{}", role.as_str()), role.as_str(), OWN).await;
        callers.push((Who::ProjectToken(role), Some(created["secret"].as_str().unwrap().to_string())));
    }
    let key = admin
        .ok(
            Method::POST,
            &format!("/api/v1/projects/{OWN}/environments/prod/sdk-keys"),
            Some(json!({"name": "m"})),
            201,
        )
        .await;
    callers.push((Who::Sdk, Some(key["secret"].as_str().unwrap().to_string())));
    for name in ["target-user", "member-admin", "member-editor", "member-responder"] {
        let body = json!({"username": name, "password": "a-long-password", "role": "viewer"});
        admin.ok(Method::POST, "/api/v1/users", Some(body), 201).await;
    }
    for role in [Role::Admin, Role::Editor, Role::Responder] {
        let name = format!("member-{}", role.as_str());
        let body = Some(json!({"role": role.as_str()}));
        admin.ok(Method::PUT, &format!("/api/v1/projects/{OWN}/members/{name}"), body, 200).await;
        callers.push((Who::Member(role), Some(login(&server.base, &name, "a-long-password").await)));
    }
    callers.push((Who::Metrics, Some(METRICS_TOKEN.to_string())));
    callers.push((Who::Nobody, None));
    (world, callers)
}

/// Sends one request (a malformed JSON body on methods that take one);
/// returns the status and the problem body, if any. Streams are not read.
async fn send(
    http: &reqwest::Client,
    base: &str,
    method: &Method,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = http.request(method.clone(), format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method) {
        request = request.header("content-type", "application/json").body(r#"{"malformed": "#);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let problem =
        response.headers().get("content-type").is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    let body = if problem { response.json().await.unwrap_or(Value::Null) } else { Value::Null };
    (status, body)
}

/// Whether an answer is a refusal because of the project (not an unknown object inside it).
fn project_not_found(status: StatusCode, body: &Value) -> bool {
    status == 404 && body["detail"].as_str().is_some_and(|d| d.starts_with("project `"))
}

async fn matrix(server: &TestServer) {
    let (world, callers) = seed(server).await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for route in routes() {
        let Some(access) = route.access else {
            failures.push(format!("{} {} has no authorization policy", route.method, route.path));
            continue;
        };
        for target in targets(&route) {
            let path = concrete(&route.path, target, &world);
            for (who, token) in &callers {
                let want = expect(access, *who, target);
                let (status, body) = send(&http, &server.base, &route.method, &path, token.as_deref()).await;
                checked += 1;
                let ok = match want {
                    // A refusal for another project must look like an unknown project.
                    Expect::Refused(404) if matches!(access, Access::Principal(_, Scope::Path)) => {
                        project_not_found(status, &body)
                    }
                    Expect::Refused(code) => status.as_u16() == code,
                    Expect::Allowed => {
                        let unavailable = status == 503 && route.path == "/readyz";
                        ![401, 403].contains(&status.as_u16())
                            && !project_not_found(status, &body)
                            && (!status.is_server_error() || unavailable)
                    }
                };
                if !ok {
                    failures.push(format!(
                        "{who:?} {} {path} ({target:?}): want {want:?}, got {status} {body}",
                        route.method
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {checked} cases wrong:\n{}", failures.len(), failures.join("\n"));
    assert!(checked > 500, "only {checked} cases: is the route table empty?");
}

#[tokio::test]
async fn authorization_matrix_generated_from_the_route_table() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = TestServer::start(&db.url()).await;
        matrix(&server).await;
        server.stop().await;
        db.cleanup().await;
    }
}

/// The generator's own check: every rule of the table is reached, so a rule
/// cannot silently fall out of the matrix.
#[test]
fn every_rule_is_in_the_matrix() {
    let routes = routes();
    for rule in policy::POLICY {
        assert!(routes.iter().any(|r| r.method.as_str() == rule.method && r.path == rule.path), "{rule:?}");
    }
    assert!(routes.iter().all(|r| r.access.is_some()), "an operation without a policy");
}
