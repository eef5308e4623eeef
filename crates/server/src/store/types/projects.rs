//! Projects and environments (with their revision).
//!
//! Owns these types only; flags and SDK keys live in their own modules.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A project to create.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    /// Key (`[a-z0-9][a-z0-9_.-]{0,127}`).
    pub key: String,
    /// Display name (defaults to the key).
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Environments to create with it, in this order (keys; the well-known
    /// `development`, `staging` and `production` get a colour). Absent: the
    /// server's `SWITCHYARD_DEFAULT_ENVIRONMENTS`; `[]`: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<Vec<String>>,
}

/// A project.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Project {
    /// Key.
    pub key: String,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it was archived (absent: not archived). An archived project is
    /// hidden from the project list, its SDK keys are refused (401) and its
    /// ordinary configuration writes too (409 `project_archived`); kills
    /// still apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<DateTime<Utc>>,
}

/// An environment to create.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEnvironment {
    /// Key, e.g. `production`.
    pub key: String,
    /// Display name (defaults to the key).
    #[serde(default)]
    pub name: Option<String>,
    /// Colour in the UI, `#rrggbb` (absent: the well-known keys'
    /// colour, else none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Place in the project's lists (ascending; absent: after the others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
}

/// A change of an environment's presentation (admin); absent fields keep
/// their value. Nothing an SDK sees: no revision.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentPatch {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Colour, `#rrggbb`; `null` removes it.
    #[serde(default, deserialize_with = "some_or_null", skip_serializing_if = "Option::is_none")]
    pub color: Option<Option<String>>,
    /// Place in the project's lists (ascending).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
}

/// A present field (`null` included) is `Some`, so `null` can clear.
fn some_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// An environment with its current revision.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Environment {
    /// Internal id (SDK keys point at it).
    #[serde(skip)]
    pub id: i64,
    /// Project key.
    pub project: String,
    /// Key.
    pub key: String,
    /// Display name.
    pub name: String,
    /// Monotonically increasing revision of everything SDKs can see.
    pub revision: u64,
    /// Colour in the UI, `#rrggbb` (none: the UI's default).
    pub color: Option<String>,
    /// Place in the project's lists (ascending, ties by creation).
    pub position: u32,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it was archived (absent: not archived). An archived environment
    /// is hidden from the environment list and refuses ordinary writes;
    /// kills still apply and its SDKs are still served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<DateTime<Utc>>,
}
