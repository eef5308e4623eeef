//! History: revert, restore to a point in time, change sets.

use super::*;
use switchyard_server::store::RestoreVersion;

pub async fn revert_to_version_one(ctx: Ctx) {
    let store = ctx.store().await;
    let alice = user("alice");
    setup(&store, &["checkout"]).await;
    let (_, original) = config(&store, "prod", "checkout").await;
    for (i, country) in ["SE", "NO", "DK"].iter().enumerate() {
        let (v, mut cfg) = config(&store, "prod", "checkout").await;
        cfg.on = true;
        cfg.rules = vec![rule(&format!("r{i}"), "country", country, "on")];
        store.put_flag_config(&alice, "shop", "prod", "checkout", cfg, v, None).await.unwrap();
    }
    store.kill_flags(&alice, "shop", "prod", kill(&["checkout"], "outage")).await.unwrap();
    let history = store.config_history("shop", "prod", "checkout").await.unwrap();
    assert_eq!(history.iter().map(|r| r.version).collect::<Vec<_>>(), [5, 4, 3, 2, 1]);
    assert_eq!(history[4].config, original);
    assert_eq!(history[1].config.rules[0].id, "r2");

    let rev = revision(&store, "prod").await;
    let back = RestoreVersion { to_version: 1, reason: Some("back to the start".into()), dry_run: false };
    let w = store.revert_flag(&alice, ("shop", "prod", "checkout"), back).await.unwrap();
    assert!(w.changed);
    assert_eq!((w.value.version, w.revision), (6, Some(rev + 1)));
    let expected = FlagConfig { kill: w.value.config.kill.clone(), ..original.clone() };
    assert_eq!(w.value.config, expected);
    assert!(w.value.config.kill.is_some(), "a revert keeps the current kill state");
    let q = AuditQuery { limit: Some(1), ..AuditQuery::default() };
    let event = store.list_audit("shop", &q).await.unwrap().items.remove(0);
    assert_eq!((event.action.as_str(), event.reason.as_deref()), ("flag.revert", Some("back to the start")));

    // Reverting to what is already there is a no-op; unknown versions are 404.
    let same = RestoreVersion { to_version: 6, reason: Some("same".into()), dry_run: false };
    let w = store.revert_flag(&alice, ("shop", "prod", "checkout"), same).await.unwrap();
    assert!(!w.changed);
    assert_not_found(
        store
            .revert_flag(
                &alice,
                ("shop", "prod", "checkout"),
                RestoreVersion { to_version: 99, reason: None, dry_run: true },
            )
            .await,
        "configuration version",
    );
    // History is never rewritten.
    assert_eq!(store.config_history("shop", "prod", "checkout").await.unwrap().len(), 6);
}

