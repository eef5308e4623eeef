//! Migrations that rewrite data, checked on both backends: a database at
//! 0002 with webhooks subscribed to the old event names (`kill`, `restore`,
//! `all`) is migrated by the server's own migrator at start.

use std::sync::Arc;

use sqlx::migrate::Migrator;
use switchyard_server::store::{NullSink, WebhookEvent, connect};
use switchyard_server::testing::TestDb;

/// A migrator holding only the migrations up to `0002` of `backend`.
async fn up_to_0002(backend: &str) -> (Migrator, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("switchyard-mig-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations").join(backend);
    for name in ["0001_init.sql", "0002_triggers.sql"] {
        std::fs::copy(source.join(name), dir.join(name)).unwrap();
    }
    (Migrator::new(dir.as_path()).await.unwrap(), dir)
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
