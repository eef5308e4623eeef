//! Helpers of the scheduled change tests: the seeded project, times from
//! now, waiting for a change's state, and the audit history.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::client::Client;
use switchyard_server::testing::TestServer;

/// The admin API of a test server.
pub type Api = Client;

pub const PROD: &str = "/api/v1/projects/shop/environments/production";
pub const FLAG: &str = "/api/v1/projects/shop/environments/production/flags/checkout";

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

pub fn admin(server: &TestServer) -> Api {
    Client::new(&server.base).with_token(&server.admin_token)
}

/// Project `shop`, environment `production`, boolean flag `checkout`, on.
pub async fn seed(api: &Api) {
    ok(api, Method::POST, "/api/v1/projects", Some(json!({"key": "shop"})), 201).await;
    ok(api, Method::POST, "/api/v1/projects/shop/environments", Some(json!({"key": "production"})), 201).await;
    ok(api, Method::POST, "/api/v1/projects/shop/flags", Some(json!({"key": "checkout", "kind": "boolean"})), 201)
        .await;
    ok(api, Method::POST, &format!("{FLAG}/toggle"), Some(json!({"on": true})), 200).await;
}

/// RFC 3339 time `seconds` from now (negative: ago).
pub fn in_secs(seconds: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(seconds)).to_rfc3339()
}

/// Polls change `id` until it is in `state` (fails after 60 s: a
/// deadline, not a timing assertion).
pub async fn wait_state(api: &Api, id: i64, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, change) = call(api, Method::GET, &format!("{PROD}/scheduled/{id}"), None).await;
        if status == 200 && change["state"] == state {
            return change;
        }
        assert!(Instant::now() < deadline, "waiting for {state}: the change is {change}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The project's audit events, newest first.
pub async fn audit(api: &Api) -> Vec<Value> {
    let page = ok(api, Method::GET, "/api/v1/projects/shop/audit?limit=1000", None, 200).await;
    page["items"].as_array().cloned().unwrap_or_default()
}

/// How many configuration writes the scheduler made.
pub async fn scheduler_writes(api: &Api) -> usize {
    let writes = ["flag.toggle", "flag.config.update"];
    audit(api).await.iter().filter(|e| e["actor"] == "scheduler" && writes.iter().any(|w| e["action"] == *w)).count()
}
