//! Projects and environments (with their revision).
//!
//! Owns these types only; flags and SDK keys live in their own modules.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A project to create.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewProject {
    /// Key (`[a-z0-9][a-z0-9_.-]{0,127}`).
    pub key: String,
    /// Display name (defaults to the key).
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
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
}

/// An environment to create.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewEnvironment {
    /// Key, e.g. `production`.
    pub key: String,
    /// Display name (defaults to the key).
    #[serde(default)]
    pub name: Option<String>,
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
    /// Creation time.
    pub created_at: DateTime<Utc>,
}
