//! The one implementation of the store traits, compiled once per backend:
//! the including module (`pg` or `sqlite`) supplies `Db`, `This`, `BACKEND`,
//! `BEGIN_WRITE`, `BEGIN_READ`, `NOTIFY_SQL`, `COMBINE_WRITES`, `LOCK_ENV_ROW`
//! and the hooks `lock_project`, `notify_peers` and `live_replicas`. Everything below is backend-neutral, including its SQL.
//!
//! Each area module implements its trait of `crate::store::traits` for
//! `This` directly (accounts, projects, flags + list, configs, kill,
//! history, bulk, audit, segments, sdk, triggers, webhooks, outbox,
//! telemetry, release, jobs, schedule, approvals, lifecycle); this file implements only [`ClusterStore`] (the database itself). Below the
//! areas: `tx` (transactions; the only module that writes the outbox, via
//! `outbox::write`), `lookup` (row decoding and lookups), `row` (the leaf:
//! column decoding), and `audit::Audit` (the event a write appends).
//!
//! Must not touch HTTP types or anything outside `crate::store`.

use async_trait::async_trait;

use super::{
    BACKEND, BEGIN_READ, BEGIN_WRITE, COMBINE_WRITES, Db, LOCK_ENV_ROW, LOCK_TRIGGER, NOTIFY_SQL, SKIP_LOCKED, This,
    live_replicas, lock_project, notify_peers,
};
use crate::store::{Backend, ClusterStore, Result};

/// Refuses, before any SQL runs, text the two backends would not store
/// alike (NUL, control characters: see `crate::text`), so that Postgres and
/// SQLite answer every input the same way (`StoreError::InvalidText`).
/// `guard!(name)` checks the argument `name` under its own name;
/// `guard!(name = expr)` checks `expr` under `name` (the path the error
/// reports), where the implementation binds the argument differently.
macro_rules! guard {
    ($($name:ident $(= $arg:expr)?),+ $(,)?) => {
        $(guard!(@one $name $(= $arg)?);)+
    };
    (@one $name:ident) => {
        crate::text::check_arg(stringify!($name), &$name)?;
    };
    (@one $name:ident = $arg:expr) => {
        crate::text::check_arg(stringify!($name), &$arg)?;
    };
}

mod accounts;
mod approval_rows;
mod approvals;
mod audit;
mod batch;
mod bulk;
mod configs;
mod env_lifecycle;
mod flags;
mod history;
mod insights;
mod jobs;
mod kill;
mod lifecycle;
mod list;
mod lookup;
mod members;
mod outbox;
mod prereqs;
mod project_lifecycle;
mod projects;
mod release;
mod release_approval;
mod release_rows;
mod row;
mod schedule;
mod schedule_apply;
mod schedule_rows;
mod sdk;
mod segments;
mod telemetry;
mod triggers;
mod tx;
mod webhooks;

#[async_trait]
impl ClusterStore for This {
    fn backend(&self) -> Backend {
        BACKEND
    }

    fn pool_stats(&self) -> (u32, u32) {
        (self.pool.size(), self.pool.num_idle() as u32)
    }

    fn change_origin(&self) -> &str {
        &self.shared.origin
    }

    async fn notify_peers(&self, channel: &str, payload: &str) -> Result<()> {
        guard!(channel, payload);
        notify_peers(&self.pool, channel, payload).await
    }

    async fn live_replicas(&self, prefix: &str) -> Result<Vec<String>> {
        guard!(prefix);
        live_replicas(&self.pool, prefix).await
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
