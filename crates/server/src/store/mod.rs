//! Storage: one [`Store`] trait, two sqlx backends (Postgres for production,
//! embedded SQLite as the zero-set-up default).
//!
//! Every write method is one transaction that (1) locks the environment
//! rows it touches, (2) checks the expected version (optimistic concurrency),
//! (3) writes the new state, (4) appends exactly one audit event per changed
//! object, (5) bumps the revision of every environment whose SDK-visible
//! state changed and appends the [`ChangeEvent`] to the change log, then
//! commits and hands each [`EnvChange`] to the [`ChangeSink`]. Nothing ever
//! updates or deletes an audit row.
//!
//! ## Layout
//! - [`types`]: domain types shared by the store and the HTTP layer.
//! - [`outbox`]: the durable webhook outbox (deliveries, their history).
//! - [`revert`]: undo one change, restore one version: requests and diffs.
//! - `sql`: the shared SQL implementation, instantiated for both backends.

pub mod outbox;
pub mod revert;
pub mod types;

mod sql;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
pub use outbox::*;
pub use revert::*;
pub use types::*;

pub use sql::{NOTIFY_CHANNEL, PgStore, SqliteStore, StoreOptions, connect, connect_with};

/// Receives every committed change, after commit, in revision order per
/// environment. The broadcaster implements it.
pub trait ChangeSink: Send + Sync + 'static {
    /// Called once per environment whose revision a commit bumped.
    fn publish(&self, change: EnvChange);
}

/// A sink that drops everything (tools and tests that do not stream).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl ChangeSink for NullSink {
    fn publish(&self, _change: EnvChange) {}
}

/// Shared handle to a store.
pub type DynStore = Arc<dyn Store>;

