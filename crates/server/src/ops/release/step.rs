//! One step of a plan: leave the applied stage (guard, minimum duration)
//! and apply the next one, or complete the plan after the last.
//!
//! A step may run twice (a lapsed claim, a crash after its configuration
//! write and before its record, a promote racing the scheduler) and must
//! neither double nor skip a stage:
//! - it runs only if the plan is `running` at the stage before its own;
//! - the configuration write is skipped when the flag already serves the
//!   stage's split (the earlier run wrote it), and is made under the
//!   version just read (a concurrent writer makes it retry);
//! - the record is a compare-and-set on the plan's stage, together with
//!   finishing the job and scheduling the next, in one transaction.

use chrono::{DateTime, Utc};
use serde_json::json;
use switchyard_core::{Rollout, Serve, WeightedVariant};

use super::guard::{GuardDecision, GuardStats, check_guard};
use super::plan_actor;
use crate::ops::OpResult;
use crate::ops::guard::GuardTrip;
use crate::state::AppState;
use crate::store::{Actor, NewJob, PlanState, PlanStateChange, ReleasePlan, StageClose, StageRecord};

/// The job kind of a plan step.
pub const STEP_KIND: &str = "release.step";

/// What became of a step.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// Applied and recorded (the claimed job is finished with the record).
    Recorded,
    /// Nothing to do (the plan is elsewhere, or not running).
    Stale,
    /// Not yet: try again at this time.
    NotYet(DateTime<Utc>, String),
    /// The guard tripped: killed and rolled back.
    Tripped,
    /// The flag was killed by someone else: the plan is stopped
    /// ([`crate::ops::plan_halt`]).
    Halted,
}

/// The job that moves `plan` to stage `stage` (`stage == stages.len()`:
/// completes it), due at `due_at`.
pub fn step_job(plan: i64, stage: u32, due_at: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: STEP_KIND.into(),
        key: format!("release:{plan}:{stage}"),
        payload: json!({ "plan": plan, "stage": stage }),
        due_at,
    }
}

/// When the applied stage's minimum duration is over (`None` before the
/// first stage: nothing to wait for).
pub fn stage_due(plan: &ReleasePlan) -> Option<DateTime<Utc>> {
    let (stage, at) = (plan.stage?, plan.stage_started_at?);
    let seconds = plan.stages.get(stage as usize).map_or(0, |s| s.min_duration_seconds);
    Some(at + chrono::Duration::seconds(i64::try_from(seconds).unwrap_or(0)))
}

/// Moves `plan` to stage `target`. `job`: the claimed job this runs as
/// (id, worker), finished with the record. `forced`: a manual promote
/// (no minimum duration, a guard `Wait` counts as `Continue`).
pub async fn run(
    state: &AppState,
    plan: &ReleasePlan,
    target: u32,
    job: Option<(i64, String)>,
    forced: bool,
) -> OpResult<StepOutcome> {
    let expected = target.checked_sub(1);
    if plan.state != PlanState::Running || plan.stage != expected || target as usize > plan.stages.len() {
        return Ok(StepOutcome::Stale);
    }
    let current = state.store.get_flag_config(&plan.project, &plan.environment, &plan.flag).await?;
    if let Some(kill) = current.config.kill.filter(|k| k.by != plan_actor(plan.id).name) {
        crate::ops::plan_halt::stop(state, plan, &kill).await?;
        return Ok(StepOutcome::Halted);
    }
    let now = Utc::now();
    if let Some(due) = stage_due(plan).filter(|due| !forced && *due > now) {
        return Ok(StepOutcome::NotYet(due, "minimum duration".into()));
    }
    let stats = match expected {
        None => GuardStats { summary: "release started".into(), detail: serde_json::Value::Null },
        Some(stage) => match check_guard(state, plan, stage).await? {
            GuardDecision::Continue(stats) => stats,
            GuardDecision::Wait(stats) if forced => stats,
            GuardDecision::Wait(stats) => {
                return Ok(StepOutcome::NotYet(now + tick(state), stats.summary));
            }
            GuardDecision::Trip(guard_trip) => {
                trip(state, plan, &guard_trip).await?;
                return Ok(StepOutcome::Tripped);
            }
        },
    };
    let close = expected.map(|_| StageClose {
        verdict: if forced { "promoted" } else { "continue" },
        summary: stats.summary.clone(),
        guard: (!stats.detail.is_null()).then(|| stats.detail.clone()),
    });
    let finish = target as usize == plan.stages.len();
    let summary = if finish {
        format!("release plan {} completed: {}", plan.id, stats.summary)
    } else {
        let percent = plan.stages[target as usize].percent;
        let n = plan.stages.len();
        let how = if forced { " (promoted)" } else { "" };
        let line = format!("release plan {}: stage {}/{n}, {percent}% {}{how}", plan.id, target + 1, plan.treatment);
        if let Some(kill) = apply_split(state, plan, percent, &format!("{line}: {}", stats.summary)).await? {
            crate::ops::plan_halt::stop(state, plan, &kill).await?;
            return Ok(StepOutcome::Halted);
        }
        hang_after_write(target).await;
        line
    };
    let next = (!finish).then(|| {
        let seconds = plan.stages[target as usize].min_duration_seconds;
        step_job(plan.id, target + 1, now + chrono::Duration::seconds(i64::try_from(seconds).unwrap_or(0)))
    });
    let to = if finish { target - 1 } else { target };
    let percent = plan.stages.get(to as usize).map_or(100.0, |s| s.percent);
    let record = StageRecord { from: expected, to, percent, close, finish, summary, done: job, next };
    let recorded = state.store.record_stage(plan.id, record).await?;
    Ok(if recorded { StepOutcome::Recorded } else { StepOutcome::Stale })
}

