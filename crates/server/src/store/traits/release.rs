//! The release area of the store: plan templates, release plans, and the
//! general durable job queue the scheduler runs (release steps now,
//! scheduled changes later).
//!
//! Declares the contract only (implemented once per backend in `sql`); owns
//! no data and must not touch HTTP. A plan's stage changes are ordinary
//! configuration writes ([`crate::store::ConfigStore`]); these methods keep
//! the plan's own record.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::store::{
    Actor, Job, NewJob, NewReleasePlan, NewReleaseTemplate, PlanState, PlanStateChange, ReleasePlan, ReleaseTemplate,
    Result, StageRecord,
};

/// Release templates and plans.
#[async_trait]
pub trait ReleaseStore: Send + Sync + 'static {
    /// Creates a template (`AlreadyExists` on a taken key); audited `release.template.create`.
    async fn create_release_template(
        &self,
        actor: &Actor,
        project: &str,
        template: NewReleaseTemplate,
    ) -> Result<ReleaseTemplate>;
    /// The project's templates, by key.
    async fn list_release_templates(&self, project: &str) -> Result<Vec<ReleaseTemplate>>;
    /// One template.
    async fn get_release_template(&self, project: &str, key: &str) -> Result<ReleaseTemplate>;
    /// Deletes a template (plans made from it keep their copy); audited.
    async fn delete_release_template(&self, actor: &Actor, project: &str, key: &str) -> Result<()>;
    /// Inserts a running plan, audits `release.start` and schedules `first`
    /// (whose key and payload name the new plan through `{plan}`, replaced
    /// by its id), in one transaction; with `plan.approval`, that
    /// transaction also opens the change request (audited
    /// `change_request.open`) and the plan is `awaiting_approval`, linked
    /// to it (`change_request`). `Conflict` `plan_active` when the flag
    /// already has a plan awaiting approval, running or paused there.
    async fn create_plan(
        &self,
        actor: &Actor,
        (project, env): (&str, &str),
        plan: NewReleasePlan,
        first: NewJob,
    ) -> Result<ReleasePlan>;
    /// One plan by id.
    async fn get_plan(&self, id: i64) -> Result<ReleasePlan>;
    /// The newest plan of a flag in an environment (`NotFound` `release plan`).
    async fn latest_plan(&self, project: &str, env: &str, flag: &str) -> Result<ReleasePlan>;
    /// Every plan of a flag in an environment, newest first (empty when it
    /// never had one; `NotFound` only for the project or environment).
    async fn list_plans(&self, project: &str, env: &str, flag: &str) -> Result<Vec<ReleasePlan>>;
    /// Moves the plan to `change.to` if it is in one of `change.from`
    /// (`Conflict` `plan_state` otherwise), audits `change.action` and
    /// schedules `change.job`, in one transaction.
    async fn set_plan_state(&self, actor: &Actor, id: i64, change: PlanStateChange) -> Result<ReleasePlan>;
    /// Records an applied stage if the plan is running and at
    /// `record.from` (compare-and-set), finishes the claimed job and
    /// schedules the next, in one transaction. `false`: the plan was not
    /// there (another execution recorded it, or it was paused or
    /// aborted): nothing written.
    async fn record_stage(&self, id: i64, record: StageRecord) -> Result<bool>;
    /// How many plans are in each state, over every project (states
    /// without plans are absent).
    async fn plan_counts(&self) -> Result<Vec<(PlanState, u64)>>;
}

/// The durable queue of due jobs. Replica-safe: a claim takes a job for a
/// lease (`FOR UPDATE SKIP LOCKED` on Postgres: concurrent claimers never
/// get the same job; SQLite is single-instance and serialises writers); a
/// claim whose lease lapsed (its replica died) is claimable again.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Schedules a job: inserts it, or moves the job of the same key back
    /// to pending with this due time and payload (attempts reset).
    async fn schedule_job(&self, job: NewJob) -> Result<()>;
    /// Claims up to `limit` due jobs (pending and due at or before `now`,
    /// or running with a lapsed lease) for `worker` until `now + lease`,
    /// oldest due first; each claim counts an attempt.
    async fn claim_jobs(&self, worker: &str, now: DateTime<Utc>, lease: Duration, limit: u32) -> Result<Vec<Job>>;
    /// Marks a job done, if `worker` still holds it. `false` otherwise.
    async fn finish_job(&self, id: i64, worker: &str) -> Result<bool>;
    /// Gives a job back: pending again at `due_at` with `error` noted, or
    /// `failed` once it had `max_attempts` claims. Without an error (the job
    /// was not due yet) the claim is not counted. Only if `worker` holds it.
    async fn retry_job(
        &self,
        id: i64,
        worker: &str,
        due_at: DateTime<Utc>,
        error: Option<&str>,
        max_attempts: u32,
    ) -> Result<()>;
    /// The job of `key`, in any state.
    async fn job(&self, key: &str) -> Result<Option<Job>>;
}
