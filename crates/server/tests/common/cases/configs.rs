//! Per-environment configuration writes: toggle, edit, kill, restore,
//! optimistic concurrency.

use super::*;

pub async fn toggle_bumps_revision_and_audits(ctx: Ctx) {
    let store = ctx.store().await;
    let alice = user("alice");
    setup(&store, &["checkout"]).await;
    let (dev, prod) = (revision(&store, "dev").await, revision(&store, "prod").await);
    let audits = audit_count(&store).await;

    let w = store.toggle_flag(&alice, "shop", "dev", "checkout", true, Some("launch".into())).await.unwrap();
    assert!(w.changed);
    assert_eq!(w.revision, Some(dev + 1));
    assert_eq!((w.value.version, w.value.config.on, w.value.updated_by.as_str()), (2, true, "alice"));
    assert_eq!(revision(&store, "dev").await, dev + 1);
    assert_eq!(revision(&store, "prod").await, prod, "other environments untouched");
    assert_eq!(audit_count(&store).await, audits + 1);

    let q = AuditQuery { flag: Some("checkout".into()), limit: Some(1), ..AuditQuery::default() };
    let event = store.list_audit("shop", &q).await.unwrap().items.remove(0);
    assert_eq!(event.action, "flag.toggle");
    assert_eq!((event.actor.as_str(), event.environment.as_deref()), ("alice", Some("dev")));
    assert_eq!(event.actor_kind, switchyard_server::store::ActorKind::User);
    assert_eq!((event.reason.as_deref(), event.revision), (Some("launch"), Some(dev + 1)));
    assert_eq!((event.request_id.as_deref(), event.client_addr.as_deref()), (Some("req-alice"), Some("127.0.0.1")));
    assert_eq!(event.before.as_ref().unwrap()["config"]["on"], json!(false));
    assert_eq!(event.after.as_ref().unwrap()["config"]["on"], json!(true));
    assert_eq!(event.after.as_ref().unwrap()["version"], json!(2));

    // Same state again: a no-op.
    let w = store.toggle_flag(&alice, "shop", "dev", "checkout", true, None).await.unwrap();
    assert!(!w.changed);
    assert_eq!((w.revision, w.value.version), (None, 2));
    assert_eq!(revision(&store, "dev").await, dev + 1);
    assert_eq!(audit_count(&store).await, audits + 1);
    assert_not_found(store.toggle_flag(&alice, "shop", "dev", "nope", true, None).await, "flag");
    assert_not_found(store.toggle_flag(&alice, "shop", "qa", "checkout", true, None).await, "environment");
}

pub async fn stale_version_conflicts_and_writes_nothing(ctx: Ctx) {
    let store = ctx.store().await;
    let alice = user("alice");
    setup(&store, &["checkout"]).await;
    let (v, mut cfg) = config(&store, "prod", "checkout").await;
    cfg.on = true;
    cfg.targets = vec![switchyard_core::Target { variant: "on".into(), keys: vec!["u1".into()] }];
    let w =
        store.put_flag_config(&alice, "shop", "prod", "checkout", cfg.clone(), v, Some("edit".into())).await.unwrap();
    assert!(w.changed);
    assert_eq!(w.value.version, v + 1);

    let rev = revision(&store, "prod").await;
    let audits = audit_count(&store).await;
    let mut other = cfg.clone();
    other.on = false;
    let err = store.put_flag_config(&alice, "shop", "prod", "checkout", other, v, None).await.unwrap_err();
    assert_eq!(assert_conflict(err, "version_conflict"), Some(v + 1));
    assert_eq!(revision(&store, "prod").await, rev);
    assert_eq!(audit_count(&store).await, audits);
    assert_eq!(config(&store, "prod", "checkout").await, (v + 1, cfg.clone()));

    // Identical content at the right version: nothing to write.
    let w = store.put_flag_config(&alice, "shop", "prod", "checkout", cfg, v + 1, None).await.unwrap();
    assert!(!w.changed);
    assert_eq!(revision(&store, "prod").await, rev);
    let q = AuditQuery { flag: Some("checkout".into()), ..AuditQuery::default() };
    let last = store.list_audit("shop", &q).await.unwrap().items.remove(0);
    assert_eq!((last.action.as_str(), last.reason.as_deref()), ("flag.config.update", Some("edit")));
}

