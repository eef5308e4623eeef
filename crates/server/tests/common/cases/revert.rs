//! Going back on one flag: undo one change (its inverse only, refused on
//! conflict), restore one version (the whole state), both with a dry run
//! that answers the exact diff; restore-to-time before the environment.

use super::*;
use switchyard_server::store::{RestoreVersion, Reverted, UndoChange};

fn undo(version: u64, dry_run: bool) -> UndoChange {
    UndoChange { version, reason: Some("undo it".into()), dry_run }
}

fn restore(to_version: u64, dry_run: bool) -> RestoreVersion {
    RestoreVersion { to_version, reason: Some("back".into()), dry_run }
}

fn fields(r: &Reverted) -> Vec<&str> {
    r.diff.changes.iter().map(|c| c.field.as_str()).collect()
}

/// v2: alice adds a rule; v3: bob turns the flag on in production.
async fn rule_then_on(store: &DynStore) {
    setup(store, &["checkout"]).await;
    let (v, mut cfg) = config(store, "prod", "checkout").await;
    cfg.rules = vec![rule("se", "country", "SE", "on")];
    store.put_flag_config(&user("alice"), "shop", "prod", "checkout", cfg, v, None).await.unwrap();
    store.toggle_flag(&user("bob"), "shop", "prod", "checkout", true, Some("launch".into())).await.unwrap();
}

pub async fn undo_reverts_one_change_only(ctx: Ctx) {
    let store = ctx.store().await;
    rule_then_on(&store).await;
    let target = ("shop", "prod", "checkout");
    let (rev, audits) = (revision(&store, "prod").await, audit_count(&store).await);

    // The dry run: exactly the rule goes, nothing is written.
    let dry = store.undo_flag_change(&user("carol"), target, undo(2, true)).await.unwrap();
    assert!(dry.dry_run && !dry.changed && dry.revision.is_none());
    assert_eq!(fields(&dry), ["rules"]);
    assert_eq!((dry.diff.from_version, dry.value.version), (3, 3));
    assert!(dry.diff.after.on && dry.diff.after.rules.is_empty());
    assert!(!dry.diff.serving_state_changes && dry.diff.warning.is_none());
    assert_eq!((revision(&store, "prod").await, audit_count(&store).await), (rev, audits), "a dry run writes nothing");

    // The real one: the flag bob turned on stays on.
    let w = store.undo_flag_change(&user("carol"), target, undo(2, false)).await.unwrap();
    assert!(w.changed && !w.dry_run);
    assert_eq!((w.value.version, w.revision), (4, Some(rev + 1)));
    let (_, now) = config(&store, "prod", "checkout").await;
    assert!(now.on, "undoing the rule must not turn the flag off");
    assert!(now.rules.is_empty());
    let q = AuditQuery { limit: Some(1), ..AuditQuery::default() };
    let event = store.list_audit("shop", &q).await.unwrap().items.remove(0);
    assert_eq!((event.action.as_str(), event.reason.as_deref()), ("flag.undo", Some("undo it")));
    assert_eq!(event.after.as_ref().unwrap()["undid"], json!({"version": 2, "fields": ["rules"]}));
    assert_eq!(event.after.as_ref().unwrap()["version"], 4);

    // A reason is required for a real write (not for a dry run).
    let none = UndoChange { reason: Some("  ".into()), ..undo(3, false) };
    assert_eq!(paths(store.undo_flag_change(&user("carol"), target, none).await.unwrap_err())[0].0, "reason");
}

