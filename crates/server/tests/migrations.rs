//! Migrations that rewrite data, checked on both backends: a database at
//! 0002 with webhooks subscribed to the old event names (`kill`, `restore`,
//! `all`) is migrated by the server's own migrator at start; a database at
//! 0016 with scheduled changes and change requests that named their
//! requester only: 0017 records the requester's kind and id where the name
//! names exactly one user or one token, and none otherwise; 0019 does the
//! same for the approvals of change requests, and moves the link of a plan
//! awaiting approval from its first job's payload to the plan.

use std::sync::Arc;

use sqlx::migrate::Migrator;
use switchyard_server::store::{ActorKind, NullSink, Requester, WebhookEvent, connect};
use switchyard_server::testing::TestDb;

/// A migrator holding only the migrations up to `0002` of `backend`.
async fn up_to_0002(backend: &str) -> (Migrator, std::path::PathBuf) {
    up_to(backend, "0002").await
}

/// A migrator holding only the migrations of `backend` up to `last` (its number).
async fn up_to(backend: &str, last: &str) -> (Migrator, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("switchyard-mig-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations").join(backend);
    for entry in std::fs::read_dir(&source).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".sql") && name.as_str() <= format!("{last}_~").as_str() {
            std::fs::copy(source.join(&name), dir.join(&name)).unwrap();
        }
    }
    (Migrator::new(dir.as_path()).await.unwrap(), dir)
}

