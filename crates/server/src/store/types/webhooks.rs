//! Outgoing webhooks: subscriptions (event names) and the stored webhook.
//!
//! Owns these types only; deliveries are `store::outbox`, sending is `crate::webhooks`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which notifications a webhook receives (its subscription), and the event
/// type of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

impl WebhookEvent {
    /// The subscription of a webhook created without `events`.
    pub const DEFAULT: [WebhookEvent; 3] =
        [WebhookEvent::FlagKilled, WebhookEvent::FlagRestored, WebhookEvent::EnvPanic];

    /// Every name, in the order of the variants.
    pub const NAMES: [&'static str; 5] = ["flag.killed", "flag.restored", "env.panic", "flag.changed", "*"];

    /// The stable name (`flag.killed`, …, `*`), as sent in `X-Switchyard-Event`.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// Parses a name; `None` for an unknown one.
    pub fn parse(name: &str) -> Option<WebhookEvent> {
        const ALL: [WebhookEvent; 5] = [
            WebhookEvent::FlagKilled,
            WebhookEvent::FlagRestored,
            WebhookEvent::EnvPanic,
            WebhookEvent::FlagChanged,
            WebhookEvent::All,
        ];
        ALL.into_iter().find(|e| e.as_str() == name)
    }
}

/// A webhook to store.
#[derive(Debug, Clone, Serialize)]
pub struct NewWebhook {
    /// Where deliveries are POSTed (validated by the caller).
    pub url: String,
    /// Which notifications it receives (non-empty).
    pub events: Vec<WebhookEvent>,
    /// The HMAC signing secret (stored as is: signing needs it).
    pub secret: String,
    /// First characters of the secret, for display.
    pub prefix: String,
}

/// A stored webhook (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
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

impl Webhook {
    /// Whether it receives notifications of `event`.
    pub fn wants(&self, event: WebhookEvent) -> bool {
        Self::subscribed(&self.events, event)
    }

    /// Whether a subscription covers `event`.
    pub fn subscribed(subscription: &[WebhookEvent], event: WebhookEvent) -> bool {
        subscription.iter().any(|e| *e == event || *e == WebhookEvent::All)
    }
}

/// An active webhook with its signing secret, for delivery only.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    /// The webhook.
    pub webhook: Webhook,
    /// The HMAC signing secret.
    pub secret: String,
}