pub async fn validation_errors_carry_paths(ctx: Ctx) {
    let store = ctx.store().await;
    let alice = user("alice");
    setup(&store, &["checkout"]).await;
    let (v, mut cfg) = config(&store, "dev", "checkout").await;
    let rev = revision(&store, "dev").await;
    cfg.rules = vec![rule("r1", "country", "SE", "on"), rule("r2", "plan", "pro", "purple")];
    cfg.fail_safe_variant = Some("nope".into());
    let err = store.put_flag_config(&alice, "shop", "dev", "checkout", cfg, v, None).await.unwrap_err();
    let mut errs = paths(err);
    errs.sort();
    assert_eq!(
        errs,
        vec![
            ("fail_safe_variant".to_string(), "unknown_variant"),
            ("rules[1].serve.variant".to_string(), "unknown_variant"),
        ]
    );
    assert_eq!(revision(&store, "dev").await, rev);
    assert_eq!(config(&store, "dev", "checkout").await.0, v);
}

pub async fn kill_is_idempotent_and_survives_config_edits(ctx: Ctx) {
    let store = ctx.store().await;
    let pager = user("pager");
    setup(&store, &["checkout", "search", "other"]).await;
    store.toggle_flag(&pager, "shop", "prod", "checkout", true, None).await.unwrap();
    let rev = revision(&store, "prod").await;
    let audits = audit_count(&store).await;

    let empty = store.kill_flags(&pager, "shop", "prod", kill(&["checkout"], " ")).await.unwrap_err();
    assert_eq!(paths(empty), vec![("reason".to_string(), "required")]);
    // Unknown flag: nothing written at all.
    let err = store.kill_flags(&pager, "shop", "prod", kill(&["checkout", "ghost"], "outage")).await;
    assert_not_found(err, "flag");
    assert_eq!(revision(&store, "prod").await, rev);

    let w = store.kill_flags(&pager, "shop", "prod", kill(&["checkout", "search"], "outage")).await.unwrap();
    assert!(w.changed);
    assert_eq!(w.revision, Some(rev + 1), "one revision for the whole set");
    assert_eq!(w.value.len(), 2);
    for r in &w.value {
        let k = r.config.kill.as_ref().expect("killed");
        assert_eq!((k.reason.as_str(), k.by.as_str(), k.incident.as_deref()), ("outage", "pager", Some("INC-7")));
        assert!(chrono::DateTime::parse_from_rfc3339(&k.at).is_ok());
        assert_eq!(r.version, if r.flag == "checkout" { 3 } else { 2 });
    }
    let events = store.list_audit("shop", &AuditQuery { limit: Some(2), ..AuditQuery::default() }).await.unwrap().items;
    assert!(events.iter().all(|e| e.action == "flag.kill" && e.revision == Some(rev + 1)));
    assert!(events[0].group_id.is_some() && events[0].group_id == events[1].group_id);
    assert_eq!(audit_count(&store).await, audits + 2);
    let env = store.get_environment("shop", "prod").await.unwrap();
    let change = store.changes_since(env.id, rev, 10).await.unwrap().unwrap();
    assert_eq!(change.len(), 1);
    assert!(change[0].flags.iter().all(|f| f.kill.is_some()));

    // Again (plus one not yet killed): only the new one changes.
    let w = store.kill_flags(&pager, "shop", "prod", kill(&["checkout", "search"], "again")).await.unwrap();
    assert!(!w.changed && w.revision.is_none());
    assert_eq!(w.value[0].config.kill.as_ref().unwrap().reason, "outage");
    let w = store.kill_flags(&pager, "shop", "prod", kill(&["search", "other"], "wider")).await.unwrap();
    assert!(w.changed);
    assert_eq!(w.value[0].config.kill.as_ref().unwrap().reason, "outage", "already killed: untouched");
    assert_eq!(w.value[1].config.kill.as_ref().unwrap().reason, "wider");
    assert_eq!(audit_count(&store).await, audits + 3);

    // A configuration edit can neither clear nor forge a kill.
    let (v, mut cfg) = config(&store, "prod", "checkout").await;
    let kill_before = cfg.kill.take();
    cfg.on = false;
    let w = store.put_flag_config(&pager, "shop", "prod", "checkout", cfg.clone(), v, None).await.unwrap();
    assert_eq!(w.value.config.kill, kill_before);
    let (v, mut cfg) = config(&store, "dev", "checkout").await;
    cfg.kill = kill_before.clone();
    cfg.on = true;
    let w = store.put_flag_config(&pager, "shop", "dev", "checkout", cfg, v, None).await.unwrap();
    assert!(w.value.config.kill.is_none());
    assert!(
        store.toggle_flag(&pager, "shop", "prod", "checkout", true, None).await.unwrap().value.config.kill.is_some()
    );

    // Filters see the kill.
    let q = FlagQuery { state: Some("killed".into()), environment: Some("prod".into()), ..FlagQuery::default() };
    let killed: Vec<String> =
        store.list_flags("shop", &q).await.unwrap().items.into_iter().map(|f| f.flag.key).collect();
    assert_eq!(killed, ["checkout", "other", "search"]);
}

