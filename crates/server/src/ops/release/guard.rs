//! The guard hook: before a plan leaves a stage (and before it completes),
//! the step asks [`check_guard`] whether the treatment is healthy enough
//! against the control to go on.
//!
//! [`check_guard`] turns the plan into an [`ops::guard::GuardInput`]
//! (crate::ops::guard): the control and treatment variants, the guard
//! metrics of `plan.guards` (error rate, latency p95, a custom event),
//! alpha, the stage's minimum sample, and every stage so far with its
//! start and end from the plan's durable history (`plan.history`; a plan
//! started before the history existed counts its current stage from
//! `stage_started_at`). [`ops::guard::check`](crate::ops::guard::check)
//! replays the SDK telemetry of those stages through the sequential tests
//! and the sample-ratio check. The step acts on every answer:
//! - `Continue(stats)`: the next stage is applied; `stats.summary` is the
//!   reason of its audited revision and `stats.detail` is kept in the
//!   stage's history entry.
//! - `Wait(stats)`: the step is tried again one scheduler tick later (a
//!   manual promote treats it as `Continue`).
//! - `Trip(trip)`: the flag is killed through the guard's kill path
//!   (`ops::guard_trip::roll_back`: receipts, webhooks, the statistics in
//!   the audit entry) and the plan becomes `rolled_back` (see
//!   `super::step::trip`).
//!
//! Must not write anything: deciding is separate from acting (it only
//! counts the check in the metrics).

use chrono::Utc;
use serde::Serialize;

use crate::ops::OpResult;
use crate::ops::guard::{self as stats, GuardInput, GuardMetric, GuardTrip, StageWindow, Verdict};
use crate::state::AppState;
use crate::store::{EventDirection, ReleasePlan};

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
    Trip(Box<GuardTrip>),
}

/// The guard's decision for `plan` at its applied stage `stage`.
pub async fn check_guard(state: &AppState, plan: &ReleasePlan, stage: u32) -> OpResult<GuardDecision> {
    let env = state.store.get_environment(&plan.project, &plan.environment).await?;
    let input = guard_input(plan, stage, env.id);
    let verdict = stats::check(&state.store, &input, Utc::now()).await?;
    state.metrics.guard_evaluations.inc();
    Ok(match verdict {
        Verdict::Continue(s) => GuardDecision::Continue(described(&s, plan)),
        Verdict::Wait(s) => GuardDecision::Wait(described(&s, plan)),
        Verdict::Trip(trip) => GuardDecision::Trip(Box::new(trip)),
    })
}

/// What the guard is asked about `plan` at stage `stage`.
pub fn guard_input(plan: &ReleasePlan, stage: u32, environment_id: i64) -> GuardInput {
    let g = &plan.guards;
    let mut metrics = Vec::new();
    if g.error_rate {
        metrics.push(GuardMetric::ErrorRate);
    }
    if g.latency_p95 {
        metrics.push(GuardMetric::LatencyP95 { threshold_ms: None });
    }
    if let Some(event) = &g.event {
        let lower_is_worse = g.event_direction == EventDirection::LowerIsWorse;
        metrics.push(GuardMetric::Event { event: event.clone(), lower_is_worse });
    }
    GuardInput {
        environment_id,
        flag: plan.flag.clone(),
        control: plan.control.clone(),
        treatment: plan.treatment.clone(),
        metrics,
        alpha: g.alpha,
        min_sample: plan.stages.get(stage as usize).map_or(0, |s| s.min_sample),
        stages: windows(plan, stage),
    }
}

/// The stages up to `stage` as the guard sees them: from the history, or
/// (a plan without one) the current stage from `stage_started_at`.
fn windows(plan: &ReleasePlan, stage: u32) -> Vec<StageWindow> {
    let mut windows: Vec<StageWindow> = plan
        .history
        .iter()
        .filter(|e| e.stage <= stage)
        .map(|e| StageWindow { treatment_percent: e.percent, started: e.started_at, ended: e.ended_at })
        .collect();
    if plan.history.last().is_none_or(|e| e.stage != stage) {
        let started = plan.stage_started_at.unwrap_or(plan.updated_at);
        let percent = plan.stages.get(stage as usize).map_or(0.0, |s| s.percent);
        windows = vec![StageWindow { treatment_percent: percent, started, ended: None }];
    } else if let Some(last) = windows.last_mut() {
        last.ended = None;
    }
    windows
}

/// The check's figures with one line for people.
fn described(s: &stats::GuardStats, plan: &ReleasePlan) -> GuardStats {
    let (c, t) = (&s.control, &s.treatment);
    let rate = |errors: u64, requests: u64| if requests == 0 { 0.0 } else { errors as f64 * 100.0 / requests as f64 };
    let arms = format!(
        "{} {} requests, {:.2} % errors, {} exposures vs {} {} requests, {:.2} % errors, {} exposures",
        t.variant,
        t.requests,
        rate(t.errors, t.requests),
        t.exposures,
        c.variant,
        c.requests,
        rate(c.errors, c.requests),
        c.exposures,
    );
    let p: Vec<String> = s.p_values.iter().map(|m| format!("{} p = {:.3}", m.metric, m.p_value)).collect();
    let stage = format!("stage {}/{}", s.stage + 1, plan.stages.len());
    let summary = if s.waiting_for.is_empty() {
        format!("guard passed {stage}: {arms}; {}", if p.is_empty() { "no metric".into() } else { p.join(", ") })
    } else {
        format!("guard waiting in {stage} for {}: {arms}", s.waiting_for.join(", "))
    };
    GuardStats { summary, detail: serde_json::to_value(s).unwrap_or_default() }
}
