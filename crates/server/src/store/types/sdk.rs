//! What SDKs see: their keys and the committed changes handed to the
//! change sink.
//!
//! Owns these types only; the snapshot and change-event shapes are `switchyard_core`'s.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchyard_core::ChangeEvent;

/// An SDK key to store.
#[derive(Debug, Clone, Serialize)]
pub struct NewSdkKey {
    /// Display name.
    pub name: String,
    /// SHA-256 hex of the secret.
    pub hash: String,
    /// First characters of the secret.
    pub prefix: String,
}

/// A stored SDK key.
#[derive(Debug, Clone, Serialize, Deserialize)]
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

/// A committed change of one environment, handed to the [`super::ChangeSink`].
#[derive(Debug, Clone)]
pub struct EnvChange {
    /// Environment id.
    pub environment_id: i64,
    /// Project key.
    pub project: String,
    /// Environment key.
    pub environment: String,
    /// The event (its `revision` is the new environment revision).
    pub event: ChangeEvent,
}
