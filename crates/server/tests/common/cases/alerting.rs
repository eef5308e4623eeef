//! Alert triggers and outgoing webhooks.

use super::*;
use switchyard_server::store::{NewTrigger, NewWebhook, SecretHash, TriggerAction, WebhookEvent};

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
    store.delete_flag(&admin, "shop", "checkout", None).await.unwrap();
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
        .create_webhook(&admin, "shop", hook("https://a.example/x?token=t", vec![WebhookEvent::Kill]))
        .await
        .unwrap();
    assert_eq!(a.events, vec![WebhookEvent::Kill]);
    assert!(a.wants(WebhookEvent::Kill) && !a.wants(WebhookEvent::Restore));
    let b = store.create_webhook(&admin, "shop", hook("https://b.example/", vec![WebhookEvent::All])).await.unwrap();
    assert!(b.wants(WebhookEvent::Restore));
    assert_not_found(store.create_webhook(&admin, "nope", hook("https://c.example/", vec![])).await, "project");

    let targets = store.webhook_targets("shop").await.unwrap();
    assert_eq!(targets.len(), 2);
    assert_eq!(targets[0].secret, "secret-for-https://a.example/x?token=t");
    let q = AuditQuery { limit: Some(10), ..AuditQuery::default() };
    let events = store.list_audit("shop", &q).await.unwrap().items;
    assert_eq!(events[0].action, "webhook.create");
    let audited = events[0].after.as_ref().unwrap().to_string();
    assert!(audited.contains("https://b.example") && !audited.contains("secret-for"));

    store.delete_webhook(&admin, "shop", a.id).await.unwrap();
    let again = store.delete_webhook(&admin, "shop", a.id).await.unwrap();
    assert!(again.disabled_at.is_some());
    assert_not_found(store.delete_webhook(&admin, "shop", 9999).await, "webhook");
    let targets = store.webhook_targets("shop").await.unwrap();
    assert_eq!(targets.iter().map(|t| t.webhook.id).collect::<Vec<_>>(), vec![b.id]);
    let listed = store.list_webhooks("shop").await.unwrap();
    assert_eq!(listed.len(), 2, "deleted webhooks stay listed");
    let events = store.list_audit("shop", &q).await.unwrap().items;
    assert_eq!(events.iter().filter(|e| e.action == "webhook.delete").count(), 1);
}
