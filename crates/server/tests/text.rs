//! The text policy over real sockets, on SQLite and Postgres: a NUL (or another control character) in any
//! string a client sends — a JSON body field, a path parameter, a query parameter — is a 400 problem+json
//! with code `invalid_text` naming the field, never a 5xx and never a write.
//!
//! The routes come from the OpenAPI document (`switchyard_server::http::api()`): every operation
//! with a JSON body needs a valid example body below (a new route without one fails the test); the
//! test puts a NUL into each string of it in turn, into each path parameter of every operation, and
//! into each documented query parameter.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchyard_server::testing::{TestDb, TestServer};

/// Routes that answer in the OpenFeature Remote Evaluation Protocol's shape: a refused string in the body is
/// `400 {"errorCode": "INVALID_CONTEXT", "errorDetails": "`<field>` contains a NUL …"}` (path and query
/// parameters are refused before the route, as problems).
const OFREP: &[&str] = &["POST /ofrep/v1/evaluate/flags", "POST /ofrep/v1/evaluate/flags/{key}"];

fn ofrep_refused(status: StatusCode, ctype: &str, body: &Value, path: &str) -> bool {
    status == 400
        && ctype == "application/json"
        && body["errorCode"] == "INVALID_CONTEXT"
        && body["errorDetails"].as_str().is_some_and(|d| d.starts_with(&format!("`{path}` contains a NUL")))
}

/// Routes whose body is not parsed by `AppJson` but read leniently: alert bodies from monitoring tools are
/// sanitised (control characters become spaces) so that an alert is never lost; they must still never give a 5xx.
const SANITISED: &[&str] = &["POST /hooks/v1/triggers/{secret}"];

