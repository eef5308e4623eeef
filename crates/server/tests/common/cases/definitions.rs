//! Projects, environments and flag definitions.

use super::*;

pub async fn projects_environments_and_flags(ctx: Ctx) {
    let store = ctx.store().await;
    let admin = user("admin");
    assert_eq!(store.backend(), ctx.backend);
    store.ping().await.expect("ping");
    setup(&store, &[]).await;

    let dup = store
        .create_project(&admin, NewProject { key: "shop".into(), name: None, description: None, environments: None })
        .await;
    assert_already_exists(dup);
    let bad = store
        .create_project(&admin, NewProject { key: "Bad Key".into(), name: None, description: None, environments: None })
        .await;
    assert_eq!(paths(bad.expect_err("invalid key")), vec![("key".to_string(), "invalid_key")]);
    store
        .create_project(&admin, NewProject { key: "alpha".into(), name: None, description: None, environments: None })
        .await
        .unwrap();
    let keys: Vec<String> = store.list_projects().await.unwrap().into_iter().map(|p| p.key).collect();
    assert_eq!(keys, ["alpha", "shop"]);
    assert_eq!(store.get_project("alpha").await.unwrap().name, "alpha");
    assert_not_found(store.get_project("nope").await, "project");

    let envs = store.list_environments("shop").await.unwrap();
    assert_eq!(envs.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["dev", "prod"]);
    assert!(envs.iter().all(|e| e.revision == 1));
    assert_eq!(store.environment_by_id(envs[1].id).await.unwrap().key, "prod");
    assert_not_found(store.get_environment("shop", "nope").await, "environment");
    assert_not_found(store.get_environment("nope", "dev").await, "project");
    assert_not_found(store.environment_by_id(987_654).await, "environment");
    let dup = store
        .create_environment(&admin, "shop", NewEnvironment { key: "dev".into(), name: None, ..Default::default() })
        .await;
    assert_already_exists(dup);

    // Boolean defaults.
    let flag = store.create_flag(&admin, "shop", new_flag("checkout")).await.unwrap();
    assert_eq!(flag.version, 1);
    assert_eq!(flag.salt.len(), 16);
    assert_eq!(
        flag.variants.iter().map(|v| (v.key.as_str(), v.value.clone())).collect::<Vec<_>>(),
        [("on", json!(true)), ("off", json!(false))]
    );
    for env in ["dev", "prod"] {
        let (version, cfg) = config(&store, env, "checkout").await;
        assert_eq!(version, 1);
        assert!(!cfg.on && cfg.kill.is_none() && cfg.rules.is_empty() && cfg.targets.is_empty());
        assert_eq!(cfg.off_variant, "off");
        assert_eq!(cfg.fallthrough, Serve::Variant("on".into()));
        assert_eq!(revision(&store, env).await, 2, "a new flag bumps every environment");
    }
    assert_already_exists(store.create_flag(&admin, "shop", new_flag("checkout")).await);
    assert_not_found(store.create_flag(&admin, "nope", new_flag("x")).await, "project");
    assert_eq!(store.get_flag("shop", "checkout").await.unwrap().salt, flag.salt);
    assert_not_found(store.get_flag("shop", "nope").await, "flag");

    // Non-boolean defaults: last variant off, first served.
    store.create_flag(&admin, "shop", string_flag("theme", &["dark", "light", "plain"])).await.unwrap();
    let (_, cfg) = config(&store, "dev", "theme").await;
    assert_eq!((cfg.off_variant.as_str(), cfg.fallthrough), ("plain", Serve::Variant("dark".into())));
    let explicit = NewFlag {
        off_variant: Some("dark".into()),
        on_variant: Some("light".into()),
        ..string_flag("theme2", &["dark", "light", "plain"])
    };
    store.create_flag(&admin, "shop", explicit).await.unwrap();
    let (_, cfg) = config(&store, "prod", "theme2").await;
    assert_eq!((cfg.off_variant.as_str(), cfg.fallthrough), ("dark", Serve::Variant("light".into())));

    // Invalid definitions are rejected with paths and write nothing.
    let before = revision(&store, "dev").await;
    let bad = NewFlag { on_variant: Some("nope".into()), ..string_flag("bad", &["a", "b"]) };
    assert_eq!(
        paths(store.create_flag(&admin, "shop", bad).await.unwrap_err()),
        vec![("on_variant".to_string(), "unknown_variant")]
    );
    let bad = NewFlag { kind: FlagKind::Number, ..string_flag("bad", &["a"]) };
    assert_eq!(
        paths(store.create_flag(&admin, "shop", bad).await.unwrap_err()),
        vec![("variants[0].value".to_string(), "type_mismatch")]
    );
    let bad_key = store.create_flag(&admin, "shop", new_flag("Bad")).await.unwrap_err();
    assert_eq!(paths(bad_key), vec![("key".to_string(), "invalid_key")]);
    assert_eq!(revision(&store, "dev").await, before);
    assert_not_found(store.get_flag("shop", "bad").await, "flag");
}

