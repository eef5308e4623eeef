//! A release plan started in an environment whose approval policy is on
//! (issue 19 §3): it is governed like any ordinary change, never refused
//! and never let through unapproved. Starting it opens a change request
//! for what the plan does first — the fallthrough at its first stage's
//! split, so reviewers see the exposure in the request's diff — and
//! creates the plan `awaiting_approval` (its `change_request`), its first
//! step's job due at the end of time, in one transaction. Applying the request
//! (approved as any) writes that split and, in the same transaction, starts
//! the plan (`store/sql/body/release_approval.rs`). Cancelling the request,
//! or aborting the waiting plan (which cancels the request), ends both.
//!
//! After approval, the plan's steps are the scheduler's writes as
//! `plan:<id>` (a system actor): the policy gates users and tokens only, so
//! they are not approved again — the plan was. Guard rollbacks are kills:
//! break-glass, as ever.

use chrono::{DateTime, Utc};
use switchyard_core::Serve;

use super::step::split_between;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::ops::OpResult;
use crate::state::AppState;
use crate::store::{ConfigPatch, NewChangeRequest, NewJob, NewReleasePlan, PlanState, PlanStateChange, ReleasePlan};

/// Opens the change request of `plan`'s first stage and creates the plan
/// awaiting it, in one transaction (`first`: its first step's job, made due once approved).
pub async fn start_awaiting(
    state: &AppState,
    principal: &Principal,
    (project, env): (&str, &str),
    mut plan: NewReleasePlan,
    mut first: NewJob,
) -> OpResult<ReleasePlan> {
    match state.store.latest_plan(project, env, &plan.flag).await {
        Ok(p) if matches!(p.state, PlanState::AwaitingApproval | PlanState::Running | PlanState::Paused) => {
            return Err(ApiError::Conflict {
                code: "plan_active",
                message: format!("flag `{}` already has a release plan {} here", plan.flag, p.state.as_str()),
                current_version: None,
            });
        }
        _ => {}
    }
    let actor = principal.actor();
    let current = state.store.get_flag_config(project, env, &plan.flag).await?;
    let bucket_by = match &current.config.fallthrough {
        Serve::Rollout(r) => r.bucket_by.clone(),
        Serve::Variant(_) => None,
    };
    let percent = plan.stages.first().map_or(0.0, |s| s.percent);
    let split = split_between((&plan.control, &plan.treatment), percent, bucket_by);
    let why = format!(
        "start a release plan of {} against {} ({} stage(s), {percent}% first){}",
        plan.treatment,
        plan.control,
        plan.stages.len(),
        plan.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
    );
    let change = ConfigPatch { fallthrough: Some(split), ..ConfigPatch::default() };
    let request = NewChangeRequest { change, reason: Some(crate::text::truncate(&why, crate::text::MAX_REASON)) };
    plan.approval = Some(request);
    first.due_at = DateTime::<Utc>::MAX_UTC;
    Ok(state.store.create_plan(&actor, (project, env), plan, first).await?)
}

/// Aborts a plan awaiting approval: cancels its change request (which
/// aborts the plan in the same transaction); nothing was written, so
/// nothing is put back.
pub async fn abort_awaiting(
    state: &AppState,
    principal: &Principal,
    plan: &ReleasePlan,
    reason: String,
) -> OpResult<ReleasePlan> {
    let actor = principal.actor();
    let request = plan.change_request;
    let place = (plan.project.as_str(), plan.environment.as_str());
    if let Some(id) = request {
        let why = Some(format!("release plan {} aborted: {reason}", plan.id));
        state.store.cancel_change_request(&actor, (place.0, place.1, id), why).await?;
    }
    let aborted = state.store.get_plan(plan.id).await?;
    if aborted.state != PlanState::AwaitingApproval {
        return Ok(aborted);
    }
    // No request to cancel (it was never linked): the plan alone.
    let change = PlanStateChange {
        from: &[PlanState::AwaitingApproval],
        to: PlanState::Aborted,
        action: "release.abort",
        reason: Some(reason),
        job: None,
        close: None,
    };
    Ok(state.store.set_plan_state(&actor, plan.id, change).await?)
}
