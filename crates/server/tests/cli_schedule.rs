//! `switchyard schedule add|list|edit|cancel` against a running server: the
//! real binary, token via the environment. The CLI only speaks HTTP, so one
//! store (SQLite) is enough here; the scheduler is tested on both stores in
//! `tests/schedule.rs`.

use std::time::{Duration, Instant};

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
async fn schedule_list_edit_and_cancel_from_the_command_line() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    server.admin(Method::POST, "/api/v1/projects", json!({"key": "shop"})).await;
    server.admin(Method::POST, "/api/v1/projects/shop/environments", json!({"key": "production"})).await;
    let flag = json!({"key": "checkout", "kind": "boolean"});
    server.admin(Method::POST, "/api/v1/projects/shop/flags", flag).await;
    let editor = token(&server, "release-bot", "editor").await;

    // A toggle in a second, applied by the scheduler, requested by the token.
    let (code, out, err) = cli(
        &server,
        &editor,
        &["schedule", "add", "checkout", "-e", "production", "--in", "1s", "--on", "-r", "launch"],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("scheduled #") && out.contains("PENDING") && out.contains("release-bot"), "{out}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Api::new(&server, Some(&server.admin_token))
        .ok(Method::GET, &format!("{PROD}/flags/checkout"), None, 200)
        .await["config"]["on"]
        != true
    {
        assert!(Instant::now() < deadline, "the scheduled toggle was never applied");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A rollout in an hour: listed, edited, cancelled.
    let args = ["schedule", "add", "checkout", "-e", "production", "--in", "1h", "--rollout", "on=25,off=75", "--json"];
    let (code, out, err) = cli(&server, &editor, &args).await;
    assert_eq!(code, 0, "{out}{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(created["change"]["fallthrough"]["rollout"]["variations"][0]["weight"], 25000, "{created}");
    let id = created["id"].to_string();
    let (code, out, _) = cli(&server, &editor, &["schedule", "list", "-e", "production"]).await;
    assert_eq!(code, 0);
    assert!(out.lines().next().is_some_and(|l| l.contains(&format!("#{id}")) && l.contains("PENDING")), "{out}");
    assert!(out.contains("APPLIED"), "the applied toggle is listed too: {out}");
    let (code, out, err) =
        cli(&server, &editor, &["schedule", "edit", &id, "-e", "production", "--in", "2h", "--off"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("\"on\":false"), "{out}");
    let (code, out, err) =
        cli(&server, &editor, &["schedule", "cancel", &id, "-e", "production", "-r", "not yet"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("CANCELLED"), "{out}");
    let (code, _, err) = cli(&server, &editor, &["schedule", "cancel", &id, "-e", "production"]).await;
    assert_eq!(code, 1, "a second cancel is refused: {err}");
    assert!(err.contains("schedule_state") || err.contains("no longer"), "{err}");

    // A responder may kill, not schedule.
    let responder = token(&server, "pager", "responder").await;
    let (code, _, err) =
        cli(&server, &responder, &["schedule", "add", "checkout", "-e", "production", "--in", "1h", "--off"]).await;
    assert_eq!(code, 1, "{err}");
    server.stop().await;
    db.cleanup().await;
}
