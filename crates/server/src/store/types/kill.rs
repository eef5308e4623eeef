//! Writes that span flags: kill requests, restoring an environment to a
//! time, change sets (several configurations as one revision).
//!
//! Owns these request/result types only; single-flag undo/restore is `store::revert`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{FlagConfig, FlagConfigRecord};

/// Kill one or more flags.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    pub detail: Option<serde_json::Value>,
}

/// What a delivery receipt recorded in the audit history is the receipt of.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReceiptOf {
    /// The write's revision.
    pub revision: u64,
    /// A restore's receipt (`flag.restore.applied`), not a kill's (`flag.kill.applied`).
    #[serde(default)]
    pub restore: bool,
    /// The write's incident id.
    #[serde(default)]
    pub incident: Option<String>,
}

/// Restore an environment to a point in time.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// The time to go back to.
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: String,
    /// Compute the diff only.
    #[serde(default)]
    pub dry_run: bool,
}

/// What a restore changes (or would change) for one flag.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigChange {
    /// Flag key.
    pub flag: String,
    /// Expected current version.
    pub version: u64,
    /// New configuration.
    pub config: FlagConfig,
}

/// Several configuration changes applied as one revision.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeSetRequest {
    /// The changes.
    pub changes: Vec<ConfigChange>,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// An applied change set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangeSetResult {
    /// Change-set id (audit events carry it; revert by it).
    pub id: String,
    /// The new configurations.
    pub configs: Vec<FlagConfigRecord>,
}
