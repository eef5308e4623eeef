//! Schemas of SDK keys (mirrors: see [`super`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// Mirrors of `store/types/sdk.rs`.

/// A stored SDK key.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SdkKey {
    /// Id.
    pub id: i64,
    /// Environment id it is bound to.
    #[serde(skip)]
    pub environment_id: i64,
    /// Project key.
    pub project: String,
    /// Environment key.
    pub environment: String,
    /// Display name.
    pub name: String,
    /// First characters of the secret.
    pub prefix: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Revocation time.
    pub revoked_at: Option<DateTime<Utc>>,
}
