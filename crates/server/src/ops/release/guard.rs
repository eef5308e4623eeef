//! The guard hook: before a plan leaves a stage (and before it completes),
//! the step asks [`check_guard`] whether the treatment is healthy enough
//! against the control to go on.
//!
//! **This version always answers [`GuardDecision::Continue`].** The
//! evaluation (telemetry since the stage started → `switchyard-guard`'s
//! sequential tests and sample-ratio check → a decision, with the minimum
//! sample of the stage) belongs here and replaces the body of
//! [`check_guard`]; the step already acts on every answer:
//! - `Continue(stats)`: the next stage is applied; `stats.summary` is the
//!   reason of its audited revision.
//! - `Wait(stats)`: the step is tried again one scheduler tick later (a
//!   manual promote treats it as `Continue`).
//! - `Trip(stats)`: the flag is killed through the kill path
//!   (`ops::kill::kill_flags`, actor `plan:<id>`, reason `stats.summary`)
//!   and the plan becomes `rolled_back` (see `super::step::trip`).
//!
//! Must not write anything: deciding is separate from acting.

use serde::Serialize;

use crate::ops::OpResult;
use crate::state::AppState;
use crate::store::ReleasePlan;

/// The statistics behind a decision.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GuardStats {
    /// One line for people (audit reasons, the CLI).
    pub summary: String,
    /// The figures, for the audit entry and the UI.
    pub detail: serde_json::Value,
}

/// What the guard says about a plan at a stage.
#[derive(Debug, Clone, PartialEq)]
pub enum GuardDecision {
    /// Healthy, with enough sample: go on.
    Continue(GuardStats),
    /// Not enough sample (or data) yet: ask again later.
    Wait(GuardStats),
    /// The treatment is worse: roll back.
    Trip(GuardStats),
}

/// The guard's decision for `plan` at its applied stage `stage` (telemetry
/// counted from `plan.stage_started_at`). See the module docs: this
/// version always continues.
pub async fn check_guard(_state: &AppState, plan: &ReleasePlan, stage: u32) -> OpResult<GuardDecision> {
    let summary = format!("stage {} of {} held; guard not evaluated", stage + 1, plan.stages.len());
    Ok(GuardDecision::Continue(GuardStats { summary, detail: serde_json::Value::Null }))
}
