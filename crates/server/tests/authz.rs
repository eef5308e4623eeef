//! Authorization regressions over real sockets, on SQLite and Postgres: the
//! escalations a project-scoped admin token had (minting wider tokens,
//! creating global users, seeing and revoking other projects' tokens), and
//! "authorize before parsing" (a forbidden caller with a malformed body gets
//! 403, not 422). The full generated matrix is in `authz_matrix.rs`.

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::testing::{Api, TestServer, for_each_store};

/// Two projects, `shop` and `other`, each with a `prod` environment, and a
/// token of `role` scoped to each. Returns (server admin, shop tokens, other-project token ids).
struct Fixture {
    admin: Api,
    /// Admin token limited to `shop`.
    shop_admin: Api,
    /// Responder token limited to `shop`.
    shop_responder: Api,
    /// Id of an admin token limited to `other`.
    other_token_id: i64,
    /// Id of an unscoped responder token.
    global_token_id: i64,
    /// Its secret.
    global_token: String,
}

async fn token(admin: &Api, name: &str, role: &str, project: Option<&str>) -> (i64, String) {
    let body = json!({"name": name, "role": role, "project": project});
    let created = admin.ok(Method::POST, "/api/v1/tokens", Some(body), 201).await;
    (created["token"]["id"].as_i64().unwrap(), created["secret"].as_str().unwrap().to_string())
}

async fn fixture(server: &TestServer) -> Fixture {
    let admin = Api::new(server, Some(&server.admin_token));
    for project in ["shop", "other"] {
        admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": project})), 201).await;
        let envs = format!("/api/v1/projects/{project}/environments");
        admin.ok(Method::POST, &envs, Some(json!({"key": "prod"})), 201).await;
    }
    let (_, shop_admin) = token(&admin, "shop-admin", "admin", Some("shop")).await;
    let (_, shop_responder) = token(&admin, "shop-pager", "responder", Some("shop")).await;
    let (other_token_id, _) = token(&admin, "other-admin", "admin", Some("other")).await;
    let (global_token_id, global_token) = token(&admin, "global-pager", "responder", None).await;
    Fixture {
        shop_admin: Api::new(server, Some(&shop_admin)),
        shop_responder: Api::new(server, Some(&shop_responder)),
        admin,
        other_token_id,
        global_token_id,
        global_token,
    }
}

#[tokio::test]
async fn scoped_admin_cannot_mint_a_token_wider_than_itself() {
    for_each_store(|server| async move {
        let f = fixture(&server).await;
        // Unscoped (wider scope): refused.
        let (status, body) = f.shop_admin.post("/api/v1/tokens", json!({"name": "x", "role": "admin"})).await;
        assert_eq!(status, 403, "a shop admin minted an unscoped admin token: {body}");
        // Another project's scope: that project does not exist for it.
        let other = json!({"name": "x", "role": "viewer", "project": "other"});
        let (status, body) = f.shop_admin.post("/api/v1/tokens", other).await;
        assert_eq!(status, 404, "a shop admin minted a token for another project: {body}");
        // Within its own scope and role: allowed.
        let own = json!({"name": "ok", "role": "admin", "project": "shop"});
        let created = f.shop_admin.ok(Method::POST, "/api/v1/tokens", Some(own), 201).await;
        assert_eq!(created["token"]["project"], "shop");
        server
    })
    .await;
}

#[tokio::test]
async fn scoped_admin_cannot_create_users() {
    for_each_store(|server| async move {
        let f = fixture(&server).await;
        let user = json!({"username": "mallory", "password": "a-long-enough-password", "role": "admin"});
        let (status, body) = f.shop_admin.post("/api/v1/users", user).await;
        assert_eq!(status, 403, "a shop admin created a global admin user: {body}");
        let (status, body) = f.shop_admin.get("/api/v1/users").await;
        assert_eq!(status, 403, "users are global: {body}");
        let users = f.admin.ok(Method::GET, "/api/v1/users", None, 200).await;
        assert!(users.as_array().unwrap().iter().all(|u| u["username"] != "mallory"), "{users}");
        server
    })
    .await;
}

