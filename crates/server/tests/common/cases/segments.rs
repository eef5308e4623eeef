//! Segments: create, update, delete, references.

use super::*;

pub async fn segments_lifecycle(ctx: Ctx) {
    let store = ctx.store().await;
    let admin = user("admin");
    setup(&store, &["checkout"]).await;
    let revs = (revision(&store, "dev").await, revision(&store, "prod").await);

    let beta = store.create_segment(&admin, "shop", segment("beta", &["u1", "u2"])).await.unwrap();
    assert_eq!((beta.segment.version, beta.name.as_str()), (1, "Segment beta"));
    assert_eq!((revision(&store, "dev").await, revision(&store, "prod").await), (revs.0 + 1, revs.1 + 1));
    assert_already_exists(store.create_segment(&admin, "shop", segment("beta", &[])).await);
    let bad = store.create_segment(&admin, "shop", segment("Beta!", &[])).await.unwrap_err();
    assert_eq!(paths(bad), vec![("key".to_string(), "invalid_key")]);
    assert_eq!(store.get_segment("shop", "beta").await.unwrap().segment.included, ["u1", "u2"]);
    assert_not_found(store.get_segment("shop", "nope").await, "segment");

    // A segment rule referencing an unknown segment: path relative to the input.
    let mut input = segment("staff", &[]);
    input.rules = vec![switchyard_core::SegmentRule {
        id: "r".into(),
        clauses: vec![Clause {
            attribute: String::new(),
            op: Operator::InSegment,
            values: vec![json!("ghost")],
            negate: false,
        }],
    }];
    let err = store.create_segment(&admin, "shop", input).await.unwrap_err();
    assert_eq!(paths(err), vec![("rules[0].clauses[0].values[0]".to_string(), "unknown_segment")]);

    // Update with version check.
    let stale = store.update_segment(&admin, "shop", "beta", segment("beta", &["u3"]), 7).await.unwrap_err();
    assert_eq!(assert_conflict(stale, "version_conflict"), Some(1));
    let updated = store.update_segment(&admin, "shop", "beta", segment("beta", &["u3"]), 1).await.unwrap();
    assert_eq!((updated.segment.version, updated.segment.included.clone()), (2, vec!["u3".to_string()]));
    let env = store.get_environment("shop", "dev").await.unwrap();
    let last = store.changes_since(env.id, env.revision - 1, 10).await.unwrap().unwrap();
    assert_eq!(last[0].segments, std::slice::from_ref(&updated.segment));
    assert_eq!(store.list_segments("shop").await.unwrap().len(), 1);

    // A flag using it: unknown segments are rejected, used ones cannot go.
    let (v, mut cfg) = config(&store, "prod", "checkout").await;
    cfg.rules = vec![segment_rule("r1", "ghost", "on")];
    let err = store.put_flag_config(&admin, "shop", "prod", "checkout", cfg.clone(), v, None).await.unwrap_err();
    assert_eq!(paths(err), vec![("rules[0].clauses[0].values[0]".to_string(), "unknown_segment")]);
    cfg.rules = vec![segment_rule("r1", "beta", "on")];
    store.put_flag_config(&admin, "shop", "prod", "checkout", cfg.clone(), v, None).await.unwrap();
    let err = store.delete_segment(&admin, "shop", "beta").await.unwrap_err();
    assert_eq!(assert_conflict(err, "segment_in_use"), None);
    cfg.rules.clear();
    store.put_flag_config(&admin, "shop", "prod", "checkout", cfg, v + 1, None).await.unwrap();

    let rev = revision(&store, "dev").await;
    store.delete_segment(&admin, "shop", "beta").await.unwrap();
    assert_eq!(revision(&store, "dev").await, rev + 1);
    let last = store.changes_since(env.id, rev, 10).await.unwrap().unwrap();
    assert_eq!(last[0].deleted_segments, ["beta"]);
    assert!(store.snapshot(env.id).await.unwrap().segments.is_empty());
    assert_not_found(store.delete_segment(&admin, "shop", "beta").await, "segment");
    let q = AuditQuery { actor: Some("admin".into()), ..AuditQuery::default() };
    let segment_events = store.list_audit("shop", &q).await.unwrap().items.into_iter().filter(|e| e.segment.is_some());
    let actions: Vec<String> = segment_events.map(|e| e.action).collect();
    assert_eq!(actions, ["segment.delete", "segment.update", "segment.create"]);
}
