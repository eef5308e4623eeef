//! `switchyard schedule add|list|edit|cancel` against a running server: the
//! real binary, token via the environment. The CLI only speaks HTTP, so one
//! store (SQLite) is enough here; the scheduler is tested on both stores in
//! `tests/schedule.rs`.

use std::process::Output;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::testing::{TestDb, TestServer};

const PROD: &str = "/api/v1/projects/shop/environments/production";

async fn admin(server: &TestServer, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut request = reqwest::Client::new().request(method, server.url(path)).bearer_auth(&server.admin_token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let resp = request.send().await.unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

/// Runs `switchyard <args>` with the server, token and project in the environment.
async fn cli(server: &TestServer, token: &str, args: &[&str]) -> (i32, String, String) {
    let Output { status, stdout, stderr } = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .env("SWITCHYARD_URL", &server.base)
        .env("SWITCHYARD_TOKEN", token)
        .env("SWITCHYARD_PROJECT", "shop")
        .env_remove("SWITCHYARD_ENV")
        .kill_on_drop(true)
        .output()
        .await
        .expect("running the switchyard binary");
    let (stdout, stderr) =
        (String::from_utf8_lossy(&stdout).into_owned(), String::from_utf8_lossy(&stderr).into_owned());
    (status.code().expect("exit code"), stdout, stderr)
}

async fn token(server: &TestServer, name: &str, role: &str) -> String {
    let body = json!({"name": name, "role": role, "project": "shop"});
    admin(server, Method::POST, "/api/v1/tokens", Some(body)).await["secret"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_list_edit_and_cancel_from_the_command_line() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    admin(&server, Method::POST, "/api/v1/projects", Some(json!({"key": "shop"}))).await;
    admin(&server, Method::POST, "/api/v1/projects/shop/environments", Some(json!({"key": "production"}))).await;
    let flag = json!({"key": "checkout", "kind": "boolean"});
    admin(&server, Method::POST, "/api/v1/projects/shop/flags", Some(flag)).await;
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
    while admin(&server, Method::GET, &format!("{PROD}/flags/checkout"), None).await["config"]["on"] != true {
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
