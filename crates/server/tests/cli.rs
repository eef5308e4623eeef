//! The `switchyard` CLI's responder commands against a running server:
//! the real binary (`CARGO_BIN_EXE_switchyard`), token via the environment.
//! The CLI only speaks HTTP, so one store (SQLite) is enough here.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use switchyard_server::testing::{TestDb, TestServer};

mod cli_support;
use cli_support::cli;

const PROD: &str = "/api/v1/projects/shop/environments/production";

async fn kill_state(server: &TestServer) -> Value {
    let resp = reqwest::Client::new()
        .get(server.url(&format!("{PROD}/flags/checkout")))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    resp.json::<Value>().await.unwrap()["config"]["kill"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_and_restore_with_receipts_and_exit_codes() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    server.admin(reqwest::Method::POST, "/api/v1/projects", json!({"key": "shop"})).await;
    server.admin(reqwest::Method::POST, "/api/v1/projects/shop/environments", json!({"key": "production"})).await;
    server
        .admin(reqwest::Method::POST, "/api/v1/projects/shop/flags", json!({"key": "checkout", "kind": "boolean"}))
        .await;
    let token =
        server.admin(reqwest::Method::POST, "/api/v1/tokens", json!({"name": "pager", "role": "responder"})).await;
    let token = token["secret"].as_str().unwrap().to_string();

    // Kill with a wait: no SDK connected, so the receipt is complete (0/0).
    let kill = [
        "kill",
        "checkout",
        "--env",
        "production",
        "--reason",
        "errors spiking",
        "--incident",
        "INC-9",
        "--wait",
        "5s",
    ];
    let (code, out, err) = cli(&server, &token, &kill).await;
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("killed checkout in production") && out.contains("revision"), "{out}");
    assert!(out.contains("connected") && out.contains("applied") && !out.contains("WARNING"), "{out}");
    // The receipt's header and value columns line up.
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("  ")).take(2).collect();
    let starts = |l: &str| -> Vec<usize> {
        let b = l.as_bytes();
        (1..b.len()).filter(|&i| b[i] != b' ' && b[i - 1] == b' ').collect()
    };
    assert_eq!(starts(rows[0]), starts(rows[1]), "receipt columns misaligned:\n{out}");
    let state = kill_state(&server).await;
    assert_eq!((state["by"].as_str(), state["incident"].as_str()), (Some("pager"), Some("INC-9")), "{state}");

    // Killing again is a no-op, said so.
    let (code, out, _) = cli(&server, &token, &kill).await;
    assert_eq!(code, 0);
    assert!(out.contains("already in that state"), "{out}");

    // Restore, as JSON.
    let (code, out, err) =
        cli(&server, &token, &["restore", "checkout", "-e", "production", "-r", "fixed", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let restored: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("--json output is JSON ({e}): {out}"));
    assert_eq!(restored["changed"], true);
    assert!(restored["value"][0]["config"]["kill"].is_null(), "{restored}");
    assert!(restored["receipt"].is_null(), "no --wait, no receipt: {restored}");
    assert!(kill_state(&server).await.is_null());

    // A stream that never acknowledges is connected but pending: exit 3.
    let sdk_key = server.admin(reqwest::Method::POST, &format!("{PROD}/sdk-keys"), json!({"name": "raw"})).await;
    let resp = reqwest::Client::new()
        .get(server.url("/sdk/v1/stream"))
        .bearer_auth(sdk_key["secret"].as_str().unwrap())
        .header("x-switchyard-instance", "never-acks")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut stream = resp.bytes_stream();
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("stream data");
    assert!(first.is_some());
    let kill_briefly = ["kill", "checkout", "--env", "production", "--reason", "again", "--wait", "300ms"];
    let (code, out, err) = cli(&server, &token, &kill_briefly).await;
    assert_eq!(code, 3, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("WARNING"), "{out}");
    let (code, out, _) =
        cli(&server, &token, &["restore", "checkout", "-e", "production", "-r", "ok", "--wait", "300ms", "--json"])
            .await;
    assert_eq!(code, 3);
    let restored: Value = serde_json::from_str(&out).expect("--json output is JSON");
    let receipt = &restored["receipt"];
    assert_eq!(
        (receipt["connected"].as_u64(), receipt["applied"].as_u64(), receipt["pending"].as_u64()),
        (Some(1), Some(0), Some(1)),
        "{restored}"
    );
    drop(stream);

    // The audit shows the CLI's actor.
    let (code, out, _) = cli(&server, &token, &["audit", "--flag", "checkout", "--limit", "10"]).await;
    assert_eq!(code, 0);
    assert!(out.contains("flag.kill") && out.contains("pager"), "{out}");
    assert!(out.starts_with("TIME") && out.lines().next().unwrap().contains("INCIDENT"), "{out}");
    assert!(out.lines().any(|l| l.contains("flag.kill") && l.contains("INC-9")), "the incident column: {out}");

    // A bad token: exit 1 with the server's answer; nothing changes.
    let (code, out, err) = cli(&server, "sya_not_a_real_token", &kill).await;
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    assert!(err.contains("401"), "{err}");
    assert!(kill_state(&server).await.is_null());
    // No token at all: refused before any request.
    let (code, _, err) = cli(&server, "", &kill).await;
    assert_eq!(code, 1, "{err}");

    server.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_create_list_deliveries_delete() {
    let db = TestDb::sqlite();
    let mut config = switchyard_server::config::ServeConfig::for_tests(db.url());
    config.webhook_allow_private = true;
    let server = TestServer::start_with(config).await;
    server.admin(reqwest::Method::POST, "/api/v1/projects", json!({"key": "shop"})).await;
    server.admin(reqwest::Method::POST, "/api/v1/projects/shop/environments", json!({"key": "production"})).await;
    server
        .admin(reqwest::Method::POST, "/api/v1/projects/shop/flags", json!({"key": "checkout", "kind": "boolean"}))
        .await;
    let token = server.admin(reqwest::Method::POST, "/api/v1/tokens", json!({"name": "ops", "role": "admin"})).await;
    let token = token["secret"].as_str().unwrap().to_string();
    // a receiver that accepts everything
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(axum::routing::post(|| async { axum::http::StatusCode::NO_CONTENT }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let (code, out, err) =
        cli(&server, &token, &["webhooks", "create", "--url", &url, "--events", "flag.changed,flag.killed", "--json"])
            .await;
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let created: Value = serde_json::from_str(&out).expect("--json output is JSON");
    let id = created["webhook"]["id"].as_i64().unwrap().to_string();
    assert!(created["secret"].as_str().unwrap().starts_with("whs_"));
    let (code, out, err) = cli(&server, &token, &["webhooks", "create", "--url", &url, "--events", "flag.kiled"]).await;
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    assert!(err.contains("422") && err.contains("events[0]") && err.contains("unknown event type"), "{err}");

    let (code, out, _) = cli(&server, &token, &["webhooks", "list"]).await;
    assert_eq!(code, 0);
    assert!(out.contains(&url) && out.contains("flag.killed,flag.changed") && out.contains("active"), "{out}");

    server.admin(reqwest::Method::POST, &format!("{PROD}/flags/checkout/toggle"), json!({"on": true})).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (code, out, _) = cli(&server, &token, &["webhooks", "deliveries", &id, "--json"]).await;
        assert_eq!(code, 0);
        let list: Value = serde_json::from_str(&out).expect("--json output is JSON");
        if list[0]["status"] == "delivered" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not delivered: {list}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (code, out, _) = cli(&server, &token, &["webhooks", "deliveries", &id]).await;
    assert_eq!(code, 0);
    assert!(out.contains("flag.changed") && out.contains("delivered") && out.contains("204"), "{out}");

    let (code, out, _) = cli(&server, &token, &["webhooks", "delete", &id]).await;
    assert_eq!(code, 0);
    assert!(out.contains(&format!("deleted webhook {id}")), "{out}");
    let (_, out, _) = cli(&server, &token, &["webhooks", "list"]).await;
    assert!(out.contains("deleted"), "{out}");
    server.stop().await;
    db.cleanup().await;
}

/// A responder at 3 a.m.: `panic` says what it will kill and what was
/// already killed (left as it was), `kill` with a typo names the closest
/// flag or environment, and `flags get` reads as a state, not JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_previews_and_typos_get_the_closest_name() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    let post = reqwest::Method::POST;
    server.admin(post.clone(), "/api/v1/projects", json!({"key": "shop"})).await;
    server.admin(post.clone(), "/api/v1/projects/shop/environments", json!({"key": "production"})).await;
    for key in ["checkout", "wallet", "banner"] {
        let tags = if key == "banner" { json!([]) } else { json!(["payments"]) };
        server
            .admin(post.clone(), "/api/v1/projects/shop/flags", json!({"key": key, "kind": "boolean", "tags": tags}))
            .await;
    }
    server.admin(post.clone(), &format!("{PROD}/flags/wallet/kill"), json!({"reason": "earlier"})).await;
    let token = server.admin(post, "/api/v1/tokens", json!({"name": "pager", "role": "responder"})).await;
    let token = token["secret"].as_str().unwrap().to_string();

    let panic = ["panic", "--tag", "payments", "--env", "production", "--reason", "checkout down"];
    let (code, out, err) = cli(&server, &token, &panic).await;
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(err.contains("killing 1 flag(s): checkout"), "{err}");
    assert!(err.contains("already killed, left as they are: wallet"), "{err}");
    assert!(out.contains("killed 1 flag(s) in production"), "{out}");
    assert_eq!(kill_state(&server).await["reason"], "checkout down");
    let undo = ["restore", "--tag", "payments", "--env", "production", "--reason", "fixed"];
    let (code, out, err) = cli(&server, &token, &undo).await;
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("restored 2 flag(s) in production"), "checkout and wallet: {out}");
    assert!(kill_state(&server).await.is_null(), "checkout restored");
    server.admin(reqwest::Method::POST, &format!("{PROD}/flags/checkout/kill"), json!({"reason": "again"})).await;

    let typo = ["kill", "chekout", "--env", "production", "--reason", "x"];
    let (code, out, err) = cli(&server, &token, &typo).await;
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("did you mean `checkout`?"), "{err}");
    let typo = ["kill", "checkout", "--env", "producton", "--reason", "x"];
    let (code, _, err) = cli(&server, &token, &typo).await;
    assert_ne!(code, 0);
    assert!(err.contains("no environment `producton`: did you mean `production`?"), "{err}");

    let (code, out, err) = cli(&server, &token, &["flags", "get", "checkout", "--env", "production"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("checkout in production"), "{out}");
    assert!(out.contains("KILLED: serving `off` to everyone") || out.contains("KILLED"), "{out}");
    assert!(!out.trim_start().starts_with('{'), "a human view unless --json: {out}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_lists_the_connected_sdks() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    server.admin(reqwest::Method::POST, "/api/v1/projects", json!({"key": "shop"})).await;
    server.admin(reqwest::Method::POST, "/api/v1/projects/shop/environments", json!({"key": "production"})).await;
    let key = server.admin(reqwest::Method::POST, &format!("{PROD}/sdk-keys"), json!({"name": "svc"})).await;
    let key = key["secret"].as_str().unwrap().to_string();
    let token = server.admin(reqwest::Method::POST, "/api/v1/tokens", json!({"name": "look", "role": "viewer"})).await;
    let token = token["secret"].as_str().unwrap().to_string();
    let sdk = switchyard::Client::builder(key.as_str())
        .base_url(server.base.as_str())
        .service_name("checkout")
        .service_version("1.4.2")
        .build()
        .unwrap();
    sdk.wait_until_ready(Duration::from_secs(10)).await.unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let out = loop {
        let (code, out, err) = cli(&server, &token, &["fleet", "--env", "production"]).await;
        assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
        if out.contains("checkout") {
            break out;
        }
        assert!(tokio::time::Instant::now() < deadline, "{out}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(out.starts_with("1 instance(s) in production at revision"), "{out}");
    assert!(out.contains("1.4.2") && out.contains("sse") && out.contains("switchyard-rust/"), "{out}");
    let (code, json_out, _) = cli(&server, &token, &["fleet", "--env", "production", "--json"]).await;
    assert_eq!(code, 0);
    let view: Value = serde_json::from_str(&json_out).unwrap();
    assert_eq!(view["instances"][0]["service"], "checkout", "{view}");
    let (code, _, err) = cli(&server, &token, &["fleet", "--env", "nope"]).await;
    assert_eq!(code, 1, "{err}");
    drop(sdk);
    server.stop().await;
    db.cleanup().await;
}
