//! Shared pieces of the trigger tests: the seeded project, trigger creation, hook calls, audit and kill-state reads, an Alertmanager body.

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::testing::{Api, TestServer};

pub const P: &str = "/api/v1/projects/shop";
pub const FLAG: &str = "/api/v1/projects/shop/environments/production/flags/checkout";

pub async fn seed(admin: &Api) {
    admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "shop"})), 201).await;
    admin.ok(Method::POST, &format!("{P}/environments"), Some(json!({"key": "production"})), 201).await;
    admin.ok(Method::POST, &format!("{P}/flags"), Some(json!({"key": "checkout", "kind": "boolean"})), 201).await;
}

/// Creates a trigger and returns (its id, its hook path).
pub async fn trigger(admin: &Api, name: &str, action: &str, restore_on_resolve: bool) -> (i64, String) {
    let body = json!({"name": name, "action": action, "restore_on_resolve": restore_on_resolve});
    let created = admin.ok(Method::POST, &format!("{FLAG}/triggers"), Some(body), 201).await;
    let path = created["path"].as_str().expect("path").to_string();
    assert!(path.starts_with("/hooks/v1/triggers/trg_"), "{path}");
    (created["trigger"]["id"].as_i64().expect("id"), path)
}

/// POSTs a raw body (no credential) to a hook path.
pub async fn hook(server: &TestServer, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut req = reqwest::Client::new().post(server.url(path));
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.expect("hook request")
}

pub async fn hook_json(server: &TestServer, path: &str, body: Option<Value>) -> Value {
    let resp = hook(server, path, body).await;
    let status = resp.status();
    let body: Value = resp.json().await.expect("json");
    assert_eq!(status, 200, "{path} → {body}");
    body
}

/// The audit history, newest first, without kill receipts
/// (`flag.kill.applied`, appended in the background after every kill).
/// The audit events but delivery receipts (recorded in the background:
/// `flag.kill.applied`, and `flag.restore.applied` of a restore with an incident).
pub async fn audit(admin: &Api) -> Vec<Value> {
    let receipt = |e: &Value| e["action"].as_str().is_some_and(|a| a.ends_with(".applied"));
    audit_all(admin).await.into_iter().filter(|e| !receipt(e)).collect()
}

pub async fn audit_all(admin: &Api) -> Vec<Value> {
    let page = admin.ok(Method::GET, &format!("{P}/audit?limit=1000"), None, 200).await;
    page["items"].as_array().cloned().unwrap_or_default()
}

/// Waits (bounded) for the receipt of the kill at `revision` in the audit.
pub async fn kill_receipt(admin: &Api, revision: u64) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let events = audit_all(admin).await;
        if let Some(e) =
            events.iter().find(|e| e["action"] == "flag.kill.applied" && e["revision"].as_u64() == Some(revision))
        {
            return e.clone();
        }
        assert!(std::time::Instant::now() < deadline, "no flag.kill.applied for revision {revision}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

pub async fn kill_state(admin: &Api) -> Value {
    admin.ok(Method::GET, FLAG, None, 200).await["config"]["kill"].clone()
}

pub async fn revision(admin: &Api) -> u64 {
    let env = admin.ok(Method::GET, &format!("{P}/environments/production"), None, 200).await;
    env["revision"].as_u64().expect("revision")
}

pub fn alertmanager(status: &str) -> Value {
    json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"HighErrorRate\"}",
        "status": status,
        "receiver": "switchyard",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate", "service": "checkout", "incident": "INC-42"},
        "commonAnnotations": {"summary": "5xx above 5% for 5m"},
        "externalURL": "http://alertmanager:9093",
        "alerts": [{
            "status": status,
            "labels": {"alertname": "HighErrorRate", "service": "checkout"},
            "annotations": {"summary": "5xx above 5% for 5m"},
            "startsAt": "2025-01-01T00:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": "abc"
        }]
    })
}
