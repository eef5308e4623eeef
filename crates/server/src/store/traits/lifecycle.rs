//! The lifecycle area of the store: archiving and restoring from the
//! archive (issue 19 part 4). Deleting stays with each area's own trait
//! (`FlagStore::delete_flag` refuses a flag that is not archived).
//!
//! Declares the contract only (implemented once per backend in `sql`); owns
//! no data and must not touch HTTP.

use async_trait::async_trait;

use crate::store::{Actor, Environment, FlagDefinition, Project, Result, Written};

/// Archive and restore from the archive.
#[async_trait]
pub trait LifecycleStore: Send + Sync + 'static {
    /// Archives a flag: it stays (definition, configurations, history) but
    /// leaves every environment's SDK snapshot (one revision per
    /// environment, `deleted_flags`), default lists and tag selections, and
    /// refuses edits (`Conflict` `archived`; kills and restores are still
    /// written). Audited `flag.archive` with `reason`. Refused
    /// (`Conflict` `prerequisite_in_use`) while a flag not archived names
    /// it as a prerequisite. Already archived: `changed: false`.
    async fn archive_flag(
        &self,
        actor: &Actor,
        project: &str,
        flag: &str,
        reason: &str,
    ) -> Result<Written<FlagDefinition>>;
    /// Restores an archived flag from the archive with its configurations
    /// as they were (a kill included): one revision per environment
    /// upserting it. Audited `flag.unarchive`. Refused (`Conflict`
    /// `prerequisite_archived`) while one of its prerequisites is archived.
    /// Not archived: `changed: false`.
    async fn unarchive_flag(
        &self,
        actor: &Actor,
        project: &str,
        flag: &str,
        reason: Option<&str>,
    ) -> Result<Written<FlagDefinition>>;
    /// Archives an environment: hidden from the environment list, ordinary
    /// writes refused (`Conflict` `environment_archived`; kills still
    /// written), its SDKs still served. Audited `environment.archive` with
    /// `reason` and `detail` (the in-use evidence) in `after`. No revision.
    /// Already archived: `changed: false`.
    async fn archive_environment(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        reason: &str,
        detail: serde_json::Value,
    ) -> Result<Written<Environment>>;
    /// Restores an archived environment from the archive (`environment.unarchive`).
    async fn unarchive_environment(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        reason: Option<&str>,
    ) -> Result<Written<Environment>>;
    /// Deletes an archived environment (`Conflict` `not_archived`
    /// otherwise) and its rows; the audit history stays
    /// (`environment.delete`).
    async fn delete_environment(&self, actor: &Actor, project: &str, env: &str, reason: &str) -> Result<()>;
    /// Archives a project: hidden from the project list (the handler
    /// filters), its SDK keys authenticate nothing (`sdk_key_by_hash`),
    /// ordinary configuration writes refused (`Conflict` `project_archived`;
    /// kills still written). Audited `project.archive` with `reason` and
    /// `detail` (the in-use evidence) in `after`. No revision. Already
    /// archived: `changed: false`.
    async fn archive_project(
        &self,
        actor: &Actor,
        project: &str,
        reason: &str,
        detail: serde_json::Value,
    ) -> Result<Written<Project>>;
    /// Restores an archived project from the archive (`project.unarchive`).
    async fn unarchive_project(&self, actor: &Actor, project: &str, reason: Option<&str>) -> Result<Written<Project>>;
    /// Deletes an archived project (`Conflict` `not_archived` otherwise)
    /// and its rows; the audit history stays (`project.delete`).
    async fn delete_project(&self, actor: &Actor, project: &str, reason: &str) -> Result<()>;
    /// Records that SDK key `id` authenticated a request now: at most one
    /// write per key every few minutes (called off the request's path, on
    /// the key cache's misses only).
    async fn record_sdk_key_use(&self, id: i64) -> Result<()>;
}