pub async fn new_environment_gets_default_configs_and_full_change(ctx: Ctx) {
    let store = ctx.store().await;
    let admin = user("admin");
    setup(&store, &["a", "b"]).await;
    store.create_segment(&admin, "shop", segment("beta", &["u1"])).await.unwrap();
    let staging = store
        .create_environment(
            &admin,
            "shop",
            NewEnvironment { key: "staging".into(), name: Some("Staging".into()), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!((staging.revision, staging.name.as_str()), (1, "Staging"));
    for flag in ["a", "b"] {
        let (version, cfg) = config(&store, "staging", flag).await;
        assert_eq!((version, cfg.on, cfg.off_variant.as_str()), (1, false, "off"));
    }
    let changes = store.changes_since(staging.id, 0, 100).await.unwrap().expect("log reaches back");
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].revision, 1);
    assert_eq!(changes[0].flags.iter().map(|f| f.key.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(changes[0].segments.len(), 1);
    let mut replayed = Snapshot::default();
    assert!(replayed.apply(&changes[0]));
    assert_eq!(replayed, store.snapshot(staging.id).await.unwrap());
    let actions: Vec<String> = store
        .list_audit("shop", &AuditQuery { environment: Some("staging".into()), ..AuditQuery::default() })
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["environment.create"]);
}

pub async fn flag_definition_update_and_delete(ctx: Ctx) {
    let store = ctx.store().await;
    let admin = user("admin");
    setup(&store, &[]).await;
    store.create_flag(&admin, "shop", string_flag("theme", &["dark", "light"])).await.unwrap();
    let rev = revision(&store, "dev").await;

    // Metadata only: new definition version, SDKs see nothing new.
    let patch = FlagPatch { name: Some("Theme".into()), tags: Some(vec!["ui".into()]), ..FlagPatch::default() };
    let def = store.update_flag(&admin, "shop", "theme", patch, Some(1)).await.unwrap();
    assert_eq!((def.version, def.name.as_str(), def.tags.clone()), (2, "Theme", vec!["ui".to_string()]));
    assert_eq!(revision(&store, "dev").await, rev);
    let stale = store.update_flag(&admin, "shop", "theme", FlagPatch::default(), Some(1)).await.unwrap_err();
    assert_eq!(assert_conflict(stale, "version_conflict"), Some(2));
    assert_not_found(store.update_flag(&admin, "shop", "nope", FlagPatch::default(), None).await, "flag");

    // A variant still served somewhere cannot be removed.
    let (v, mut cfg) = config(&store, "prod", "theme").await;
    cfg.rules = vec![rule("r1", "country", "SE", "light")];
    store.put_flag_config(&admin, "shop", "prod", "theme", cfg, v, None).await.unwrap();
    let only_dark = vec![Variant { key: "dark".into(), value: json!("dark"), name: None, description: None }];
    let patch = FlagPatch { variants: Some(only_dark), ..FlagPatch::default() };
    let err = store.update_flag(&admin, "shop", "theme", patch, None).await.unwrap_err();
    let errs = paths(err);
    assert!(errs.contains(&("variants".to_string(), "variant_in_use")), "{errs:?}");
    assert_eq!(store.get_flag("shop", "theme").await.unwrap().variants.len(), 2);

    // Adding a variant is visible to SDKs: every environment is bumped.
    let mut three = store.get_flag("shop", "theme").await.unwrap().variants;
    three.push(Variant { key: "neon".into(), value: json!("neon"), name: None, description: None });
    let (dev_rev, prod_rev) = (revision(&store, "dev").await, revision(&store, "prod").await);
    let def = store
        .update_flag(&admin, "shop", "theme", FlagPatch { variants: Some(three), ..FlagPatch::default() }, Some(2))
        .await
        .unwrap();
    assert_eq!(def.version, 3);
    assert_eq!(revision(&store, "dev").await, dev_rev + 1);
    assert_eq!(revision(&store, "prod").await, prod_rev + 1);
    let env = store.get_environment("shop", "dev").await.unwrap();
    let snap = store.snapshot(env.id).await.unwrap();
    assert_eq!(snap.flags[0].variants.len(), 3);

    // Only an archived flag is deleted. Archiving tombstones it in every
    // environment's log; the delete then changes nothing an SDK sees.
    assert_conflict(store.delete_flag(&admin, "shop", "theme", Some("x".into())).await.unwrap_err(), "not_archived");
    assert!(store.archive_flag(&admin, "shop", "theme", "retired").await.unwrap().changed);
    assert!(!store.archive_flag(&admin, "shop", "theme", "again").await.unwrap().changed);
    assert!(store.get_flag("shop", "theme").await.unwrap().archived_at.is_some());
    assert!(store.snapshot(env.id).await.unwrap().flags.is_empty());
    store.delete_flag(&admin, "shop", "theme", Some("cleanup".into())).await.unwrap();
    assert_not_found(store.get_flag("shop", "theme").await, "flag");
    assert_not_found(store.get_flag_config("shop", "dev", "theme").await, "flag");
    assert_not_found(store.delete_flag(&admin, "shop", "theme", None).await, "flag");
    let last = store.changes_since(env.id, env.revision, 10).await.unwrap().unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].deleted_flags, ["theme"]);
    assert!(store.snapshot(env.id).await.unwrap().flags.is_empty());
    let q = AuditQuery { flag: Some("theme".into()), ..AuditQuery::default() };
    let actions: Vec<String> =
        store.list_audit("shop", &q).await.unwrap().items.into_iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        ["flag.delete", "flag.archive", "flag.update", "flag.config.update", "flag.update", "flag.create"]
    );

    // The key can be reused; the new flag starts a fresh history.
    store.create_flag(&admin, "shop", string_flag("theme", &["x", "y"])).await.unwrap();
    let history = store.config_history("shop", "prod", "theme").await.unwrap();
    assert_eq!(history.iter().map(|r| r.version).collect::<Vec<_>>(), [1]);
}
