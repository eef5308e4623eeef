//! Domain types exchanged between the store and the HTTP layer, one file
//! per area. Most are also the JSON bodies of the admin API; they derive
//! serde only: their OpenAPI schemas are mirrors in `crate::http::schema`
//! (a changed field or doc comment goes there too; `tools/layering.py`
//! checks). Everything is re-exported here and from `crate::store`.
//!
//! Owns data shapes only: no SQL, no HTTP handling.

use serde::{Deserialize, Serialize};
use switchyard_core::ValidationErrors;

mod accounts;
mod approvals;
mod audit;
mod flags;
mod insights;
mod kill;
mod members;
mod projects;
mod release;
mod schedule;
mod sdk;
mod segments;
mod telemetry;
mod triggers;
mod webhooks;

pub use accounts::*;
pub use approvals::*;
pub use audit::*;
pub use flags::*;
pub use insights::*;
pub use kill::*;
pub use members::*;
pub use projects::*;
pub use release::*;
pub use schedule::*;
pub use sdk::*;
pub use segments::*;
pub use telemetry::*;
pub use triggers::*;
pub use webhooks::*;

pub use switchyard_core::{ChangeEvent, Kill, Segment, Snapshot};

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database backs a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// PostgreSQL: production, multi-replica.
    Postgres,
    /// Embedded SQLite: single instance.
    Sqlite,
}

/// Store failures. The HTTP layer maps each variant to one status.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Unknown object, or an object of another project (404).
    #[error("{what} `{key}` not found")]
    NotFound {
        /// Kind of object, e.g. `flag`.
        what: &'static str,
        /// Its key or id.
        key: String,
    },
    /// Unique key taken (409, code `already_exists`).
    #[error("{what} `{key}` already exists")]
    AlreadyExists {
        /// Kind of object.
        what: &'static str,
        /// The key.
        key: String,
    },
    /// Stale version or a state that forbids the write (409).
    #[error("{message}")]
    Conflict {
        /// Stable code, e.g. `version_conflict`, `segment_in_use`.
        code: &'static str,
        /// Human message.
        message: String,
        /// The current version, when the conflict is a stale version.
        current_version: Option<u64>,
    },
    /// A write refused because of the listed fields' state (409), e.g. an
    /// undo whose fields later changes touched.
    #[error("{message}")]
    FieldConflict {
        /// Stable code, e.g. `undo_conflict`.
        code: &'static str,
        /// Human message naming the fields.
        message: String,
        /// One entry per field (`path` = the field).
        fields: ValidationErrors,
    },
    /// Invalid input with field paths (422).
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    /// A string no backend may store (NUL, control characters: see
    /// [`crate::text`]); refused before any SQL runs (400 `invalid_text`).
    #[error(transparent)]
    InvalidText(#[from] crate::text::TextError),
    /// Database failure (500; details logged, never sent).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migration failure at start.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Stored data that no longer decodes (500).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

/// Result of a write: the value, whether anything changed, and the new
/// environment revision (absent when nothing changed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Written<T> {
    /// The resulting state.
    pub value: T,
    /// `false` when the write was a no-op (no audit, no revision).
    pub changed: bool,
    /// The environment revision after the write.
    pub revision: Option<u64>,
}

/// A page of results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    /// Items.
    pub items: Vec<T>,
    /// Cursor for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}
