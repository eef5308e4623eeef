//! Schemas of webhooks (mirrors: see [`super`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// Mirrors of `store/types/webhooks.rs`.

/// Which notifications a webhook receives (its subscription), and the event
/// type of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum WebhookEvent {
    /// A flag was killed (one flag, by a person, a token or a trigger).
    #[serde(rename = "flag.killed")]
    FlagKilled,
    /// Killed flags were restored.
    #[serde(rename = "flag.restored")]
    FlagRestored,
    /// The panic button: a set of flags killed at once.
    #[serde(rename = "env.panic")]
    EnvPanic,
    /// Any other change SDKs can see: toggles, configurations, reverts,
    /// restores to a time, change sets, flag definitions, segments.
    #[serde(rename = "flag.changed")]
    FlagChanged,
    /// Subscription only: every event type.
    #[serde(rename = "*")]
    All,
}

/// A stored webhook (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Webhook {
    /// Id.
    pub id: i64,
    /// Project key.
    pub project: String,
    /// Delivery URL.
    pub url: String,
    /// Which notifications it receives.
    pub events: Vec<WebhookEvent>,
    /// First characters of the signing secret.
    pub secret_prefix: String,
    /// Who created it.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it was deleted (no more deliveries).
    pub disabled_at: Option<DateTime<Utc>>,
}
