//! Alert triggers over real HTTP, against SQLite and Postgres (both in CI):
//! Alertmanager and Grafana bodies, restore on resolve, 404 without audit
//! noise for unknown, rotated and deleted secrets, the rate limit.

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::testing::{Api, TestDb, TestServer, for_each_store};

#[path = "triggers/secrets.rs"]
mod secrets;
#[path = "triggers/support.rs"]
mod support;
use support::*;

#[tokio::test]
async fn alertmanager_fires_kill_and_resolve_restores_only_when_asked() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let (id, path) = trigger(&admin, "am-checkout", "kill", false).await;

        // listed by prefix, never the secret
        let list = admin.ok(Method::GET, &format!("{FLAG}/triggers"), None, 200).await;
        assert_eq!(list[0]["id"], id);
        assert_eq!(list[0]["name"], "am-checkout");
        assert_eq!(list[0]["action"], "kill");
        let secret = path.trim_start_matches("/hooks/v1/triggers/");
        assert!(secret.starts_with(list[0]["prefix"].as_str().unwrap()));
        assert!(!list.to_string().contains(secret));

        // firing: killed, with the reason and incident from the alert, as the trigger
        let before = revision(&admin).await;
        let out = hook_json(&server, &path, Some(alertmanager("firing"))).await;
        assert_eq!(out["ignored"], false);
        assert_eq!(out["action"], "kill");
        assert_eq!(out["changed"], true);
        assert_eq!(out["revision"].as_u64(), Some(before + 1));
        assert!(out.get("value").is_none(), "no configuration leaks: {out}");
        let kill = kill_state(&admin).await;
        assert_eq!(kill["reason"], "HighErrorRate: 5xx above 5% for 5m");
        assert_eq!(kill["incident"], "INC-42");
        assert_eq!(kill["by"], "am-checkout");
        let events = audit(&admin).await;
        assert_eq!(events[0]["action"], "flag.kill");
        assert_eq!(events[0]["actor"], "am-checkout");
        assert_eq!(events[0]["actor_kind"], "trigger");
        assert_eq!(events[0]["flag"], "checkout");
        assert!(events.iter().any(|e| e["action"] == "trigger.create"));
        // a trigger's kill gets its receipt recorded too (no SDK connected: complete at once)
        let applied = kill_receipt(&admin, before + 1).await;
        assert_eq!(applied["actor"], "am-checkout");
        assert_eq!(applied["after"]["connected"], 0);
        assert_eq!(applied["after"]["complete"], true);

        // firing again: idempotent; `?wait=` answers with a receipt
        let out = hook_json(&server, &format!("{path}?wait=50ms"), Some(alertmanager("firing"))).await;
        assert_eq!(out["changed"], false);
        assert_eq!(out["receipt"]["revision"].as_u64(), Some(before + 1));

        // resolved without restore_on_resolve: ignored, nothing written
        let count = audit(&admin).await.len();
        let out = hook_json(&server, &path, Some(alertmanager("resolved"))).await;
        assert_eq!(out["ignored"], true);
        assert_eq!(out["status"], "resolved");
        assert!(kill_state(&admin).await.is_object());
        assert_eq!(audit(&admin).await.len(), count);
        assert_eq!(revision(&admin).await, before + 1);

        // a restore-on-resolve trigger does not undo someone else's kill…
        let (_, auto) = trigger(&admin, "am-auto", "kill", true).await;
        let out = hook_json(&server, &auto, Some(alertmanager("resolved"))).await;
        assert_eq!(out["ignored"], true, "{out}");
        assert!(kill_state(&admin).await.is_object());

        // …but restores its own
        admin.ok(Method::DELETE, &format!("{FLAG}/kill"), Some(json!({"reason": "manual"})), 200).await;
        let out = hook_json(&server, &auto, Some(alertmanager("firing"))).await;
        assert_eq!(out["action"], "kill");
        assert_eq!(kill_state(&admin).await["by"], "am-auto");
        let out = hook_json(&server, &auto, Some(alertmanager("resolved"))).await;
        assert_eq!((out["ignored"].as_bool(), out["action"].as_str()), (Some(false), Some("restore")));
        assert_eq!(out["changed"], true);
        assert!(kill_state(&admin).await.is_null());
        let events = audit(&admin).await;
        assert_eq!(events[0]["action"], "flag.restore");
        assert_eq!(events[0]["actor_kind"], "trigger");
        assert_eq!(events[0]["actor"], "am-auto");
        assert!(events[0]["reason"].as_str().unwrap().starts_with("resolved: HighErrorRate"));

        // restore_on_resolve is for kill triggers only
        let (status, problem) = admin
            .call(
                Method::POST,
                &format!("{FLAG}/triggers"),
                Some(json!({"name": "x", "action": "restore", "restore_on_resolve": true})),
            )
            .await;
        assert_eq!(status, 422, "{problem}");
        server
    })
    .await;
}

