//! Lists: flags (filters, pages) and the audit log (filters, pages, append-only).

use super::*;

pub async fn flag_list_filters_and_pagination(ctx: Ctx) {
    let store = ctx.store().await;
    let admin = user("admin");
    setup(&store, &[]).await;
    let specs = [
        ("a-checkout", "New checkout", Some("Payment flow"), vec!["checkout", "web"]),
        ("b-search", "Search v2", None, vec!["web"]),
        ("c.payments", "Payments", Some("Uses the new CHECKOUT api"), vec!["checkout"]),
        ("d_banner", "Banner", None, vec![]),
        ("e1", "Experiment", None, vec!["exp"]),
    ];
    for (key, name, description, tags) in &specs {
        let new = NewFlag {
            name: Some((*name).into()),
            description: description.map(Into::into),
            tags: tags.iter().map(|t| (*t).into()).collect(),
            ..new_flag(key)
        };
        store.create_flag(&admin, "shop", new).await.unwrap();
    }
    store.toggle_flag(&admin, "shop", "prod", "b-search", true, None).await.unwrap();
    store.toggle_flag(&admin, "shop", "prod", "e1", true, None).await.unwrap();
    store.kill_flags(&admin, "shop", "prod", kill(&["e1"], "bad")).await.unwrap();

    let keys = |page: &switchyard_server::store::Page<switchyard_server::store::FlagSummary>| {
        page.items.iter().map(|f| f.flag.key.clone()).collect::<Vec<_>>()
    };
    let list = |q: FlagQuery| {
        let store = store.clone();
        async move { store.list_flags("shop", &q).await }
    };
    let all = list(FlagQuery::default()).await.unwrap();
    assert_eq!(keys(&all), ["a-checkout", "b-search", "c.payments", "d_banner", "e1"]);
    assert!(all.next_cursor.is_none());
    let first = &all.items[0];
    assert_eq!(first.environments.iter().map(|e| e.environment.as_str()).collect::<Vec<_>>(), ["dev", "prod"]);
    assert_eq!(first.flag.tags, ["checkout", "web"]);
    let e1 = &all.items[4].environments[1];
    assert_eq!((e1.on, e1.killed, e1.version, e1.updated_by.as_str()), (true, true, 3, "admin"));

    let tag = list(FlagQuery { tag: Some("checkout".into()), ..FlagQuery::default() }).await.unwrap();
    assert_eq!(keys(&tag), ["a-checkout", "c.payments"]);
    let text = list(FlagQuery { q: Some("CheckOut".into()), ..FlagQuery::default() }).await.unwrap();
    assert_eq!(keys(&text), ["a-checkout", "c.payments"]);
    let text = list(FlagQuery { q: Some("v2".into()), tag: Some("web".into()), ..FlagQuery::default() }).await.unwrap();
    assert_eq!(keys(&text), ["b-search"]);
    let state = |s: &str| FlagQuery { state: Some(s.into()), environment: Some("prod".into()), ..FlagQuery::default() };
    assert_eq!(keys(&list(state("on")).await.unwrap()), ["b-search"]);
    assert_eq!(keys(&list(state("killed")).await.unwrap()), ["e1"]);
    assert_eq!(keys(&list(state("off")).await.unwrap()), ["a-checkout", "c.payments", "d_banner"]);
    let dev_off = FlagQuery { environment: Some("dev".into()), ..state("off") };
    assert_eq!(list(dev_off).await.unwrap().items.len(), 5);
    assert_eq!(paths(list(state("sideways")).await.unwrap_err())[0].0, "state");
    let no_env = FlagQuery { state: Some("on".into()), ..FlagQuery::default() };
    assert_eq!(paths(list(no_env).await.unwrap_err())[0].0, "environment");
    assert_not_found(list(FlagQuery { environment: Some("qa".into()), ..state("on") }).await, "environment");
    assert_not_found(store.list_flags("nope", &FlagQuery::default()).await, "project");

    // Pages of two, with and without a filter.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = list(FlagQuery { limit: Some(2), cursor: cursor.clone(), ..FlagQuery::default() }).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(keys(&page));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, keys(&all));
    let page = list(FlagQuery { limit: Some(1), tag: Some("web".into()), ..FlagQuery::default() }).await.unwrap();
    assert_eq!(keys(&page), ["a-checkout"]);
    let page =
        list(FlagQuery { limit: Some(1), tag: Some("web".into()), cursor: page.next_cursor, ..FlagQuery::default() })
            .await
            .unwrap();
    assert_eq!(keys(&page), ["b-search"]);
    assert!(page.next_cursor.is_none());
    let bad = list(FlagQuery { cursor: Some("***".into()), ..FlagQuery::default() }).await.unwrap_err();
    assert_eq!(paths(bad)[0].0, "cursor");

    assert_eq!(store.flags_with_tag("shop", "checkout").await.unwrap(), ["a-checkout", "c.payments"]);
    assert!(store.flags_with_tag("shop", "none").await.unwrap().is_empty());
}

