//! Schemas of webhook deliveries (mirrors: see [`super`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::accounts::ActorKind;
use super::webhooks::WebhookEvent;

// Mirrors of `store/outbox.rs`.

/// Who caused a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryActor {
    /// User, token or trigger name.
    pub name: String,
    /// Its kind.
    pub kind: ActorKind,
}

/// The JSON body of a webhook delivery, serialised once when the event is
/// written and sent byte for byte on every attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    /// The event's id: the same on every retry and for every webhook
    /// (receivers drop duplicates on it); also `X-Switchyard-Delivery`.
    pub id: String,
    /// `flag.killed`, `flag.restored`, `env.panic` or `flag.changed`.
    pub event: WebhookEvent,
    /// The audit action behind it (`flag.kill`, `flag.toggle`, `segment.update`, …).
    pub action: String,
    /// Project key.
    pub project: String,
    /// Environment key (absent for project-wide changes: definitions, segments).
    pub environment: Option<String>,
    /// Flag keys (a kill or panic names every flag it was asked to kill).
    pub flags: Vec<String>,
    /// Segment keys (segment changes).
    #[serde(default)]
    pub segments: Vec<String>,
    /// Who did it.
    pub actor: DeliveryActor,
    /// Why.
    pub reason: Option<String>,
    /// Incident id (kills).
    pub incident: Option<String>,
    /// The environment revision the change produced (absent for project-wide changes).
    pub revision: Option<u64>,
    /// When the change was committed.
    pub at: DateTime<Utc>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its first or next attempt (or being attempted).
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Given up: a final answer, too many attempts, too old, or the webhook was deleted.
    Dead,
}

/// One delivery of one event to one webhook, as shown in its history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryRecord {
    /// Row id (orders the history).
    pub id: i64,
    /// The event's id (`X-Switchyard-Delivery`).
    pub delivery_id: String,
    /// The webhook.
    pub webhook_id: i64,
    /// Event type.
    pub event: WebhookEvent,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made (or started) so far.
    pub attempts: u32,
    /// HTTP status of the last answer, if any.
    pub response_status: Option<u16>,
    /// The last failure (kept after a later success).
    pub last_error: Option<String>,
    /// When the event was written.
    pub created_at: DateTime<Utc>,
    /// When the last attempt started.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}