#[tokio::test]
async fn routes_are_in_the_openapi_document() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    let doc = Api::new(&server, None).ok(Method::GET, "/api/openapi.json", None, 200).await;
    for path in [
        "/api/v1/projects/{project}/environments/{env}/flags/{flag}/triggers",
        "/api/v1/projects/{project}/environments/{env}/flags/{flag}/triggers/{id}",
        "/api/v1/projects/{project}/environments/{env}/flags/{flag}/triggers/{id}/rotate",
        "/hooks/v1/triggers/{secret}",
        "/api/v1/projects/{project}/webhooks",
        "/api/v1/projects/{project}/webhooks/{id}",
        "/api/v1/projects/{project}/webhooks/{id}/deliveries",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn triggers_are_rate_limited_with_retry_after() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let (_, path) = trigger(&admin, "noisy", "kill", false).await;
        let (_, quiet) = trigger(&admin, "quiet", "kill", false).await;
        for i in 0..10 {
            let resp = hook(&server, &path, Some(alertmanager("firing"))).await;
            assert_eq!(resp.status(), 200, "request {i}");
        }
        let count = audit(&admin).await.len();
        let resp = hook(&server, &path, Some(alertmanager("firing"))).await;
        assert_eq!(resp.status(), 429);
        let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        // a sliding window: the oldest of the 10 fires leaves it ~60 s after it came
        assert!((50..=60).contains(&retry), "{retry}");
        assert_eq!(audit(&admin).await.len(), count);
        // per trigger: another one is unaffected
        assert_eq!(hook(&server, &quiet, None).await.status(), 200);
        server
    })
    .await;
}

#[tokio::test]
async fn grafana_bodies() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let (_, path) = trigger(&admin, "grafana", "kill", true).await;

        // unified alerting
        let unified = |status: &str| {
            json!({
                "receiver": "switchyard", "status": status, "orgId": 1,
                "alerts": [{"status": status, "labels": {"alertname": "CheckoutLatency", "incident": "INC-9"},
                            "annotations": {"summary": "p99 over 2s"}}],
                "groupLabels": {}, "commonLabels": {"alertname": "CheckoutLatency", "incident": "INC-9"},
                "commonAnnotations": {"summary": "p99 over 2s"},
                "externalURL": "http://grafana:3000/", "version": "1",
                "title": format!("[{}] CheckoutLatency", status.to_uppercase()),
                "state": "alerting", "message": "**Firing**"
            })
        };
        let out = hook_json(&server, &path, Some(unified("firing"))).await;
        assert_eq!(out["action"], "kill");
        let kill = kill_state(&admin).await;
        assert_eq!(kill["reason"], "CheckoutLatency: p99 over 2s");
        assert_eq!(kill["incident"], "INC-9");
        let out = hook_json(&server, &path, Some(unified("resolved"))).await;
        assert_eq!(out["action"], "restore");
        assert!(kill_state(&admin).await.is_null());

        // legacy alerting
        let legacy = |state: &str| {
            json!({
                "dashboardId": 1, "evalMatches": [], "orgId": 1, "panelId": 2, "ruleId": 3,
                "ruleName": "Checkout errors", "ruleUrl": "http://grafana:3000/d/x",
                "state": state, "tags": {"incident": "INC-10"}, "title": format!("[{state}] Checkout errors"),
                "message": "error rate high"
            })
        };
        let out = hook_json(&server, &path, Some(legacy("alerting"))).await;
        assert_eq!(out["action"], "kill");
        let kill = kill_state(&admin).await;
        assert_eq!(kill["reason"], "Checkout errors: error rate high");
        assert_eq!(kill["incident"], "INC-10");
        let count = audit(&admin).await.len();
        let out = hook_json(&server, &path, Some(legacy("no_data"))).await;
        assert_eq!(out["ignored"], true);
        assert_eq!(audit(&admin).await.len(), count);
        let out = hook_json(&server, &path, Some(legacy("ok"))).await;
        assert_eq!(out["action"], "restore");
        assert!(kill_state(&admin).await.is_null());

        // an empty or unknown body fires
        let out = hook_json(&server, &path, None).await;
        assert_eq!(out["action"], "kill");
        assert_eq!(kill_state(&admin).await["reason"], "fired by trigger grafana");

        // a restore trigger restores on firing
        let (_, restore) = trigger(&admin, "all-clear", "restore", false).await;
        let resp = reqwest::Client::new()
            .post(server.url(&restore))
            .header("content-type", "text/plain")
            .body("ping")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(kill_state(&admin).await.is_null());
        let events = audit(&admin).await;
        assert_eq!(events[0]["actor"], "all-clear");
        assert_eq!(events[0]["action"], "flag.restore");
        server
    })
    .await;
}

/// The limit holds over the whole fleet: 20 concurrent fires of one trigger
/// spread over two replicas get exactly 10 answers 200 and 10 answers 429.
#[tokio::test]
async fn trigger_rate_limit_is_fleet_wide() {
    let Some(db) = TestDb::postgres().await else { return };
    let a = TestServer::start(&db.url()).await;
    let b = TestServer::start(&db.url()).await;
    let admin = Api::new(&a, Some(&a.admin_token));
    seed(&admin).await;
    let (_, path) = trigger(&admin, "fleet", "kill", false).await;
    let mut fires = Vec::new();
    for i in 0..20 {
        let url = if i % 2 == 0 { a.url(&path) } else { b.url(&path) };
        fires.push(tokio::spawn(async move {
            reqwest::Client::new().post(url).json(&alertmanager("firing")).send().await.expect("hook").status()
        }));
    }
    let mut statuses = Vec::new();
    for fire in fires {
        statuses.push(fire.await.unwrap().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 10, "{statuses:?}");
    // and still limited on either replica
    for server in [&a, &b] {
        let resp = hook(server, &path, None).await;
        assert_eq!(resp.status(), 429);
        assert!(resp.headers().contains_key("retry-after"));
        let problem: Value = resp.json().await.unwrap();
        assert_eq!(
            (problem["status"].as_u64(), problem["code"].as_str()),
            (Some(429), Some("rate_limited")),
            "{problem}"
        );
    }
    b.stop().await;
    a.stop().await;
    db.cleanup().await;
}
