//! The lifecycle area of the store: archiving and restoring from the
//! archive (issue 19 part 4). Deleting stays with each area's own trait
//! (`FlagStore::delete_flag` refuses a flag that is not archived).
//!
//! Declares the contract only (implemented once per backend in `sql`); owns
//! no data and must not touch HTTP.

use async_trait::async_trait;

use crate::store::{Actor, FlagDefinition, Result, Written};

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
}
