//! Scheduled changes (issue 19 §2): any change of a flag's configuration in
//! one environment (a toggle, targets, rules, a rollout step of the
//! fallthrough) made now and applied at a time, by the durable scheduler
//! shared with release plans ([`super::scheduler`], job kind
//! [`APPLY_KIND`]). Pending changes may be edited or cancelled.
//!
//! Applied by the actor [`SCHEDULER`] (a system actor), with the user or
//! token that scheduled the change (or last edited it) as the requester
//! (the audit event's `after.scheduled.requested_by` and `requester`, its
//! kind and id). When due, the requester must still be allowed to make the
//! change ([`super::standing`]): a revoked token, a user demoted below
//! editor in the project or no longer a member there makes the change
//! `failed` with that reason, audited `flag.schedule.failed` by the
//! scheduler, nothing written. The store applies a change in one
//! transaction with its record and its job (see
//! `ScheduleStore::apply_scheduled_change`), so restarts, `kill -9` and
//! replicas apply it exactly once.
//!
//! Nothing here is on the kill path: a scheduled change never holds a
//! kill, and a killed flag stays killed when a change is applied to it
//! (the kill switch owns the kill state).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::OpResult;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{Actor, Job, NewScheduledChange, ScheduleEdit, ScheduleState, ScheduledChange, Store, StoreError};

/// The job kind that applies a scheduled change.
pub const APPLY_KIND: &str = "change.apply";
/// The audit actor of applied changes.
pub const SCHEDULER: &str = "scheduler";
/// How far in the past a time may be (clock skew, a slow form): applied at
/// the next tick.
const PAST_SLACK_SECONDS: i64 = 60;

/// The scheduler as an audit actor.
pub fn scheduler_actor() -> Actor {
    Actor { name: SCHEDULER.into(), ..Actor::system() }
}

/// 422 on `path` for a time more than a minute ago.
fn check_time(path: &str, at: DateTime<Utc>) -> OpResult<()> {
    if at < Utc::now() - chrono::Duration::seconds(PAST_SLACK_SECONDS) {
        return Err(ApiError::invalid(path, "in_the_past", "the time is in the past: give a time to come"));
    }
    Ok(())
}

/// Schedules a change of `flag` in `env` (validated now against the flag's
/// configuration; applied as it will be then).
#[tracing::instrument(name = "schedule.create", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, env = env, flag = flag,
))]
pub async fn schedule(
    store: &dyn Store,
    principal: &Principal,
    (project, env, flag): (&str, &str, &str),
    change: NewScheduledChange,
) -> OpResult<ScheduledChange> {
    check_time("at", change.at)?;
    super::approvals::gate(store, (project, env)).await?;
    Ok(store.schedule_change(&principal.actor(), (project, env, flag), change, APPLY_KIND).await?)
}

/// Edits a pending change (409 `schedule_state` once it is applied,
/// cancelled or failed).
#[tracing::instrument(name = "schedule.edit", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, env = env, id = id,
))]
pub async fn edit(
    store: &dyn Store,
    principal: &Principal,
    (project, env, id): (&str, &str, i64),
    edit: ScheduleEdit,
) -> OpResult<ScheduledChange> {
    if let Some(at) = edit.at {
        check_time("at", at)?;
    }
    Ok(store.edit_scheduled_change(&principal.actor(), (project, env, id), edit).await?)
}

/// Cancels a pending change (409 `schedule_state` otherwise).
#[tracing::instrument(name = "schedule.cancel", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, env = env, id = id,
))]
pub async fn cancel(
    store: &dyn Store,
    principal: &Principal,
    (project, env, id): (&str, &str, i64),
    reason: Option<String>,
) -> OpResult<ScheduledChange> {
    Ok(store.cancel_scheduled_change(&principal.actor(), (project, env, id), reason).await?)
}

/// Runs a [`APPLY_KIND`] job: applies its change if it is pending and due.
/// `Ok(Some(at))`: not due before `at` (edited to a later time); `Ok(None)`:
/// finished (applied, failed, no longer pending, or gone with its
/// environment); `Err`: retry.
pub async fn run_job(state: &AppState, job: &Job, worker: &str) -> Result<Option<DateTime<Utc>>, String> {
    let id = job.payload.get("change").and_then(Value::as_i64).ok_or("payload without `change`")?;
    hang_before_apply(id).await;
    let change = match state.store.scheduled_change(id).await {
        Ok(change) => change,
        Err(StoreError::NotFound { .. }) => return Ok(None),
        Err(err) => return Err(err.to_string()),
    };
    let refusal = if change.state == ScheduleState::Pending && change.at <= Utc::now() {
        let (project, name) = (&change.project, &change.requested_by);
        super::standing::refusal(&*state.store, project, name, change.requester).await.map_err(|e| e.to_string())?
    } else {
        None
    };
    let worked = (job.id, worker);
    match state.store.apply_scheduled_change(&scheduler_actor(), id, worked, refusal.as_deref()).await {
        Ok(change) if change.state == ScheduleState::Pending => Ok(Some(change.at)),
        Ok(change) => {
            let (state, revision) = (change.state.as_str(), change.revision);
            tracing::info!(change = id, flag = %change.flag, env = %change.environment, state, revision, "scheduled change");
            Ok(None)
        }
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(err) => Err(err.to_string()),
    }
}

/// Tests only (`SWITCHYARD_TEST_HANG_BEFORE_APPLY=1`): once a change's job
/// is claimed and before it is applied, say so on stdout and hang, so that
/// a test can kill -9 the process while it holds the claim.
async fn hang_before_apply(id: i64) {
    static HANG: std::sync::LazyLock<bool> =
        std::sync::LazyLock::new(|| std::env::var("SWITCHYARD_TEST_HANG_BEFORE_APPLY").is_ok_and(|v| v == "1"));
    if *HANG {
        println!("failpoint: scheduled change {id} claimed, not applied");
        std::future::pending::<()>().await;
    }
}
