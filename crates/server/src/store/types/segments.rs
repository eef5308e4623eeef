//! Segments as written and as stored.
//!
//! Owns these types only; segment semantics live in `switchyard_core`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchyard_core::Segment;

/// A segment as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentInput {
    /// Key.
    pub key: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Keys always included.
    #[serde(default)]
    pub included: Vec<String>,
    /// Keys always excluded.
    #[serde(default)]
    pub excluded: Vec<String>,
    /// Rules (any match → in segment).
    #[serde(default)]
    pub rules: Vec<switchyard_core::SegmentRule>,
}

/// A stored segment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentRecord {
    /// Display name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The segment as SDKs see it (key, version, included, excluded, rules).
    #[serde(flatten)]
    pub segment: Segment,
    /// Last change time.
    pub updated_at: DateTime<Utc>,
}
