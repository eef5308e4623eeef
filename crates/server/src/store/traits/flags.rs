//! The flags area of the store: definitions and the flag list, the
//! per-environment configuration, kill switches.
//!
//! Declares the contract only (implemented once per backend in `sql`); owns
//! no data and must not touch HTTP.

use async_trait::async_trait;

use crate::store::{
    Actor, FlagConfig, FlagConfigRecord, FlagDefinition, FlagPatch, FlagQuery, FlagSummary, KillRequest, NewFlag, Page,
    ReceiptOf, Result, Written,
};

/// Flag definitions (environment-independent) and the flag list.
#[async_trait]
pub trait FlagStore: Send + Sync + 'static {
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
    /// Deletes an archived flag and its configurations (history stays in the
    /// audit log); `Conflict` `not_archived` when it is not archived (see
    /// [`crate::store::LifecycleStore::archive_flag`]), `prerequisite_in_use`
    /// while any flag names it as a prerequisite.
    async fn delete_flag(&self, actor: &Actor, project: &str, flag: &str, reason: Option<String>) -> Result<()>;
    /// Keys of flags in the project carrying `tag`.
    async fn flags_with_tag(&self, project: &str, tag: &str) -> Result<Vec<String>>;
}

/// The configuration of one flag in one environment: read, replace, toggle.
#[async_trait]
pub trait ConfigStore: Send + Sync + 'static {
    /// The configuration of one flag in one environment.
    async fn get_flag_config(&self, project: &str, env: &str, flag: &str) -> Result<FlagConfigRecord>;
    /// Replaces the configuration. `expected_version` must equal the current
    /// version or `Conflict { current_version }`. The `kill` field of the
    /// input is ignored: only [`KillStore::kill_flags`]/[`KillStore::restore_flags`]
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
}

/// Kill switches: kill and restore sets of flags as one revision, and the delivery receipts of kills.
#[async_trait]
pub trait KillStore: Send + Sync + 'static {
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
        incident: Option<String>,
    ) -> Result<Written<Vec<FlagConfigRecord>>>;
    /// Appends the delivery receipt of a kill or restore to the audit
    /// history (`flag.kill.applied` / `flag.restore.applied`, one event per
    /// flag, with the write's incident); changes nothing else.
    async fn record_receipt(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        flags: &[String],
        of: &ReceiptOf,
        receipt: serde_json::Value,
    ) -> Result<()>;
}
