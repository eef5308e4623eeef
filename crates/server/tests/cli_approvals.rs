//! `switchyard approvals …` against a running server: the real binary,
//! tokens via the environment. The CLI only speaks HTTP, so one store
//! (SQLite) is enough here; approvals are tested on both stores in
//! `tests/approvals.rs`.

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::testing::{Api, TestDb, TestServer};

mod cli_support;
use cli_support::cli;

const PROD: &str = "/api/v1/projects/shop/environments/production";

async fn token(server: &TestServer, name: &str, role: &str) -> String {
    let body = json!({"name": name, "role": role, "project": "shop"});
    server.admin(Method::POST, "/api/v1/tokens", body).await["secret"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_approve_and_apply_from_the_command_line() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    server.admin(Method::POST, "/api/v1/projects", json!({"key": "shop"})).await;
    server.admin(Method::POST, "/api/v1/projects/shop/environments", json!({"key": "production"})).await;
    server.admin(Method::POST, "/api/v1/projects/shop/flags", json!({"key": "checkout", "kind": "boolean"})).await;
    let root = token(&server, "root", "admin").await;
    let (alice, bob) = (token(&server, "alice", "editor").await, token(&server, "bob", "editor").await);
    let (code, out, err) = cli(&server, &root, &["approvals", "policy", "-e", "production", "--approvals", "1"]).await;
    assert_eq!((code, out.as_str()), (0, "1 approval(s) by editor or above\n"), "{err}");

    let (code, out, err) = cli(
        &server,
        &alice,
        &["approvals", "request", "checkout", "-e", "production", "--on", "-r", "launch", "--json"],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    let id = serde_json::from_str::<Value>(&out).unwrap()["id"].to_string();
    let (code, _, err) = cli(&server, &alice, &["approvals", "approve", &id, "-e", "production"]).await;
    assert_eq!(code, 1, "the author cannot approve: {err}");
    let (code, out, err) = cli(&server, &bob, &["approvals", "approve", &id, "-e", "production", "-m", "ok"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("approvals: bob"), "{out}");
    let (code, out, err) = cli(&server, &alice, &["approvals", "list", "-e", "production"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("#{id} checkout in production: OPEN")), "{out}");
    let (code, out, err) = cli(&server, &alice, &["approvals", "apply", &id, "-e", "production"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("APPLIED"), "{out}");
    assert_eq!(
        Api::new(&server, Some(&server.admin_token))
            .ok(Method::GET, &format!("{PROD}/flags/checkout"), None, 200)
            .await["config"]["on"],
        true
    );
    server.stop().await;
    db.cleanup().await;
}

/// `approvals apply` of a request whose only approver was revoked since
/// says which approval no longer counts and why (409
/// `approvals_no_longer_valid`), nothing written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_says_which_approvals_no_longer_count() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    server.admin(Method::POST, "/api/v1/projects", json!({"key": "shop"})).await;
    server.admin(Method::POST, "/api/v1/projects/shop/environments", json!({"key": "production"})).await;
    server.admin(Method::POST, "/api/v1/projects/shop/flags", json!({"key": "checkout", "kind": "boolean"})).await;
    let root = token(&server, "root", "admin").await;
    let (alice, bob) = (token(&server, "alice", "editor").await, token(&server, "bob", "editor").await);
    cli(&server, &root, &["approvals", "policy", "-e", "production", "--approvals", "1"]).await;
    let args = ["approvals", "request", "checkout", "-e", "production", "--on", "--json"];
    let (code, out, err) = cli(&server, &alice, &args).await;
    assert_eq!(code, 0, "{out}{err}");
    let id = serde_json::from_str::<Value>(&out).unwrap()["id"].to_string();
    let (code, out, err) = cli(&server, &bob, &["approvals", "approve", &id, "-e", "production"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let api = Api::new(&server, Some(&server.admin_token));
    let tokens = api.ok(Method::GET, "/api/v1/tokens", None, 200).await;
    let list = tokens.as_array().or_else(|| tokens["items"].as_array()).unwrap();
    let bob_id = list.iter().find(|t| t["name"] == "bob").unwrap()["id"].as_i64().unwrap();
    api.ok(Method::DELETE, &format!("/api/v1/tokens/{bob_id}"), None, 200).await;

    let (code, out, err) = cli(&server, &alice, &["approvals", "apply", &id, "-e", "production"]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("`bob`") && err.contains("was revoked") && err.contains("no longer counts"), "{err}");
    assert_eq!(api.ok(Method::GET, &format!("{PROD}/flags/checkout"), None, 200).await["config"]["on"], false);
    server.stop().await;
    db.cleanup().await;
}