/// The persistence contract. Both backends implement it with the same SQL
/// and pass the same conformance suite.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which backend this is (`"postgres"` or `"sqlite"`).
    fn backend(&self) -> Backend;

    /// Connection pool size and idle connections (metrics).
    fn pool_stats(&self) -> (u32, u32);

    /// Sends a message to the other replicas on `channel` (Postgres
    /// `NOTIFY`: forwarded acks, fleet receipts; a no-op on single-instance
    /// SQLite).
    async fn notify_peers(&self, channel: &str, payload: &str) -> Result<()>;
    /// `application_name`s starting with `prefix` of the sessions connected
    /// to this database now (Postgres `pg_stat_activity`): the live
    /// replicas' LISTEN connections. Always empty on SQLite.
    async fn live_replicas(&self, prefix: &str) -> Result<Vec<String>>;
    /// Claims one fire of trigger `id` if it fired fewer than `limit` times
    /// in the last `window` (over every replica: the count is in the
    /// database, under a lock on the trigger row). `Ok(Some(wait))` when it
    /// is over the limit: a slot frees up in `wait`.
    async fn claim_trigger_fire(
        &self,
        id: i64,
        limit: u32,
        window: std::time::Duration,
    ) -> Result<Option<std::time::Duration>>;

    /// Cheap liveness check of the database (`SELECT 1`).
    async fn ping(&self) -> Result<()>;

    // ---- settings (server-generated secrets in embedded mode) ----

    /// Returns the stored value for `key`, or stores `value` and returns it
    /// when absent (atomic "get or insert").
    async fn setting_get_or_insert(&self, key: &str, value: &str) -> Result<String>;

    // ---- users and API tokens ----

    /// Number of users (0 on a fresh database: the server bootstraps `admin`).
    async fn user_count(&self) -> Result<i64>;
    /// Creates a user. `AlreadyExists` if the name is taken.
    async fn create_user(&self, actor: &Actor, user: NewUser) -> Result<User>;
    /// Looks a user up by name, including the password hash.
    async fn user_by_name(&self, username: &str) -> Result<Option<UserWithHash>>;
    /// Lists users.
    async fn list_users(&self) -> Result<Vec<User>>;
    /// Sets a user's password hash and bumps its password version (ending
    /// its sessions), audited without the hash. `NotFound` if unknown.
    async fn set_password(
        &self,
        actor: &Actor,
        username: &str,
        password_hash: &str,
        why: PasswordChange,
    ) -> Result<User>;
    /// Stores a new API token (the caller hashed the secret).
    async fn create_api_token(&self, actor: &Actor, token: NewApiToken) -> Result<ApiToken>;
    /// Finds a token by the hash of its secret (revoked ones included, with `revoked_at`).
    async fn api_token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>>;
    /// Lists tokens (never secrets).
    async fn list_api_tokens(&self) -> Result<Vec<ApiToken>>;
    /// Revokes a token by id. `NotFound` if unknown; idempotent if already revoked.
    async fn revoke_api_token(&self, actor: &Actor, id: i64) -> Result<ApiToken>;

    // ---- projects and environments ----

    /// Creates a project (no environments).
    async fn create_project(&self, actor: &Actor, project: NewProject) -> Result<Project>;
    /// Lists projects ordered by key.
    async fn list_projects(&self) -> Result<Vec<Project>>;
    /// One project by key (`NotFound`).
    async fn get_project(&self, project: &str) -> Result<Project>;
    /// Creates an environment (revision 1, a default off configuration for
    /// every existing flag, change log entry with the full state).
    async fn create_environment(&self, actor: &Actor, project: &str, env: NewEnvironment) -> Result<Environment>;
    /// Lists a project's environments ordered by creation.
    async fn list_environments(&self, project: &str) -> Result<Vec<Environment>>;
    /// One environment (`NotFound` when the project or environment is unknown).
    async fn get_environment(&self, project: &str, env: &str) -> Result<Environment>;
    /// One environment by id (used by the SDK API after key lookup).
    async fn environment_by_id(&self, id: i64) -> Result<Environment>;

    // ---- flag definitions ----

    /// Creates a flag and its default (off) configuration in every
    /// environment. Validates with `switchyard-core`.
    async fn create_flag(&self, actor: &Actor, project: &str, flag: NewFlag) -> Result<FlagDefinition>;
    /// Lists flags with their per-environment state, filtered, paginated by key.
    async fn list_flags(&self, project: &str, query: &FlagQuery) -> Result<Page<FlagSummary>>;
    /// One flag definition.
    async fn get_flag(&self, project: &str, flag: &str) -> Result<FlagDefinition>;
    /// Updates a definition; `expected_version` (if given) must equal the
    /// current definition version or `Conflict`. Variants still referenced by
    /// a configuration may not be removed (`Validation`).
    async fn update_flag(
        &self,
        actor: &Actor,
        project: &str,
        flag: &str,
        patch: FlagPatch,
        expected_version: Option<u64>,
    ) -> Result<FlagDefinition>;
    /// Deletes a flag and its configurations (history stays in the audit log).
    async fn delete_flag(&self, actor: &Actor, project: &str, flag: &str, reason: Option<String>) -> Result<()>;

    // ---- per-environment configuration ----

    /// The configuration of one flag in one environment.
    async fn get_flag_config(&self, project: &str, env: &str, flag: &str) -> Result<FlagConfigRecord>;
    /// Replaces the configuration. `expected_version` must equal the current
    /// version or `Conflict { current_version }`. The `kill` field of the
    /// input is ignored: only [`Store::kill_flags`]/[`Store::restore_flags`]
    /// change it, so an edit can never un-kill a flag.
    #[allow(clippy::too_many_arguments)]
    async fn put_flag_config(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        flag: &str,
        config: FlagConfig,
        expected_version: u64,
        reason: Option<String>,
    ) -> Result<Written<FlagConfigRecord>>;
    /// Sets `on`. No version check (a toggle is a one-field write);
    /// unchanged → `changed: false`, no audit, no revision.
    async fn toggle_flag(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        flag: &str,
        on: bool,
        reason: Option<String>,
    ) -> Result<Written<FlagConfigRecord>>;
    /// Kills flags in one revision (one change event, one audit event per
    /// flag sharing a group id). Already-killed flags are left as they are.
    /// Not subject to version checks.
    async fn kill_flags(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        kill: KillRequest,
    ) -> Result<Written<Vec<FlagConfigRecord>>>;
    /// Clears the kill of the given flags (one revision). Not-killed flags are left alone.
    async fn restore_flags(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        flags: &[String],
        reason: String,
    ) -> Result<Written<Vec<FlagConfigRecord>>>;
    /// Appends the delivery receipt of a kill to the audit history
    /// (`flag.kill.applied`, one event per flag); changes nothing else.
    async fn record_kill_receipt(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        flags: &[String],
        revision: u64,
        receipt: serde_json::Value,
    ) -> Result<()>;

    /// Keys of flags in the project carrying `tag`.
    async fn flags_with_tag(&self, project: &str, tag: &str) -> Result<Vec<String>>;
    /// All versions of one flag's configuration in one environment, newest first.
    async fn config_history(&self, project: &str, env: &str, flag: &str) -> Result<Vec<FlagConfigRecord>>;
    /// **Restore this version**: writes the configuration of version
    /// `to_version` as a new version (the current kill state is kept),
    /// audited `flag.revert` with the restored version. With `dry_run`,
    /// returns the diff and writes nothing.
    async fn revert_flag(&self, actor: &Actor, target: (&str, &str, &str), request: RestoreVersion)
    -> Result<Reverted>;
    /// **Undo this change**: the inverse of the change that produced
    /// `version` only — each field it changed goes back to its value before
    /// it; every other field keeps its current value. `Conflict`
    /// (`nothing_to_undo`) for a creation or a kill/restore;
    /// `FieldConflict` (`undo_conflict`, one entry per field) when a later
    /// version changed any of those fields. Audited `flag.undo` with what it
    /// undid. With `dry_run`, returns the diff and writes nothing.
    async fn undo_flag_change(
        &self,
        actor: &Actor,
        target: (&str, &str, &str),
        request: UndoChange,
    ) -> Result<Reverted>;
    /// Reverts every flag configuration changed after `at` to the version it
    /// had at `at` (flags created after `at` are switched off), in one
    /// transaction and one revision. With `dry_run`, computes the diff and
    /// writes nothing. A time before the environment was created is a
    /// `Validation` error on `at` (`before_environment`).
    async fn restore_environment(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        request: RestoreRequest,
    ) -> Result<Written<Vec<RestoreDiff>>>;
    /// Applies several configuration changes as one revision, all or
    /// nothing. Any invalid item → `Validation` with paths prefixed
    /// `changes[i].`; any stale version → `Conflict`; nothing is written.
    async fn apply_change_set(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        set: ChangeSetRequest,
    ) -> Result<Written<ChangeSetResult>>;
    /// Reverts a change set by id: every flag it touched goes back to the
    /// version before the set, as one new revision.
    async fn revert_change_set(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        change_set: &str,
        reason: String,
    ) -> Result<Written<ChangeSetResult>>;

    // ---- segments ----

    /// Creates a segment (bumps every environment of the project).
    async fn create_segment(&self, actor: &Actor, project: &str, segment: SegmentInput) -> Result<SegmentRecord>;
    /// Lists segments ordered by key.
    async fn list_segments(&self, project: &str) -> Result<Vec<SegmentRecord>>;
    /// One segment.
    async fn get_segment(&self, project: &str, segment: &str) -> Result<SegmentRecord>;
    /// Replaces a segment; `expected_version` must match or `Conflict`.
    async fn update_segment(
        &self,
        actor: &Actor,
        project: &str,
        segment: &str,
        input: SegmentInput,
        expected_version: u64,
    ) -> Result<SegmentRecord>;
    /// Deletes a segment; `Conflict` (code `segment_in_use`) while a flag or segment references it.
    async fn delete_segment(&self, actor: &Actor, project: &str, segment: &str) -> Result<()>;

    // ---- audit ----

    /// Audit events, newest first, filtered, cursor-paginated by id.
    async fn list_audit(&self, project: &str, query: &AuditQuery) -> Result<Page<AuditEvent>>;

    // ---- SDK keys ----

    /// Stores an SDK key for one environment (the caller hashed the secret).
    async fn create_sdk_key(&self, actor: &Actor, project: &str, env: &str, key: NewSdkKey) -> Result<SdkKey>;
    /// Lists an environment's SDK keys (prefix only).
    async fn list_sdk_keys(&self, project: &str, env: &str) -> Result<Vec<SdkKey>>;
    /// Revokes an SDK key (idempotent).
    async fn revoke_sdk_key(&self, actor: &Actor, project: &str, env: &str, id: i64) -> Result<SdkKey>;
    /// Finds an SDK key by the hash of its secret (revoked ones included).
    async fn sdk_key_by_hash(&self, hash: &str) -> Result<Option<SdkKey>>;

    // ---- SDK data ----

    /// The full snapshot of an environment, consistent at one revision.
    async fn snapshot(&self, environment_id: i64) -> Result<Snapshot>;
    /// Change events with revision > `after`, ascending, at most `limit`.
    /// `None` when the change log no longer reaches back to `after + 1`.
    async fn changes_since(&self, environment_id: i64, after: u64, limit: u32) -> Result<Option<Vec<ChangeEvent>>>;
    /// Current revision of every environment (id → revision), for resync.
    async fn revisions(&self) -> Result<Vec<(i64, u64)>>;

    // ---- alert triggers (no revision: nothing SDK-visible changes) ----

    /// Stores a trigger for one flag in one environment (audited `trigger.create`).
    async fn create_trigger(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        flag: &str,
        trigger: NewTrigger,
    ) -> Result<Trigger>;
    /// The triggers of one flag in one environment, disabled ones included, by id.
    async fn list_triggers(&self, project: &str, env: &str, flag: &str) -> Result<Vec<Trigger>>;
    /// Disables a trigger (soft delete: the row stays; audited
    /// `trigger.delete`). `NotFound` unless it belongs to this flag and
    /// environment; idempotent.
    async fn delete_trigger(&self, actor: &Actor, project: &str, env: &str, flag: &str, id: i64) -> Result<Trigger>;
    /// Replaces a trigger's secret (the old URL stops working; audited
    /// `trigger.rotate`). `Conflict` (`trigger_disabled`) on a disabled trigger.
    async fn rotate_trigger(
        &self,
        actor: &Actor,
        (project, env, flag): (&str, &str, &str),
        id: i64,
        secret: SecretHash,
    ) -> Result<Trigger>;
    /// Finds a trigger by the hash of its secret (disabled ones included,
    /// with `disabled_at`). A read: never writes.
    async fn trigger_by_hash(&self, hash: &str) -> Result<Option<Trigger>>;

    // ---- outgoing webhooks ----

    /// Stores a webhook of a project (audited `webhook.create`, URL without its path).
    async fn create_webhook(&self, actor: &Actor, project: &str, webhook: NewWebhook) -> Result<Webhook>;
    /// A project's webhooks, disabled ones included, by id (no secrets).
    async fn list_webhooks(&self, project: &str) -> Result<Vec<Webhook>>;
    /// Disables a webhook (soft delete; audited `webhook.delete`; idempotent).
    async fn delete_webhook(&self, actor: &Actor, project: &str, id: i64) -> Result<Webhook>;

    // ---- the webhook outbox (rows are written by the write transactions) ----

    /// Notified after every commit that wrote outbox rows (and by the worker
    /// itself): the delivery worker waits on it.
    fn outbox_wakeup(&self) -> Arc<tokio::sync::Notify>;
    /// Claims up to `limit` due deliveries (oldest due first), counting the
    /// attempt and leasing each for `lease` (Postgres: `FOR UPDATE SKIP
    /// LOCKED`, so concurrent replicas never claim the same row).
    async fn claim_deliveries(&self, lease: Duration, limit: u32) -> Result<Vec<ClaimedDelivery>>;
    /// Records the outcome of attempt `attempt` of delivery `id`; ignored
    /// when the row moved on meanwhile (its lease expired and another
    /// worker claimed it, or it was cancelled). Returns whether it applied.
    async fn finish_delivery(&self, id: i64, attempt: u32, update: DeliveryUpdate) -> Result<bool>;
    /// When the earliest pending delivery is due, if any.
    async fn next_delivery_at(&self) -> Result<Option<DateTime<Utc>>>;
    /// A webhook's most recent deliveries, newest first (`NotFound` when
    /// the webhook is not the project's).
    async fn list_deliveries(&self, project: &str, webhook: i64, limit: u32) -> Result<Vec<DeliveryRecord>>;
    /// Deletes finished (delivered or dead) deliveries written before `before`.
    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64>;
}
