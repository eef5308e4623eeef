//! The SQL implementation of [`Store`](super::Store), shared by both backends.
//!
//! ## One code body, two backends
//! The implementation lives in `sql/body/` and is written once against two
//! names, `Db` (the sqlx database) and `This` (the store struct). Each backend
//! module ([`pg`], [`sqlite`]) defines those names plus a handful of hooks and
//! then includes `body/` as its own submodule (`#[path]`), so the very same
//! source — and the very same SQL text, with `$N` placeholders that both
//! drivers accept — is compiled once for `sqlx::Postgres` and once for
//! `sqlx::Sqlite`. This is what a `macro_rules!` wrapper would do, but the
//! code stays ordinary Rust: rustfmt formats it and compiler errors point at
//! real lines.
//!
//! The hooks (the only backend-specific behaviour):
//! - `BEGIN_WRITE`: Postgres `BEGIN`; SQLite `BEGIN IMMEDIATE`, and the store
//!   also holds an in-process mutex around every write transaction (SQLite
//!   mode is single-instance: one writer at a time, never `SQLITE_BUSY`).
//! - `LOCK_ENV_ROW` / `lock_project`: Postgres `FOR NO KEY UPDATE` of the
//!   environment rows (the environment's, appended to the write's lookup of
//!   it; or the project's and then all of its environments in id order, so
//!   concurrent writers cannot deadlock), which serialises writers per
//!   environment; nothing on SQLite.
//! - `NOTIFY_SQL`: Postgres `pg_notify('switchyard_changes', '<env id>:<revision>')`
//!   inside the write transaction (delivered on commit); nothing on SQLite.
//! - `COMBINE_WRITES`: Postgres sends a transaction's deferred writes as one
//!   statement of data-modifying CTEs (one round trip); SQLite runs them one
//!   by one (in-process, nothing to save).
//! - `SKIP_LOCKED`: Postgres `FOR UPDATE OF d SKIP LOCKED` when a delivery
//!   worker claims webhook outbox rows (replicas never claim the same row);
//!   nothing on SQLite (the writer mutex).
//! - `BEGIN_READ`: Postgres `REPEATABLE READ READ ONLY` for consistent
//!   snapshots; SQLite's deferred `BEGIN` (WAL readers see one snapshot).
//!
//! Owns the choice of backend by URL; must not hold the SQL of any area.

mod common;
mod pg;
mod sqlite;

use std::sync::Arc;

pub use common::StoreOptions;
pub use pg::PgStore;
pub use sqlite::SqliteStore;

use super::{ChangeSink, DynStore, Result};

/// The channel on which Postgres stores announce committed revisions, as
/// `'<environment id>:<revision>'` payloads.
pub const NOTIFY_CHANNEL: &str = "switchyard_changes";

/// Opens the store named by `url` with default [`StoreOptions`] and runs the
/// migrations: `postgres://…`/`postgresql://…` → [`PgStore`], `sqlite:…` →
/// [`SqliteStore`] (the file and its parent directories are created when
/// missing; `sqlite::memory:` gives a private in-memory database).
pub async fn connect(url: &str, sink: Arc<dyn ChangeSink>) -> Result<DynStore> {
    connect_with(url, sink, StoreOptions::default()).await
}

/// [`connect`] with explicit options.
pub async fn connect_with(url: &str, sink: Arc<dyn ChangeSink>, options: StoreOptions) -> Result<DynStore> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url, sink, options).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url, sink, options).await?))
    } else {
        Err(super::StoreError::Database(sqlx::Error::Configuration(
            format!("unsupported database URL scheme (expected postgres:// or sqlite:): {}", redact(url)).into(),
        )))
    }
}

/// The URL without any password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_string(),
    }
}
