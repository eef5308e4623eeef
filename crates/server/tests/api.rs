//! Admin API over real HTTP, against SQLite and Postgres (both in CI).

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::store::{Actor, NewWebhook, WebhookEvent};
use switchyard_server::testing::{Api, TestDb, TestServer, for_each_store, login};

const P: &str = "/api/v1/projects/shop";
const PROD: &str = "/api/v1/projects/shop/environments/production";

async fn seed(admin: &Api) {
    admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "shop", "name": "Shop"})), 201).await;
    for env in ["staging", "production"] {
        admin.ok(Method::POST, &format!("{P}/environments"), Some(json!({"key": env})), 201).await;
    }
    let flag = json!({"key": "new-checkout", "kind": "boolean", "tags": ["checkout"], "owner": "payments"});
    admin.ok(Method::POST, &format!("{P}/flags"), Some(flag), 201).await;
}

async fn audit(admin: &Api, query: &str) -> Vec<Value> {
    let page = admin.ok(Method::GET, &format!("{P}/audit?{query}"), None, 200).await;
    page["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn flag_lifecycle_with_audit_conflicts_and_revert() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let cfg_path = format!("{PROD}/flags/new-checkout");

        let cfg = admin.ok(Method::GET, &cfg_path, None, 200).await;
        assert_eq!(cfg["version"], 1);
        assert_eq!(cfg["config"]["on"], false);
        let env_before = admin.ok(Method::GET, PROD, None, 200).await["revision"].as_u64().unwrap();

        // toggle on: new revision, one audit event with before/after
        let t = admin.ok(Method::POST, &format!("{cfg_path}/toggle"), Some(json!({"on": true, "reason": "launch"})), 200).await;
        assert_eq!(t["changed"], true);
        assert_eq!(t["revision"].as_u64().unwrap(), env_before + 1);
        let events = audit(&admin, "flag=new-checkout&environment=production").await;
        let toggle = &events[0];
        assert_eq!(toggle["action"], "flag.toggle");
        assert_eq!(toggle["actor"], "admin");
        assert_eq!(toggle["reason"], "launch");
        assert_eq!(toggle["before"]["config"]["on"], false);
        assert_eq!(toggle["after"]["config"]["on"], true);

        // a stale write gets 409 with the current version and changes nothing
        let mut body = cfg["config"].clone();
        body["version"] = json!(1);
        body["on"] = json!(false);
        let (status, problem) = admin.put(&cfg_path, body).await;
        assert_eq!(status, 409, "{problem}");
        assert_eq!(problem["code"], "version_conflict");
        assert_eq!(problem["current_version"], 2);
        let now = admin.ok(Method::GET, &cfg_path, None, 200).await;
        assert_eq!((now["version"].as_u64(), now["config"]["on"].as_bool()), (Some(2), Some(true)));
        assert_eq!(audit(&admin, "flag=new-checkout&environment=production").await.len(), events.len());

        // a current write with a rule succeeds
        let mut body = now["config"].clone();
        body["version"] = json!(2);
        body["rules"] = json!([{"id": "de", "clauses": [{"attribute": "country", "op": "in", "values": ["DE"]}], "serve": {"variant": "off"}}]);
        let w = admin.ok(Method::PUT, &cfg_path, Some(body.clone()), 200).await;
        assert_eq!(w["value"]["version"], 3);

        // validation error names the field
        body["version"] = json!(3);
        body["rules"][0]["serve"] = json!({"variant": "nope"});
        let (status, problem) = admin.put(&cfg_path, body).await;
        assert_eq!(status, 422, "{problem}");
        assert!(problem["errors"].as_array().unwrap().iter().any(|e| e["path"].as_str().unwrap().starts_with("rules[0].serve")), "{problem}");

        // every write is in the audit with before/after
        let events = audit(&admin, "flag=new-checkout&environment=production").await;
        assert!(events.iter().all(|e| e["after"].is_object()), "{events:?}");

        // revert to version 1 → version 4 equal to version 1's config
        let r = admin
            .ok(Method::POST, &format!("{cfg_path}/revert"), Some(json!({"to_version": 1, "reason": "back"})), 200)
            .await;
        assert_eq!(r["value"]["version"], 4);
        assert_eq!(r["value"]["config"], cfg["config"]);
        assert_eq!(audit(&admin, "flag=new-checkout").await[0]["action"], "flag.revert");

        // staging was never touched
        let staging = admin.ok(Method::GET, &format!("{P}/environments/staging/flags/new-checkout"), None, 200).await;
        assert_eq!(staging["version"], 1);
        server
    })
    .await;
}

