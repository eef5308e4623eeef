//! What SDKs consume: keys, snapshots, the change log and the sink.

use super::*;

pub async fn sdk_keys(ctx: Ctx) {
    let store = ctx.store().await;
    let admin = user("admin");
    setup(&store, &[]).await;
    let key =
        |name: &str, hash: &str| NewSdkKey { name: name.into(), hash: hash.into(), prefix: format!("sdk_{name}") };
    let k = store.create_sdk_key(&admin, "shop", "prod", key("web", "hash-web")).await.unwrap();
    let prod = store.get_environment("shop", "prod").await.unwrap();
    assert_eq!((k.environment_id, k.project.as_str(), k.environment.as_str()), (prod.id, "shop", "prod"));
    assert_eq!((k.prefix.as_str(), k.revoked_at), ("sdk_web", None));
    store.create_sdk_key(&admin, "shop", "prod", key("ios", "hash-ios")).await.unwrap();
    store.create_sdk_key(&admin, "shop", "dev", key("dev", "hash-dev")).await.unwrap();
    assert_already_exists(store.create_sdk_key(&admin, "shop", "dev", key("dup", "hash-web")).await);
    assert_not_found(store.create_sdk_key(&admin, "shop", "qa", key("x", "hash-x")).await, "environment");
    assert_eq!(revision(&store, "prod").await, prod.revision, "keys are not SDK-visible state");

    let found = store.sdk_key_by_hash("hash-web").await.unwrap().expect("key");
    assert_eq!((found.id, found.environment_id), (k.id, prod.id));
    assert!(store.sdk_key_by_hash("unknown").await.unwrap().is_none());
    let names: Vec<String> = store.list_sdk_keys("shop", "prod").await.unwrap().into_iter().map(|k| k.name).collect();
    assert_eq!(names, ["web", "ios"]);

    assert_not_found(store.revoke_sdk_key(&admin, "shop", "dev", k.id).await, "sdk key");
    let revoked = store.revoke_sdk_key(&admin, "shop", "prod", k.id).await.unwrap();
    let at = revoked.revoked_at.expect("revoked");
    assert_eq!(store.revoke_sdk_key(&admin, "shop", "prod", k.id).await.unwrap().revoked_at, Some(at));
    assert_eq!(store.sdk_key_by_hash("hash-web").await.unwrap().unwrap().revoked_at, Some(at));
    let q = AuditQuery { environment: Some("prod".into()), ..AuditQuery::default() };
    let actions: Vec<String> =
        store.list_audit("shop", &q).await.unwrap().items.into_iter().map(|e| e.action).collect();
    assert_eq!(actions, ["sdk_key.revoke", "sdk_key.create", "sdk_key.create", "environment.create"]);
}

pub async fn snapshot_matches_replayed_changes(ctx: Ctx) {
    let store = ctx.store().await;
    let admin = user("admin");
    setup(&store, &["checkout", "search"]).await;
    store.create_flag(&admin, "shop", string_flag("theme", &["dark", "light"])).await.unwrap();
    store.create_segment(&admin, "shop", segment("beta", &["u1"])).await.unwrap();
    let (v, mut cfg) = config(&store, "prod", "checkout").await;
    cfg.on = true;
    cfg.rules = vec![segment_rule("r1", "beta", "on")];
    store.put_flag_config(&admin, "shop", "prod", "checkout", cfg.clone(), v, None).await.unwrap();
    store.kill_flags(&admin, "shop", "prod", kill(&["search"], "outage")).await.unwrap();
    store.archive_flag(&admin, "shop", "theme", "retired").await.unwrap();
    store.delete_flag(&admin, "shop", "theme", Some("cleanup".into())).await.unwrap();

    let prod = store.get_environment("shop", "prod").await.unwrap();
    let snap = store.snapshot(prod.id).await.unwrap();
    assert_eq!(snap.revision, prod.revision);
    assert_eq!(snap.flags.iter().map(|f| f.key.as_str()).collect::<Vec<_>>(), ["checkout", "search"]);
    let checkout = &snap.flags[0];
    let def = store.get_flag("shop", "checkout").await.unwrap();
    assert_eq!((checkout.salt.as_str(), checkout.version, checkout.on), (def.salt.as_str(), 2, true));
    assert_eq!(checkout.variants, def.variants);
    assert_eq!((checkout.rules.clone(), checkout.fallthrough.clone()), (cfg.rules, cfg.fallthrough));
    assert!(snap.flags[1].kill.is_some());
    assert_eq!(snap.segments.len(), 1);
    assert_eq!((snap.segments[0].key.as_str(), snap.segments[0].version), ("beta", 1));
    for flag in &snap.flags {
        let segments = &snap.segments;
        switchyard_core::validate_flag(flag, &|k| segments.iter().any(|s| s.key == k)).expect("served flags are valid");
    }

    // Replaying the whole log gives the same snapshot, on every environment.
    for env in store.list_environments("shop").await.unwrap() {
        let mut replayed = Snapshot::default();
        for change in store.changes_since(env.id, 0, 10_000).await.unwrap().expect("full log") {
            assert!(replayed.apply(&change));
        }
        let mut snap = store.snapshot(env.id).await.unwrap();
        replayed.flags.sort_by(|a, b| a.key.cmp(&b.key));
        replayed.segments.sort_by(|a, b| a.key.cmp(&b.key));
        snap.flags.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(replayed, snap, "environment {}", env.key);
    }
    let revisions = store.revisions().await.unwrap();
    assert!(revisions.contains(&(prod.id, prod.revision)));
    assert_eq!(revisions.len(), 2);
    assert_not_found(store.snapshot(9_999_999).await, "environment");
}

