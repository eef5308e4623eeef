//! Outgoing webhooks over real HTTP, against SQLite and Postgres (both in
//! CI): signed deliveries on kill/restore/panic (from the API and from
//! triggers), `flag.changed` subscriptions, retries with the same delivery
//! id and the delivery history, dead deliveries, and the SSRF guard at save
//! and at send time. The receiver is a tiny axum server on 127.0.0.1, so the
//! servers that deliver to it run with `webhook_allow_private`. (Durability
//! across restarts and replicas: `tests/tests/webhooks.rs`.)

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use switchyard_server::testing::{Api, TestDb};

#[path = "webhooks/addresses.rs"]
mod addresses;
#[path = "webhooks/support.rs"]
mod support;
use support::*;

#[tokio::test]
async fn kills_and_restores_are_delivered_signed() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = start_server(&db, true).await;
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let receiver = Receiver::start(0).await;
        let kills_secret = "kill-hook-secret-0123456789";
        let kills = admin
            .ok(
                Method::POST,
                &format!("{P}/webhooks"),
                Some(json!({"url": format!("{}/kills?token=abc", receiver.base), "events": ["flag.killed", "env.panic"], "secret": kills_secret})),
                201,
            )
            .await;
        assert_eq!(kills["secret"], kills_secret);
        let all = admin
            .ok(Method::POST, &format!("{P}/webhooks"), Some(json!({"url": format!("{}/all", receiver.base)})), 201)
            .await;
        let all_secret = all["secret"].as_str().unwrap().to_string();
        assert!(all_secret.starts_with("whs_"));
        let list = admin.ok(Method::GET, &format!("{P}/webhooks"), None, 200).await;
        assert_eq!(list.as_array().unwrap().len(), 2);
        assert!(!list.to_string().contains(kills_secret) && !list.to_string().contains(&all_secret));
        // the audit keeps only the URL's origin (paths and queries carry credentials)
        let audit = admin.ok(Method::GET, &format!("{P}/audit"), None, 200).await;
        let created = &audit["items"][0];
        assert_eq!(created["action"], "webhook.create");
        assert!(!created.to_string().contains("/all") && !created.to_string().contains("token=abc"));

        // a kill: both webhooks get it, signed with their own secret
        let killed = admin
            .ok(
                Method::POST,
                &format!("{FLAG}/kill"),
                Some(json!({"reason": "checkout 5xx", "incident": "INC-1"})),
                200,
            )
            .await;
        let revision = killed["revision"].as_u64().unwrap();
        let hit = &receiver.wait_for("/kills", 1, Duration::from_secs(10)).await[0];
        let body = verify(kills_secret, hit);
        assert_eq!(hit.headers["x-switchyard-event"], "flag.killed");
        assert_eq!(hit.headers["x-switchyard-delivery"].to_str().unwrap(), body["id"].as_str().unwrap());
        assert_eq!((body["event"].as_str(), body["action"].as_str()), (Some("flag.killed"), Some("flag.kill")));
        assert_eq!(body["project"], "shop");
        assert_eq!(body["environment"], "production");
        assert_eq!(body["flags"], json!(["checkout"]));
        assert_eq!(body["actor"], json!({"name": "admin", "kind": "user"}));
        assert_eq!(body["reason"], "checkout 5xx");
        assert_eq!(body["incident"], "INC-1");
        assert_eq!(body["revision"].as_u64(), Some(revision));
        assert!(body["at"].is_string() && body["id"].is_string());
        let hit = &receiver.wait_for("/all", 1, Duration::from_secs(10)).await[0];
        let same = verify(&all_secret, hit);
        assert_eq!(same["revision"].as_u64(), Some(revision));
        assert_eq!(same["id"], body["id"], "one event id for every webhook");
        // the default subscription is kill, restore and panic
        assert_eq!(list[1]["events"], json!(["flag.killed", "flag.restored", "env.panic"]));

        // a restore goes to `all` only; a no-op restore to nobody
        admin.ok(Method::DELETE, &format!("{FLAG}/kill"), Some(json!({"reason": "fixed"})), 200).await;
        admin.ok(Method::DELETE, &format!("{FLAG}/kill"), Some(json!({"reason": "again"})), 200).await;
        let hits = receiver.wait_for("/all", 2, Duration::from_secs(10)).await;
        let body = verify(&all_secret, &hits[1]);
        assert_eq!((body["event"].as_str(), body["reason"].as_str()), (Some("flag.restored"), Some("fixed")));

        // the panic button: one delivery naming every flag
        admin
            .ok(
                Method::POST,
                "/api/v1/projects/shop/environments/production/kill",
                Some(json!({"tag": "shop", "reason": "panic"})),
                200,
            )
            .await;
        let hits = receiver.wait_for("/kills", 2, Duration::from_secs(10)).await;
        let body = verify(kills_secret, &hits[1]);
        assert_eq!(hits[1].headers["x-switchyard-event"], "env.panic");
        assert_eq!((body["event"].as_str(), body["flags"].clone()), (Some("env.panic"), json!(["checkout", "search"])));

        // a trigger's kill is announced as the trigger
        admin
            .ok(
                Method::DELETE,
                "/api/v1/projects/shop/environments/production/flags/search/kill",
                Some(json!({"reason": "ok"})),
                200,
            )
            .await;
        let created = admin
            .ok(
                Method::POST,
                "/api/v1/projects/shop/environments/production/flags/search/triggers",
                Some(json!({"name": "alertmanager", "action": "kill"})),
                201,
            )
            .await;
        let resp = reqwest::Client::new()
            .post(server.url(created["path"].as_str().unwrap()))
            .json(&json!({"status": "firing", "commonLabels": {"alertname": "SearchDown"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let hits = receiver.wait_for("/kills", 3, Duration::from_secs(10)).await;
        let body = verify(kills_secret, &hits[2]);
        assert_eq!(body["actor"], json!({"name": "alertmanager", "kind": "trigger"}));
        assert_eq!(body["event"], "flag.killed");
        assert_eq!(body["reason"], "SearchDown");

        // deleted webhooks get nothing more
        let id = kills["webhook"]["id"].as_i64().unwrap();
        let deleted = admin.ok(Method::DELETE, &format!("{P}/webhooks/{id}"), None, 200).await;
        assert!(deleted["disabled_at"].is_string());
        let before_all = receiver.hits("/all").len();
        admin.ok(Method::DELETE, &format!("{FLAG}/kill"), Some(json!({"reason": "r"})), 200).await;
        admin.ok(Method::POST, &format!("{FLAG}/kill"), Some(json!({"reason": "again"})), 200).await;
        receiver.wait_for("/all", before_all + 2, Duration::from_secs(10)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(receiver.hits("/kills").len(), 3);
        assert_eq!(receiver.hits("/all").len(), before_all + 2, "no-op writes announce nothing");

        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_the_same_id_and_shown_in_the_history() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = start_server(&db, true).await;
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let receiver = Receiver::start(2).await;
        let (id, secret) = create_hook(&admin, format!("{}/hook", receiver.base), None).await;
        admin.ok(Method::POST, &format!("{FLAG}/kill"), Some(json!({"reason": "boom"})), 200).await;
        // 503, 503, then delivered on the third attempt
        let hits = receiver.wait_for("/hook", 3, Duration::from_secs(20)).await;
        let body = verify(&secret, &hits[2]);
        assert_eq!(body["reason"], "boom");
        for hit in &hits[..2] {
            assert_eq!(hit.body, hits[2].body, "the same bytes are retried");
            assert_eq!(hit.headers["x-switchyard-delivery"], hits[2].headers["x-switchyard-delivery"]);
        }
        let history = wait_history(&admin, id, |h| h.len() == 1 && h[0]["status"] == "delivered").await;
        let d = &history[0];
        assert_eq!(d["delivery_id"], body["id"]);
        assert_eq!((d["event"].as_str(), d["attempts"].as_u64()), (Some("flag.killed"), Some(3)));
        assert_eq!(d["response_status"], 204);
        assert!(d["last_error"].as_str().unwrap().contains("503"), "{d}");
        assert!(d["created_at"].is_string() && d["last_attempt_at"].is_string() && d["delivered_at"].is_string());
        assert!(d["next_attempt_at"].is_null());
        // and not sent again once it succeeded
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(receiver.hits("/hook").len(), 3);
        let metrics = server.metrics().await;
        for line in [
            "switchyard_webhook_attempts_total{outcome=\"retry\"} 2",
            "switchyard_webhook_attempts_total{outcome=\"delivered\"} 1",
            "switchyard_webhook_delivery_seconds_count 1",
        ] {
            assert!(metrics.lines().any(|l| l == line), "{line} missing:\n{metrics}");
        }
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn deliveries_die_on_a_final_answer_or_after_max_attempts() {
    let db = TestDb::sqlite();
    let server = start_server(&db, true).await;
    let admin = Api::new(&server, Some(&server.admin_token));
    seed(&admin).await;
    let receiver = Receiver::start(usize::MAX).await;
    let (gone, _) = create_hook(&admin, format!("{}/gone", receiver.base), None).await;
    let (down, _) = create_hook(&admin, format!("{}/down", receiver.base), None).await;
    admin.ok(Method::POST, &format!("{FLAG}/kill"), Some(json!({"reason": "boom"})), 200).await;
    // 404 is final: one attempt
    let history = wait_history(&admin, gone, |h| h.len() == 1 && h[0]["status"] == "dead").await;
    assert_eq!((history[0]["attempts"].as_u64(), history[0]["response_status"].as_u64()), (Some(1), Some(404)));
    // 503 forever: dead after `webhook_max_attempts` (4)
    let history = wait_history(&admin, down, |h| h.len() == 1 && h[0]["status"] == "dead").await;
    assert_eq!((history[0]["attempts"].as_u64(), history[0]["response_status"].as_u64()), (Some(4), Some(503)));
    assert!(history[0]["last_error"].as_str().unwrap().contains("gave up after 4 attempts"));
    assert_eq!(receiver.hits("/gone").len(), 1);
    assert_eq!(receiver.hits("/down").len(), 4);
    // the history is admin-only and scoped to the project
    let (status, _) = Api::new(&server, None).get(&format!("{P}/webhooks/{down}/deliveries")).await;
    assert_eq!(status, 401);
    admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "other"})), 201).await;
    let (status, problem) = admin.get(&format!("/api/v1/projects/other/webhooks/{down}/deliveries")).await;
    assert_eq!(status, 404, "{problem}");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn flag_changed_subscribers_get_every_change_and_the_default_does_not() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = start_server(&db, true).await;
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let receiver = Receiver::start(0).await;
        let (changes, secret) =
            create_hook(&admin, format!("{}/changes", receiver.base), Some(json!(["flag.changed"]))).await;
        let (_, _) = create_hook(&admin, format!("{}/default", receiver.base), None).await;
        let (_, _) = create_hook(&admin, format!("{}/star", receiver.base), Some(json!(["*"]))).await;
        let toggled =
            admin.ok(Method::POST, &format!("{FLAG}/toggle"), Some(json!({"on": true, "reason": "launch"})), 200).await;
        let hit = &receiver.wait_for("/changes", 1, Duration::from_secs(10)).await[0];
        let body = verify(&secret, hit);
        assert_eq!(hit.headers["x-switchyard-event"], "flag.changed");
        assert_eq!((body["event"].as_str(), body["action"].as_str()), (Some("flag.changed"), Some("flag.toggle")));
        assert_eq!((body["environment"].as_str(), body["flags"].clone()), (Some("production"), json!(["checkout"])));
        assert_eq!(
            (body["reason"].as_str(), body["revision"].as_u64()),
            (Some("launch"), toggled["revision"].as_u64())
        );
        // a project-wide change (a new flag) has no environment
        admin.ok(Method::POST, &format!("{P}/flags"), Some(json!({"key": "banner", "kind": "boolean"})), 201).await;
        let hits = receiver.wait_for("/changes", 2, Duration::from_secs(10)).await;
        let body = verify(&secret, &hits[1]);
        assert_eq!((body["action"].as_str(), body["flags"].clone()), (Some("flag.create"), json!(["banner"])));
        assert!(body["environment"].is_null());
        // a kill goes to the default and `*`, not to `flag.changed`
        admin.ok(Method::POST, &format!("{FLAG}/kill"), Some(json!({"reason": "boom"})), 200).await;
        receiver.wait_for("/default", 1, Duration::from_secs(10)).await;
        let star = receiver.wait_for("/star", 3, Duration::from_secs(10)).await;
        let events: Vec<String> =
            star.iter().map(|h| h.headers["x-switchyard-event"].to_str().unwrap().into()).collect();
        assert_eq!(events, ["flag.changed", "flag.changed", "flag.killed"]);
        let history = wait_history(&admin, changes, |h| h.len() == 2).await;
        assert!(history.iter().all(|d| d["event"] == "flag.changed"));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(receiver.hits("/default").len(), 1, "the default subscription ignores toggles");
        assert_eq!(receiver.hits("/changes").len(), 2);
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn unknown_event_types_are_refused() {
    let db = TestDb::sqlite();
    let server = start_server(&db, true).await;
    let admin = Api::new(&server, Some(&server.admin_token));
    seed(&admin).await;
    for (events, path) in
        [(json!(["flag.killed", "flag.exploded"]), "events[1]"), (json!(["kill"]), "events[0]"), (json!([]), "events")]
    {
        let body = json!({"url": "http://127.0.0.1:9/", "events": events});
        let (status, problem) = admin.call(Method::POST, &format!("{P}/webhooks"), Some(body)).await;
        assert_eq!(status, 422, "{events}: {problem}");
        assert_eq!(problem["errors"][0]["path"], path, "{problem}");
        let code = if path == "events" { "required" } else { "unknown_event" };
        assert_eq!(problem["errors"][0]["code"], code, "{problem}");
    }
    let (status, problem) = admin
        .call(Method::POST, &format!("{P}/webhooks"), Some(json!({"url": "http://127.0.0.1:9/", "events": "x"})))
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(admin.ok(Method::GET, &format!("{P}/webhooks"), None, 200).await, json!([]));
    server.stop().await;
    db.cleanup().await;
}