#[tokio::test]
async fn restore_to_time_and_change_sets() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        admin.ok(Method::POST, &format!("{P}/flags"), Some(json!({"key": "banner", "kind": "string", "variants": [{"key": "a", "value": "hello"}, {"key": "b", "value": "hi"}]})), 201).await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let t0 = chrono::Utc::now();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        admin.ok(Method::POST, &format!("{PROD}/flags/new-checkout/toggle"), Some(json!({"on": true})), 200).await;
        admin.ok(Method::POST, &format!("{PROD}/flags/banner/toggle"), Some(json!({"on": true})), 200).await;

        let dry = admin.ok(Method::POST, &format!("{PROD}/restore"), Some(json!({"at": t0, "reason": "drill", "dry_run": true})), 200).await;
        assert_eq!(dry["changed"], false);
        assert_eq!(dry["value"].as_array().unwrap().len(), 2, "{dry}");
        let still = admin.ok(Method::GET, &format!("{PROD}/flags/banner"), None, 200).await;
        assert_eq!(still["config"]["on"], true, "dry run wrote nothing");

        let real = admin.ok(Method::POST, &format!("{PROD}/restore"), Some(json!({"at": t0, "reason": "drill"})), 200).await;
        assert_eq!(real["changed"], true);
        for f in ["banner", "new-checkout"] {
            let c = admin.ok(Method::GET, &format!("{PROD}/flags/{f}"), None, 200).await;
            assert_eq!(c["config"]["on"], false, "{f} restored");
        }

        // a change set with one invalid change applies nothing
        let nc = admin.ok(Method::GET, &format!("{PROD}/flags/new-checkout"), None, 200).await;
        let bn = admin.ok(Method::GET, &format!("{PROD}/flags/banner"), None, 200).await;
        let rev = admin.ok(Method::GET, PROD, None, 200).await["revision"].clone();
        let mut good = nc["config"].clone();
        good["on"] = json!(true);
        let mut bad = bn["config"].clone();
        bad["fallthrough"] = json!({"variant": "missing"});
        let set = json!({"reason": "release", "changes": [
            {"flag": "new-checkout", "version": nc["version"], "config": good},
            {"flag": "banner", "version": bn["version"], "config": bad}]});
        let (status, problem) = admin.post(&format!("{PROD}/changes"), set).await;
        assert_eq!(status, 422, "{problem}");
        assert!(problem["errors"][0]["path"].as_str().unwrap().starts_with("changes[1]."), "{problem}");
        assert_eq!(admin.ok(Method::GET, PROD, None, 200).await["revision"], rev);
        assert_eq!(admin.ok(Method::GET, &format!("{PROD}/flags/new-checkout"), None, 200).await["config"]["on"], false);

        // a valid change set is one revision; reverting it is one call
        let mut good_banner = bn["config"].clone();
        good_banner["on"] = json!(true);
        let set = json!({"changes": [
            {"flag": "new-checkout", "version": nc["version"], "config": good},
            {"flag": "banner", "version": bn["version"], "config": good_banner}]});
        let applied = admin.ok(Method::POST, &format!("{PROD}/changes"), Some(set), 200).await;
        assert_eq!(applied["revision"].as_u64().unwrap(), rev.as_u64().unwrap() + 1);
        let id = applied["value"]["id"].as_str().unwrap().to_string();
        let reverted = admin.ok(Method::POST, &format!("{PROD}/changes/{id}/revert"), Some(json!({"reason": "undo"})), 200).await;
        assert_eq!(reverted["revision"].as_u64().unwrap(), rev.as_u64().unwrap() + 2);
        for f in ["banner", "new-checkout"] {
            assert_eq!(admin.ok(Method::GET, &format!("{PROD}/flags/{f}"), None, 200).await["config"]["on"], false);
        }
        server
    })
    .await;
}

