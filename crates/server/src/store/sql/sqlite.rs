//! Embedded SQLite backend (single instance): the shared body (`body/`)
//! instantiated for `sqlx::Sqlite`, plus its hooks.
//!
//! Owns this backend's pool, migrations and hooks; everything else is the
//! shared body.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::common::{Shared, StoreOptions};
use crate::store::{Backend, ChangeSink, Result, StoreError};

type Db = sqlx::Sqlite;
type This = SqliteStore;

const BACKEND: Backend = Backend::Sqlite;
/// Take the write lock up front (the store's mutex already makes this the
/// only writer; `IMMEDIATE` keeps other processes on the file out too).
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
/// Deferred: a WAL reader sees one snapshot from its first read on.
const BEGIN_READ: &str = "BEGIN";

/// Claiming outbox rows: the writer mutex already makes claims exclusive.
const SKIP_LOCKED: &str = "";

static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");

/// The embedded SQLite store (zero set-up; one server instance per file).
pub struct SqliteStore {
    pool: SqlitePool,
    shared: Shared,
}

impl SqliteStore {
    /// Opens (creating the file and its directories when missing) and
    /// migrates. WAL journal, `synchronous=NORMAL`, 5 s busy timeout,
    /// foreign keys on. `sqlite::memory:` uses a single connection.
    pub async fn connect(url: &str, sink: Arc<dyn ChangeSink>, options: StoreOptions) -> Result<SqliteStore> {
        let connect = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let path = connect.get_filename().to_path_buf();
        let in_memory = url.contains(":memory:") || url.contains("mode=memory") || path.as_os_str().is_empty();
        if !in_memory
            && let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Database(sqlx::Error::Configuration(
                    format!("cannot create the directory {}: {e}", dir.display()).into(),
                ))
            })?;
        }
        let mut pool = SqlitePoolOptions::new().acquire_timeout(Duration::from_secs(30));
        pool = if in_memory {
            // The database lives and dies with its one connection.
            pool.max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None)
        } else {
            pool.max_connections(options.max_connections.unwrap_or(8))
        };
        let pool = pool.connect_with(connect).await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore { pool, shared: Shared::new(sink, options, true) })
    }

    /// The connection pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Writers are serialised by the store's mutex: nothing to lock.
async fn lock_project(_conn: &mut SqliteConnection, _project_id: i64) -> Result<()> {
    Ok(())
}

/// Single instance: the sink is the only subscriber.
const NOTIFY_SQL: Option<&str> = None;

/// In-process: deferred writes run one by one (no round trips to save).
const COMBINE_WRITES: bool = false;

/// Writers are serialised by the store's mutex: the lookup locks nothing.
const LOCK_ENV_ROW: &str = "";

/// Single instance: there is no other replica to talk to.
async fn notify_peers(_pool: &sqlx::Pool<Db>, _channel: &str, _payload: &str) -> Result<()> {
    Ok(())
}

/// A single instance: no peers.
async fn live_replicas(_pool: &sqlx::Pool<Db>, _prefix: &str) -> Result<Vec<String>> {
    Ok(Vec::new())
}

/// Writers are already serialised (`BEGIN IMMEDIATE` and the writer mutex).
const LOCK_TRIGGER: &str = "SELECT id FROM triggers WHERE id = $1";

// The shared implementation, compiled for this backend (see `sql.rs`).
#[allow(clippy::duplicate_mod)]
#[path = "body/mod.rs"]
mod body;
