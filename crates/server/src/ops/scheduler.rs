//! The durable scheduler: every replica runs [`run`], which at each tick
//! claims the due jobs of the `jobs` table (`JobStore::claim_jobs`: a
//! [`lease`], `FOR UPDATE SKIP LOCKED` on Postgres, so exactly one replica
//! holds a job; a replica that dies mid-step leaves a lease that lapses
//! and another replica takes the job over) and runs each by its kind.
//!
//! Jobs are general: `kind` picks the runner in [`dispatch`], `payload` is
//! its input, `key` names the step (scheduling a key again moves its one
//! row). Runners must be idempotent per key: a job may run again after a
//! crash between its effect and its record. Kinds today:
//! - `release.step` ([`crate::ops::release::step`]);
//! - `change.apply` ([`crate::ops::schedule`]): a scheduled change.
//!
//! A runner error gives the job back for a retry with backoff (at most
//! [`MAX_ATTEMPTS`] claims, then `failed`). Nothing here is on the kill
//! path: kills never wait for the scheduler.

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::release::step::{self, STEP_KIND, StepOutcome};
use super::schedule::{self, APPLY_KIND};
use crate::state::AppState;
use crate::store::Job;

/// How long a claim holds a job before another replica may take it over:
/// 60 ticks, at least 10 s (longer than any step) and at most 60 s (how
/// late a step may start after its replica died).
pub fn lease(tick: Duration) -> Duration {
    (tick * 60).clamp(Duration::from_secs(10), Duration::from_secs(60))
}
/// Claims of one job before it is marked failed.
pub const MAX_ATTEMPTS: u32 = 20;
/// Jobs claimed per tick.
const BATCH: u32 = 16;

/// Runs due jobs every `tick` until `stop`; `worker` names this replica in
/// the claims.
pub async fn run(state: AppState, worker: String, tick: Duration, stop: CancellationToken) {
    let tick = tick.max(Duration::from_millis(10));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(tick) => {}
        }
        if let Err(err) = run_due(&state, &worker).await {
            tracing::warn!(error = %err, "scheduler: claiming due jobs failed");
        }
    }
}

/// Claims and runs the jobs due now; returns how many ran.
pub async fn run_due(state: &AppState, worker: &str) -> crate::store::Result<usize> {
    let lease = lease(state.config.scheduler_tick);
    let jobs = state.store.claim_jobs(worker, Utc::now(), lease, BATCH).await?;
    let count = jobs.len();
    for job in jobs {
        let span = tracing::info_span!("job", kind = %job.kind, key = %job.key, attempt = job.attempts);
        async {
            let outcome = dispatch(state, &job, worker).await;
            settle(state, &job, worker, outcome).await;
        }
        .instrument(span)
        .await;
    }
    Ok(count)
}

/// What a runner says about its job.
#[derive(Debug)]
pub enum JobOutcome {
    /// Finished (already recorded by the runner, or to be marked done).
    Done,
    /// Not due yet: pending again at this time (attempts not counted against it).
    Later(chrono::DateTime<Utc>),
}

/// Runs one job by its kind.
pub async fn dispatch(state: &AppState, job: &Job, worker: &str) -> Result<JobOutcome, String> {
    match job.kind.as_str() {
        STEP_KIND => release_step(state, job, worker).await,
        APPLY_KIND => Ok(schedule::run_job(state, job, worker).await?.map_or(JobOutcome::Done, JobOutcome::Later)),
        other => Err(format!("unknown job kind `{other}`")),
    }
}

async fn release_step(state: &AppState, job: &Job, worker: &str) -> Result<JobOutcome, String> {
    let plan_id = job.payload.get("plan").and_then(|v| v.as_i64()).ok_or("payload without `plan`")?;
    let stage = job.payload.get("stage").and_then(|v| v.as_u64()).ok_or("payload without `stage`")?;
    let stage = u32::try_from(stage).map_err(|_| "stage out of range")?;
    let plan = match state.store.get_plan(plan_id).await {
        Ok(plan) => plan,
        Err(crate::store::StoreError::NotFound { .. }) => return Ok(JobOutcome::Done),
        Err(err) => return Err(err.to_string()),
    };
    let claimed = Some((job.id, worker.to_string()));
    match step::run(state, &plan, stage, claimed, false).await.map_err(|e| e.to_string())? {
        StepOutcome::NotYet(at, why) => {
            tracing::debug!(plan = plan_id, stage, why = %why, "release step not due yet");
            Ok(JobOutcome::Later(at))
        }
        StepOutcome::Recorded | StepOutcome::Stale | StepOutcome::Tripped | StepOutcome::Halted => Ok(JobOutcome::Done),
    }
}

/// Marks the job done, pending again, or failed after too many errors.
async fn settle(state: &AppState, job: &Job, worker: &str, outcome: Result<JobOutcome, String>) {
    let result = match outcome {
        // A recorded step finished its job in the record's transaction;
        // this is then a no-op (the worker no longer holds it).
        Ok(JobOutcome::Done) => state.store.finish_job(job.id, worker).await.map(|_| ()),
        // Waiting is not failing: the attempt is given back (no error).
        Ok(JobOutcome::Later(at)) => state.store.retry_job(job.id, worker, at, None, u32::MAX).await,
        Err(error) => {
            tracing::warn!(kind = %job.kind, key = %job.key, attempt = job.attempts, %error, "job failed; retrying");
            let backoff = chrono::Duration::seconds(1i64 << job.attempts.min(8));
            state.store.retry_job(job.id, worker, Utc::now() + backoff, Some(&error), MAX_ATTEMPTS).await
        }
    };
    if let Err(err) = result {
        tracing::warn!(key = %job.key, error = %err, "scheduler: settling a job failed");
    }
}
