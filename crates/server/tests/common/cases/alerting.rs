//! Alert triggers and outgoing webhooks.

use super::*;
use switchyard_server::store::{
    DeliveryStatus, DeliveryUpdate, NewTrigger, NewWebhook, SecretHash, TriggerAction, WebhookEvent,
};

fn secret(s: &str) -> SecretHash {
    SecretHash { hash: format!("hash-{s}"), prefix: format!("trg_{s}") }
}

fn new_trigger(name: &str, s: &str) -> NewTrigger {
    NewTrigger { name: name.into(), action: TriggerAction::Kill, restore_on_resolve: true, secret: secret(s) }
}

pub async fn triggers_lifecycle(ctx: Ctx) {
    let store = ctx.store().await;
    let admin = user("admin");
    setup(&store, &["checkout", "search"]).await;
    let rev = revision(&store, "prod").await;
    let audits = audit_count(&store).await;

    let t = store.create_trigger(&admin, "shop", "prod", "checkout", new_trigger("am", "a")).await.unwrap();
    assert_eq!((t.project.as_str(), t.environment.as_str(), t.flag.as_str()), ("shop", "prod", "checkout"));
    assert_eq!((t.action, t.restore_on_resolve, t.prefix.as_str()), (TriggerAction::Kill, true, "trg_a"));
    assert_eq!((t.created_by.as_str(), t.disabled_at), ("admin", None));
    assert_already_exists(store.create_trigger(&admin, "shop", "dev", "checkout", new_trigger("dup", "a")).await);
    assert_not_found(store.create_trigger(&admin, "shop", "prod", "nope", new_trigger("x", "x")).await, "flag");
    assert_not_found(
        store.create_trigger(&admin, "shop", "qa", "checkout", new_trigger("x", "x")).await,
        "environment",
    );
    store.create_trigger(&admin, "shop", "dev", "checkout", new_trigger("dev", "d")).await.unwrap();
    assert_eq!(revision(&store, "prod").await, rev, "not SDK-visible");
    assert_eq!(audit_count(&store).await, audits + 2);

    let found = store.trigger_by_hash("hash-a").await.unwrap().unwrap();
    assert_eq!((found.id, found.name.as_str()), (t.id, "am"));
    assert!(store.trigger_by_hash("hash-zzz").await.unwrap().is_none());
    let list = store.list_triggers("shop", "prod", "checkout").await.unwrap();
    assert_eq!(list.iter().map(|t| t.id).collect::<Vec<_>>(), vec![t.id]);

    // rotate: the old hash is gone
    let rotated = store.rotate_trigger(&admin, ("shop", "prod", "checkout"), t.id, secret("b")).await.unwrap();
    assert_eq!(rotated.prefix, "trg_b");
    assert!(store.trigger_by_hash("hash-a").await.unwrap().is_none());
    assert_eq!(store.trigger_by_hash("hash-b").await.unwrap().unwrap().id, t.id);

    // scoped: another flag or environment does not reach it
    assert_not_found(store.delete_trigger(&admin, "shop", "prod", "search", t.id).await, "trigger");
    assert_not_found(store.delete_trigger(&admin, "shop", "dev", "checkout", t.id).await, "trigger");

    // soft delete: kept, disabled, idempotent, audited once
    let before = audit_count(&store).await;
    let deleted = store.delete_trigger(&admin, "shop", "prod", "checkout", t.id).await.unwrap();
    assert!(deleted.disabled_at.is_some());
    let again = store.delete_trigger(&admin, "shop", "prod", "checkout", t.id).await.unwrap();
    assert_eq!(again.disabled_at, deleted.disabled_at);
    assert_eq!(audit_count(&store).await, before + 1);
    let found = store.trigger_by_hash("hash-b").await.unwrap().unwrap();
    assert!(found.disabled_at.is_some());
    assert_conflict(
        store.rotate_trigger(&admin, ("shop", "prod", "checkout"), t.id, secret("c")).await.unwrap_err(),
        "trigger_disabled",
    );

    // a deleted flag takes its triggers with it
    store.archive_flag(&admin, "shop", "checkout", "retired").await.unwrap();
    store.delete_flag(&admin, "shop", "checkout", Some("cleanup".into())).await.unwrap();
    assert!(store.trigger_by_hash("hash-b").await.unwrap().is_none());
    assert!(store.trigger_by_hash("hash-d").await.unwrap().is_none());
}

