//! PostgreSQL backend: the shared body (`body/`) instantiated for
//! `sqlx::Postgres`, plus its hooks.
//!
//! Owns this backend's pool, migrations and hooks; everything else is the
//! shared body.

use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};

use super::common::{Shared, StoreOptions};
use crate::store::{Backend, ChangeSink, Result};

type Db = sqlx::Postgres;
type This = PgStore;

const BACKEND: Backend = Backend::Postgres;
/// Writers serialise on environment row locks (see [`LOCK_ENV_ROW`]).
const BEGIN_WRITE: &str = "BEGIN";
/// One consistent view for snapshots and change-log reads.
const BEGIN_READ: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/// Claiming outbox rows: replicas skip each other's claims instead of waiting.
const SKIP_LOCKED: &str = " FOR UPDATE OF d SKIP LOCKED";

static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");

/// The Postgres store (production; several replicas may share one database).
pub struct PgStore {
    pool: PgPool,
    shared: Shared,
}

impl PgStore {
    /// Connects (pool of `max_connections`, default 16) and runs the migrations.
    pub async fn connect(url: &str, sink: Arc<dyn ChangeSink>, options: StoreOptions) -> Result<PgStore> {
        let connect: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.unwrap_or(16))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(PgStore { pool, shared: Shared::new(sink, options, false) })
    }

    /// The connection pool (e.g. for `LISTEN` on [`crate::store::NOTIFY_CHANNEL`]).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Serialises project-wide writers (definitions, segments, new environments)
/// with each other and with every environment's writers: the project row,
/// then all its environments in id order (the one global lock order).
async fn lock_project(conn: &mut PgConnection, project_id: i64) -> Result<()> {
    sqlx::query("SELECT id FROM projects WHERE id = $1 FOR NO KEY UPDATE").bind(project_id).execute(&mut *conn).await?;
    sqlx::query("SELECT id FROM environments WHERE project_id = $1 ORDER BY id FOR NO KEY UPDATE")
        .bind(project_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Announces a revision to every replica (delivered on commit): the select
/// a write transaction defers with its writes (arguments: channel, payload).
const NOTIFY_SQL: Option<&str> = Some("pg_notify($1, $2)");

/// Deferred writes go as one statement (data-modifying CTEs): one round
/// trip for a toggle's writes (see `body/batch.rs`).
const COMBINE_WRITES: bool = true;

/// Appended to the environment lookup of a write: locks the environment's
/// row in the same round trip as reading it.
const LOCK_ENV_ROW: &str = " FOR NO KEY UPDATE OF e";

/// Sends a message to every replica (forwarded acks, fleet receipts).
async fn notify_peers(pool: &sqlx::Pool<Db>, channel: &str, payload: &str) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(pool).await?;
    Ok(())
}

/// The live replicas' LISTEN connections to this database, by name.
async fn live_replicas(pool: &sqlx::Pool<Db>, prefix: &str) -> Result<Vec<String>> {
    let names: Vec<(String,)> = sqlx::query_as(
        "SELECT application_name FROM pg_stat_activity \
         WHERE datname = current_database() AND starts_with(application_name, $1)",
    )
    .bind(prefix)
    .fetch_all(pool)
    .await?;
    Ok(names.into_iter().map(|(n,)| n).collect())
}

/// Locks a trigger row until the end of the transaction (rate limit).
const LOCK_TRIGGER: &str = "SELECT id FROM triggers WHERE id = $1 FOR UPDATE";

// The shared implementation, compiled for this backend (see `sql.rs`).
#[allow(clippy::duplicate_mod)]
#[path = "body/mod.rs"]
mod body;
