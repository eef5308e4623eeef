//! The audit log: its filters and its (append-only) events.
//!
//! Owns these types only; nothing here writes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ActorKind;

/// Audit filters.
#[derive(Debug, Clone, Serialize, Default, Deserialize)]
pub struct AuditQuery {
    /// Environment key.
    pub environment: Option<String>,
    /// Flag key.
    pub flag: Option<String>,
    /// Actor name.
    pub actor: Option<String>,
    /// Events at or after.
    pub from: Option<DateTime<Utc>>,
    /// Events before.
    pub to: Option<DateTime<Utc>>,
    /// Opaque cursor.
    pub cursor: Option<String>,
    /// Page size (default 100, max 1000).
    pub limit: Option<u32>,
}

/// One audit event. Append-only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Id (monotonic).
    pub id: i64,
    /// Project key.
    pub project: String,
    /// Environment key, for environment-scoped changes.
    pub environment: Option<String>,
    /// Flag key, for flag changes.
    pub flag: Option<String>,
    /// Segment key, for segment changes.
    pub segment: Option<String>,
    /// Actor name.
    pub actor: String,
    /// Actor kind.
    pub actor_kind: ActorKind,
    /// Action, e.g. `flag.toggle`, `flag.kill`.
    pub action: String,
    /// Reason given.
    pub reason: Option<String>,
    /// State before (JSON).
    pub before: Option<Value>,
    /// State after (JSON).
    pub after: Option<Value>,
    /// Environment revision produced.
    pub revision: Option<u64>,
    /// Request id.
    pub request_id: Option<String>,
    /// Client address.
    pub client_addr: Option<String>,
    /// Group id (change set, panic kill).
    pub group_id: Option<String>,
    /// Incident id (kills, restores and their delivery receipts).
    #[serde(default)]
    pub incident: Option<String>,
    /// Time.
    pub at: DateTime<Utc>,
}

/// One incident of a project, as its audit events tell it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IncidentSummary {
    /// Incident id.
    pub incident: String,
    /// Its first event.
    pub first_at: DateTime<Utc>,
    /// Its last event.
    pub last_at: DateTime<Utc>,
    /// How many audit events carry it.
    pub events: u64,
}
