//! Release plans (issue 16 part 2): widen a flag's treatment variant
//! against its control stage by stage (1 % → 5 % → … → 100 %), each stage
//! held for a minimum duration and sample and watched by the guard.
//!
//! Every stage change is an ordinary configuration write of the flag's
//! fallthrough (`ops::configs::put_config_as`: audited, a revision,
//! streamed like any edit), by the actor `plan:<id>` with the statistics
//! summary as its reason. The steps are durable jobs
//! (`ops::scheduler`, kind [`step::STEP_KIND`], key
//! `release:<plan>:<stage>`), so a plan survives restarts, kill -9 and
//! replicas without skipping or doubling a stage (see [`step`]).
//!
//! ## Layout
//! - this file: the operations people call (start, status, pause, resume,
//!   abort, promote) and templates.
//! - [`step`]: one step (guard, minimum duration, the stage's write, the
//!   record), and the rollback when the guard trips.
//! - [`guard`]: the hook [`guard::check_guard`] → `Continue` / `Wait` /
//!   `Trip(stats)`.
//! - [`validate`]: stages, guards and variants checked before storing.
//! - [`approval`]: a plan started where approvals are on waits for its
//!   change request (the first stage's split); applying it starts the plan,
//!   cancelling it (or aborting the plan) ends both.
//!
//! Must not touch HTTP types or SQL.

pub mod approval;
pub mod guard;
pub mod step;
pub mod validate;

use chrono::Utc;

pub use crate::ops::plan_halt::plan_actor;
pub use guard::{GuardDecision, GuardStats, check_guard};

use self::step::{StepOutcome, stage_due, step_job};
use super::{OpResult, require_reason};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{
    NewReleasePlan, NewReleaseTemplate, PlanState, PlanStateChange, ReleasePlan, ReleaseTemplate, StageClose,
    StartRelease, Store,
};

/// Creates a template (stages and guards checked).
pub async fn create_template(
    store: &dyn Store,
    principal: &Principal,
    project: &str,
    template: NewReleaseTemplate,
) -> OpResult<ReleaseTemplate> {
    validate::plan_shape(&template.stages, &template.guards)?;
    Ok(store.create_release_template(&principal.actor(), project, template).await?)
}

/// Starts a plan on a flag in an environment: running, its first stage due
/// at the next scheduler tick; where approvals are on, `awaiting_approval`
/// beside a change request for its first stage ([`approval`]). 409
/// `plan_active` when one is awaiting approval, running or paused.
#[tracing::instrument(name = "release.start", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, env = env, flag = flag,
))]
pub async fn start(
    state: &AppState,
    principal: &Principal,
    (project, env, flag): (&str, &str, &str),
    input: StartRelease,
) -> OpResult<ReleasePlan> {
    let template = match &input.template {
        Some(key) => Some(state.store.get_release_template(project, key).await?),
        None => None,
    };
    let stages = input.stages.or_else(|| template.as_ref().map(|t| t.stages.clone()));
    let stages = stages.ok_or_else(|| ApiError::invalid("stages", "required", "stages or a template are required"))?;
    let guards = input.guards.or_else(|| template.map(|t| t.guards)).unwrap_or_default();
    validate::plan_shape(&stages, &guards)?;
    let definition = state.store.get_flag(project, flag).await?;
    state.store.get_environment(project, env).await?;
    let (control, treatment) = validate::variants(&definition, input.control, input.treatment)?;
    let plan = NewReleasePlan {
        flag: flag.into(),
        template: input.template,
        control,
        treatment,
        stages,
        guards,
        reason: input.reason,
        approval: None,
    };
    let mut first = step_job(0, 0, Utc::now());
    first.key = "release:{plan}:0".into();
    first.payload = serde_json::json!({ "plan": "{plan}", "stage": 0 });
    // A plan changes what users are served: with approvals on, it starts
    // once a change request for its first stage is approved and applied.
    if state.store.approval_policy(project, env).await?.approvals > 0 {
        return approval::start_awaiting(state, principal, (project, env), plan, first).await;
    }
    Ok(state.store.create_plan(&principal.actor(), (project, env), plan, first).await?)
}

