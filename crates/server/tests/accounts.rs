//! Accounts over real HTTP, on SQLite and Postgres: changing one's own
//! password, an admin resetting another user's, the minimum length (422
//! everywhere a password is set), and sessions ending when the password
//! changes; and misspelt fields refused (422), not ignored.

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::config::ServeConfig;
use switchyard_server::testing::{Api, TestDb, TestServer, for_each_store, login};

async fn create_user(admin: &Api, name: &str, password: &str, role: &str) {
    let body = json!({"username": name, "password": password, "role": role});
    admin.ok(Method::POST, "/api/v1/users", Some(body), 201).await;
}

async fn login_status(server: &TestServer, username: &str, password: &str) -> u16 {
    let (status, _) =
        Api::new(server, None).post("/api/v1/auth/login", json!({"username": username, "password": password})).await;
    status.as_u16()
}

/// A 422 whose single field error names `path` and `code`.
fn assert_field_error(status: reqwest::StatusCode, problem: &Value, path: &str, code: &str) {
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["code"], "validation_failed", "{problem}");
    assert_eq!(problem["errors"][0]["path"], path, "{problem}");
    assert_eq!(problem["errors"][0]["code"], code, "{problem}");
}

#[tokio::test]
async fn change_own_password_ends_old_sessions() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        create_user(&admin, "vera", "a-long-password", "viewer").await;
        let first = login(&server.base, "vera", "a-long-password").await;
        let second = login(&server.base, "vera", "a-long-password").await;
        let vera = Api::new(&server, Some(&first));

        // wrong current password: refused, nothing changes
        let body = json!({"current_password": "not-my-password", "new_password": "another-long-password"});
        let (status, problem) = vera.post("/api/v1/me/password", body).await;
        assert_field_error(status, &problem, "current_password", "incorrect_password");
        // too short: a clear 422 naming the minimum
        let body = json!({"current_password": "a-long-password", "new_password": "short"});
        let (status, problem) = vera.post("/api/v1/me/password", body).await;
        assert_field_error(status, &problem, "new_password", "password_too_short");
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("12"), "{problem}");
        assert_eq!(vera.get("/api/v1/me").await.0, 200, "a refused change keeps the session");

        let body = json!({"current_password": "a-long-password", "new_password": "another-long-password"});
        let changed = vera.ok(Method::POST, "/api/v1/me/password", Some(body), 200).await;
        let fresh = changed["token"].as_str().expect("a fresh session token").to_string();
        assert_eq!(changed["username"], "vera");

        // every earlier session of vera ends; the fresh one works
        for old in [&first, &second] {
            let (status, problem) = Api::new(&server, Some(old)).get("/api/v1/me").await;
            assert_eq!(status, 401, "{problem}");
        }
        assert_eq!(Api::new(&server, Some(&fresh)).get("/api/v1/me").await.1["name"], "vera");
        assert_eq!(login_status(&server, "vera", "a-long-password").await, 401);
        assert_eq!(login_status(&server, "vera", "another-long-password").await, 200);
        // other users' sessions are untouched
        assert_eq!(admin.get("/api/v1/me").await.0, 200);
        server
    })
    .await;
}

