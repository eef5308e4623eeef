//! Settings, users and API tokens.

use super::*;

pub async fn users_tokens_settings(ctx: Ctx) {
    let store = ctx.store().await;
    let admin = user("admin");
    setup(&store, &[]).await;

    assert_eq!(store.setting_get_or_insert("jwt_secret", "first").await.unwrap(), "first");
    assert_eq!(store.setting_get_or_insert("jwt_secret", "second").await.unwrap(), "first");

    assert_eq!(store.user_count().await.unwrap(), 0);
    let new_user = |name: &str| NewUser {
        username: name.into(),
        password_hash: format!("$argon2id$hash-{name}"),
        role: Role::Editor,
    };
    let alice = store.create_user(&admin, new_user("alice")).await.unwrap();
    assert_eq!((alice.username.as_str(), alice.role), ("alice", Role::Editor));
    assert_already_exists(store.create_user(&admin, new_user("alice")).await);
    assert_eq!(paths(store.create_user(&admin, new_user("Not Valid")).await.unwrap_err())[0].0, "username");
    store.create_user(&admin, new_user("bob")).await.unwrap();
    assert_eq!(store.user_count().await.unwrap(), 2);
    let found = store.user_by_name("alice").await.unwrap().expect("alice");
    assert_eq!((found.user.id, found.password_hash.as_str()), (alice.id, "$argon2id$hash-alice"));
    assert!(store.user_by_name("carol").await.unwrap().is_none());
    assert_eq!(store.list_users().await.unwrap().len(), 2);

    let token = |name: &str, hash: &str, project: Option<&str>| NewApiToken {
        name: name.into(),
        role: Role::Responder,
        project: project.map(Into::into),
        hash: hash.into(),
        prefix: format!("sy_{name}"),
    };
    let t = store.create_api_token(&admin, token("pager", "h1", Some("shop"))).await.unwrap();
    assert_eq!((t.project.as_deref(), t.created_by.as_str(), t.revoked_at), (Some("shop"), "admin", None));
    store.create_api_token(&admin, token("ci", "h2", None)).await.unwrap();
    assert_already_exists(store.create_api_token(&admin, token("dup", "h1", None)).await);
    assert_not_found(store.create_api_token(&admin, token("x", "h3", Some("nope"))).await, "project");
    let found = store.api_token_by_hash("h1").await.unwrap().expect("token");
    assert_eq!((found.id, found.role), (t.id, Role::Responder));
    assert!(store.api_token_by_hash("nope").await.unwrap().is_none());
    assert_eq!(store.list_api_tokens().await.unwrap().len(), 2);
    let revoked = store.revoke_api_token(&admin, t.id).await.unwrap();
    let at = revoked.revoked_at.expect("revoked");
    assert_eq!(store.revoke_api_token(&admin, t.id).await.unwrap().revoked_at, Some(at), "idempotent");
    assert_eq!(store.api_token_by_hash("h1").await.unwrap().unwrap().revoked_at, Some(at));
    assert_not_found(store.revoke_api_token(&admin, 424_242).await, "api token");
    // The scoped token's events are in the project's audit log, once each.
    let actions: Vec<String> =
        store.list_audit("shop", &AuditQuery::default()).await.unwrap().items.into_iter().map(|e| e.action).collect();
    assert_eq!(
        actions.iter().filter(|a| a.starts_with("token.")).collect::<Vec<_>>(),
        ["token.revoke", "token.create"]
    );
}