/// Tests only (`SWITCHYARD_TEST_HANG_AFTER_STAGE=<stage>`): after stage
/// `<stage>`'s write and before its record, say so on stdout and hang, so
/// that a test can kill -9 the process exactly inside the step.
async fn hang_after_write(stage: u32) {
    static HANG: std::sync::LazyLock<Option<u32>> = std::sync::LazyLock::new(|| {
        std::env::var("SWITCHYARD_TEST_HANG_AFTER_STAGE").ok().and_then(|v| v.parse().ok())
    });
    if *HANG == Some(stage) {
        println!("failpoint: stage {stage} written, not recorded");
        std::future::pending::<()>().await;
    }
}

fn tick(state: &AppState) -> chrono::Duration {
    chrono::Duration::from_std(state.config.scheduler_tick).unwrap_or(chrono::Duration::seconds(1))
}

/// What the fallthrough serves with `percent` % of the treatment.
pub fn split(plan: &ReleasePlan, percent: f64, bucket_by: Option<String>) -> Serve {
    split_between((&plan.control, &plan.treatment), percent, bucket_by)
}

/// What the fallthrough serves with `percent` % of `treatment`, the rest `control`.
pub fn split_between((control, treatment): (&str, &str), percent: f64, bucket_by: Option<String>) -> Serve {
    let share = ((percent * 1000.0).round() as u32).min(100_000);
    match share {
        0 => Serve::Variant(control.to_string()),
        100_000 => Serve::Variant(treatment.to_string()),
        _ => Serve::Rollout(Rollout {
            bucket_by,
            variations: vec![
                WeightedVariant { variant: control.to_string(), weight: 100_000 - share },
                WeightedVariant { variant: treatment.to_string(), weight: share },
            ],
        }),
    }
}

/// Makes the flag's fallthrough serve `percent` % treatment, as the plan,
/// through the configuration write every edit takes (audited, streamed).
/// Nothing is written when it already does, nor when the flag is killed:
/// then the kill is returned (the write is made under the version read, so
/// a kill committed after the read makes it fail instead).
pub(super) async fn apply_split(
    state: &AppState,
    plan: &ReleasePlan,
    percent: f64,
    reason: &str,
) -> OpResult<Option<switchyard_core::Kill>> {
    let current = state.store.get_flag_config(&plan.project, &plan.environment, &plan.flag).await?;
    if let Some(kill) = current.config.kill {
        return Ok(Some(kill));
    }
    write_split_over(state, &plan_actor(plan.id), plan, percent, reason, current).await?;
    Ok(None)
}

/// Sets the split as `actor`, killed or not (an abort serves the control
/// under a kill too, so that a restore serves it).
pub(super) async fn write_split(
    state: &AppState,
    actor: &Actor,
    plan: &ReleasePlan,
    percent: f64,
    reason: &str,
) -> OpResult<()> {
    let current = state.store.get_flag_config(&plan.project, &plan.environment, &plan.flag).await?;
    write_split_over(state, actor, plan, percent, reason, current).await
}

/// [`write_split`] over `current`, the configuration just read.
async fn write_split_over(
    state: &AppState,
    actor: &Actor,
    plan: &ReleasePlan,
    percent: f64,
    reason: &str,
    current: crate::store::FlagConfigRecord,
) -> OpResult<()> {
    let (project, env, flag) = (plan.project.as_str(), plan.environment.as_str(), plan.flag.as_str());
    let bucket_by = match &current.config.fallthrough {
        Serve::Rollout(r) => r.bucket_by.clone(),
        Serve::Variant(_) => None,
    };
    let fallthrough = split(plan, percent, bucket_by);
    if current.config.fallthrough == fallthrough {
        return Ok(());
    }
    let config = crate::store::FlagConfig { fallthrough, ..current.config };
    let at = (project, env, flag);
    crate::ops::configs::put_config_as(&*state.store, actor, at, config, (current.version, Some(reason.into())))
        .await?;
    Ok(())
}

/// The guard tripped: kill the flag through the guard's kill path
/// (`ops::guard_trip::roll_back`: the kill's receipts and webhooks, the
/// statistics in its audit entry), then mark the plan rolled back with the
/// trip as its summary and the applied stage's verdict.
pub async fn trip(state: &AppState, plan: &ReleasePlan, trip: &GuardTrip) -> OpResult<()> {
    let actor = plan_actor(plan.id);
    let at = (plan.project.as_str(), plan.environment.as_str(), plan.flag.as_str());
    crate::ops::guard_trip::roll_back(state, actor.clone(), at, trip).await?;
    let reason = format!("release plan {} rolled back: {}", plan.id, trip.summary());
    let close = StageClose { verdict: "tripped", summary: reason.clone(), guard: serde_json::to_value(trip).ok() };
    let change = PlanStateChange {
        from: &[PlanState::Running, PlanState::Paused],
        to: PlanState::RolledBack,
        action: "release.rollback",
        reason: Some(reason),
        job: None,
        close: Some(close),
    };
    state.store.set_plan_state(&actor, plan.id, change).await?;
    Ok(())
}