#[tokio::test]
async fn admin_resets_another_users_password() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        create_user(&admin, "vera", "a-long-password", "viewer").await;
        create_user(&admin, "eddie", "a-long-password", "editor").await;
        let vera_token = login(&server.base, "vera", "a-long-password").await;
        let eddie = Api::new(&server, Some(&login(&server.base, "eddie", "a-long-password").await));

        // only admins may reset; unknown users are 404; short is 422
        let (status, _) = eddie.post("/api/v1/users/vera/password", json!({"password": "hijacked-password"})).await;
        assert_eq!(status, 403);
        let (status, problem) =
            admin.post("/api/v1/users/nobody/password", json!({"password": "whatever-long-pw"})).await;
        assert_eq!((status.as_u16(), problem["code"].as_str()), (404, Some("not_found")), "{problem}");
        let (status, problem) = admin.post("/api/v1/users/vera/password", json!({"password": "short"})).await;
        assert_field_error(status, &problem, "password", "password_too_short");

        let user = admin
            .ok(Method::POST, "/api/v1/users/vera/password", Some(json!({"password": "reset-by-the-admin"})), 200)
            .await;
        assert_eq!((user["username"].as_str(), user["role"].as_str()), (Some("vera"), Some("viewer")));
        assert!(user.get("password_hash").is_none(), "{user}");
        let (status, _) = Api::new(&server, Some(&vera_token)).get("/api/v1/me").await;
        assert_eq!(status, 401, "the reset ends vera's sessions");
        assert_eq!(login_status(&server, "vera", "a-long-password").await, 401);
        assert_eq!(login_status(&server, "vera", "reset-by-the-admin").await, 200);
        assert_eq!(eddie.get("/api/v1/me").await.0, 200, "eddie's session is untouched");

        // an admin API token may reset too; an API token has no password of its own
        let token = admin
            .ok(Method::POST, "/api/v1/tokens", Some(json!({"name": "ops-bot", "role": "admin"})), 201)
            .await["secret"]
            .as_str()
            .unwrap()
            .to_string();
        let bot = Api::new(&server, Some(&token));
        bot.ok(Method::POST, "/api/v1/users/vera/password", Some(json!({"password": "reset-by-the-bot!"})), 200).await;
        let body = json!({"current_password": "x", "new_password": "another-long-password"});
        let (status, problem) = bot.post("/api/v1/me/password", body).await;
        assert_eq!((status.as_u16(), problem["code"].as_str()), (400, Some("not_a_user")), "{problem}");
        server
    })
    .await;
}

#[tokio::test]
async fn minimum_password_length_is_configurable_and_applies_to_new_users() {
    let db = TestDb::sqlite();
    let mut config = ServeConfig::for_tests(db.url());
    config.min_password_length = 16; // the test admin password has 19 characters
    let server = TestServer::start_with(config).await;
    let admin = Api::new(&server, Some(&server.admin_token));
    let body = json!({"username": "sam", "password": "fifteen-chars!!", "role": "viewer"});
    let (status, problem) = admin.post("/api/v1/users", body).await;
    assert_field_error(status, &problem, "password", "password_too_short");
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("16"), "{problem}");
    create_user(&admin, "sam", "sixteen-chars-ok", "viewer").await;
    server.stop().await;
    db.cleanup().await;
}

/// A misspelt field is refused, not dropped: `"projct": "shop"` on a new
/// token used to create a token for every project (the field ignored, the
/// token global), and `"reasn"` on a toggle an unexplained audit entry.
/// Each is a 422 naming the field, and nothing is created or written.
#[tokio::test]
async fn misspelt_fields_are_refused_not_ignored() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "shop"})), 201).await;
        let typo = json!({"name": "pager", "role": "responder", "projct": "shop"});
        let (status, problem) = admin.post("/api/v1/tokens", typo).await;
        assert_eq!(status, 422, "{problem}");
        assert!(problem.to_string().contains("unknown field `projct`"), "{problem}");
        let tokens = admin.get("/api/v1/tokens").await.1;
        assert!(!tokens.to_string().contains("pager"), "no token was created: {tokens}");

        let typo = json!({"username": "vera", "password": "a-long-password", "role": "viewer", "projects": ["shop"]});
        assert_eq!(admin.post("/api/v1/users", typo).await.0, 422);

        admin.ok(Method::POST, "/api/v1/projects/shop/environments", Some(json!({"key": "production"})), 201).await;
        let flag = json!({"key": "checkout", "kind": "boolean"});
        admin.ok(Method::POST, "/api/v1/projects/shop/flags", Some(flag), 201).await;
        let toggle = "/api/v1/projects/shop/environments/production/flags/checkout/toggle";
        let (status, problem) = admin.post(toggle, json!({"on": true, "reasn": "deploy"})).await;
        assert_eq!(status, 422, "{problem}");
        let config = admin.get("/api/v1/projects/shop/environments/production/flags/checkout").await.1;
        assert_eq!(config["config"]["on"], false, "nothing was written: {config}");
        server
    })
    .await;
}
