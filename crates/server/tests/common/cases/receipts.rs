//! Kill delivery receipts and the fleet-wide fire limit of triggers: two
//! store calls the HTTP tests reach only through a live fleet.

use super::*;
use switchyard_server::store::{NewTrigger, SecretHash, TriggerAction};

pub async fn kill_receipt_is_audited_without_a_revision(ctx: Ctx) {
    let store = ctx.store().await;
    let admin = user("admin");
    setup(&store, &["checkout", "search"]).await;
    let killed = store.kill_flags(&admin, "shop", "prod", kill(&["checkout", "search"], "errors")).await.unwrap();
    let rev = killed.revision.expect("a kill bumps the revision");
    let audits = audit_count(&store).await;

    let flags = vec!["checkout".to_string(), "search".to_string()];
    let receipt = json!({ "acked": 3, "expected": 3 });
    store.record_kill_receipt(&admin, "shop", "prod", &flags, rev, receipt.clone()).await.unwrap();

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
    }
    assert_not_found(store.record_kill_receipt(&admin, "shop", "qa", &flags, rev, receipt).await, "environment");
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