/// A valid body for every JSON-body operation, against the seeded objects.
fn example(route: &str) -> Option<Value> {
    let config = json!({"version": null, "reason": "edit", "on": true, "off_variant": "b",
        "rules": [{"id": "r1", "clauses": [{"attribute": "country", "op": "in", "values": ["SE", "NO"]}],
                   "serve": {"variant": "a"}}],
        "fallthrough": {"variant": "a"}});
    Some(match route {
        "POST /api/v1/auth/login" => json!({"username": "admin", "password": "wrong-password"}),
        "POST /api/v1/projects" => json!({"key": "other", "name": "Other", "description": "d", "environments": ["qa"]}),
        "POST /api/v1/projects/{project}/environments" => json!({"key": "staging", "name": "S", "color": "#00ff00"}),
        "PUT /api/v1/projects/{project}/members/{user}" => json!({"role": "viewer"}),
        "PATCH /api/v1/projects/{project}/environments/{env}" => json!({"name": "Prod", "color": "#ff0000"}),
        "POST /api/v1/projects/{project}/environments/{env}/changes" => {
            json!({"changes": [{"flag": "checkout", "version": 1, "config": config}], "reason": "set"})
        }
        "POST /api/v1/projects/{project}/environments/{env}/changes/{id}/revert" => json!({"reason": "undo"}),
        "POST /api/v1/projects/{project}/environments/{env}/evaluate" => {
            json!({"context": {"key": "user-1", "country": "SE", "tags": ["a"]}, "flags": ["checkout"]})
        }
        "PUT /api/v1/projects/{project}/environments/{env}/flags/{flag}" => config,
        // In `production`: refused (422) without `force`, so the fixture's flag is never drilled.
        "POST /api/v1/projects/{project}/environments/{env}/flags/{flag}/drill" => json!({"incident": "DRILL-T"}),
        "POST /api/v1/projects/{project}/environments/{env}/flags/{flag}/kill"
        | "DELETE /api/v1/projects/{project}/environments/{env}/flags/{flag}/kill" => {
            json!({"reason": "incident", "incident": "INC-1"})
        }
        "POST /api/v1/projects/{project}/environments/{env}/flags/{flag}/revert" => {
            json!({"to_version": 1, "reason": "back"})
        }
        "POST /api/v1/projects/{project}/environments/{env}/flags/{flag}/undo" => {
            json!({"version": 2, "reason": "undo", "dry_run": true})
        }
        "POST /api/v1/projects/{project}/environments/{env}/flags/{flag}/toggle" => json!({"on": true, "reason": "go"}),
        "POST /api/v1/projects/{project}/environments/{env}/flags/{flag}/triggers" => {
            json!({"name": "p", "action": "kill"})
        }
        "POST /api/v1/projects/{project}/environments/{env}/kill"
        | "DELETE /api/v1/projects/{project}/environments/{env}/kill" => {
            json!({"tag": "checkout", "flags": ["checkout"], "reason": "panic", "incident": "INC-2"})
        }
        "POST /api/v1/projects/{project}/environments/{env}/restore" => {
            json!({"at": "2020-01-01T00:00:00Z", "reason": "rewind", "dry_run": true})
        }
        "POST /api/v1/projects/{project}/environments/{env}/sdk-keys" => json!({"name": "backend"}),
        "POST /api/v1/projects/{project}/flags" => json!({"key": "banner", "name": "Banner", "description": "d",
            "kind": "string", "variants": [{"key": "x", "value": "x", "name": "X"}], "tags": ["web"], "owner": "team"}),
        "PATCH /api/v1/projects/{project}/flags/{flag}" => {
            json!({"description": "d", "tags": ["web"], "owner": "team", "name": "Checkout"})
        }
        "POST /api/v1/projects/{project}/segments" => {
            json!({"key": "vip", "name": "VIP", "description": "d", "included": ["u1"], "excluded": ["u2"]})
        }
        "PUT /api/v1/projects/{project}/segments/{segment}" => {
            json!({"key": "beta", "name": "Beta", "included": ["u1"], "excluded": ["u2"]})
        }
        "POST /api/v1/projects/{project}/webhooks" => {
            json!({"url": "https://hooks.example.com/x", "events": ["flag.killed"], "secret": "0123456789abcdefghij"})
        }
        "POST /api/v1/tokens" => json!({"name": "ci", "role": "viewer", "project": "shop"}),
        "POST /api/v1/projects/{project}/tokens" => json!({"name": "ci", "role": "viewer"}),
        "POST /api/v1/users" => json!({"username": "bob", "password": "long-enough-password", "role": "viewer"}),
        "POST /api/v1/me/password" => {
            json!({"current_password": "wrong-password", "new_password": "long-enough-password"})
        }
        "POST /api/v1/users/{username}/password" => json!({"password": "long-enough-password"}),
        "POST /hooks/v1/triggers/{secret}" => json!({"status": "firing", "commonLabels": {"alertname": "High"},
            "commonAnnotations": {"summary": "errors"}}),
        "POST /sdk/v1/ack" => json!({"instance": "pod-1", "revision": 1}),
        "POST /api/v1/projects/{project}/release-templates" => {
            json!({"key": "standard", "stages": [{"percent": 10.0, "min_duration_seconds": 0}, {"percent": 100.0, "min_duration_seconds": 0}]})
        }
        "POST /api/v1/projects/{project}/environments/{env}/flags/{flag}/release" => {
            json!({"stages": [{"percent": 10.0, "min_duration_seconds": 3600}, {"percent": 100.0, "min_duration_seconds": 0}], "reason": "ship"})
        }
        // Release pause/resume/abort/promote; archive (a dry run without `confirm`) and unarchive.
        r if r.starts_with("POST ") && (r.contains("/release/") || r.ends_with("archive")) => json!({"reason": "why"}),
        "POST /api/v1/projects/{project}/environments/{env}/flags/{flag}/schedule" => {
            json!({"at": "2099-01-01T00:00:00Z", "reason": "launch", "change": {"on": true,
                "rules": [{"id": "r1", "clauses": [{"attribute": "country", "op": "in", "values": ["SE"]}],
                           "serve": {"variant": "a"}}], "fallthrough": {"variant": "b"}}})
        }
        "PATCH /api/v1/projects/{project}/environments/{env}/scheduled/{id}" => {
            json!({"at": "2099-01-02T00:00:00Z", "change": {"on": false}, "reason": "later"})
        }
        "POST /api/v1/projects/{project}/environments/{env}/scheduled/{id}/cancel" => json!({"reason": "not now"}),
        "PUT /api/v1/projects/{project}/environments/{env}/approval-policy" => {
            json!({"approvals": 0, "approver_role": "editor"})
        }
        "POST /api/v1/projects/{project}/environments/{env}/flags/{flag}/change-requests" => {
            json!({"change": {"on": false, "fallthrough": {"variant": "a"}}, "reason": "tidy"})
        }
        "POST /api/v1/projects/{project}/environments/{env}/change-requests/{id}/approve"
        | "POST /api/v1/projects/{project}/environments/{env}/change-requests/{id}/apply"
        | "POST /api/v1/projects/{project}/environments/{env}/change-requests/{id}/cancel" => json!({"comment": "ok"}),
        "POST /api/v1/projects/{project}/environments/{env}/change-requests/{id}/comments" => json!({"body": "why?"}),
        "POST /ofrep/v1/evaluate/flags" | "POST /ofrep/v1/evaluate/flags/{key}" => {
            json!({"context": {"targetingKey": "user-1", "country": "SE", "tags": ["a"]}})
        }
        "POST /sdk/v1/telemetry" => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
            json!({"sdk": "switchyard-rust/0.1.0", "instance": "pod-1", "start_ms": now - 10_000, "end_ms": now,
                "evaluations": [{"flag": "checkout", "variant": "a", "count": 3}], "unattributed": 0,
                "outcomes": [{"flag": "checkout", "variant": "a", "requests": 1, "errors": 0, "latency_ms_sum": 4.0,
                    "latency_ms_sum_sq": 16.0, "latency_ms_buckets": [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]}],
                "events": [{"event": "buy", "count": 1, "value_sum": 1.0}], "dropped": 0})
        }
        _ => return None,
    })
}

