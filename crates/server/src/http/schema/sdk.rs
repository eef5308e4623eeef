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
    /// When a request last authenticated with it, to within a few minutes
    /// (recorded at most once per key every 5 minutes; absent: not since
    /// this was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<DateTime<Utc>>,
}

// Mirror of `switchyard_core::protocol::Ack` (core carries no utoipa).

/// An SDK acknowledgement: the body of `POST /sdk/v1/ack`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Ack {
    /// The instance id sent as `X-Switchyard-Instance` on the stream.
    #[schema(min_length = 1, max_length = 64)]
    pub instance: String,
    /// The revision now applied.
    pub revision: u64,
    /// How long the SDK held this acknowledgement after applying (ms); the
    /// apply time is the arrival time minus this.
    #[serde(default)]
    pub held_ms: f64,
}
