//! Schemas of the lifecycle: archive and restore from the archive (mirrors: see [`super`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::flags::FlagDefinition;
use super::projects::{Environment, Project};
use super::sdk::SdkKey;

// Mirrors of `ops/lifecycle.rs`.

/// An archive request: a dry run unless `confirm`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArchiveRequest {
    /// Only show what archiving would take away (also the default without `confirm`).
    #[serde(default)]
    pub dry_run: bool,
    /// Archive now (with `reason`); the flag leaves every SDK snapshot.
    #[serde(default)]
    pub confirm: bool,
    /// Why (required with `confirm`).
    #[serde(default)]
    pub reason: Option<String>,
}

/// A restore from the archive.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnarchiveRequest {
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The answer to an archive request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArchiveOutcome {
    /// The flag after the request (`archived_at` set once archived).
    pub flag: FlagDefinition,
    /// Whether this request archived it (`false`: a dry run, or already archived).
    pub archived: bool,
    /// What archiving takes away, per environment in creation order (a dry
    /// run only: empty once confirmed).
    pub environments: Vec<ArchiveUse>,
}

/// Who still uses a flag in one environment, as the dry run shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArchiveUse {
    /// The environment's key.
    pub environment: String,
    /// When an SDK last reported evaluating it (SDK telemetry; `None`:
    /// never within the telemetry retention, or no SDK sends telemetry).
    pub last_evaluated: Option<DateTime<Utc>>,
    /// SDK instances connected to the environment now (on every replica).
    pub connected: usize,
    /// Of those, instances that evaluated it in the last 15 minutes.
    pub evaluating: usize,
    /// Of those connected, instances that sent no telemetry in that window:
    /// whether they evaluate it is unknown.
    pub without_telemetry: usize,
    /// Flags of the environment naming it as a prerequisite: archiving is
    /// refused (409 `prerequisite_in_use`) while there are any.
    pub dependents: Vec<String>,
    /// Its running or paused release plan here: archiving stops it
    /// (aborted, reason `flag archived`).
    pub release_plan: Option<i64>,
    /// Its pending scheduled changes here: archiving cancels them.
    pub scheduled_changes: Vec<i64>,
    /// Its open change requests here (a plan's awaiting approval too):
    /// archiving cancels them.
    pub change_requests: Vec<i64>,
}

// Mirrors of `ops/lifecycle_env.rs`.

/// An environment archive request: a dry run unless `confirm`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvArchiveRequest {
    /// Only show whether it is in use (also the default without `confirm`).
    #[serde(default)]
    pub dry_run: bool,
    /// Archive now (with `reason`).
    #[serde(default)]
    pub confirm: bool,
    /// Archive even though it is in use.
    #[serde(default)]
    pub force: bool,
    /// Why (required with `confirm`).
    #[serde(default)]
    pub reason: Option<String>,
    /// In use when an SDK key was used within this many days (1–365, default 7).
    #[serde(default)]
    pub days: Option<u32>,
}

/// The answer to an environment archive request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EnvArchiveOutcome {
    /// The environment after the request (`archived_at` once archived).
    pub environment: Environment,
    /// Whether this request archived it.
    pub archived: bool,
    /// Whether it is in use: a key used within `days`, or instances connected.
    pub in_use: bool,
    /// The look-back of the key check, in days.
    pub days: u32,
    /// Its SDK keys (not revoked) used within `days`, with when.
    pub keys_used: Vec<SdkKey>,
    /// SDK instances connected to it now, on every replica.
    pub connected: usize,
    /// When the check looked (keys used after this count).
    pub since: DateTime<Utc>,
}

// Mirrors of `ops/lifecycle_project.rs`.

/// The answer to a project archive request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProjectArchiveOutcome {
    /// The project after the request (`archived_at` once archived).
    pub project: Project,
    /// Whether this request archived it.
    pub archived: bool,
    /// Whether it is in use: a key used within `days`, or instances connected.
    pub in_use: bool,
    /// The look-back of the key check, in days.
    pub days: u32,
    /// Its SDK keys (not revoked, every environment) used within `days`, with when.
    pub keys_used: Vec<SdkKey>,
    /// SDK instances connected to its environments now, on every replica.
    pub connected: usize,
    /// When the check looked (keys used after this count).
    pub since: DateTime<Utc>,
}