/// Every string leaf of `value`: its path (as the server names it) and a
/// copy of `value` with a NUL inserted into that string.
fn with_nul_in_each_string(value: &Value) -> Vec<(String, Value)> {
    fn leaves(value: &Value, path: String, out: &mut Vec<String>) {
        match value {
            Value::String(_) => out.push(path),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    leaves(item, format!("{path}[{i}]"), out);
                }
            }
            Value::Object(fields) => {
                for (key, item) in fields {
                    leaves(item, if path.is_empty() { key.clone() } else { format!("{path}.{key}") }, out);
                }
            }
            _ => {}
        }
    }
    let mut paths = Vec::new();
    leaves(value, String::new(), &mut paths);
    paths
        .into_iter()
        .map(|path| {
            let mut copy = value.clone();
            let slot = copy.pointer_mut(&to_pointer(&path)).expect("leaf");
            *slot = Value::String(format!("{}\u{0}x", slot.as_str().unwrap_or_default()));
            (path, copy)
        })
        .collect()
}

/// `rules[0].values[1]` → `/rules/0/values/1`.
fn to_pointer(path: &str) -> String {
    path.split('.').flat_map(|part| part.split('[')).map(|p| format!("/{}", p.trim_end_matches(']'))).collect()
}

struct Fixture {
    server: TestServer,
    http: reqwest::Client,
    sdk_key: String,
    trigger: String,
}

impl Fixture {
    async fn start(db: &TestDb) -> Fixture {
        let server = TestServer::start(&db.url()).await;
        let http = reqwest::Client::new();
        let mut fx = Fixture { server, http, sdk_key: String::new(), trigger: String::new() };
        fx.admin(Method::POST, "/api/v1/projects", json!({"key": "shop", "name": "Shop"})).await;
        fx.admin(Method::POST, "/api/v1/projects/shop/environments", json!({"key": "production"})).await;
        let flag = json!({"key": "checkout", "kind": "string", "tags": ["checkout"],
            "variants": [{"key": "a", "value": "a"}, {"key": "b", "value": "b"}]});
        fx.admin(Method::POST, "/api/v1/projects/shop/flags", flag).await;
        fx.admin(Method::POST, "/api/v1/projects/shop/segments", json!({"key": "beta", "included": ["u"]})).await;
        let env = "/api/v1/projects/shop/environments/production";
        let key = fx.admin(Method::POST, &format!("{env}/sdk-keys"), json!({"name": "sdk"})).await;
        fx.sdk_key = key["secret"].as_str().unwrap().to_string();
        let trigger = json!({"name": "t", "action": "kill"});
        let created = fx.admin(Method::POST, &format!("{env}/flags/checkout/triggers"), trigger).await;
        fx.trigger = created["path"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
        fx
    }

    async fn admin(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, _, body) = self.send(method.clone(), path, Some(&body)).await;
        assert!(status.is_success(), "{method} {path} → {status} {body}");
        body
    }

