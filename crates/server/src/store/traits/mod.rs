//! The store's contract, split by area: one trait per area, and [`Store`],
//! the umbrella every backend implements through a blanket impl (so
//! `DynStore = Arc<dyn Store>` callers reach every method).
//!
//! | trait | area |
//! |---|---|
//! | [`ClusterStore`] | the database: backend, pool, ping, peers |
//! | [`AccountStore`] | settings, users, API tokens |
//! | [`ProjectStore`] | projects, environments |
//! | [`MemberStore`] | per-project user roles; the session's user and role per request |
//! | [`FlagStore`], [`ConfigStore`], [`KillStore`] | definitions and list, per-environment configuration, kill switches |
//! | [`HistoryStore`], [`BulkStore`], [`AuditStore`] | restore/undo one flag, multi-flag writes, the audit log |
//! | [`SegmentStore`] | segments |
//! | [`SdkKeyStore`], [`ChangeStore`] | SDK keys; snapshots and the change log |
//! | [`TriggerStore`], [`WebhookStore`], [`OutboxStore`] | alert triggers, webhooks, the webhook outbox |
//! | [`TelemetryStore`] | SDK telemetry aggregates per minute (add, series, prune) |
//! | [`ReleaseStore`], [`JobStore`] | release templates and plans; the durable queue of due jobs |
//! | [`ApprovalStore`] | approval policies per environment, change requests |
//! | [`ScheduleStore`] | scheduled changes of a flag's configuration (applied by the scheduler) |
//! | [`LifecycleStore`] | archive and restore from the archive |
//!
//! Declares contracts only: no SQL (that is `sql`), no HTTP.

mod accounts;
mod alerts;
mod approvals;
mod flags;
mod history;
mod lifecycle;
mod members;
mod projects;
mod release;
mod schedule;
mod sdk;
mod segments;
mod telemetry;

use async_trait::async_trait;

pub use accounts::*;
pub use alerts::*;
pub use approvals::*;
pub use flags::*;
pub use history::*;
pub use lifecycle::*;
pub use members::*;
pub use projects::*;
pub use release::*;
pub use schedule::*;
pub use sdk::*;
pub use segments::*;
pub use telemetry::*;

use crate::store::{Backend, Result};

/// The persistence contract: every area. Both backends implement each area
/// with the same SQL and pass the same conformance suite.
pub trait Store:
    ClusterStore
    + AccountStore
    + MemberStore
    + ProjectStore
    + FlagStore
    + ConfigStore
    + KillStore
    + HistoryStore
    + BulkStore
    + AuditStore
    + SegmentStore
    + SdkKeyStore
    + ChangeStore
    + TriggerStore
    + WebhookStore
    + OutboxStore
    + TelemetryStore
    + ReleaseStore
    + JobStore
    + ScheduleStore
    + ApprovalStore
    + LifecycleStore
{
}

impl<T> Store for T where
    T: ClusterStore
        + AccountStore
        + MemberStore
        + ProjectStore
        + FlagStore
        + ConfigStore
        + KillStore
        + HistoryStore
        + BulkStore
        + AuditStore
        + SegmentStore
        + SdkKeyStore
        + ChangeStore
        + TriggerStore
        + WebhookStore
        + OutboxStore
        + TelemetryStore
        + ReleaseStore
        + JobStore
        + ScheduleStore
        + ApprovalStore
        + LifecycleStore
{
}

/// The database as infrastructure: which backend, pool, liveness, and messages to the other replicas.
#[async_trait]
pub trait ClusterStore: Send + Sync + 'static {
    /// Which backend this is (`"postgres"` or `"sqlite"`).
    fn backend(&self) -> Backend;
    /// Connection pool size and idle connections (metrics).
    fn pool_stats(&self) -> (u32, u32);
    /// The id this store instance's change notifications carry
    /// (`<environment>:<revision>:<origin>`): a replica delivers its own
    /// commits from the store's sink, in commit order with their content,
    /// so its listener skips notifications of its own origin (which could
    /// otherwise overtake the sink and be delivered as a bare revision).
    fn change_origin(&self) -> &str;
    /// Sends a message to the other replicas on `channel` (Postgres
    /// `NOTIFY`: forwarded acks, fleet receipts; a no-op on single-instance
    /// SQLite).
    async fn notify_peers(&self, channel: &str, payload: &str) -> Result<()>;
    /// `application_name`s starting with `prefix` of the sessions connected
    /// to this database now (Postgres `pg_stat_activity`): the live
    /// replicas' LISTEN connections. Always empty on SQLite.
    async fn live_replicas(&self, prefix: &str) -> Result<Vec<String>>;
    /// Cheap liveness check of the database (`SELECT 1`).
    async fn ping(&self) -> Result<()>;
}
