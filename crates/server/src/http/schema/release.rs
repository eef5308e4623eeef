//! Schemas of release plans and their templates (mirrors: see [`super`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

// Mirrors of `store/types/release.rs`.

fn yes() -> bool {
    true
}

fn default_alpha() -> f64 {
    0.05
}

impl Default for ReleaseGuards {
    fn default() -> Self {
        ReleaseGuards {
            error_rate: true,
            latency_p95: true,
            event: None,
            event_direction: EventDirection::default(),
            alpha: default_alpha(),
        }
    }
}

/// One stage of a release plan: the treatment's share, and what must hold
/// before the next stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseStage {
    /// Share of the treatment variant in percent (0.001 to 100, at most 3
    /// decimals); strictly increasing from stage to stage.
    #[schema(example = 5.0)]
    pub percent: f64,
    /// Least time at this stage before the next one, in seconds.
    #[serde(default)]
    pub min_duration_seconds: u64,
    /// Least requests per variant at this stage before the next one
    /// (checked by the guard).
    #[serde(default)]
    pub min_sample: u64,
}

/// Which way a custom event's rate is worse for the treatment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventDirection {
    /// A conversion (a checkout): fewer is worse.
    #[default]
    LowerIsWorse,
    /// A bad event (a payment failure): more is worse.
    HigherIsWorse,
}

/// What the guard watches, treatment against control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseGuards {
    /// Compare error rates.
    #[serde(default = "yes")]
    pub error_rate: bool,
    /// Compare latency (p95).
    #[serde(default = "yes")]
    pub latency_p95: bool,
    /// A custom event (`Client::track`) whose rate per exposure is compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Which way the event's rate is worse (default: lower, as for
    /// conversions such as checkouts).
    #[serde(default)]
    pub event_direction: EventDirection,
    /// Significance level of the sequential tests (0 < alpha ≤ 0.2).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
}

/// A reusable plan shape to create.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReleaseTemplate {
    /// Key, unique in the project.
    #[schema(pattern = r"^[a-z0-9][a-z0-9_.-]{0,127}$", example = "standard")]
    pub key: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// The stages.
    pub stages: Vec<ReleaseStage>,
    /// The guard metrics (default: error rate and latency, alpha 0.05).
    #[serde(default)]
    pub guards: ReleaseGuards,
}

/// A reusable plan shape of a project.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReleaseTemplate {
    /// Key.
    pub key: String,
    /// Display name.
    pub name: Option<String>,
    /// The stages.
    pub stages: Vec<ReleaseStage>,
    /// The guard metrics.
    pub guards: ReleaseGuards,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// The body that starts a release plan: a template, or stages (and
/// guards) given here; fields given here win over the template's.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRelease {
    /// Template key of the project.
    #[serde(default)]
    pub template: Option<String>,
    /// The variant served before the release (default for boolean flags: `off`).
    #[serde(default)]
    pub control: Option<String>,
    /// The variant being released (default for boolean flags: `on`).
    #[serde(default)]
    pub treatment: Option<String>,
    /// The stages (required without a template).
    #[serde(default)]
    pub stages: Option<Vec<ReleaseStage>>,
    /// The guard metrics.
    #[serde(default)]
    pub guards: Option<ReleaseGuards>,
    /// Why (kept in the audit history).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Where a plan is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanState {
    /// Started in an environment with approvals on: waits for its change
    /// request (the first stage's split) to be approved and applied.
    AwaitingApproval,
    /// Advancing stage by stage.
    Running,
    /// Held at its stage until resumed.
    Paused,
    /// Stopped by a person; the treatment's share went back to 0.
    Aborted,
    /// Every stage applied and the last one held.
    Completed,
    /// The guard tripped: the flag was killed.
    RolledBack,
}

/// A release plan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReleasePlan {
    /// Id (the audit actor of its writes is `plan:<id>`).
    pub id: i64,
    /// Project key.
    pub project: String,
    /// Environment key.
    pub environment: String,
    /// Flag key.
    pub flag: String,
    /// The template it came from.
    pub template: Option<String>,
    /// Control variant.
    pub control: String,
    /// Treatment variant.
    pub treatment: String,
    /// Stages.
    pub stages: Vec<ReleaseStage>,
    /// Guard metrics.
    pub guards: ReleaseGuards,
    /// State.
    pub state: PlanState,
    /// Index of the stage applied last (none before the first).
    pub stage: Option<u32>,
    /// When that stage was applied.
    pub stage_started_at: Option<DateTime<Utc>>,
    /// The last statistics summary (the reason of the last stage change,
    /// or why the plan was rolled back or aborted).
    pub summary: Option<String>,
    /// Each stage applied so far, oldest first: when it started and
    /// ended, and the guard's verdict on it.
    pub history: Vec<StageEntry>,
    /// Who started it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Last change of state or stage.
    pub updated_at: DateTime<Utc>,
    /// The change request it waited for (started where approvals are on;
    /// opened in the transaction that created it).
    pub change_request: Option<i64>,
}

/// One stage of a plan as it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StageEntry {
    /// Index of the stage.
    pub stage: u32,
    /// Treatment share, percent.
    pub percent: f64,
    /// When it was applied.
    pub started_at: DateTime<Utc>,
    /// When the plan left it (none: the stage applied now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// How it ended: `continue` (the guard let it advance), `promoted` (a
    /// person did), `tripped` (the guard rolled back), `aborted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// The verdict in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The guard's statistics behind the verdict (`ops::guard::GuardStats`,
    /// or the trip).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub guard: Option<Value>,
}