    /// Sends with the credential the route takes; returns status, content type, body.
    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> (StatusCode, String, Value) {
        let mut req = self.http.request(method, self.server.url(path));
        if path.starts_with("/sdk/") || path.starts_with("/ofrep/v1/evaluate/") {
            req = req.bearer_auth(&self.sdk_key);
        } else if !path.starts_with("/hooks/") {
            req = req.bearer_auth(&self.server.admin_token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let ctype = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let text = resp.text().await.unwrap_or_default();
        (status, ctype, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// A route template with the seeded objects filled in (`poison`: that
    /// parameter gets `x%00y` instead).
    fn fill(&self, template: &str, poison: Option<&str>) -> String {
        let mut path = template.to_string();
        for (name, value) in [
            ("project", "shop"),
            ("env", "production"),
            ("flag", "checkout"),
            ("key", "checkout"),
            ("segment", "beta"),
            ("id", "1"),
            ("revision", "1"),
            ("template", "standard"),
            ("incident", "INC-1"),
            ("secret", self.trigger.as_str()),
            // Not a user: the valid example must not reset a password.
            ("username", "nobody"),
            ("user", "nobody"),
        ] {
            let value = if poison == Some(name) { "x%00y" } else { value };
            path = path.replace(&format!("{{{name}}}"), value);
        }
        assert!(!path.contains('{'), "a path parameter this test does not know: {template}");
        path
    }
}

/// `(method, path template, query parameter names, has a JSON body)` of every operation.
fn operations() -> Vec<(Method, String, Vec<String>, bool)> {
    let (_, doc) = switchyard_server::http::api();
    let doc = serde_json::to_value(&doc).unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else { continue };
            let query = op["parameters"].as_array().into_iter().flatten();
            let query = query.filter(|p| p["in"] == "query").map(|p| p["name"].as_str().unwrap().to_string());
            let json_body = op.pointer("/requestBody/content/application~1json").is_some();
            ops.push((method, path.clone(), query.collect(), json_body));
        }
    }
    ops
}

fn refused(status: StatusCode, ctype: &str, body: &Value, path: &str) -> bool {
    status == 400
        && ctype == "application/problem+json"
        && body["code"] == "invalid_text"
        && body["errors"][0]["path"] == path
        && body["errors"][0]["code"] == "nul_character"
}

#[tokio::test]
async fn a_nul_anywhere_is_a_400_naming_the_field_on_every_route() {
    for db in TestDb::all().await {
        let fx = Fixture::start(&db).await;
        let mut wrong = Vec::new();
        let mut checked = 0;
        for (method, template, query, json_body) in operations() {
            let route = format!("{method} {template}");
            let body = example(&route);
            assert!(!json_body || body.is_some(), "{route} takes a JSON body: add a valid example to `example()`");
            // A NUL in each string of the body.
            for (field, poisoned) in body.as_ref().map(with_nul_in_each_string).unwrap_or_default() {
                let (status, ctype, resp) = fx.send(method.clone(), &fx.fill(&template, None), Some(&poisoned)).await;
                checked += 1;
                let ok = if SANITISED.contains(&route.as_str()) {
                    status.is_success()
                } else if OFREP.contains(&route.as_str()) {
                    ofrep_refused(status, &ctype, &resp, &field)
                } else {
                    refused(status, &ctype, &resp, &field)
                };
                if !ok {
                    wrong.push(format!("{route} body `{field}`: {status} {resp}"));
                }
            }
            // A NUL in each path parameter and each query parameter.
            let params = template.split('{').skip(1).map(|p| p.split('}').next().unwrap().to_string());
            for param in params {
                let path = fx.fill(&template, Some(&param));
                let (status, ctype, resp) = fx.send(method.clone(), &path, body.as_ref()).await;
                checked += 1;
                if !refused(status, &ctype, &resp, &param) {
                    wrong.push(format!("{route} path `{param}`: {status} {resp}"));
                }
            }
            for param in query {
                let path = format!("{}?{param}=x%00y", fx.fill(&template, None));
                let (status, ctype, resp) = fx.send(method.clone(), &path, body.as_ref()).await;
                checked += 1;
                if !refused(status, &ctype, &resp, &param) {
                    wrong.push(format!("{route} query `{param}`: {status} {resp}"));
                }
            }
        }
        assert!(checked > 100, "only {checked} requests: the route table was not read");
        assert!(
            wrong.is_empty(),
            "{}: {} of {checked} answered wrongly:\n{}",
            db.label(),
            wrong.len(),
            wrong.join("\n")
        );
        // The valid examples themselves never fail with a 5xx or `invalid_text`.
        for (method, template, _, _) in operations() {
            let route = format!("{method} {template}");
            let Some(body) = example(&route) else { continue };
            let (status, _, resp) = fx.send(method.clone(), &fx.fill(&template, None), Some(&body)).await;
            assert!(
                status.as_u16() < 500 && resp["code"] != "invalid_text",
                "{}: {route} → {status} {resp}",
                db.label()
            );
        }
        fx.server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_kill_with_a_nul_reason_is_refused_not_lost_and_other_text_is_kept_exactly() {
    for db in TestDb::all().await {
        let fx = Fixture::start(&db).await;
        let flag = "/api/v1/projects/shop/environments/production/flags/checkout";
        let kill = format!("{flag}/kill");

        // The responder hears "no" at once, and nothing was half-written.
        let (status, ctype, resp) = fx.send(Method::POST, &kill, Some(&json!({"reason": "db on fire\u{0}"}))).await;
        assert!(refused(status, &ctype, &resp, "reason"), "{}: {status} {resp}", db.label());
        let config = fx.send(Method::GET, flag, None).await.2;
        assert!(config["config"]["kill"].is_null(), "{}: a refused kill left a kill: {config}", db.label());
        let audit = fx.send(Method::GET, "/api/v1/projects/shop/audit?flag=checkout", None).await.2;
        let kills = audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "flag.kill").count();
        assert_eq!(kills, 0, "{}: {audit}", db.label());

        // Other control characters: refused the same way, with their own code.
        let (status, _, resp) = fx.send(Method::POST, &kill, Some(&json!({"reason": "\u{1b}[2Jcleared"}))).await;
        assert_eq!((status.as_u16(), &resp["errors"][0]["code"]), (400, &json!("control_character")), "{resp}");
        // A lone surrogate is not JSON text a server can hold: malformed.
        let resp = fx
            .http
            .post(fx.server.url(&kill))
            .bearer_auth(&fx.server.admin_token)
            .header("content-type", "application/json")
            .body(r#"{"reason": "half \ud800 a pair"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400);
        assert_eq!(resp.json::<Value>().await.unwrap()["code"], "malformed_json");

        // Everything else is kept byte for byte, on both stores.
        let reason = "🔥 checkout \u{202E}gnp.exe\u{202C} שלום\ttab\nline";
        let (status, _, resp) =
            fx.send(Method::POST, &kill, Some(&json!({"reason": reason, "incident": "INC-🔥"}))).await;
        assert_eq!(status, 200, "{}: {resp}", db.label());
        let config = fx.send(Method::GET, flag, None).await.2;
        assert_eq!(config["config"]["kill"]["reason"], reason, "{}", db.label());
        assert_eq!(config["config"]["kill"]["incident"], "INC-🔥", "{}", db.label());
        let audit = fx.send(Method::GET, "/api/v1/projects/shop/audit?flag=checkout", None).await.2;
        let event = audit["items"].as_array().unwrap().iter().find(|e| e["action"] == "flag.kill").cloned();
        assert_eq!(event.unwrap_or_default()["reason"], reason, "{}", db.label());

        // Anonymous callers cannot reach a 5xx either.
        let (status, _, resp) =
            fx.send(Method::POST, "/api/v1/auth/login", Some(&json!({"username": "\u{0}", "password": "x"}))).await;
        assert!(refused(status, "application/problem+json", &resp, "username"), "{}: {status} {resp}", db.label());
        fx.server.stop().await;
        db.cleanup().await;
    }
}
