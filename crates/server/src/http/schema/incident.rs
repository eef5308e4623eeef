//! Schemas of incident timelines (mirrors: see [`super`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::accounts::ActorKind;

// Mirrors of `ops/incident.rs`.

/// What an event of the timeline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An alert's start, as its sender reported it (Alertmanager / Grafana `startsAt`).
    Alert,
    /// An alert trigger fired and killed its flag.
    Trigger,
    /// A kill by a person or token.
    Kill,
    /// The panic button.
    Panic,
    /// The release guard tripped and killed the flag.
    GuardTrip,
    /// A restore.
    Restore,
    /// The delivery receipt of a kill or restore: how many connected SDKs applied it, how fast.
    Applied,
    /// A change in the project before the incident's first event (not part of the incident).
    Change,
}

/// A delivery receipt as the audit history recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AppliedReceipt {
    /// SDK instances connected when it was taken.
    #[serde(default)]
    pub connected: u64,
    /// Of those, how many had applied the change.
    #[serde(default)]
    pub applied: u64,
    /// Median time from broadcast to acknowledgement, ms.
    #[serde(default)]
    pub p50_ms: Option<f64>,
    /// Slowest acknowledgement, ms.
    #[serde(default)]
    pub max_ms: Option<f64>,
    /// Whether every connected SDK instance (on every replica) had applied it.
    #[serde(default)]
    pub complete: bool,
}

/// One event of the timeline.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TimelineEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub kind: EventKind,
    /// For `applied`: what the receipt is of (`kill` or `restore`).
    pub applied_to: Option<EventKind>,
    /// The audit event's id (`None` for an alert's start).
    pub audit_id: Option<i64>,
    /// The audit action, e.g. `flag.kill`.
    pub action: String,
    /// Environment key.
    pub environment: Option<String>,
    /// Flag key.
    pub flag: Option<String>,
    /// Who.
    pub actor: String,
    /// Their kind.
    pub actor_kind: ActorKind,
    /// Why.
    pub reason: Option<String>,
    /// The environment revision it produced (or, for a receipt, applied).
    pub revision: Option<u64>,
    /// For `applied`: the receipt.
    pub receipt: Option<AppliedReceipt>,
}

/// The times of an incident, from its events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IncidentTimes {
    /// When it started: the earliest alert start or kill of any kind (or the first event).
    pub started_at: Option<DateTime<Utc>>,
    /// What that was.
    pub started_by: Option<EventKind>,
    /// The first kill (trigger fire, kill, panic or guard trip).
    pub first_kill_at: Option<DateTime<Utc>>,
    /// When every connected SDK had applied that kill: its time plus its
    /// receipt's slowest acknowledgement (`None` while the receipt is
    /// missing or not complete).
    pub mitigated_at: Option<DateTime<Utc>>,
    /// `mitigated_at - started_at`, ms: time to mitigate.
    pub time_to_mitigate_ms: Option<f64>,
    /// The receipt of that first kill.
    pub mitigation: Option<AppliedReceipt>,
    /// The last restore.
    pub restored_at: Option<DateTime<Utc>>,
    /// `restored_at - started_at`, ms: time to restore.
    pub time_to_restore_ms: Option<f64>,
    /// When every connected SDK had applied that restore (its receipt, as for the kill).
    pub restore_applied_at: Option<DateTime<Utc>>,
    /// `restore_applied_at - started_at`, ms.
    pub time_to_restore_applied_ms: Option<f64>,
    /// The receipt of that restore.
    pub restoration: Option<AppliedReceipt>,
}

/// One incident: its events (with the related changes before them) in
/// time order, and its times.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Timeline {
    /// Project key.
    pub project: String,
    /// Incident id.
    pub incident: String,
    /// How far back related changes were looked for, minutes.
    pub before_minutes: u32,
    /// Environments it touched.
    pub environments: Vec<String>,
    /// Flags it touched.
    pub flags: Vec<String>,
    /// Every event, oldest first (`change` events come before the first incident event).
    pub events: Vec<TimelineEvent>,
    /// The computed times.
    pub times: IncidentTimes,
}