#[tokio::test]
async fn bad_input_gets_problem_bodies_never_500() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    let admin = Api::new(&server, Some(&server.admin_token));
    seed(&admin).await;
    let http = reqwest::Client::new();
    let send = |body: Vec<u8>| {
        http.post(server.url("/api/v1/projects/shop/flags"))
            .bearer_auth(&server.admin_token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("malformed JSON", b"{\"key\":".to_vec(), 400, "malformed_json"),
        ("deep nesting", format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(), 400, "json_too_deep"),
        ("wrong type", br#"{"key":"x","kind":7}"#.to_vec(), 422, "validation_failed"),
        ("bad key", br#"{"key":"Bad Key!","kind":"boolean"}"#.to_vec(), 422, "validation_failed"),
        ("too large", vec![b' '; 2 * 1024 * 1024], 413, ""),
    ];
    for (name, body, status, code) in cases {
        let resp = send(body).await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{name}");
        if !code.is_empty() {
            let problem: Value = resp.json().await.unwrap();
            assert_eq!(problem["code"], code, "{name}: {problem}");
        }
    }
    let (status, problem) = admin.get("/api/v1/projects/nope/flags/x").await;
    assert_eq!((status.as_u16(), problem["code"].as_str()), (404, Some("not_found")));
    let (status, _) = admin.post("/api/v1/projects", json!({"key": "shop"})).await;
    assert_eq!(status, 409);
    let (status, _) = Api::new(&server, None).get("/api/v1/projects").await;
    assert_eq!(status, 401);
    let (status, _) = Api::new(&server, Some("garbage")).get("/api/v1/projects").await;
    assert_eq!(status, 401);
    let (status, _) =
        Api::new(&server, None).post("/api/v1/auth/login", json!({"username": "admin", "password": "wrong"})).await;
    assert_eq!(status, 401);
    server.stop().await;
    db.cleanup().await;
}

/// Creates a token of each role; returns (role, token).
async fn tokens(admin: &Api) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for role in ["viewer", "responder", "editor", "admin"] {
        let body = admin
            .ok(Method::POST, "/api/v1/tokens", Some(json!({"name": format!("{role}-bot"), "role": role})), 201)
            .await;
        out.push((role, body["secret"].as_str().unwrap().to_string()));
    }
    out
}

#[tokio::test]
async fn role_matrix_and_token_revocation() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let tokens = tokens(&admin).await;
        let flag = format!("{PROD}/flags/new-checkout");
        // a webhook (straight into the store: the test server refuses loopback URLs)
        let hook = NewWebhook {
            url: "https://hooks.example/x".into(),
            events: WebhookEvent::DEFAULT.to_vec(),
            secret: "a-webhook-secret-0123".into(),
            prefix: "custom".into(),
        };
        let hook = server.state.store.create_webhook(&Actor::system(), "shop", hook).await.unwrap().id;
        // (description, method, path, body, minimum role)
        let routes: Vec<(&str, Method, String, Option<Value>, &str)> = vec![
            ("list projects", Method::GET, "/api/v1/projects".into(), None, "viewer"),
            ("list flags", Method::GET, format!("{P}/flags"), None, "viewer"),
            ("read config", Method::GET, flag.clone(), None, "viewer"),
            ("read audit", Method::GET, format!("{P}/audit"), None, "viewer"),
            ("list segments", Method::GET, format!("{P}/segments"), None, "viewer"),
            ("evaluate", Method::POST, format!("{PROD}/evaluate"), Some(json!({"context": {"key": "u1"}})), "viewer"),
            ("kill", Method::POST, format!("{flag}/kill"), Some(json!({"reason": "r"})), "responder"),
            ("unkill", Method::DELETE, format!("{flag}/kill"), Some(json!({"reason": "r"})), "responder"),
            (
                "panic",
                Method::POST,
                format!("{PROD}/kill"),
                Some(json!({"tag": "checkout", "reason": "r"})),
                "responder",
            ),
            ("toggle", Method::POST, format!("{flag}/toggle"), Some(json!({"on": true})), "editor"),
            (
                "create flag",
                Method::POST,
                format!("{P}/flags"),
                Some(json!({"key": "f-{role}", "kind": "boolean"})),
                "editor",
            ),
            ("create segment", Method::POST, format!("{P}/segments"), Some(json!({"key": "s-{role}"})), "editor"),
            ("revert", Method::POST, format!("{flag}/revert"), Some(json!({"to_version": 1, "reason": "r"})), "editor"),
            ("create env", Method::POST, format!("{P}/environments"), Some(json!({"key": "e-{role}"})), "admin"),
            ("create project", Method::POST, "/api/v1/projects".into(), Some(json!({"key": "p-{role}"})), "admin"),
            ("sdk keys", Method::GET, format!("{PROD}/sdk-keys"), None, "admin"),
            ("tokens", Method::GET, "/api/v1/tokens".into(), None, "admin"),
            ("users", Method::GET, "/api/v1/users".into(), None, "admin"),
            ("webhooks", Method::GET, format!("{P}/webhooks"), None, "admin"),
            ("webhook deliveries", Method::GET, format!("{P}/webhooks/{hook}/deliveries"), None, "admin"),
            (
                "create webhook",
                Method::POST,
                format!("{P}/webhooks"),
                Some(json!({"url": "http://127.0.0.1:9/", "events": ["bogus"]})),
                "admin-422",
            ),
        ];
        let rank = |r: &str| ["viewer", "responder", "editor", "admin"].iter().position(|x| *x == r).unwrap();
        for (role, token) in &tokens {
            let api = Api::new(&server, Some(token));
            for (name, method, path, body, min) in &routes {
                let body = body.as_ref().map(|b| serde_json::from_str(&b.to_string().replace("{role}", role)).unwrap());
                let (status, resp) = api.call(method.clone(), path, body).await;
                if let Some(min) = min.strip_suffix("-422") {
                    // allowed, but the body is invalid: the role check comes first
                    let want = if rank(role) >= rank(min) { 422 } else { 403 };
                    assert_eq!(status, want, "{role} {name}: {resp}");
                } else if rank(role) >= rank(min) {
                    assert!(status.is_success(), "{role} may {name}: got {status} {resp}");
                } else {
                    assert_eq!(status, 403, "{role} may not {name}: {resp}");
                }
            }
        }
        // a revoked token gets 401 at once
        let list = admin.ok(Method::GET, "/api/v1/tokens", None, 200).await;
        let viewer = list.as_array().unwrap().iter().find(|t| t["name"] == "viewer-bot").unwrap();
        admin.ok(Method::DELETE, &format!("/api/v1/tokens/{}", viewer["id"]), None, 200).await;
        let (status, _) = Api::new(&server, Some(&tokens[0].1)).get("/api/v1/projects").await;
        assert_eq!(status, 401);
        // the audit names token actors
        let events = audit(&admin, "actor=editor-bot").await;
        assert!(events.iter().all(|e| e["actor_kind"] == "token") && !events.is_empty());
        server
    })
    .await;
}

