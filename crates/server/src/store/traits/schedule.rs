//! Scheduled changes: a change to one flag's configuration in one
//! environment, kept with the job (`jobs`, kind `change.apply`) that
//! applies it when due.
//!
//! Declares the contract only (implemented once per backend in `sql`); owns
//! no data and must not touch HTTP.

use async_trait::async_trait;

use crate::store::{Actor, NewScheduledChange, Result, ScheduleEdit, ScheduledChange};

/// Scheduled changes.
#[async_trait]
pub trait ScheduleStore: Send + Sync + 'static {
    /// Stores a pending change of `flag` (which must exist; the change is
    /// validated against its current configuration: 422 with the paths of
    /// the configuration), schedules its job (`kind`, due at `change.at`)
    /// and audits `flag.schedule`, in one transaction.
    async fn schedule_change(
        &self,
        actor: &Actor,
        (project, env, flag): (&str, &str, &str),
        change: NewScheduledChange,
        kind: &str,
    ) -> Result<ScheduledChange>;
    /// The environment's scheduled changes (every state), pending first
    /// by due time, then the others newest first; at most 200.
    async fn list_scheduled_changes(&self, project: &str, env: &str) -> Result<Vec<ScheduledChange>>;
    /// One scheduled change of the environment (`NotFound` for an id of
    /// another environment or project).
    async fn get_scheduled_change(&self, project: &str, env: &str, id: i64) -> Result<ScheduledChange>;
    /// A scheduled change by id alone (the scheduler's job knows only the id).
    async fn scheduled_change(&self, id: i64) -> Result<ScheduledChange>;
    /// Edits a pending change (`Conflict` `schedule_state` otherwise): its
    /// time moves its job; `actor` becomes its requester (by kind and id);
    /// audited `flag.schedule.edit`.
    async fn edit_scheduled_change(
        &self,
        actor: &Actor,
        (project, env, id): (&str, &str, i64),
        edit: ScheduleEdit,
    ) -> Result<ScheduledChange>;
    /// Cancels a pending change (`Conflict` `schedule_state` otherwise) and
    /// its job; audited `flag.schedule.cancel`.
    async fn cancel_scheduled_change(
        &self,
        actor: &Actor,
        (project, env, id): (&str, &str, i64),
        reason: Option<String>,
    ) -> Result<ScheduledChange>;
    /// Applies a pending change as `actor` (the scheduler), in one
    /// transaction with its record and finishing the claimed job (`job`:
    /// id and worker): the configuration write (audited `flag.toggle` when
    /// the change only turns targeting on or off, `flag.config.update`
    /// otherwise, with `after.scheduled = {id, requested_by, requester, at}`), the
    /// change `applied` with the revision. A change that cannot be applied
    /// (flag deleted, invalid against the configuration of now) is
    /// `failed` with the reason, audited `flag.schedule.failed`, nothing
    /// else written. A change that is no longer pending is left as it is.
    /// So a crash anywhere leaves either nothing or everything: the job
    /// runs again and applies it once.
    ///
    /// `refusal`: why its requester may no longer make it (the caller read
    /// the requester's standing just before): the change is then `failed`
    /// with that reason, nothing written.
    async fn apply_scheduled_change(
        &self,
        actor: &Actor,
        id: i64,
        job: (i64, &str),
        refusal: Option<&str>,
    ) -> Result<ScheduledChange>;
}