/// Runs `migrator`, then `statements`, on the database at `url`.
async fn migrate_and_run(db: &TestDb, migrator: &Migrator, statements: &[&str]) {
    let url = db.url();
    match db {
        TestDb::Sqlite { .. } => {
            let opts: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
            let pool = sqlx::SqlitePool::connect_with(opts.create_if_missing(true)).await.unwrap();
            migrator.run(&pool).await.unwrap();
            for sql in statements {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        TestDb::Postgres { .. } => {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            migrator.run(&pool).await.unwrap();
            for sql in statements {
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
    }
}

/// A database at 0016: users `ann` and `both`, tokens `ci` and `both` (a
/// name both kinds hold), and `twice` (two tokens); a pending scheduled
/// change and an open change request by each name, and by `gone`.
const AT_0016: &[&str] = &[
    "INSERT INTO projects (key, name, created_at) VALUES ('shop', 'Shop', 0)",
    "INSERT INTO environments (project_id, key, name, revision, created_at) VALUES (1, 'prod', 'prod', 1, 0)",
    "INSERT INTO users (username, password_hash, role, created_at) VALUES ('ann', 'x', 'editor', 0)",
    "INSERT INTO users (username, password_hash, role, created_at) VALUES ('both', 'x', 'editor', 0)",
    "INSERT INTO api_tokens (name, role, hash, prefix, created_by, created_at) VALUES ('ci', 'editor', 'h1', 'p', 'a', 0)",
    "INSERT INTO api_tokens (name, role, hash, prefix, created_by, created_at) VALUES ('both', 'editor', 'h2', 'p', 'a', 0)",
    "INSERT INTO api_tokens (name, role, hash, prefix, created_by, created_at) VALUES ('twice', 'editor', 'h3', 'p', 'a', 0)",
    "INSERT INTO api_tokens (name, role, hash, prefix, created_by, created_at) VALUES ('twice', 'editor', 'h4', 'p', 'a', 0)",
];

/// Who asked, in the order the rows are written, and what 0017 makes of them.
const ASKED: [(&str, Option<(ActorKind, i64)>); 5] = [
    ("ann", Some((ActorKind::User, 1))),
    ("ci", Some((ActorKind::Token, 1))),
    ("both", None),
    ("twice", None),
    ("gone", None),
];

#[tokio::test]
async fn requesters_are_identified_by_kind_and_id_where_their_name_is_unambiguous() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let (migrator, dir) = up_to(db.label(), "0016").await;
        let mut statements: Vec<String> = AT_0016.iter().map(|s| s.to_string()).collect();
        for (name, _) in ASKED {
            statements.push(format!(
                "INSERT INTO scheduled_changes (environment_id, flag, change, due_at, state, requested_by, created_at, \
                 updated_at) VALUES (1, 'checkout', '{{\"on\":false}}', 0, 'pending', '{name}', 0, 0)"
            ));
            statements.push(format!(
                "INSERT INTO change_requests (environment_id, flag, change, base_version, diff, state, author, \
                 created_at, updated_at) VALUES (1, 'checkout', '{{\"on\":false}}', 1, '[]', 'open', '{name}', 0, 0)"
            ));
            statements.push(format!(
                "INSERT INTO change_request_notes (request_id, kind, author, at) VALUES (1, 'approval', '{name}', 0)"
            ));
        }
        // A plan awaiting change request 1, linked from its first step's job (0019 moves the link).
        statements.push(
            "INSERT INTO release_plans (environment_id, flag, control, treatment, stages, guards, state, created_by, \
             created_at, updated_at) VALUES (1, 'checkout', 'off', 'on', '[]', '{}', 'awaiting_approval', 'ann', 0, 0)"
                .into(),
        );
        statements.push(
            "INSERT INTO jobs (kind, key, payload, due_at, state, created_at, updated_at) VALUES \
             ('release', 'release:1:0', '{\"plan\":1,\"stage\":0,\"change_request\":1}', 0, 'pending', 0, 0)"
                .into(),
        );
        let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
        migrate_and_run(&db, &migrator, &refs).await;
        let _ = std::fs::remove_dir_all(dir);
        let store = connect(&db.url(), Arc::new(NullSink)).await.unwrap();
        let scheduled = store.list_scheduled_changes("shop", "prod").await.unwrap();
        let requests = store.list_change_requests("shop", "prod").await.unwrap();
        for (name, want) in ASKED {
            let want = want.map(|(kind, id)| Requester { kind, id });
            let change = scheduled.iter().find(|c| c.requested_by == name).unwrap();
            assert_eq!(change.requester, want, "scheduled by {name}");
            let request = requests.iter().find(|r| r.author == name).unwrap();
            assert_eq!(request.author_principal, want, "requested by {name}");
            // 0019: approvals by the same names, on the first request.
            let first = requests.iter().find(|r| r.id == 1).unwrap();
            let approval = first.notes.iter().find(|n| n.author == name).unwrap();
            assert_eq!(approval.author_principal, want, "approved by {name}");
        }
        assert_eq!(store.get_plan(1).await.unwrap().change_request, Some(1), "the plan's link");
        drop(store);
        db.cleanup().await;
    }
}

const OLD: [(&str, &[WebhookEvent]); 5] = [
    (r#"["kill"]"#, &[WebhookEvent::FlagKilled, WebhookEvent::EnvPanic]),
    (r#"["restore"]"#, &[WebhookEvent::FlagRestored]),
    (r#"["all"]"#, &WebhookEvent::DEFAULT),
    (r#"["kill","restore"]"#, &WebhookEvent::DEFAULT),
    (r#"["restore","all"]"#, &WebhookEvent::DEFAULT),
];

const INSERT: &str = "INSERT INTO webhooks (project_id, url, events, secret, prefix, created_by, created_at) \
                      VALUES (1, 'https://a.example/', $1, 'secret', 'custom', 'admin', 0)";

#[tokio::test]
async fn old_webhook_event_names_are_migrated() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let url = db.url();
        let (migrator, dir) = up_to_0002(db.label()).await;
        match &db {
            TestDb::Sqlite { .. } => {
                let opts: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
                let pool = sqlx::SqlitePool::connect_with(opts.create_if_missing(true)).await.unwrap();
                migrator.run(&pool).await.unwrap();
                sqlx::query("INSERT INTO projects (key, name, created_at) VALUES ('shop', 'Shop', 0)")
                    .execute(&pool)
                    .await
                    .unwrap();
                for (events, _) in OLD {
                    sqlx::query(INSERT).bind(events).execute(&pool).await.unwrap();
                }
                pool.close().await;
            }
            TestDb::Postgres { .. } => {
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                migrator.run(&pool).await.unwrap();
                sqlx::query("INSERT INTO projects (key, name, created_at) VALUES ('shop', 'Shop', 0)")
                    .execute(&pool)
                    .await
                    .unwrap();
                for (events, _) in OLD {
                    sqlx::query(&INSERT.replace("$1", "$1::jsonb")).bind(events).execute(&pool).await.unwrap();
                }
                pool.close().await;
            }
        }
        let _ = std::fs::remove_dir_all(dir);
        // the server's store runs the remaining migrations at connect
        let store = connect(&url, Arc::new(NullSink)).await.unwrap();
        let hooks = store.list_webhooks("shop").await.unwrap();
        let got: Vec<Vec<WebhookEvent>> = hooks.iter().map(|w| w.events.clone()).collect();
        let want: Vec<Vec<WebhookEvent>> = OLD.iter().map(|(_, new)| new.to_vec()).collect();
        assert_eq!(got, want);
        drop(store);
        db.cleanup().await;
    }
}
