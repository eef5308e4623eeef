//! Schemas of write results and pages (mirrors: see [`super`]).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// Mirrors of `store/types/mod.rs`.

/// Result of a write: the value, whether anything changed, and the new
/// environment revision (absent when nothing changed).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Written<T> {
    /// The resulting state.
    pub value: T,
    /// `false` when the write was a no-op (no audit, no revision).
    pub changed: bool,
    /// The environment revision after the write.
    pub revision: Option<u64>,
}

/// A page of results.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    /// Items.
    pub items: Vec<T>,
    /// Cursor for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}
