//! A kill stops a release plan. Without this, a plan kept advancing under
//! a responder's kill (its next stage written to the killed flag's
//! configuration) and the restore then served that stage: a kill at 5 %
//! came back at 100 %. So the plan of a killed flag is aborted, as its own
//! actor, and its split set back to the control (written under the kill,
//! so that a restore serves the control).
//!
//! Two places stop it, neither on the kill's path: the kill spawns
//! [`after_kill`] once committed (prompt: the plan shows `aborted` at
//! once), and every step checks the flag it is about to write
//! (`ops::release::step::run`; race-free, since the stage's write
//! is made under the version it read and a kill bumps it). The guard's own
//! rollback (a kill by `plan:<id>`) is not stopped here: the plan records
//! it as `rolled_back`.
//!
//! Depends on the store only (not on `ops::release` or `ops::configs`,
//! which depend on `ops::kill`), so that `ops::kill` can call it.

use switchyard_core::{Kill, Serve};

use crate::ops::OpResult;
use crate::state::AppState;
use crate::store::{Actor, ActorKind, PlanState, PlanStateChange, ReleasePlan, StageClose, StoreError};

/// The audit actor of a plan's own writes: `plan:<id>`.
pub fn plan_actor(id: i64) -> Actor {
    Actor { name: format!("plan:{id}"), ..Actor::system() }
}

/// After a kill of `flags` in `(project, env)` by `actor` committed: aborts
/// each flag's running or paused plan, and withdraws one awaiting approval
/// (its change request cancelled), in the background (the kill never
/// waits for it; failures are logged, and the plan's next step stops it
/// anyway). A plan's own kill (the server as `plan:<id>`) is left to the
/// plan; a user or token with such a name is not the plan.
pub fn after_kill(state: &AppState, (project, env): (&str, &str), flags: Vec<String>, actor: &Actor) {
    if actor.kind == ActorKind::System && actor.name.starts_with("plan:") {
        return;
    }
    let (state, project, env, by) = (state.clone(), project.to_string(), env.to_string(), actor.name.clone());
    tokio::spawn(async move {
        for flag in flags {
            let Ok(plan) = state.store.latest_plan(&project, &env, &flag).await else { continue };
            if plan.state == PlanState::AwaitingApproval {
                if let Err(err) = withdraw(&state, &plan, &by).await {
                    tracing::warn!(plan = plan.id, error = %err, "withdrawing the waiting release plan of a killed flag");
                }
                continue;
            }
            if !matches!(plan.state, PlanState::Running | PlanState::Paused) {
                continue;
            }
            let kill = match state.store.get_flag_config(&project, &env, &flag).await {
                Ok(current) => current.config.kill,
                Err(err) => {
                    tracing::warn!(plan = plan.id, error = %err, "reading a killed flag's configuration");
                    continue;
                }
            };
            if let Some(kill) = kill
                && let Err(err) = stop(&state, &plan, &kill).await
            {
                tracing::warn!(plan = plan.id, error = %err, "stopping the release plan of a killed flag");
            }
        }
    });
}

/// Withdraws `plan`, awaiting approval when its flag was killed by `by`:
/// cancels the change request it waits for (its `change_request`), which aborts the plan in the same transaction, so approving and
/// applying it later cannot start a plan the kill stopped. Nothing was
/// served by the plan, so nothing is written.
async fn withdraw(state: &AppState, plan: &ReleasePlan, by: &str) -> OpResult<()> {
    let Some(request) = plan.change_request else {
        return Ok(());
    };
    let why = format!("release plan {} withdrawn: the flag was killed by {by}", plan.id);
    let why = Some(crate::text::truncate(&why, crate::text::MAX_REASON));
    let place = (plan.project.as_str(), plan.environment.as_str(), request);
    match state.store.cancel_change_request(&plan_actor(plan.id), place, why).await {
        Err(StoreError::Conflict { .. }) => Ok(()), // applied or cancelled meanwhile
        other => other.map(|_| ()).map_err(Into::into),
    }
}

/// Aborts `plan`, whose flag `kill` killed, and serves its control under
/// the kill. A plan no longer running or paused is left as it is.
pub async fn stop(state: &AppState, plan: &ReleasePlan, kill: &Kill) -> OpResult<()> {
    let actor = plan_actor(plan.id);
    let reason = format!("release plan {} stopped: the flag was killed by {}: {}", plan.id, kill.by, kill.reason);
    // The kill's reason may already be as long as a reason may be.
    let reason = crate::text::truncate(&reason, crate::text::MAX_REASON);
    let change = PlanStateChange {
        from: &[PlanState::Running, PlanState::Paused],
        to: PlanState::Aborted,
        action: "release.abort",
        reason: Some(reason.clone()),
        job: None,
        close: Some(StageClose { verdict: "aborted", summary: reason.clone(), guard: None }),
    };
    let Ok(stopped) = state.store.set_plan_state(&actor, plan.id, change).await else {
        return Ok(()); // Stopped, completed or rolled back meanwhile.
    };
    for _ in 0..4 {
        let current = state.store.get_flag_config(&stopped.project, &stopped.environment, &stopped.flag).await?;
        let control = Serve::Variant(stopped.control.clone());
        if current.config.fallthrough == control {
            return Ok(());
        }
        let config = crate::store::FlagConfig { fallthrough: control, ..current.config };
        let (project, env, flag) = (stopped.project.as_str(), stopped.environment.as_str(), stopped.flag.as_str());
        let why = Some(reason.clone());
        match state.store.put_flag_config(&actor, project, env, flag, config, current.version, why).await {
            Err(StoreError::Conflict { code: "version_conflict", .. }) => continue,
            other => return Ok(other.map(|_| ())?),
        }
    }
    Ok(())
}