pub async fn restore_environment_dry_run_and_real(ctx: Ctx) {
    let store = ctx.store().await;
    let alice = user("alice");
    setup(&store, &["checkout", "search", "stable"]).await;
    store.toggle_flag(&alice, "shop", "prod", "checkout", true, None).await.unwrap();
    let (_, at_t) = config(&store, "prod", "checkout").await;
    pause().await;
    let t = Utc::now();
    pause().await;

    let (v, mut cfg) = config(&store, "prod", "checkout").await;
    cfg.rules = vec![rule("r1", "country", "SE", "off")];
    store.put_flag_config(&alice, "shop", "prod", "checkout", cfg, v, None).await.unwrap();
    store.toggle_flag(&alice, "shop", "prod", "search", true, None).await.unwrap();
    store.toggle_flag(&alice, "shop", "prod", "search", false, None).await.unwrap();
    store.kill_flags(&alice, "shop", "prod", kill(&["checkout"], "outage")).await.unwrap();
    store.create_flag(&alice, "shop", new_flag("late")).await.unwrap();
    store.toggle_flag(&alice, "shop", "prod", "late", true, None).await.unwrap();
    store.toggle_flag(&alice, "shop", "dev", "stable", true, None).await.unwrap();

    let rev = revision(&store, "prod").await;
    let audits = audit_count(&store).await;
    let request = |dry_run| RestoreRequest { at: t, reason: "bad deploy".into(), dry_run };
    let dry = store.restore_environment(&alice, "shop", "prod", request(true)).await.unwrap();
    assert!(!dry.changed && dry.revision.is_none());
    let by_flag: HashMap<&str, _> = dry.value.iter().map(|d| (d.flag.as_str(), d)).collect();
    assert_eq!(by_flag.len(), 2, "search ended as it was at T; stable only changed in dev: {:?}", by_flag.keys());
    let checkout = by_flag["checkout"];
    assert_eq!((checkout.from_version, checkout.to_version), (4, Some(2)));
    assert_eq!(checkout.after, FlagConfig { kill: checkout.before.kill.clone(), ..at_t.clone() });
    let late = by_flag["late"];
    assert_eq!((late.to_version, late.before.on, late.after.on), (None, true, false));
    assert_eq!(revision(&store, "prod").await, rev);
    assert_eq!(audit_count(&store).await, audits);
    assert_eq!(config(&store, "prod", "checkout").await.0, 4);

    let real = store.restore_environment(&alice, "shop", "prod", request(false)).await.unwrap();
    assert!(real.changed);
    assert_eq!(real.revision, Some(rev + 1));
    assert_eq!(real.value.len(), 2);
    let (v, cfg) = config(&store, "prod", "checkout").await;
    assert_eq!(v, 5);
    assert_eq!(cfg, FlagConfig { kill: cfg.kill.clone(), ..at_t });
    assert!(cfg.kill.is_some(), "the kill is kept");
    assert!(!config(&store, "prod", "late").await.1.on);
    assert!(config(&store, "dev", "stable").await.1.on, "other environments untouched");
    let events = store.list_audit("shop", &AuditQuery { limit: Some(2), ..AuditQuery::default() }).await.unwrap().items;
    assert!(events.iter().all(|e| e.action == "environment.restore" && e.revision == Some(rev + 1)));
    assert!(events[0].group_id.is_some() && events[0].group_id == events[1].group_id);

    // Restoring again to the same time changes nothing.
    let again = store.restore_environment(&alice, "shop", "prod", request(false)).await.unwrap();
    assert!(!again.changed && again.value.is_empty());
}

pub async fn change_set_is_all_or_nothing(ctx: Ctx) {
    let store = ctx.store().await;
    let alice = user("alice");
    setup(&store, &["a", "b", "c"]).await;
    let (va, mut a) = config(&store, "prod", "a").await;
    let (vb, mut b) = config(&store, "prod", "b").await;
    a.on = true;
    b.on = true;
    b.rules = vec![rule("r1", "country", "SE", "nope")];
    let rev = revision(&store, "prod").await;
    let audits = audit_count(&store).await;
    let set = |a: &FlagConfig, b: &FlagConfig, vb| ChangeSetRequest {
        changes: vec![
            ConfigChange { flag: "a".into(), version: va, config: a.clone() },
            ConfigChange { flag: "b".into(), version: vb, config: b.clone() },
        ],
        reason: Some("launch".into()),
    };

    let err = store.apply_change_set(&alice, "shop", "prod", set(&a, &b, vb)).await.unwrap_err();
    assert_eq!(paths(err), vec![("changes[1].config.rules[0].serve.variant".to_string(), "unknown_variant")]);
    b.rules = vec![rule("r1", "country", "SE", "on")];
    let err = store.apply_change_set(&alice, "shop", "prod", set(&a, &b, vb + 7)).await.unwrap_err();
    assert_eq!(assert_conflict(err, "version_conflict"), Some(vb));
    let twice = ChangeSetRequest {
        changes: vec![
            ConfigChange { flag: "a".into(), version: va, config: a.clone() },
            ConfigChange { flag: "a".into(), version: va, config: a.clone() },
        ],
        reason: None,
    };
    let err = store.apply_change_set(&alice, "shop", "prod", twice).await.unwrap_err();
    assert_eq!(paths(err), vec![("changes[1].flag".to_string(), "duplicate_key")]);
    let empty = ChangeSetRequest { changes: Vec::new(), reason: None };
    assert_eq!(paths(store.apply_change_set(&alice, "shop", "prod", empty).await.unwrap_err())[0].0, "changes");
    assert_eq!(revision(&store, "prod").await, rev);
    assert_eq!(audit_count(&store).await, audits);
    assert!(!config(&store, "prod", "a").await.1.on, "nothing applied");

    let w = store.apply_change_set(&alice, "shop", "prod", set(&a, &b, vb)).await.unwrap();
    assert!(w.changed);
    assert_eq!(w.revision, Some(rev + 1));
    assert_eq!(w.value.configs.iter().map(|r| (r.flag.as_str(), r.version)).collect::<Vec<_>>(), [("a", 2), ("b", 2)]);
    let events =
        store.list_audit("shop", &AuditQuery { limit: Some(10), ..AuditQuery::default() }).await.unwrap().items;
    let set_events: Vec<_> = events.iter().filter(|e| e.group_id.as_deref() == Some(w.value.id.as_str())).collect();
    assert_eq!(set_events.len(), 2);
    assert!(set_events.iter().all(|e| e.action == "change_set.apply" && e.revision == Some(rev + 1)));
    assert_eq!(audit_count(&store).await, audits + 2);
    let env = store.get_environment("shop", "prod").await.unwrap();
    let log = store.changes_since(env.id, rev, 10).await.unwrap().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].flags.len(), 2);
}