pub async fn changes_since_is_contiguous_and_pruned(ctx: Ctx) {
    let sink = Arc::new(RecordingSink::default());
    let options = StoreOptions { change_log_retention: 5, ..StoreOptions::default() };
    let store = ctx.store_with(sink, options).await;
    let alice = user("alice");
    setup(&store, &["a"]).await;
    let env = store.get_environment("shop", "dev").await.unwrap();
    let log = store.changes_since(env.id, 0, 100).await.unwrap().expect("still complete");
    assert_eq!(log.iter().map(|c| c.revision).collect::<Vec<_>>(), [1, 2]);
    let limited = store.changes_since(env.id, 0, 1).await.unwrap().unwrap();
    assert_eq!(limited.len(), 1);

    for i in 0..10 {
        store.toggle_flag(&alice, "shop", "dev", "a", i % 2 == 0, None).await.unwrap();
    }
    let current = revision(&store, "dev").await;
    assert_eq!(current, 12);
    // Newest 5 kept: revisions 8..=12, so clients at 7 or later can catch up.
    let tail = store.changes_since(env.id, current - 5, 100).await.unwrap().expect("within retention");
    assert_eq!(tail.iter().map(|c| c.revision).collect::<Vec<_>>(), (8..=12).collect::<Vec<_>>());
    assert!(tail.iter().all(|c| c.flags.len() == 1 && c.flags[0].key == "a"));
    assert!(store.changes_since(env.id, current - 6, 100).await.unwrap().is_none(), "pruned range");
    assert!(store.changes_since(env.id, 0, 100).await.unwrap().is_none());
    assert_eq!(store.changes_since(env.id, current, 100).await.unwrap(), Some(Vec::new()));
    assert_eq!(store.changes_since(env.id, current + 5, 100).await.unwrap(), Some(Vec::new()));
    let rows = ctx.raw_count(&format!("SELECT COUNT(*) FROM changes WHERE environment_id = {}", env.id)).await;
    assert_eq!(rows, 5);
    assert_not_found(store.changes_since(123_456, 0, 10).await, "environment");
}

pub async fn sink_receives_changes_in_revision_order(ctx: Ctx) {
    let sink = Arc::new(RecordingSink::default());
    let store = ctx.store_with(sink.clone(), StoreOptions::default()).await;
    let flags: Vec<String> = (0..6).map(|i| format!("f{i}")).collect();
    let refs: Vec<&str> = flags.iter().map(String::as_str).collect();
    setup(&store, &refs).await;
    let setup_changes = sink.take();
    assert_eq!(setup_changes.len(), 2 + 2 * 6, "two new environments, six flags in each");

    let mut tasks = Vec::new();
    for round in 0..3 {
        for f in &flags {
            for env in ["dev", "prod"] {
                let (store, f) = (store.clone(), f.clone());
                tasks.push(tokio::spawn(async move {
                    store.toggle_flag(&user("t"), "shop", env, &f, round % 2 == 0, None).await.expect("toggle");
                }));
            }
        }
        let (store2, seg) = (store.clone(), format!("s{round}"));
        tasks.push(tokio::spawn(async move {
            store2.create_segment(&user("t"), "shop", segment(&seg, &[])).await.expect("segment");
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let published = sink.take();
    let mut per_env: HashMap<i64, Vec<u64>> = HashMap::new();
    for c in &setup_changes {
        per_env.entry(c.environment_id).or_default().push(c.event.revision);
    }
    for c in &published {
        assert_eq!(c.project, "shop");
        per_env.entry(c.environment_id).or_default().push(c.event.revision);
    }
    for env in store.list_environments("shop").await.unwrap() {
        let seen = &per_env[&env.id];
        assert_eq!(seen, &(1..=env.revision).collect::<Vec<_>>(), "environment {}: in order, none skipped", env.key);
        let logged = store.changes_since(env.id, 0, 10_000).await.unwrap().unwrap();
        let published_events: Vec<_> = setup_changes
            .iter()
            .chain(&published)
            .filter(|c| c.environment_id == env.id)
            .map(|c| c.event.clone())
            .collect();
        assert_eq!(logged, published_events, "the sink saw exactly the change log");
    }
}
