//! `switchyard projects create|list` and `switchyard envs list|create|set`
//! against a running server: the real binary, token via the environment.
//! The CLI only speaks HTTP, so one store (SQLite) is enough here; the
//! store side is tested on both in `tests/environments.rs`.

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::testing::{TestDb, TestServer};

mod cli_support;
use cli_support::cli;

async fn admin_token(server: &TestServer) -> String {
    let body = json!({"name": "ops", "role": "admin"});
    server.admin(Method::POST, "/api/v1/tokens", body).await["secret"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_and_environments_from_the_command_line() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    let token = admin_token(&server).await;

    let args = ["projects", "create", "shop", "--environments", "development,staging,production"];
    let (code, out, err) = cli(&server, &token, &args).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("created project shop"), "{out}");
    let rows: Vec<&str> = out.lines().skip(2).collect();
    assert!(rows[2].contains("production") && rows[2].contains("#c62828"), "{out}");

    let (code, out, err) =
        cli(&server, &token, &["envs", "create", "canary", "--color", "#123ABC", "--position", "1"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("canary") && out.contains("#123abc"), "{out}");
    let (code, out, err) =
        cli(&server, &token, &["envs", "set", "production", "--position", "0", "--name", "Prod"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = cli(&server, &token, &["envs", "set", "staging", "--no-color", "--json"]).await;
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["color"], Value::Null, "{out}");

    let (code, out, _) = cli(&server, &token, &["envs", "list", "--json"]).await;
    assert_eq!(code, 0);
    let list: Value = serde_json::from_str(&out).unwrap();
    let keys: Vec<&str> = list.as_array().unwrap().iter().map(|e| e["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["development", "production", "staging", "canary"], "{list}");
    assert_eq!(list[1]["name"], "Prod");

    // a bad colour: exit 1 with the server's reason
    let (code, _, err) = cli(&server, &token, &["envs", "set", "production", "--color", "red"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("#rrggbb"), "{err}");
    let (code, out, _) = cli(&server, &token, &["projects", "list"]).await;
    assert_eq!(code, 0);
    assert!(out.starts_with("shop"), "{out}");
    server.stop().await;
    db.cleanup().await;
}