pub async fn webhooks_lifecycle(ctx: Ctx) {
    let store = ctx.store().await;
    let admin = user("admin");
    setup(&store, &[]).await;
    let hook = |url: &str, events: Vec<WebhookEvent>| NewWebhook {
        url: url.into(),
        events,
        secret: format!("secret-for-{url}"),
        prefix: "whs_x".into(),
    };
    let a = store
        .create_webhook(&admin, "shop", hook("https://a.example/x?token=t", vec![WebhookEvent::FlagKilled]))
        .await
        .unwrap();
    assert_eq!(a.events, vec![WebhookEvent::FlagKilled]);
    assert!(a.wants(WebhookEvent::FlagKilled) && !a.wants(WebhookEvent::FlagRestored));
    let b = store.create_webhook(&admin, "shop", hook("https://b.example/", vec![WebhookEvent::All])).await.unwrap();
    assert!(b.wants(WebhookEvent::FlagRestored));
    assert_not_found(store.create_webhook(&admin, "nope", hook("https://c.example/", vec![])).await, "project");

    let q = AuditQuery { limit: Some(10), ..AuditQuery::default() };
    let events = store.list_audit("shop", &q).await.unwrap().items;
    assert_eq!(events[0].action, "webhook.create");
    let audited = events[0].after.as_ref().unwrap().to_string();
    assert!(audited.contains("https://b.example") && !audited.contains("secret-for"));

    store.delete_webhook(&admin, "shop", a.id).await.unwrap();
    let again = store.delete_webhook(&admin, "shop", a.id).await.unwrap();
    assert!(again.disabled_at.is_some());
    assert_not_found(store.delete_webhook(&admin, "shop", 9999).await, "webhook");
    let listed = store.list_webhooks("shop").await.unwrap();
    assert_eq!(listed.len(), 2, "deleted webhooks stay listed");
    let active: Vec<i64> = listed.iter().filter(|w| w.disabled_at.is_none()).map(|w| w.id).collect();
    assert_eq!(active, vec![b.id]);
    let events = store.list_audit("shop", &q).await.unwrap().items;
    assert_eq!(events.iter().filter(|e| e.action == "webhook.delete").count(), 1);
}