pub async fn restore_clears_kill(ctx: Ctx) {
    let store = ctx.store().await;
    let pager = user("pager");
    setup(&store, &["checkout", "search"]).await;
    store.kill_flags(&pager, "shop", "prod", kill(&["checkout"], "outage")).await.unwrap();
    let rev = revision(&store, "prod").await;
    let flags = vec!["checkout".to_string(), "search".to_string()];
    let w = store.restore_flags(&pager, "shop", "prod", &flags, "fixed".into(), None).await.unwrap();
    assert!(w.changed);
    assert_eq!(w.revision, Some(rev + 1));
    assert!(w.value.iter().all(|r| r.config.kill.is_none()));
    assert_eq!(w.value[0].version, 3);
    assert_eq!(w.value[1].version, 1, "a flag that was not killed is left alone");
    let events = store.list_audit("shop", &AuditQuery { limit: Some(5), ..AuditQuery::default() }).await.unwrap().items;
    assert_eq!(events[0].action, "flag.restore");
    assert_eq!(events[0].flag.as_deref(), Some("checkout"));
    assert_eq!(events[1].action, "flag.kill");
    let w = store.restore_flags(&pager, "shop", "prod", &flags, "again".into(), None).await.unwrap();
    assert!(!w.changed && w.revision.is_none());
    assert_eq!(revision(&store, "prod").await, rev + 1);
}

pub async fn concurrent_writers_never_lose_updates(ctx: Ctx) {
    let store = ctx.store().await;
    let flags: Vec<String> = (0..10).map(|i| format!("f{i}")).collect();
    let flag_refs: Vec<&str> = flags.iter().map(String::as_str).collect();
    setup(&store, &flag_refs).await;
    let rev = revision(&store, "prod").await;
    let audits = audit_count(&store).await;

    // 20 edits from the same version: exactly one wins.
    let (v, base) = config(&store, "prod", "f0").await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        let mut cfg = base.clone();
        cfg.on = true;
        cfg.targets = vec![switchyard_core::Target { variant: "on".into(), keys: vec![format!("user-{i}")] }];
        tasks.push(tokio::spawn(async move {
            store.put_flag_config(&user(&format!("u{i}")), "shop", "prod", "f0", cfg, v, None).await
        }));
    }
    let (mut ok, mut conflicts) = (0, 0);
    for t in tasks {
        match t.await.expect("task") {
            Ok(w) => {
                assert!(w.changed);
                ok += 1;
            }
            Err(StoreError::Conflict { code: "version_conflict", current_version: Some(cur), .. }) => {
                assert_eq!(cur, v + 1);
                conflicts += 1;
            }
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!((ok, conflicts), (1, 19));
    assert_eq!(revision(&store, "prod").await, rev + 1);
    assert_eq!(store.config_history("shop", "prod", "f0").await.unwrap().len(), 2);

    // 20 identical toggles: one change, 19 no-ops.
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.toggle_flag(&user("t"), "shop", "prod", "f1", true, None).await }));
    }
    let mut changed = 0;
    for t in tasks {
        changed += usize::from(t.await.expect("task").expect("toggle").changed);
    }
    assert_eq!(changed, 1);
    assert_eq!(revision(&store, "prod").await, rev + 2);

    // Different flags concurrently (and a project-wide write in the middle):
    // all succeed, revisions contiguous, one revision per change.
    let mut tasks = Vec::new();
    for f in flags.into_iter().skip(2) {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.toggle_flag(&user("t"), "shop", "prod", &f, true, None).await.map(|w| w.revision)
        }));
    }
    let seg = store.clone();
    let seg_task =
        tokio::spawn(async move { seg.create_segment(&user("t"), "shop", segment("beta", &[])).await.map(|_| None) });
    tasks.push(seg_task);
    let mut revs: Vec<u64> = Vec::new();
    for t in tasks {
        if let Some(r) = t.await.expect("task").expect("write") {
            revs.push(r);
        }
    }
    revs.sort_unstable();
    assert_eq!(revs.len(), 8);
    revs.dedup();
    assert_eq!(revs.len(), 8, "every write got its own revision");
    assert_eq!(revision(&store, "prod").await, rev + 2 + 8 + 1);
    assert_eq!(audit_count(&store).await, audits + 1 + 1 + 8 + 1);
    let env = store.get_environment("shop", "prod").await.unwrap();
    let log = store.changes_since(env.id, 0, 1000).await.unwrap().unwrap();
    assert_eq!(log.iter().map(|c| c.revision).collect::<Vec<_>>(), (1..=env.revision).collect::<Vec<_>>());
}
