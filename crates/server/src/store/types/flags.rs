//! Flags: definitions (environment-independent), per-environment
//! configurations and the flag list.
//!
//! Owns these types only; kills, change sets and restores are in `kill`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchyard_core::{FlagKind, Kill, Prerequisite, Rule, Serve, Target, Variant};

/// A flag to create.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewFlag {
    /// Key.
    pub key: String,
    /// Display name (defaults to the key).
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Value type.
    pub kind: FlagKind,
    /// Variants; for boolean flags defaults to `on: true`, `off: false`.
    #[serde(default)]
    pub variants: Vec<Variant>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Owner (team or person).
    #[serde(default)]
    pub owner: Option<String>,
    /// Temporary (release flag, to be removed) or permanent.
    #[serde(default = "default_true")]
    pub temporary: bool,
    /// When it should be gone: past this, the stale-flag report lists it.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Variant served when off (default: `off` for booleans, else the last variant).
    #[serde(default)]
    pub off_variant: Option<String>,
    /// Variant served when on (default: `on` for booleans, else the first variant).
    #[serde(default)]
    pub on_variant: Option<String>,
    /// Bucketing salt (default: random). Give one to keep every user in the
    /// same rollout bucket when moving a flag between projects or from
    /// another system; the empty string means "the flag key".
    #[serde(default)]
    pub salt: Option<String>,
}

fn default_true() -> bool {
    true
}

/// Partial update of a flag definition (absent fields unchanged).
#[derive(Debug, Clone, Serialize, Default, Deserialize)]
pub struct FlagPatch {
    /// Display name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Variants (the kind cannot change).
    pub variants: Option<Vec<Variant>>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Owner.
    pub owner: Option<String>,
    /// Temporary or permanent.
    pub temporary: Option<bool>,
    /// When it should be gone; `null` removes the expiry.
    #[serde(default, deserialize_with = "some_or_null", skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Option<DateTime<Utc>>>,
}

/// A present field (`null` included) is `Some`, an absent one `None`.
fn some_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<DateTime<Utc>>>, D::Error> {
    Option::<DateTime<Utc>>::deserialize(d).map(Some)
}

/// A flag definition (environment-independent).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlagDefinition {
    /// Key.
    pub key: String,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Value type.
    pub kind: FlagKind,
    /// Variants.
    pub variants: Vec<Variant>,
    /// Tags.
    pub tags: Vec<String>,
    /// Owner.
    pub owner: Option<String>,
    /// Temporary or permanent.
    pub temporary: bool,
    /// When it should be gone (absent: no expiry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Rollout hash salt (fixed at creation).
    pub salt: String,
    /// Definition version.
    pub version: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last definition change.
    pub updated_at: DateTime<Utc>,
    /// When it was archived (absent: not archived). An archived flag is in
    /// no SDK snapshot and no default list, and refuses edits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<DateTime<Utc>>,
}

/// The per-environment configuration of a flag, as edited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagConfig {
    /// Targeting on/off.
    pub on: bool,
    /// Variant served when off or killed.
    pub off_variant: String,
    /// Flags that must serve the given variants for this one to be
    /// evaluated past its off variant: `[{"flag": "b", "variant": "on"}]`.
    /// Refused when a named flag or variant does not exist, or when the
    /// environment's prerequisites would loop or chain too deep.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prerequisites: Vec<Prerequisite>,
    /// Kill state (read-only here: ignored on write).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill: Option<Kill>,
    /// Individual targets.
    #[serde(default)]
    pub targets: Vec<Target>,
    /// Ordered rules.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Served when nothing else matched.
    pub fallthrough: Serve,
    /// Variant SDKs serve when they have no or too-old data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_safe_variant: Option<String>,
}

/// A configuration with its version and last change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlagConfigRecord {
    /// Flag key.
    pub flag: String,
    /// Environment key.
    pub environment: String,
    /// Version (1 on creation, +1 per write).
    pub version: u64,
    /// The configuration.
    pub config: FlagConfig,
    /// When this version was written.
    pub updated_at: DateTime<Utc>,
    /// Who wrote this version.
    pub updated_by: String,
}

/// Filter and page of the flag list.
#[derive(Debug, Clone, Serialize, Default, Deserialize)]
pub struct FlagQuery {
    /// Only flags with this tag.
    pub tag: Option<String>,
    /// Case-insensitive text in key, name or description.
    pub q: Option<String>,
    /// `on`, `off` or `killed` (needs `environment`).
    pub state: Option<String>,
    /// Environment for the state filter.
    pub environment: Option<String>,
    /// Opaque cursor from the previous page.
    pub cursor: Option<String>,
    /// Page size (default 100, max 1000).
    pub limit: Option<u32>,
    /// `true`: only archived flags; otherwise only flags not archived.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
}

/// One environment's state in a flag list row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlagEnvState {
    /// Environment key.
    pub environment: String,
    /// On/off.
    pub on: bool,
    /// Killed.
    pub killed: bool,
    /// Configuration version.
    pub version: u64,
    /// Last change time.
    pub updated_at: DateTime<Utc>,
    /// Last change author.
    pub updated_by: String,
}

/// A flag list row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlagSummary {
    /// The definition.
    #[serde(flatten)]
    pub flag: FlagDefinition,
    /// Per-environment state.
    pub environments: Vec<FlagEnvState>,
}
