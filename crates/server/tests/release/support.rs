//! Helpers of the release plan tests: the seeded project, waiting for a
//! plan's state, and the stage writes the audit history holds.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::client::Client;
use switchyard_server::testing::TestServer;

/// The admin API of a test server, as the release tests call it.
pub type Api = Client;

/// One request; the status and the JSON body.
pub async fn call(api: &Api, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let reply = api.exchange(method, path, body.as_ref()).await.expect("request");
    (reply.status.as_u16(), reply.body)
}

/// One request whose status must be `want`; its body.
pub async fn ok(api: &Api, method: Method, path: &str, body: Option<Value>, want: u16) -> Value {
    let (status, reply) = call(api, method.clone(), path, body).await;
    assert_eq!(status, want, "{method} {path} → {reply}");
    reply
}

pub const FLAG: &str = "/api/v1/projects/shop/environments/production/flags/checkout";
pub const RELEASE: &str = "/api/v1/projects/shop/environments/production/flags/checkout/release";

/// Project `shop`, environment `production`, boolean flag `checkout`, on.
pub async fn seed(api: &Api) {
    ok(api, Method::POST, "/api/v1/projects", Some(json!({"key": "shop"})), 201).await;
    ok(api, Method::POST, "/api/v1/projects/shop/environments", Some(json!({"key": "production"})), 201).await;
    ok(api, Method::POST, "/api/v1/projects/shop/flags", Some(json!({"key": "checkout", "kind": "boolean"})), 201)
        .await;
    ok(api, Method::POST, &format!("{FLAG}/toggle"), Some(json!({"on": true})), 200).await;
}

pub fn admin(server: &TestServer) -> Api {
    Client::new(&server.base).with_token(&server.admin_token)
}

/// Stages at these percentages, each held `seconds`.
pub fn stages(percents: &[f64], seconds: u64) -> Value {
    json!(percents.iter().map(|p| json!({"percent": p, "min_duration_seconds": seconds})).collect::<Vec<_>>())
}

/// Guards without metrics: the sample-ratio check alone, which without
/// any telemetry has nothing against a stage (the guard-wired tests with
/// real SDK telemetry are in `release_guard.rs`).
pub fn unguarded() -> Value {
    json!({"error_rate": false, "latency_p95": false})
}

/// Polls the plan until `done` holds (fails after 60 s: a deadline, not a
/// timing assertion).
pub async fn wait_for(api: &Api, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, plan) = call(api, Method::GET, RELEASE, None).await;
        if status == 200 && done(&plan) {
            return plan;
        }
        assert!(Instant::now() < deadline, "waiting for {what}: the plan is {plan}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The treatment share of each configuration write by the plan, oldest
/// first, read from the audit history (percent; 100 when it serves the
/// treatment alone, 0 for the control alone).
pub async fn stage_writes(api: &Api, plan: i64) -> Vec<f64> {
    let audit = ok(api, Method::GET, "/api/v1/projects/shop/audit?flag=checkout&limit=1000", None, 200).await;
    let mut writes: Vec<f64> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == format!("plan:{plan}") && e["action"] == "flag.config.update")
        .map(|e| share(&e["after"]["config"]["fallthrough"]))
        .collect();
    writes.reverse();
    writes
}

/// Treatment (`on`) percent a fallthrough serves.
pub fn share(fallthrough: &Value) -> f64 {
    if let Some(variant) = fallthrough.get("variant") {
        return if variant == "on" { 100.0 } else { 0.0 };
    }
    let arms = fallthrough["rollout"]["variations"].as_array().expect("a rollout");
    let on = arms.iter().find(|a| a["variant"] == "on").map_or(0, |a| a["weight"].as_u64().unwrap());
    on as f64 / 1000.0
}

/// The flag's current fallthrough share.
pub async fn current_share(api: &Api) -> f64 {
    let config = ok(api, Method::GET, FLAG, None, 200).await;
    share(&config["config"]["fallthrough"])
}

/// `POST` with a JSON body.
pub async fn post(api: &Api, path: &str, body: Value) -> (u16, Value) {
    call(api, Method::POST, path, Some(body)).await
}

/// `GET`.
pub async fn get(api: &Api, path: &str) -> (u16, Value) {
    call(api, Method::GET, path, None).await
}
