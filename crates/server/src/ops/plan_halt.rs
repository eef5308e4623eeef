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
use crate::store::{Actor, PlanState, PlanStateChange, ReleasePlan, StageClose, StoreError};

/// The audit actor of a plan's own writes: `plan:<id>`.
pub fn plan_actor(id: i64) -> Actor {
    Actor { name: format!("plan:{id}"), ..Actor::system() }
}

/// After a kill of `flags` in `(project, env)` by `by` committed: aborts
/// each flag's running or paused plan, in the background (the kill never
/// waits for it; failures are logged, and the plan's next step stops it
/// anyway).
pub fn after_kill(state: &AppState, (project, env): (&str, &str), flags: Vec<String>, by: &str) {
    if by.starts_with("plan:") {
        return;
    }
    let (state, project, env) = (state.clone(), project.to_string(), env.to_string());
    tokio::spawn(async move {
        for flag in flags {
            let Ok(plan) = state.store.latest_plan(&project, &env, &flag).await else { continue };
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
