//! Kill delivery receipts and the fleet-wide fire limit of triggers: two
//! store calls the HTTP tests reach only through a live fleet.

use super::*;
use switchyard_server::store::{NewTrigger, ReceiptOf, SecretHash, TriggerAction};

pub async fn kill_receipt_is_audited_without_a_revision(ctx: Ctx) {
    let store = ctx.store().await;
    let admin = user("admin");
    setup(&store, &["checkout", "search"]).await;
    let killed = store.kill_flags(&admin, "shop", "prod", kill(&["checkout", "search"], "errors")).await.unwrap();
    let rev = killed.revision.expect("a kill bumps the revision");
    let audits = audit_count(&store).await;

    let flags = vec!["checkout".to_string(), "search".to_string()];
    let receipt = json!({ "acked": 3, "expected": 3 });
    let of = ReceiptOf { revision: rev, restore: false, incident: Some("INC-7".into()) };
    store.record_receipt(&admin, "shop", "prod", &flags, &of, receipt.clone()).await.unwrap();

    assert_eq!(revision(&store, "prod").await, rev, "a receipt changes nothing SDKs see");
    assert_eq!(audit_count(&store).await, audits + 2, "one event per flag");
    let q = AuditQuery { limit: Some(2), ..AuditQuery::default() };
    let events = store.list_audit("shop", &q).await.unwrap().items;
    let mut seen: Vec<&str> = events.iter().filter_map(|e| e.flag.as_deref()).collect();
    seen.sort_unstable();
    assert_eq!(seen, ["checkout", "search"]);
    for e in &events {
        assert_eq!(e.action, "flag.kill.applied");
        assert_eq!((e.environment.as_deref(), e.revision), (Some("prod"), Some(rev)));
        assert_eq!(e.after.as_ref(), Some(&receipt));
        assert!(e.group_id.is_some() && e.group_id == events[0].group_id, "one group per receipt");
        assert_eq!(e.incident.as_deref(), Some("INC-7"));
    }
    assert_not_found(store.record_receipt(&admin, "shop", "qa", &flags, &of, receipt).await, "environment");
}

/// Kills, restores and receipts carry their incident id in a column: one
/// incident's events oldest first, and the project's incidents newest first.
pub async fn incident_events_and_incidents(ctx: Ctx) {
    let store = ctx.store().await;
    let admin = user("admin");
    setup(&store, &["checkout", "search"]).await;
    store.toggle_flag(&admin, "shop", "prod", "search", true, None).await.unwrap();
    let killed = store.kill_flags(&admin, "shop", "prod", kill(&["checkout"], "errors")).await.unwrap();
    let of = ReceiptOf { revision: killed.revision.unwrap(), restore: false, incident: Some("INC-7".into()) };
    store.record_receipt(&admin, "shop", "prod", &["checkout".into()], &of, json!({"applied": 1})).await.unwrap();
    let other = KillRequest { incident: Some("INC-8".into()), panic: true, ..kill(&["search"], "too") };
    store.kill_flags(&admin, "shop", "dev", other).await.unwrap();
    let flags = ["checkout".to_string()];
    let restored =
        store.restore_flags(&admin, "shop", "prod", &flags, "ok".into(), Some("INC-7".into())).await.unwrap();
    let of = ReceiptOf { revision: restored.revision.unwrap(), restore: true, incident: Some("INC-7".into()) };
    store.record_receipt(&admin, "shop", "prod", &flags, &of, json!({"applied": 1})).await.unwrap();

    let events = store.incident_events("shop", "INC-7", 100).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["flag.kill", "flag.kill.applied", "flag.restore", "flag.restore.applied"]);
    assert!(events.iter().all(|e| e.incident.as_deref() == Some("INC-7")));
    let panic = store.incident_events("shop", "INC-8", 100).await.unwrap();
    assert_eq!(panic.len(), 1);
    assert_eq!(panic[0].after.as_ref().map(|a| a["panic"].clone()), Some(json!(true)), "a panic says so");
    assert_eq!(store.incident_events("shop", "INC-7", 2).await.unwrap().len(), 2, "the limit holds");
    assert!(store.incident_events("shop", "INC-9", 100).await.unwrap().is_empty());

    let incidents = store.list_incidents("shop", 10).await.unwrap();
    let listed: Vec<(&str, u64)> = incidents.iter().map(|i| (i.incident.as_str(), i.events)).collect();
    assert_eq!(listed, [("INC-7", 4), ("INC-8", 1)], "newest last event first");
    assert!(incidents[0].first_at <= incidents[0].last_at);
    assert_not_found(store.incident_events("nope", "INC-7", 10).await, "project");
}

pub async fn trigger_fires_are_limited_per_trigger(ctx: Ctx) {
    let store = ctx.store().await;
    let admin = user("admin");
    setup(&store, &["checkout"]).await;
    let new = |name: &str| NewTrigger {
        name: name.into(),
        action: TriggerAction::Kill,
        restore_on_resolve: false,
        secret: SecretHash { hash: format!("hash-{name}"), prefix: format!("trg_{name}") },
    };
    let a = store.create_trigger(&admin, "shop", "prod", "checkout", new("a")).await.unwrap();
    let b = store.create_trigger(&admin, "shop", "dev", "checkout", new("b")).await.unwrap();
    let window = Duration::from_secs(3600);

    assert_eq!(store.claim_trigger_fire(a.id, 2, window).await.unwrap(), None);
    assert_eq!(store.claim_trigger_fire(a.id, 2, window).await.unwrap(), None);
    let wait = store.claim_trigger_fire(a.id, 2, window).await.unwrap().expect("over the limit");
    assert!(wait > Duration::ZERO && wait <= window, "a slot frees within the window, not {wait:?}");
    assert!(
        store.claim_trigger_fire(a.id, 2, window).await.unwrap().is_some(),
        "a refused fire is not counted as free"
    );
    assert_eq!(store.claim_trigger_fire(b.id, 2, window).await.unwrap(), None, "the limit is per trigger");
}