#[tokio::test]
async fn scoped_admin_cannot_reset_a_users_password() {
    for_each_store(|server| async move {
        let f = fixture(&server).await;
        let reset = json!({"password": "taken-over-by-a-project-token"});
        let (status, body) = f.shop_admin.post("/api/v1/users/admin/password", reset).await;
        assert_eq!(status, 403, "a shop admin reset the global admin's password: {body}");
        assert_eq!(f.admin.get("/api/v1/me").await.0, 200, "the admin's session must survive");
        server
    })
    .await;
}

#[tokio::test]
async fn scoped_admin_lists_only_its_own_tokens_and_projects() {
    for_each_store(|server| async move {
        let f = fixture(&server).await;
        let tokens = f.shop_admin.ok(Method::GET, "/api/v1/tokens", None, 200).await;
        let projects: Vec<&Value> = tokens.as_array().unwrap().iter().map(|t| &t["project"]).collect();
        assert!(!projects.is_empty() && projects.iter().all(|p| *p == "shop"), "{tokens}");
        let listed = f.shop_admin.ok(Method::GET, "/api/v1/projects", None, 200).await;
        let keys: Vec<&Value> = listed.as_array().unwrap().iter().map(|p| &p["key"]).collect();
        assert_eq!(keys, [&json!("shop")], "{listed}");
        // and it cannot create a project (outside its scope by definition)
        let (status, body) = f.shop_admin.post("/api/v1/projects", json!({"key": "mine"})).await;
        assert_eq!(status, 403, "{body}");
        // the global admin still sees everything
        let all = f.admin.ok(Method::GET, "/api/v1/tokens", None, 200).await;
        assert!(all.as_array().unwrap().iter().any(|t| t["project"] == "other"), "{all}");
        server
    })
    .await;
}

#[tokio::test]
async fn scoped_admin_cannot_revoke_other_projects_tokens() {
    for_each_store(|server| async move {
        let f = fixture(&server).await;
        for id in [f.other_token_id, f.global_token_id] {
            let (status, body) = f.shop_admin.call(Method::DELETE, &format!("/api/v1/tokens/{id}"), None).await;
            assert_eq!(status, 404, "a shop admin revoked token {id} outside its scope: {body}");
        }
        let global = Api::new(&server, Some(&f.global_token));
        assert_eq!(global.get("/api/v1/me").await.0, 200, "the unscoped token must still work");
        let listed = f.admin.ok(Method::GET, "/api/v1/tokens", None, 200).await;
        let other = listed.as_array().unwrap().iter().find(|t| t["id"] == f.other_token_id).unwrap();
        assert!(other["revoked_at"].is_null(), "{other}");
        server
    })
    .await;
}

#[tokio::test]
async fn authorization_comes_before_body_parsing() {
    for_each_store(|server| async move {
        let f = fixture(&server).await;
        let anonymous = Api::new(&server, None);
        let kill = "/api/v1/projects/shop/environments/prod/flags/f/kill";
        // (method, path): admin or editor routes a responder may not call
        let routes = [
            (Method::POST, "/api/v1/projects".to_string()),
            (Method::POST, "/api/v1/tokens".into()),
            (Method::POST, "/api/v1/users".into()),
            (Method::POST, "/api/v1/projects/shop/flags".into()),
            (Method::PUT, "/api/v1/projects/shop/environments/prod/flags/f".into()),
            (Method::POST, "/api/v1/projects/shop/environments/prod/sdk-keys".into()),
            (Method::POST, "/api/v1/projects/shop/webhooks".into()),
        ];
        for (method, path) in &routes {
            for body in [json!("not an object"), json!({"unexpected": [1, 2]})] {
                let (status, problem) = f.shop_responder.call(method.clone(), path, Some(body.clone())).await;
                assert_eq!(status, 403, "responder {method} {path} {body}: {problem}");
                assert_eq!(problem["code"], "forbidden", "{problem}");
                let (status, problem) = anonymous.call(method.clone(), path, Some(body)).await;
                assert_eq!(status, 401, "anonymous {method} {path}: {problem}");
            }
        }
        // another project's route: 404 before the body is looked at
        let other = "/api/v1/projects/other/environments/prod/flags/f/kill";
        let (status, problem) = f.shop_responder.call(Method::POST, other, Some(json!(7))).await;
        assert_eq!(status, 404, "{problem}");
        // a route the responder may call still validates its body
        let (status, problem) = f.shop_responder.call(Method::POST, kill, Some(json!(7))).await;
        assert_eq!(status, 422, "{problem}");
        server
    })
    .await;
}
