//! `switchyard members list|set|remove` against a running server: the real
//! binary, token via the environment. The CLI only speaks HTTP, so one store
//! (SQLite) is enough here; both stores are in `tests/members.rs`.

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::testing::{TestDb, TestServer};

mod cli_support;
use cli_support::cli;

async fn token(server: &TestServer, role: &str, project: Option<&str>) -> String {
    let body = json!({"name": format!("{role}-bot"), "role": role, "project": project});
    server.admin(Method::POST, "/api/v1/tokens", body).await["secret"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_from_the_command_line() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    server.admin(Method::POST, "/api/v1/projects", json!({"key": "shop"})).await;
    let user = json!({"username": "pat", "password": "a-long-password", "role": "viewer"});
    server.admin(Method::POST, "/api/v1/users", user).await;
    let admin = token(&server, "admin", Some("shop")).await;
    // a project's admin names only users it can see: its project's members (a global admin adds them)
    let (code, _, err) = cli(&server, &admin, &["members", "set", "pat", "--role", "editor"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("404") || err.contains("not found"), "{err}");
    server.admin(Method::PUT, "/api/v1/projects/shop/members/pat", json!({"role": "viewer"})).await;

    let (code, out, err) = cli(&server, &admin, &["members", "set", "pat", "--role", "editor"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, "pat is editor in shop\n");
    let (code, out, _) = cli(&server, &admin, &["members", "list"]).await;
    assert_eq!(code, 0);
    let row = out.lines().nth(1).unwrap();
    assert!(
        row.starts_with("pat") && row.contains("editor") && row.contains("viewer") && row.contains("admin-bot"),
        "{out}"
    );
    let (code, out, _) = cli(&server, &admin, &["members", "list", "--json"]).await;
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()[0]["role"], "editor");

    // refused: a role that does not exist (before any request), an editor's token
    let (code, _, err) = cli(&server, &admin, &["members", "set", "pat", "--role", "owner"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("--role is viewer, responder, editor or admin"), "{err}");
    let editor = token(&server, "editor", Some("shop")).await;
    let (code, _, err) = cli(&server, &editor, &["members", "remove", "pat"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("403") || err.to_lowercase().contains("not allow"), "{err}");

    let (code, out, err) = cli(&server, &admin, &["members", "remove", "pat"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, "pat is no longer a member of shop\n");
    let (code, out, _) = cli(&server, &admin, &["members", "list", "--json"]).await;
    assert_eq!((code, out.trim()), (0, "[]"));
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projects_tokens_from_the_command_line() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    server.admin(Method::POST, "/api/v1/projects", json!({"key": "shop"})).await;
    let admin = token(&server, "admin", Some("shop")).await;

    let (code, secret, err) = cli(&server, &admin, &["tokens", "create", "deploy", "--role", "editor"]).await;
    assert_eq!(code, 0, "{err}");
    let secret = secret.trim().to_string();
    assert!(secret.starts_with("sya_"), "{secret}");
    let (code, out, _) = cli(&server, &secret, &["flags", "list", "--json"]).await;
    assert_eq!(code, 0, "the new token reads shop: {out}");
    let (code, out, _) = cli(&server, &admin, &["tokens", "list"]).await;
    assert_eq!(code, 0);
    assert!(out.lines().any(|l| l.contains("deploy") && l.contains("editor") && l.contains("admin-bot")), "{out}");
    let (code, out, _) = cli(&server, &admin, &["tokens", "list", "--json"]).await;
    assert_eq!(code, 0);
    let list: Value = serde_json::from_str(&out).unwrap();
    let id = list.as_array().unwrap().iter().find(|t| t["name"] == "deploy").unwrap()["id"].as_i64().unwrap();

    // an editor token cannot mint; a role that does not exist is refused before any request
    let (code, _, err) = cli(&server, &secret, &["tokens", "create", "x", "--role", "viewer"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("403") || err.to_lowercase().contains("not allow"), "{err}");
    let (code, _, err) = cli(&server, &admin, &["tokens", "create", "x", "--role", "owner"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("--role is viewer, responder, editor or admin"), "{err}");

    let (code, out, err) = cli(&server, &admin, &["tokens", "revoke", &id.to_string()]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("token {id} (deploy) revoked\n"));
    let (code, _, _) = cli(&server, &secret, &["flags", "list"]).await;
    assert_eq!(code, 1, "revoked");
    server.stop().await;
    db.cleanup().await;
}