/// The newest plan of a flag in an environment.
pub async fn status(store: &dyn Store, (project, env, flag): (&str, &str, &str)) -> OpResult<ReleasePlan> {
    Ok(store.latest_plan(project, env, flag).await?)
}

/// Holds a running plan at its stage.
pub async fn pause(
    state: &AppState,
    principal: &Principal,
    at: (&str, &str, &str),
    reason: Option<String>,
) -> OpResult<ReleasePlan> {
    let plan = status(&*state.store, at).await?;
    let change = PlanStateChange {
        from: &[PlanState::Running],
        to: PlanState::Paused,
        action: "release.pause",
        reason,
        job: None,
        close: None,
    };
    Ok(state.store.set_plan_state(&principal.actor(), plan.id, change).await?)
}

/// Resumes a paused plan: its next step is due when the applied stage's
/// minimum duration (counted from when it was applied) is over, or now.
pub async fn resume(
    state: &AppState,
    principal: &Principal,
    at: (&str, &str, &str),
    reason: Option<String>,
) -> OpResult<ReleasePlan> {
    let plan = status(&*state.store, at).await?;
    let next = plan.stage.map_or(0, |s| s + 1);
    let job = step_job(plan.id, next, stage_due(&plan).map_or_else(Utc::now, |due| due.max(Utc::now())));
    let change = PlanStateChange {
        from: &[PlanState::Paused],
        to: PlanState::Running,
        action: "release.resume",
        reason,
        job: Some(job),
        close: None,
    };
    Ok(state.store.set_plan_state(&principal.actor(), plan.id, change).await?)
}

/// Stops a running or paused plan and puts every user back on the control
/// variant (an audited configuration write by the caller). Reason required.
pub async fn abort(
    state: &AppState,
    principal: &Principal,
    at: (&str, &str, &str),
    reason: Option<String>,
) -> OpResult<ReleasePlan> {
    let reason = reason.unwrap_or_default();
    require_reason(&reason)?;
    let plan = status(&*state.store, at).await?;
    if plan.state == PlanState::AwaitingApproval {
        return approval::abort_awaiting(state, principal, &plan, reason).await;
    }
    let summary = format!("release plan {} aborted by {}: {reason}", plan.id, principal.name);
    let change = PlanStateChange {
        from: &[PlanState::Running, PlanState::Paused],
        to: PlanState::Aborted,
        action: "release.abort",
        reason: Some(reason.clone()),
        job: None,
        close: Some(StageClose { verdict: "aborted", summary, guard: None }),
    };
    let aborted = state.store.set_plan_state(&principal.actor(), plan.id, change).await?;
    let why = crate::text::truncate(&format!("release plan {} aborted: {reason}", plan.id), crate::text::MAX_REASON);
    let mut tries = 0;
    loop {
        match step::write_split(state, &principal.actor(), &aborted, 0.0, &why).await {
            Err(ApiError::Conflict { code: "version_conflict", .. }) if tries < 3 => tries += 1,
            other => break other.map(|()| aborted),
        }
    }
}

/// Applies the next stage now (no minimum duration; a guard `Wait` does
/// not hold it, a `Trip` still rolls back), or completes the plan after
/// its last stage. 409 `plan_state` unless running.
pub async fn promote(
    state: &AppState,
    _principal: &Principal,
    at: (&str, &str, &str),
    _reason: Option<String>,
) -> OpResult<ReleasePlan> {
    let plan = status(&*state.store, at).await?;
    if plan.state != PlanState::Running {
        return Err(ApiError::Conflict {
            code: "plan_state",
            message: format!("the release plan is {}: cannot promote", plan.state.as_str()),
            current_version: None,
        });
    }
    let target = plan.stage.map_or(0, |s| s + 1);
    match step::run(state, &plan, target, None, true).await? {
        StepOutcome::Stale => Err(ApiError::Conflict {
            code: "plan_moved",
            message: "the plan moved on meanwhile: reload and retry".into(),
            current_version: None,
        }),
        _ => Ok(state.store.get_plan(plan.id).await?),
    }
}
