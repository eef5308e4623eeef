//! `switchyard flags archive|unarchive|delete`, `flags list --archived` and
//! `switchyard envs archive|unarchive|delete|archived` and `switchyard
//! projects archive|unarchive|delete`, `projects list --archived` against a
//! running server: the real binary, token via the environment. The CLI only
//! speaks HTTP, so one store (SQLite) is enough here; the lifecycle is tested
//! on both stores in `tests/lifecycle.rs`, `tests/lifecycle_env.rs` and
//! `tests/lifecycle_project.rs`.

use reqwest::Method;
use serde_json::json;
use switchyard_server::testing::{TestDb, TestServer};

mod cli_support;
use cli_support::cli;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_is_a_dry_run_until_confirmed_then_unarchive_and_delete() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    server.admin(Method::POST, "/api/v1/projects", json!({"key": "shop"})).await;
    server.admin(Method::POST, "/api/v1/projects/shop/environments", json!({"key": "production"})).await;
    server.admin(Method::POST, "/api/v1/projects/shop/flags", json!({"key": "banner", "kind": "boolean"})).await;
    let admin = server.admin_token.clone();

    // Without --confirm: the dry run, nothing archived.
    let (code, out, err) = cli(&server, &admin, &["flags", "archive", "banner"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("DRY RUN (nothing changed): archiving banner"), "{out}");
    assert!(out.contains("production") && out.contains("never (no telemetry)"), "{out}");
    assert!(out.contains("--confirm --reason"), "{out}");
    let (_, list, _) = cli(&server, &admin, &["flags", "list", "--archived"]).await;
    assert!(!list.contains("banner"), "{list}");

    // --confirm needs a reason; then archived, listed only with --archived.
    let (code, out, err) = cli(&server, &admin, &["flags", "archive", "banner", "--confirm"]).await;
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("--reason"), "{err}");
    let (code, out, err) =
        cli(&server, &admin, &["flags", "archive", "banner", "--confirm", "--reason", "shipped"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("archived banner at "), "{out}");
    let (_, list, _) = cli(&server, &admin, &["flags", "list"]).await;
    assert!(!list.contains("banner"), "{list}");
    let (_, list, _) = cli(&server, &admin, &["flags", "list", "--archived"]).await;
    assert!(list.contains("banner"), "{list}");

    // Restore from the archive; a delete of a flag not archived is refused.
    let (code, out, err) = cli(&server, &admin, &["flags", "unarchive", "banner", "--reason", "oops"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("restored banner from the archive"), "{out}");
    let (code, out, err) = cli(&server, &admin, &["flags", "delete", "banner", "--reason", "x"]).await;
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("not_archived") || err.contains("not archived"), "{err}");

    // Archive again and delete.
    let (code, out, err) =
        cli(&server, &admin, &["flags", "archive", "banner", "--confirm", "--reason", "done", "--json"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["archived"], true, "{answer}");
    let (code, out, err) = cli(&server, &admin, &["flags", "delete", "banner", "--reason", "cleanup"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("deleted banner"), "{out}");
    let reply = reqwest::Client::new()
        .get(server.url("/api/v1/projects/shop/flags/banner"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 404);
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envs_archive_is_a_dry_run_until_confirmed_then_archived_unarchive_and_delete() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    server.admin(Method::POST, "/api/v1/projects", json!({"key": "shop", "environments": ["qa", "production"]})).await;
    let admin = server.admin_token.clone();

    let (code, out, err) = cli(&server, &admin, &["envs", "archive", "qa"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("DRY RUN (nothing changed): environment qa is not in use"), "{out}");
    let (code, out, err) = cli(&server, &admin, &["envs", "archive", "qa", "--confirm"]).await;
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("--reason"), "{err}");
    let (code, out, err) = cli(&server, &admin, &["envs", "archive", "qa", "--confirm", "--reason", "unused"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("archived environment qa"), "{out}");
    let (_, list, _) = cli(&server, &admin, &["envs", "list"]).await;
    assert!(!list.contains("qa") && list.contains("production"), "{list}");
    let (_, list, _) = cli(&server, &admin, &["envs", "archived"]).await;
    assert!(list.contains("qa"), "{list}");

    let (code, out, err) = cli(&server, &admin, &["envs", "unarchive", "qa", "--reason", "back"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = cli(&server, &admin, &["envs", "delete", "qa", "--reason", "x"]).await;
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("not_archived") || err.contains("not archived"), "{err}");
    cli(&server, &admin, &["envs", "archive", "qa", "--confirm", "--reason", "unused"]).await;
    let (code, out, err) = cli(&server, &admin, &["envs", "delete", "qa", "--reason", "gone"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("deleted environment qa"), "{out}");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_archive_is_a_dry_run_until_confirmed_then_archived_unarchive_and_delete() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    for key in ["shop", "old"] {
        server.admin(Method::POST, "/api/v1/projects", json!({"key": key, "environments": ["production"]})).await;
    }
    let admin = server.admin_token.clone();

    let (code, out, err) = cli(&server, &admin, &["projects", "archive", "old"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("DRY RUN (nothing changed): project old is not in use"), "{out}");
    assert!(out.contains("switchyard projects archive old --confirm"), "{out}");
    let (code, out, err) = cli(&server, &admin, &["projects", "archive", "old", "--confirm"]).await;
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("--reason"), "{err}");
    let (code, out, err) =
        cli(&server, &admin, &["projects", "archive", "old", "--confirm", "--reason", "unused"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("archived project old"), "{out}");
    let (_, list, _) = cli(&server, &admin, &["projects", "list"]).await;
    assert!(!list.contains("old") && list.contains("shop"), "{list}");
    let (_, list, _) = cli(&server, &admin, &["projects", "list", "--archived"]).await;
    assert!(list.contains("old") && !list.contains("shop"), "{list}");

    // a project's own admin token may not
    let body = json!({"name": "shop-admin", "role": "admin", "project": "shop"});
    let scoped = server.admin(Method::POST, "/api/v1/tokens", body).await["secret"].as_str().unwrap().to_string();
    let (code, _, err) = cli(&server, &scoped, &["projects", "archive", "shop", "--confirm", "--reason", "x"]).await;
    assert_ne!(code, 0);
    assert!(err.contains("403") || err.to_lowercase().contains("cannot"), "{err}");

    let (code, out, err) = cli(&server, &admin, &["projects", "unarchive", "old", "--reason", "back"]).await;
    assert_eq!((code, out.as_str()), (0, "restored project old from the archive\n"), "{err}");
    let (code, out, err) = cli(&server, &admin, &["projects", "delete", "old", "--reason", "x"]).await;
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("not_archived") || err.contains("not archived"), "{err}");
    cli(&server, &admin, &["projects", "archive", "old", "--confirm", "--reason", "unused"]).await;
    let (code, out, err) = cli(&server, &admin, &["projects", "delete", "old", "--reason", "gone"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("deleted project old"), "{out}");
    server.stop().await;
    db.cleanup().await;
}
