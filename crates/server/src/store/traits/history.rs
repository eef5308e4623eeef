//! The history area of the store: versions of one flag (restore, undo),
//! multi-flag writes (restore an environment to a time, change sets) and
//! the audit log.
//!
//! Declares the contract only (implemented once per backend in `sql`); owns
//! no data and must not touch HTTP.

use async_trait::async_trait;

use crate::store::{
    Actor, AuditEvent, AuditQuery, ChangeSetRequest, ChangeSetResult, FlagConfigRecord, IncidentSummary, Page,
    RestoreDiff, RestoreRequest, RestoreVersion, Result, Reverted, UndoChange, Written,
};

/// Going back on one flag: its versions, restore one version, undo one change.
#[async_trait]
pub trait HistoryStore: Send + Sync + 'static {
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
}

/// Multi-flag writes of one environment, each one revision: restore to a time, change sets and their revert.
#[async_trait]
pub trait BulkStore: Send + Sync + 'static {
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
}

/// Reading the audit log (it is written by every write of the other areas).
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Audit events, newest first, filtered, cursor-paginated by id.
    async fn list_audit(&self, project: &str, query: &AuditQuery) -> Result<Page<AuditEvent>>;
    /// The events carrying `incident`, oldest first, at most `limit`.
    async fn incident_events(&self, project: &str, incident: &str, limit: u32) -> Result<Vec<AuditEvent>>;
    /// The project's incidents, most recent last event first, at most `limit`.
    async fn list_incidents(&self, project: &str, limit: u32) -> Result<Vec<IncidentSummary>>;
}
