//! Schemas of undo and restore previews (mirrors: see [`super`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::flags::{FlagConfig, FlagConfigRecord};

// Mirrors of `store/revert.rs`.

/// One field that changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FieldChange {
    /// Top-level configuration field, e.g. `on`, `rules`.
    pub field: String,
    /// Its value now (`null`: absent).
    #[schema(value_type = Object)]
    pub before: Value,
    /// Its value afterwards.
    #[schema(value_type = Object)]
    pub after: Value,
}

/// Exactly what an undo or a restore applies (or would apply) to a flag.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConfigDiff {
    /// Flag key.
    pub flag: String,
    /// Environment key.
    pub environment: String,
    /// The current version (the write makes `from_version + 1`).
    pub from_version: u64,
    /// Every field that changes, with its value before and after.
    pub changes: Vec<FieldChange>,
    /// The configuration now.
    pub before: FlagConfig,
    /// The configuration afterwards.
    pub after: FlagConfig,
    /// Whether what the flag serves switches: `on` or the kill changes.
    pub serving_state_changes: bool,
    /// Whether the environment looks like production (see [`production_like`]).
    pub production_like: bool,
    /// Set when serving state changes in a production-like environment:
    /// say it loudly before confirming.
    pub warning: Option<String>,
}

/// The answer of an undo or a restore (`Written` plus the diff).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reverted {
    /// The configuration after the write (a dry run: the current one, unchanged).
    pub value: FlagConfigRecord,
    /// Whether anything was written.
    pub changed: bool,
    /// The new environment revision, when written.
    pub revision: Option<u64>,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// What was (or would be) applied.
    pub diff: ConfigDiff,
}
