//! Schemas of scheduled changes (mirrors: see [`super`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchyard_core::{Rule, Serve, Target};
use utoipa::ToSchema;

use super::flags::Prerequisite;
use crate::store::Requester;

// Mirrors of `store/types/schedule.rs`.

/// The fields a scheduled change or a change request sets: any field of
/// a configuration write (`FlagConfig`, PUT …/flags/{flag}) but the kill,
/// each replaced as a whole; the others keep whatever value they have when
/// it is applied (so a change made in between is not undone).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigPatch {
    /// Targeting on or off (a scheduled toggle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<bool>,
    /// Variant served when targeting is off (or the flag killed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off_variant: Option<String>,
    /// Flags that must serve the given variants for this one to be
    /// evaluated past its off variant (`[]` removes them). Checked against
    /// the environment's prerequisite graph when asked for and when applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prerequisites: Option<Vec<Prerequisite>>,
    /// Individual targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub targets: Option<Vec<Target>>,
    /// Rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub rules: Option<Vec<Rule>>,
    /// What is served when nothing else matched (a variant, or a
    /// percentage rollout: a scheduled rollout step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub fallthrough: Option<Serve>,
    /// Variant SDKs serve when they have no or too-old data; `null`
    /// removes it.
    #[serde(default, deserialize_with = "some_or_null", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub fail_safe_variant: Option<Option<String>>,
}

/// A present field (`null` included) is `Some`, an absent one `None`.
fn some_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Where a scheduled change is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleState {
    /// Waiting for its time; may be edited or cancelled.
    Pending,
    /// Applied by the scheduler.
    Applied,
    /// Cancelled before it was due.
    Cancelled,
    /// Could not be applied (`result` says why); nothing was written.
    Failed,
}

/// A change to schedule (the body of `POST …/flags/{flag}/schedule`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScheduledChange {
    /// When to apply it (RFC 3339); at most a minute in the past (then it
    /// is applied at the scheduler's next tick).
    pub at: DateTime<Utc>,
    /// What to set.
    pub change: ConfigPatch,
    /// Why (kept on the change and in the audit of its write).
    #[serde(default)]
    pub reason: Option<String>,
}

/// An edit of a pending change (the body of `PATCH …/scheduled/{id}`):
/// absent fields keep their value.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleEdit {
    /// A new time.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// A new change (replaces the whole change).
    #[serde(default)]
    pub change: Option<ConfigPatch>,
    /// A new reason.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A scheduled change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScheduledChange {
    /// Id (unique across projects).
    pub id: i64,
    /// Project key.
    pub project: String,
    /// Environment key.
    pub environment: String,
    /// Flag key.
    pub flag: String,
    /// What it sets.
    pub change: ConfigPatch,
    /// When it is (or was) due.
    pub at: DateTime<Utc>,
    /// Where it is.
    pub state: ScheduleState,
    /// Why.
    pub reason: Option<String>,
    /// The user or token that scheduled it (the requester in the audit of
    /// its write, whose actor is `scheduler`).
    pub requested_by: String,
    /// That user or token by kind and id (none: scheduled before requesters
    /// were recorded and not identifiable by name). When the change is due,
    /// it must still exist, be usable and be an editor in the project, or
    /// the change fails (`result` says why).
    pub requester: Option<Requester>,
    /// The environment revision its write produced (applied; none when the
    /// flag already served it).
    pub revision: Option<u64>,
    /// What happened when it was due: why it failed, or that the flag
    /// already served it.
    pub result: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last state change or edit.
    pub updated_at: DateTime<Utc>,
}
