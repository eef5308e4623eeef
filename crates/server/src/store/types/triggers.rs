//! Alert triggers: secret URLs that kill or restore one flag in one
//! environment.
//!
//! Owns these types only; the fire workflow lives outside the store.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a trigger does when an alert fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerAction {
    /// Kill the flag.
    Kill,
    /// Restore (un-kill) the flag.
    Restore,
}

impl TriggerAction {
    /// Stable text form, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerAction::Kill => "kill",
            TriggerAction::Restore => "restore",
        }
    }

    /// Parses the stored text form.
    pub fn parse(s: &str) -> Option<TriggerAction> {
        Some(match s {
            "kill" => TriggerAction::Kill,
            "restore" => TriggerAction::Restore,
            _ => return None,
        })
    }
}

/// The stored form of a secret: its SHA-256 and a displayable prefix.
#[derive(Debug, Clone, Serialize)]
pub struct SecretHash {
    /// SHA-256 hex of the secret.
    pub hash: String,
    /// First characters of the secret, for display.
    pub prefix: String,
}

/// A trigger to store (the caller generated and hashed the secret).
#[derive(Debug, Clone, Serialize)]
pub struct NewTrigger {
    /// Display name; also the audit actor name of what it does.
    pub name: String,
    /// What a firing alert does.
    pub action: TriggerAction,
    /// Whether a "resolved" notification restores the flag (kill triggers only).
    pub restore_on_resolve: bool,
    /// The secret of its URL.
    pub secret: SecretHash,
}

/// A stored trigger (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
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