/// The outbox: rows are written in the change's transaction for subscribed
/// webhooks only, claimed once under a lease, finished, listed, cancelled.
pub async fn webhook_outbox(ctx: Ctx) {
    let store = ctx.store().await;
    let admin = user("admin");
    setup(&store, &["checkout", "search"]).await;
    let hook = |url: &str, events: Vec<WebhookEvent>| NewWebhook {
        url: url.into(),
        events,
        secret: "secret-secret-secret".into(),
        prefix: "whs_x".into(),
    };
    let kills = store.create_webhook(&admin, "shop", hook("https://a.example/", WebhookEvent::DEFAULT.to_vec())).await;
    let kills = kills.unwrap();
    let changes = store
        .create_webhook(&admin, "shop", hook("https://b.example/", vec![WebhookEvent::FlagChanged]))
        .await
        .unwrap();
    let lease = Duration::from_secs(60);
    assert!(store.claim_deliveries(lease, 10).await.unwrap().is_empty(), "creating webhooks announces nothing");

    // a toggle: `flag.changed` only; a failed write: nothing
    store.toggle_flag(&admin, "shop", "prod", "checkout", true, Some("go".into())).await.unwrap();
    let (version, cfg) = config(&store, "prod", "checkout").await;
    store.put_flag_config(&admin, "shop", "prod", "checkout", cfg, version - 1, None).await.unwrap_err();
    // a kill: the default subscription only, naming the flag, with the incident
    let killed = store.kill_flags(&admin, "shop", "prod", kill(&["checkout"], "boom")).await.unwrap();
    // a no-op kill: nothing
    store.kill_flags(&admin, "shop", "prod", kill(&["checkout"], "again")).await.unwrap();

    let wakeup = store.outbox_wakeup();
    tokio::time::timeout(Duration::from_secs(5), wakeup.notified()).await.expect("commits wake the worker");
    let claimed = store.claim_deliveries(lease, 10).await.unwrap();
    let summary: Vec<(i64, WebhookEvent, u32)> =
        claimed.iter().map(|c| (c.target.webhook.id, c.event, c.attempt)).collect();
    // kill notifications are claimed first, though written after the toggle
    assert_eq!(summary, vec![(kills.id, WebhookEvent::FlagKilled, 1), (changes.id, WebhookEvent::FlagChanged, 1)]);
    let toggle: serde_json::Value = serde_json::from_str(&claimed[1].body).unwrap();
    assert_eq!((toggle["action"].as_str(), toggle["environment"].as_str()), (Some("flag.toggle"), Some("prod")));
    assert_eq!((toggle["flags"].clone(), toggle["reason"].as_str()), (json!(["checkout"]), Some("go")));
    let body: serde_json::Value = serde_json::from_str(&claimed[0].body).unwrap();
    assert_eq!(body["event"], "flag.killed");
    assert_eq!(body["id"].as_str(), Some(claimed[0].delivery_id.as_str()));
    assert_eq!((body["incident"].as_str(), body["revision"].as_u64()), (Some("INC-7"), killed.revision));
    assert_eq!(claimed[0].target.secret, "secret-secret-secret");
    assert!(store.claim_deliveries(lease, 10).await.unwrap().is_empty(), "leased rows are not claimed twice");

    // outcomes: a stale attempt number is ignored; a retry due now is claimed again
    let (kill_row, toggle_row) = (&claimed[0], &claimed[1]);
    assert!(!store.finish_delivery(kill_row.id, 7, DeliveryUpdate::Delivered { status: 200 }).await.unwrap());
    let retry = DeliveryUpdate::Retry { at: Utc::now(), status: Some(503), error: "receiver answered 503".into() };
    assert!(store.finish_delivery(kill_row.id, 1, retry).await.unwrap());
    assert!(store.next_delivery_at().await.unwrap().unwrap() <= Utc::now());
    let again = store.claim_deliveries(lease, 10).await.unwrap();
    assert_eq!(again.iter().map(|c| (c.id, c.attempt)).collect::<Vec<_>>(), vec![(kill_row.id, 2)]);
    assert_eq!(again[0].body, kill_row.body, "the same bytes on every attempt");
    assert!(store.finish_delivery(kill_row.id, 2, DeliveryUpdate::Delivered { status: 204 }).await.unwrap());
    let history = store.list_deliveries("shop", kills.id, 10).await.unwrap();
    assert_eq!(history.len(), 1);
    let h = &history[0];
    assert_eq!((h.status, h.attempts, h.response_status), (DeliveryStatus::Delivered, 2, Some(204)));
    assert_eq!(h.last_error.as_deref(), Some("receiver answered 503"), "the last failure is kept");
    assert!(h.delivered_at.is_some() && h.next_attempt_at.is_none());
    assert_not_found(store.list_deliveries("shop", 9999, 10).await, "webhook");

    // deleting a webhook cancels what it still had pending
    assert_eq!(store.next_delivery_at().await.unwrap().map(|t| t > Utc::now()), Some(true), "only the leased row");
    store.delete_webhook(&admin, "shop", changes.id).await.unwrap();
    let history = store.list_deliveries("shop", changes.id, 10).await.unwrap();
    assert_eq!((history[0].id, history[0].status), (toggle_row.id, DeliveryStatus::Dead));
    assert_eq!(history[0].last_error.as_deref(), Some("webhook deleted"));
    assert!(store.next_delivery_at().await.unwrap().is_none());
    assert!(!store.finish_delivery(toggle_row.id, 1, DeliveryUpdate::Delivered { status: 200 }).await.unwrap());

    // pruning removes finished rows only
    assert_eq!(store.prune_deliveries(Utc::now() + chrono::Duration::hours(1)).await.unwrap(), 2);
    assert!(store.list_deliveries("shop", kills.id, 10).await.unwrap().is_empty());
}

/// Concurrent claimers (replicas) never get the same row.
pub async fn concurrent_claims_are_disjoint(ctx: Ctx) {
    let store = ctx.store().await;
    let admin = user("admin");
    setup(&store, &["checkout"]).await;
    let hook = NewWebhook {
        url: "https://a.example/".into(),
        events: vec![WebhookEvent::All],
        secret: "secret-secret-secret".into(),
        prefix: "whs_x".into(),
    };
    store.create_webhook(&admin, "shop", hook).await.unwrap();
    for i in 0..24 {
        store.toggle_flag(&admin, "shop", "prod", "checkout", i % 2 == 0, None).await.unwrap();
    }
    let claimers = (0..4).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let claimed = store.claim_deliveries(Duration::from_secs(60), 2).await.unwrap();
                if claimed.is_empty() {
                    return ids;
                }
                ids.extend(claimed.iter().map(|c| c.id));
            }
        })
    });
    let mut ids = Vec::new();
    for claimer in claimers.collect::<Vec<_>>() {
        ids.extend(claimer.await.unwrap());
    }
    ids.sort_unstable();
    let total = ids.len();
    ids.dedup();
    assert_eq!((total, ids.len()), (24, 24), "every row claimed exactly once");
}
