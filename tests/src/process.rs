//! Postgres backends to terminate, and panics on background threads.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use switchyard_server::testing::{TestDb, pg_admin_url};

/// Terminates every backend connected to database `name` (run from the
/// admin connection); returns how many were terminated.
pub async fn terminate_backends(name: &str) -> i64 {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(&pg_admin_url()).await.expect("admin connection");
    let terminated: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(name)
    .fetch_all(&mut conn)
    .await
    .expect("pg_terminate_backend");
    let _ = conn.close().await;
    terminated.into_iter().filter(|t| t.0).count() as i64
}

/// The database name of a Postgres [`TestDb`].
pub fn pg_name(db: &TestDb) -> Option<&str> {
    match db {
        TestDb::Postgres { name } => Some(name),
        TestDb::Sqlite { .. } => None,
    }
}

/// Counts panics on tokio worker threads and server threads: a panicking
/// spawned task (an SDK background task, a server handler) is swallowed by
/// tokio and would not fail a test on its own.
pub struct BackgroundPanics;

static BACKGROUND_PANICS: AtomicUsize = AtomicUsize::new(0);

impl BackgroundPanics {
    /// Installs the counting hook once per process (it chains to the
    /// default hook, so the message is still printed).
    pub fn install() -> BackgroundPanics {
        static ONCE: OnceLock<()> = OnceLock::new();
        ONCE.get_or_init(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                let name = std::thread::current().name().unwrap_or("").to_string();
                if name.starts_with("tokio-runtime-worker") || name.starts_with("switchyard-server") {
                    BACKGROUND_PANICS.fetch_add(1, Ordering::SeqCst);
                }
                previous(info);
            }));
        });
        BackgroundPanics
    }

    /// Panics counted so far in this process.
    pub fn count(&self) -> usize {
        BACKGROUND_PANICS.load(Ordering::SeqCst)
    }
}
