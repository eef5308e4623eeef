//! Schemas of kills, change sets, restores and a write's receipt (mirrors: see [`super`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::Written;
use super::flags::{FlagConfig, FlagConfigRecord};
use super::receipts::Receipt;

// Mirrors of `store/types/kill.rs`.

/// Kill one or more flags.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KillRequest {
    /// Flag keys.
    pub flags: Vec<String>,
    /// Why (required, non-empty).
    pub reason: String,
    /// Incident id.
    #[serde(default)]
    pub incident: Option<String>,
    /// Whether this is the panic button (webhooks get `env.panic` instead
    /// of `flag.killed`).
    #[serde(default)]
    pub panic: bool,
    /// Structured facts merged into each `flag.kill` audit event's `after`
    /// (an object; e.g. the release guard's statistics under `guard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
}

/// Restore an environment to a point in time.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// The time to go back to.
    pub at: DateTime<Utc>,
    /// Why.
    #[schema(pattern = r"\S", example = "checkout errors spiking")]
    pub reason: String,
    /// Compute the diff only.
    #[serde(default)]
    pub dry_run: bool,
}

/// What a restore changes (or would change) for one flag.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RestoreDiff {
    /// Flag key.
    pub flag: String,
    /// Current version.
    pub from_version: u64,
    /// The version restored (`None`: the flag did not exist at `at`; it is switched off).
    pub to_version: Option<u64>,
    /// Current configuration.
    pub before: FlagConfig,
    /// Configuration after the restore.
    pub after: FlagConfig,
}

/// One item of a change set.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConfigChange {
    /// Flag key.
    pub flag: String,
    /// Expected current version.
    pub version: u64,
    /// New configuration.
    pub config: FlagConfig,
}

/// Several configuration changes applied as one revision.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeSetRequest {
    /// The changes.
    #[schema(min_items = 1)]
    pub changes: Vec<ConfigChange>,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// An applied change set.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChangeSetResult {
    /// Change-set id (audit events carry it; revert by it).
    pub id: String,
    /// The new configurations.
    pub configs: Vec<FlagConfigRecord>,
}

// Mirrors of `ops/applied.rs`.

/// A write's result plus, when asked to wait, its delivery receipt.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Receipted<T> {
    /// The write.
    #[serde(flatten)]
    pub written: Written<T>,
    /// Delivery to connected SDK instances (with `?wait=`).
    pub receipt: Option<Receipt>,
}

// Mirrors of `ops/kill.rs`.

/// A kill of one flag.
#[derive(Debug, Deserialize, ToSchema)]
// A mistyped field (`incident_id`) is refused, not silently dropped: at
// 3 a.m. a lost incident id leaves no trace.
#[serde(deny_unknown_fields)]
pub struct KillOne {
    /// Why (required).
    #[schema(pattern = r"\S", example = "checkout errors spiking")]
    pub reason: String,
    /// Incident id.
    #[serde(default)]
    pub incident: Option<String>,
}

/// A restore after a kill.
#[derive(Debug, Deserialize, ToSchema)]
// A mistyped field (`incident_id`) is refused, not silently dropped: at
// 3 a.m. a lost incident id leaves no trace.
#[serde(deny_unknown_fields)]
pub struct UnkillRequest {
    /// Why (required).
    #[schema(pattern = r"\S", example = "checkout errors spiking")]
    pub reason: String,
    /// Incident id (the restore, and its delivery receipt, join the
    /// incident's timeline).
    #[serde(default)]
    pub incident: Option<String>,
}

/// The panic button.
#[derive(Debug, Deserialize, ToSchema)]
// A mistyped field (`incident_id`) is refused, not silently dropped: at
// 3 a.m. a lost incident id leaves no trace.
#[serde(deny_unknown_fields)]
pub struct PanicRequest {
    /// Kill every flag with this tag…
    #[serde(default)]
    pub tag: Option<String>,
    /// …or these flags.
    #[serde(default)]
    pub flags: Vec<String>,
    /// Why (required).
    #[schema(pattern = r"\S", example = "checkout errors spiking")]
    pub reason: String,
    /// Incident id.
    #[serde(default)]
    pub incident: Option<String>,
}