pub async fn undo_refuses_when_later_changes_touched_its_fields(ctx: Ctx) {
    let store = ctx.store().await;
    rule_then_on(&store).await;
    let alice = user("alice");
    let target = ("shop", "prod", "checkout");
    // v4: alice edits the rule again; v5: a kill.
    let (v, mut cfg) = config(&store, "prod", "checkout").await;
    cfg.rules = vec![rule("se", "country", "NO", "on")];
    store.put_flag_config(&alice, "shop", "prod", "checkout", cfg, v, None).await.unwrap();
    store.kill_flags(&alice, "shop", "prod", kill(&["checkout"], "outage")).await.unwrap();
    let (rev, audits) = (revision(&store, "prod").await, audit_count(&store).await);

    for dry_run in [true, false] {
        match store.undo_flag_change(&alice, target, undo(2, dry_run)).await.unwrap_err() {
            StoreError::FieldConflict { code, message, fields } => {
                assert_eq!(code, "undo_conflict");
                assert!(message.contains("`rules`"), "{message}");
                let named: Vec<_> = fields.0.iter().map(|f| (f.path.as_str(), f.code)).collect();
                assert_eq!(named, [("rules", "changed_later")]);
                assert!(fields.0[0].message.contains("version 4 by alice"), "{}", fields.0[0].message);
            }
            other => panic!("expected an undo conflict, got {other:?}"),
        }
    }
    // `on` (v3) was not touched later: that change can still be undone; the kill stays.
    let w = store.undo_flag_change(&alice, target, undo(3, true)).await.unwrap();
    assert_eq!(fields(&w), ["on"]);
    assert!(w.diff.after.kill.is_some(), "an undo never touches the kill");
    // Creation and kill-only versions have nothing to undo; unknown versions are 404.
    assert_conflict(store.undo_flag_change(&alice, target, undo(1, false)).await.unwrap_err(), "nothing_to_undo");
    assert_conflict(store.undo_flag_change(&alice, target, undo(5, false)).await.unwrap_err(), "nothing_to_undo");
    assert_not_found(store.undo_flag_change(&alice, target, undo(6, false)).await, "configuration version");
    assert_eq!((revision(&store, "prod").await, audit_count(&store).await), (rev, audits), "refusals write nothing");
}

pub async fn restore_version_previews_the_whole_diff(ctx: Ctx) {
    let store = ctx.store().await;
    rule_then_on(&store).await;
    store.toggle_flag(&user("bob"), "shop", "dev", "checkout", true, None).await.unwrap();
    let (rev, audits) = (revision(&store, "prod").await, audit_count(&store).await);

    let dry = store.revert_flag(&user("carol"), ("shop", "prod", "checkout"), restore(1, true)).await.unwrap();
    assert!(dry.dry_run && !dry.changed);
    assert_eq!(fields(&dry), ["on", "rules"], "the whole state goes back, the later toggle included");
    let on = &dry.diff.changes[0];
    assert_eq!((on.before.clone(), on.after.clone()), (json!(true), json!(false)));
    assert!(dry.diff.serving_state_changes && dry.diff.production_like);
    let warning = dry.diff.warning.clone().expect("a production warning");
    assert!(warning.contains("OFF") && warning.contains("checkout"), "{warning}");
    assert_eq!((revision(&store, "prod").await, audit_count(&store).await), (rev, audits));

    // Not production-like: the same diff without a warning.
    let dev = store.revert_flag(&user("carol"), ("shop", "dev", "checkout"), restore(1, true)).await.unwrap();
    assert!(dev.diff.serving_state_changes && !dev.diff.production_like && dev.diff.warning.is_none());

    let w = store.revert_flag(&user("carol"), ("shop", "prod", "checkout"), restore(1, false)).await.unwrap();
    assert!(w.changed);
    assert_eq!((w.value.version, w.revision), (4, Some(rev + 1)));
    assert!(!w.value.config.on);
    let q = AuditQuery { limit: Some(1), ..AuditQuery::default() };
    let event = store.list_audit("shop", &q).await.unwrap().items.remove(0);
    assert_eq!(
        (event.action.as_str(), event.after.as_ref().unwrap()["restored_version"].clone()),
        ("flag.revert", json!(1))
    );
}

pub async fn restore_to_before_the_environment_existed(ctx: Ctx) {
    let store = ctx.store().await;
    setup(&store, &["checkout"]).await;
    store.toggle_flag(&user("alice"), "shop", "prod", "checkout", true, None).await.unwrap();
    let created = store.get_environment("shop", "prod").await.unwrap().created_at;
    let (rev, audits) = (revision(&store, "prod").await, audit_count(&store).await);
    for dry_run in [true, false] {
        let request = RestoreRequest { at: created - chrono::Duration::hours(1), reason: "x".into(), dry_run };
        let err = store.restore_environment(&user("alice"), "shop", "prod", request).await.unwrap_err();
        assert_eq!(paths(err), [("at".to_string(), "before_environment")]);
    }
    assert_eq!((revision(&store, "prod").await, audit_count(&store).await), (rev, audits));
    assert!(config(&store, "prod", "checkout").await.1.on);
}
