//! Per-project roles (`MemberStore`) and environments' colour and position.

use super::*;

pub async fn members_and_session_roles(ctx: Ctx) {
    let store = ctx.store().await;
    let admin = user("admin");
    setup(&store, &[]).await;
    let new = |name: &str| NewUser { username: name.into(), password_hash: "$argon2id$h".into(), role: Role::Viewer };
    store.create_user(&admin, new("pat")).await.unwrap();
    store.create_user(&admin, new("vic")).await.unwrap();

    let set = store.set_member(&admin, "shop", "pat", Role::Admin).await.unwrap();
    assert_eq!((set.role, set.global_role, set.granted_by.as_str()), (Role::Admin, Role::Viewer, "admin"));
    store.set_member(&admin, "shop", "vic", Role::Editor).await.unwrap();
    let changed = store.set_member(&admin, "shop", "pat", Role::Responder).await.unwrap();
    assert_eq!(changed.role, Role::Responder, "a second set replaces");
    let list = store.list_members("shop").await.unwrap();
    let names: Vec<(&str, Role)> = list.iter().map(|m| (m.username.as_str(), m.role)).collect();
    assert_eq!(names, [("pat", Role::Responder), ("vic", Role::Editor)]);
    assert_not_found(store.set_member(&admin, "shop", "nobody", Role::Viewer).await, "user");
    assert_not_found(store.set_member(&admin, "none", "pat", Role::Viewer).await, "project");
    assert_not_found(store.list_members("none").await, "project");

    // the session read: the user and their role in the named project, if any
    let s = store.session_user("pat", Some("shop")).await.unwrap().expect("pat");
    assert_eq!((s.user.user.role, s.project_role), (Role::Viewer, Some(Role::Responder)));
    assert_eq!(store.session_user("pat", Some("other")).await.unwrap().unwrap().project_role, None);
    assert_eq!(store.session_user("pat", None).await.unwrap().unwrap().project_role, None);
    assert!(store.session_user("nobody", Some("shop")).await.unwrap().is_none());
    let mine = store.memberships("vic").await.unwrap();
    assert_eq!((mine.len(), mine[0].project.as_str(), mine[0].role), (1, "shop", Role::Editor));

    let removed = store.remove_member(&admin, "shop", "vic").await.unwrap();
    assert_eq!(removed.username, "vic");
    assert_not_found(store.remove_member(&admin, "shop", "vic").await, "member");
    assert!(store.memberships("vic").await.unwrap().is_empty());
    let audit = store.list_audit("shop", &AuditQuery::default()).await.unwrap();
    let actions: Vec<&str> =
        audit.items.iter().map(|e| e.action.as_str()).filter(|a| a.starts_with("member.")).collect();
    assert_eq!(actions, ["member.remove", "member.set", "member.set", "member.set"]);
}

pub async fn environments_are_ordered_and_coloured(ctx: Ctx) {
    let store = ctx.store().await;
    let admin = user("admin");
    setup(&store, &[]).await;
    let patch = EnvironmentPatch { color: Some(Some("#ABCDEF".into())), position: Some(0), ..Default::default() };
    let prod = store.update_environment(&admin, "shop", "prod", patch).await.unwrap();
    assert_eq!((prod.color.as_deref(), prod.position, prod.revision), (Some("#abcdef"), 0, 1));
    let keys: Vec<String> = store.list_environments("shop").await.unwrap().into_iter().map(|e| e.key).collect();
    assert_eq!(keys, ["dev", "prod"], "ties by creation");
    store
        .update_environment(&admin, "shop", "dev", EnvironmentPatch { position: Some(3), ..Default::default() })
        .await
        .unwrap();
    let keys: Vec<String> = store.list_environments("shop").await.unwrap().into_iter().map(|e| e.key).collect();
    assert_eq!(keys, ["prod", "dev"]);
    let bad = EnvironmentPatch { color: Some(Some("red".into())), ..Default::default() };
    assert_eq!(
        paths(store.update_environment(&admin, "shop", "prod", bad).await.unwrap_err()),
        [("color".to_string(), "invalid_color")]
    );
    let cleared = store
        .update_environment(&admin, "shop", "prod", EnvironmentPatch { color: Some(None), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(cleared.color, None);
    assert_not_found(
        store.update_environment(&admin, "shop", "nope", EnvironmentPatch::default()).await,
        "environment",
    );
}
