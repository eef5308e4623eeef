//! Schemas of segments (mirrors: see [`super`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchyard_core::Segment;
use utoipa::ToSchema;

// Mirrors of `store/types/segments.rs`.

/// A segment as written.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentInput {
    /// Key.
    #[schema(pattern = r"^[a-z0-9][a-z0-9_.-]{0,127}$", example = "new-checkout")]
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
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<switchyard_core::SegmentRule>,
}

/// A stored segment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SegmentRecord {
    /// Display name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The segment as SDKs see it (key, version, included, excluded, rules).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub segment: Segment,
    /// Last change time.
    pub updated_at: DateTime<Utc>,
}