pub async fn audit_filters_and_pagination(ctx: Ctx) {
    let store = ctx.store().await;
    setup(&store, &["a", "b"]).await;
    let (alice, bob) = (user("alice"), user("bob"));
    pause().await;
    let start = Utc::now();
    pause().await;
    for i in 0..4 {
        let on = i % 2 == 0;
        store.toggle_flag(&alice, "shop", "dev", "a", on, None).await.unwrap();
        store.toggle_flag(&bob, "shop", "prod", "b", on, None).await.unwrap();
    }
    pause().await;
    let middle = Utc::now();
    pause().await;
    store.toggle_flag(&bob, "shop", "dev", "b", true, None).await.unwrap();

    let q = |f: fn(&mut AuditQuery)| {
        let mut q = AuditQuery { limit: Some(1000), ..AuditQuery::default() };
        f(&mut q);
        q
    };
    let count = |q: AuditQuery| {
        let store = store.clone();
        async move { store.list_audit("shop", &q).await.unwrap().items.len() }
    };
    let total = count(q(|_| {})).await;
    assert_eq!(total, 1 + 2 + 2 + 9, "project, envs, flags, toggles");
    assert_eq!(count(q(|q| q.environment = Some("dev".into()))).await, 1 + 4 + 1);
    assert_eq!(count(q(|q| q.flag = Some("b".into()))).await, 1 + 4 + 1);
    assert_eq!(count(q(|q| q.actor = Some("bob".into()))).await, 5);
    assert_eq!(
        count(q(|q| {
            q.actor = Some("bob".into());
            q.environment = Some("prod".into());
        }))
        .await,
        4
    );
    let window = AuditQuery { from: Some(start), to: Some(middle), ..q(|_| {}) };
    assert_eq!(count(window).await, 8);
    assert_eq!(count(AuditQuery { from: Some(middle), ..q(|_| {}) }).await, 1);
    assert_eq!(count(AuditQuery { to: Some(start), ..q(|_| {}) }).await, total - 9);

    // Pages of three: newest first, no gaps or repeats.
    let all = store.list_audit("shop", &q(|_| {})).await.unwrap().items;
    assert!(all.windows(2).all(|w| w[0].id > w[1].id));
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_audit("shop", &AuditQuery { limit: Some(3), cursor: cursor.clone(), ..AuditQuery::default() })
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|e| e.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, all.iter().map(|e| e.id).collect::<Vec<_>>());
    let filtered = AuditQuery { limit: Some(2), actor: Some("alice".into()), ..AuditQuery::default() };
    let page = store.list_audit("shop", &filtered).await.unwrap();
    assert_eq!(page.items.len(), 2);
    let next = store.list_audit("shop", &AuditQuery { cursor: page.next_cursor, ..filtered }).await.unwrap();
    assert_eq!(next.items.len(), 2);
    assert!(next.next_cursor.is_none());
    assert!(next.items[0].id < page.items[1].id);
    let bad = AuditQuery { cursor: Some("not-a-cursor".into()), ..AuditQuery::default() };
    assert_eq!(paths(store.list_audit("shop", &bad).await.unwrap_err())[0].0, "cursor");
    assert_not_found(store.list_audit("nope", &AuditQuery::default()).await, "project");
}

pub async fn audit_is_append_only(ctx: Ctx) {
    let store = ctx.store().await;
    setup(&store, &["a"]).await;
    let before = ctx.raw_count("SELECT COUNT(*) FROM audit_events").await;
    assert!(before > 0);
    let update = ctx.raw_execute("UPDATE audit_events SET actor = 'mallory'").await;
    let err = update.expect_err("UPDATE on audit_events must fail");
    assert!(err.to_string().contains("append-only"), "{err}");
    let delete = ctx.raw_execute("DELETE FROM audit_events").await;
    assert!(delete.expect_err("DELETE on audit_events must fail").to_string().contains("append-only"));
    assert_eq!(ctx.raw_count("SELECT COUNT(*) FROM audit_events").await, before);
    let q = AuditQuery { actor: Some("mallory".into()), ..AuditQuery::default() };
    assert!(store.list_audit("shop", &q).await.unwrap().items.is_empty());
}