#[tokio::test]
async fn users_log_in_with_their_role_and_openapi_lists_routes() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    let admin = Api::new(&server, Some(&server.admin_token));
    seed(&admin).await;
    admin
        .ok(
            Method::POST,
            "/api/v1/users",
            Some(json!({"username": "vera", "password": "a-long-password", "role": "viewer"})),
            201,
        )
        .await;
    let (status, _) =
        admin.post("/api/v1/users", json!({"username": "sam", "password": "short", "role": "viewer"})).await;
    assert_eq!(status, 422);
    let vera = Api::new(&server, Some(&login(&server.base, "vera", "a-long-password").await));
    assert_eq!(vera.get("/api/v1/me").await.1["role"], "viewer");
    let (status, _) = vera.post(&format!("{PROD}/flags/new-checkout/toggle"), json!({"on": true})).await;
    assert_eq!(status, 403);

    let doc = Api::new(&server, None).ok(Method::GET, "/api/openapi.json", None, 200).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/auth/login",
        "/api/v1/projects/{project}/environments/{env}/flags/{flag}/toggle",
        "/api/v1/projects/{project}/environments/{env}/flags/{flag}/kill",
        "/api/v1/projects/{project}/audit",
        "/sdk/v1/stream",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing from OpenAPI");
    }
    let page = reqwest::get(server.url("/api/docs")).await.unwrap().text().await.unwrap();
    assert!(page.contains("/api/docs.js") && !page.contains("cdn"));
    server.stop().await;
    db.cleanup().await;
}