pub async fn revert_change_set(ctx: Ctx) {
    let store = ctx.store().await;
    let alice = user("alice");
    setup(&store, &["a", "b", "c"]).await;
    store.toggle_flag(&alice, "shop", "prod", "a", true, None).await.unwrap();
    let (va, before_a) = config(&store, "prod", "a").await;
    let (vb, before_b) = config(&store, "prod", "b").await;
    let mut a = before_a.clone();
    a.rules = vec![rule("r1", "country", "SE", "off")];
    let b = FlagConfig { on: true, ..before_b.clone() };
    let set = ChangeSetRequest {
        changes: vec![
            ConfigChange { flag: "a".into(), version: va, config: a },
            ConfigChange { flag: "b".into(), version: vb, config: b },
        ],
        reason: None,
    };
    let applied = store.apply_change_set(&alice, "shop", "prod", set).await.unwrap();
    // Later edits and a kill: the revert still restores the pre-set configs, keeping the kill.
    store.toggle_flag(&alice, "shop", "prod", "b", false, None).await.unwrap();
    store.toggle_flag(&alice, "shop", "prod", "b", true, None).await.unwrap();
    store.kill_flags(&alice, "shop", "prod", kill(&["a"], "outage")).await.unwrap();
    let rev = revision(&store, "prod").await;

    assert_not_found(store.revert_change_set(&alice, "shop", "prod", "no-such-set", "x".into()).await, "change set");
    assert_not_found(store.revert_change_set(&alice, "shop", "dev", &applied.value.id, "x".into()).await, "change set");
    let w = store.revert_change_set(&alice, "shop", "prod", &applied.value.id, "undo".into()).await.unwrap();
    assert!(w.changed);
    assert_eq!(w.revision, Some(rev + 1));
    assert_ne!(w.value.id, applied.value.id);
    let (_, now_a) = config(&store, "prod", "a").await;
    assert_eq!(now_a, FlagConfig { kill: now_a.kill.clone(), ..before_a });
    assert!(now_a.kill.is_some());
    assert_eq!(config(&store, "prod", "b").await.1, before_b);
    let events = store.list_audit("shop", &AuditQuery { limit: Some(2), ..AuditQuery::default() }).await.unwrap().items;
    assert!(
        events.iter().all(|e| e.action == "change_set.revert" && e.group_id.as_deref() == Some(w.value.id.as_str()))
    );

    // Reverting the same set again: already there.
    let again = store.revert_change_set(&alice, "shop", "prod", &applied.value.id, "undo".into()).await.unwrap();
    assert!(!again.changed && again.revision.is_none());
    // Reverting the revert re-applies the set.
    let redo = store.revert_change_set(&alice, "shop", "prod", &w.value.id, "redo".into()).await.unwrap();
    assert!(redo.changed);
    assert!(config(&store, "prod", "b").await.1.on);
}
