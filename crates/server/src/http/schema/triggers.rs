//! Schemas of alert triggers (mirrors: see [`super`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::receipts::Receipt;

// Mirrors of `store/types/triggers.rs`.

/// What a trigger does when an alert fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriggerAction {
    /// Kill the flag.
    Kill,
    /// Restore (un-kill) the flag.
    Restore,
}

/// A stored trigger (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Trigger {
    /// Id.
    pub id: i64,
    /// Environment id.
    #[serde(skip)]
    pub environment_id: i64,
    /// Project key.
    pub project: String,
    /// Environment key.
    pub environment: String,
    /// Flag key.
    pub flag: String,
    /// Display name (the audit actor of its kills).
    pub name: String,
    /// What a firing alert does.
    pub action: TriggerAction,
    /// Whether a "resolved" notification restores the flag.
    pub restore_on_resolve: bool,
    /// First characters of the secret.
    pub prefix: String,
    /// Who created it.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it was deleted (disabled triggers answer 404).
    pub disabled_at: Option<DateTime<Utc>>,
}

// Mirrors of `ops/triggers.rs`.

/// What a notification did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HookOutcome {
    /// `true` when the notification asked for nothing this trigger does
    /// (nothing was written or audited).
    pub ignored: bool,
    /// What was done.
    pub action: Option<TriggerAction>,
    /// The sender's status (`firing`, `resolved`, `alerting`, `ok`…), if it gave one.
    pub status: Option<String>,
    /// Why a notification was ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Whether the flag's state changed (`false`: it already was killed/restored).
    pub changed: bool,
    /// The environment revision after the change.
    pub revision: Option<u64>,
    /// Delivery to connected SDK instances (with `?wait=`).
    pub receipt: Option<Receipt>,
}