/// The panic's undo, over HTTP on both stores: `DELETE …/environments/{env}/kill`
/// with a tag restores every killed flag carrying it in one revision (one
/// restore audit entry per flag, all with that revision; a flag of the tag
/// that was not killed is left as it is); a responder may call it; nothing
/// named is a 422; a reason is required.
#[tokio::test]
async fn the_panic_is_undone_in_one_revision() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        let env = "/api/v1/projects/shop/environments/production";
        admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "shop"})), 201).await;
        admin.ok(Method::POST, "/api/v1/projects/shop/environments", Some(json!({"key": "production"})), 201).await;
        for key in ["checkout", "wallet", "cart", "banner"] {
            let tags = if key == "banner" { json!([]) } else { json!(["payments"]) };
            let flag = json!({"key": key, "kind": "boolean", "tags": tags});
            admin.ok(Method::POST, "/api/v1/projects/shop/flags", Some(flag), 201).await;
        }
        let panic = json!({"flags": ["checkout", "wallet", "banner"], "reason": "down", "incident": "INC-9"});
        admin.ok(Method::POST, &format!("{env}/kill"), Some(panic), 200).await;
        let token = json!({"name": "pager", "role": "responder", "project": "shop"});
        let token = admin.ok(Method::POST, "/api/v1/tokens", Some(token), 201).await;
        let responder = Api::new(&server, token["secret"].as_str());

        let (status, problem) =
            responder.call(Method::DELETE, &format!("{env}/kill"), Some(json!({"tag": "payments"}))).await;
        assert_eq!(status, 422, "a reason is required: {problem}");
        let none = json!({"tag": "nothing-has-it", "reason": "x"});
        let (status, problem) = responder.call(Method::DELETE, &format!("{env}/kill"), Some(none)).await;
        assert_eq!((status.as_u16(), problem["errors"][0]["path"].as_str()), (422, Some("flags")), "{problem}");

        let undo = json!({"tag": "payments", "reason": "fixed", "incident": "INC-9"});
        let restored = responder.ok(Method::DELETE, &format!("{env}/kill"), Some(undo), 200).await;
        let revision = restored["revision"].as_u64().expect("one revision");
        for flag in ["checkout", "wallet", "cart"] {
            let config = admin.get(&format!("{env}/flags/{flag}")).await.1;
            assert!(config["config"]["kill"].is_null(), "{flag} restored: {config}");
        }
        let banner = admin.get(&format!("{env}/flags/banner")).await.1;
        assert_eq!(banner["config"]["kill"]["reason"], "down", "a flag without the tag stays killed");
        let entries: Vec<Value> =
            audit(&admin, "limit=100").await.into_iter().filter(|e| e["action"] == "flag.restore").collect();
        let flags: Vec<&str> = entries.iter().filter_map(|e| e["flag"].as_str()).collect();
        assert_eq!(flags.len(), 2, "checkout and wallet restored, cart was not killed: {entries:?}");
        assert!(entries.iter().all(|e| e["revision"].as_u64() == Some(revision)), "one revision: {entries:?}");
        server
    })
    .await;
}
