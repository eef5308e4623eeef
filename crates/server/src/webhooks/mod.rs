//! Outgoing notifications: project webhooks told about kills and restores.
//!
//! Handlers call [`Notifier::notify`] *after* their write committed; it only
//! queues the notice (never blocks, never fails the request). A background
//! dispatcher task loads the project's active webhooks, serialises the
//! delivery body once, and sends it to each webhook that wants the event
//! from its own task, with retries:
//!
//! - body: JSON [`Delivery`] (`{id, event, project, environment, flags,
//!   actor, reason, incident, revision, at}`), identical on every attempt
//!   (`id` lets receivers drop duplicates);
//! - `X-Switchyard-Signature: sha256=<hex HMAC-SHA256 of the raw body with
//!   the webhook's secret>`, `X-Switchyard-Timestamp: <unix seconds of the
//!   attempt>`, `X-Switchyard-Event`, `X-Switchyard-Delivery: <id>`;
//! - any 2xx is success; connection errors, timeouts, 408, 429 and 5xx are
//!   retried with exponential backoff (up to [`NotifierOptions::max_attempts`]
//!   attempts; `Retry-After` is honoured up to the backoff ceiling); other
//!   answers (including redirects, which are never followed) are final;
//! - every attempt re-checks the destination with the [`guard`] (after DNS
//!   resolution) and connects only to the checked addresses.
//!
//! Delivery is at most once per replica and not durable: a notice queued
//! when the process dies is lost (the audit log remains the record). In a
//! multi-replica deployment the replica that served the write sends it, so
//! each change is announced once.

pub mod guard;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::{Semaphore, mpsc};
use utoipa::ToSchema;

use crate::store::{Actor, ActorKind, DynStore, FlagConfigRecord, WebhookEvent, WebhookTarget, Written};
use guard::{AddressPolicy, Refusal};

/// Notices waiting for the dispatcher; more are dropped (and logged).
const QUEUE_CAPACITY: usize = 1024;
/// Deliveries in flight at once (each attempt holds one permit).
const CONCURRENCY: usize = 16;

/// Delivery tuning.
#[derive(Debug, Clone)]
pub struct NotifierOptions {
    /// Which addresses may be delivered to.
    pub policy: AddressPolicy,
    /// Attempts per delivery, the first included (default 5).
    pub max_attempts: u32,
    /// Delay before the first retry; each further retry waits 4× longer (default 1 s).
    pub base_delay: Duration,
    /// Longest wait between attempts (default 64 s).
    pub max_delay: Duration,
    /// Timeout of one attempt, connect included (default 10 s).
    pub timeout: Duration,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        NotifierOptions {
            policy: AddressPolicy::default(),
            max_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(64),
            timeout: Duration::from_secs(10),
        }
    }
}

impl NotifierOptions {
    /// The delay after failed attempt `attempt` (1-based), before jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 4u32.saturating_pow(attempt.saturating_sub(1));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// Something that happened, to announce.
#[derive(Debug, Clone)]
pub struct Notice {
    /// `Kill` or `Restore` (never `All`).
    pub event: WebhookEvent,
    /// Project key.
    pub project: String,
    /// Environment key.
    pub environment: String,
    /// Flag keys.
    pub flags: Vec<String>,
    /// Who did it.
    pub actor: Actor,
    /// Why.
    pub reason: Option<String>,
    /// Incident id.
    pub incident: Option<String>,
    /// The environment revision of the change.
    pub revision: Option<u64>,
}

/// Who caused a delivery.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryActor {
    /// User, token or trigger name.
    pub name: String,
    /// Its kind.
    pub kind: ActorKind,
}

/// The JSON body of a webhook delivery.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    /// Unique per notice, the same on every retry and every webhook.
    pub id: String,
    /// `kill` or `restore`.
    pub event: WebhookEvent,
    /// Project key.
    pub project: String,
    /// Environment key.
    pub environment: String,
    /// Flag keys.
    pub flags: Vec<String>,
    /// Who did it.
    pub actor: DeliveryActor,
    /// Why.
    pub reason: Option<String>,
    /// Incident id.
    pub incident: Option<String>,
    /// The environment revision of the change.
    pub revision: Option<u64>,
    /// When the server queued the notice.
    pub at: DateTime<Utc>,
}

/// `sha256=<hex>`: the HMAC-SHA256 of `body` keyed with `secret`, as sent
/// in `X-Switchyard-Signature`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Queues notices for the background dispatcher.
pub struct Notifier {
    queue: mpsc::Sender<Notice>,
}

impl Notifier {
    /// Starts the dispatcher (call inside a tokio runtime).
    pub fn start(store: DynStore, options: NotifierOptions) -> Arc<Notifier> {
        let (queue, rx) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(dispatch(store, Arc::new(options), rx));
        Arc::new(Notifier { queue })
    }

    /// Queues a notice. Never blocks; when the queue is full the notice is
    /// dropped with a warning.
    pub fn notify(&self, notice: Notice) {
        if let Err(err) = self.queue.try_send(notice) {
            tracing::warn!(error = %err, "webhook queue full or closed: notice dropped");
        }
    }

    /// Queues a kill or restore notice for a write, if it changed anything.
    #[allow(clippy::too_many_arguments)]
    pub fn notify_written(
        &self,
        event: WebhookEvent,
        actor: &Actor,
        project: &str,
        environment: &str,
        written: &Written<Vec<FlagConfigRecord>>,
        reason: &str,
        incident: Option<&str>,
    ) {
        if !written.changed {
            return;
        }
        self.notify(Notice {
            event,
            project: project.to_string(),
            environment: environment.to_string(),
            flags: written.value.iter().map(|r| r.flag.clone()).collect(),
            actor: actor.clone(),
            reason: Some(reason.to_string()),
            incident: incident.map(str::to_string),
            revision: written.revision,
        });
    }
}

async fn dispatch(store: DynStore, options: Arc<NotifierOptions>, mut rx: mpsc::Receiver<Notice>) {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    while let Some(notice) = rx.recv().await {
        let targets = match store.webhook_targets(&notice.project).await {
            Ok(targets) => targets,
            Err(err) => {
                tracing::error!(error = %err, project = %notice.project, "loading webhooks failed: notice dropped");
                continue;
            }
        };
        let targets: Vec<WebhookTarget> = targets.into_iter().filter(|t| t.webhook.wants(notice.event)).collect();
        if targets.is_empty() {
            continue;
        }
        let delivery = Delivery {
            id: uuid::Uuid::new_v4().to_string(),
            event: notice.event,
            project: notice.project,
            environment: notice.environment,
            flags: notice.flags,
            actor: DeliveryActor { name: notice.actor.name, kind: notice.actor.kind },
            reason: notice.reason,
            incident: notice.incident,
            revision: notice.revision,
            at: Utc::now(),
        };
        let body = match serde_json::to_vec(&delivery) {
            Ok(body) => Bytes::from(body),
            Err(err) => {
                tracing::error!(error = %err, "serialising a webhook delivery failed");
                continue;
            }
        };
        for target in targets {
            let (options, permits, body) = (Arc::clone(&options), Arc::clone(&permits), body.clone());
            let (id, event) = (delivery.id.clone(), delivery.event);
            tokio::spawn(async move {
                deliver(&target, &id, event, &body, &options, &permits).await;
            });
        }
    }
}

/// The outcome of one attempt.
#[derive(Debug)]
pub enum Attempt {
    /// A 2xx answer.
    Delivered(u16),
    /// Worth retrying (connection error, timeout, 408, 429, 5xx), with the
    /// receiver's `Retry-After` if any.
    Retry(String, Option<Duration>),
    /// Final failure (refused destination, other status).
    Failed(String),
}

async fn deliver(
    target: &WebhookTarget,
    id: &str,
    event: WebhookEvent,
    body: &Bytes,
    options: &NotifierOptions,
    permits: &Semaphore,
) {
    let webhook = target.webhook.id;
    for attempt in 1..=options.max_attempts.max(1) {
        let outcome = {
            let _permit = permits.acquire().await;
            send(target, id, event, body, options).await
        };
        match outcome {
            Attempt::Delivered(status) => {
                tracing::debug!(webhook, delivery = id, attempt, status, "webhook delivered");
                return;
            }
            Attempt::Failed(why) => {
                tracing::warn!(webhook, delivery = id, attempt, error = %why, "webhook delivery failed");
                return;
            }
            Attempt::Retry(why, retry_after) => {
                if attempt >= options.max_attempts {
                    tracing::warn!(webhook, delivery = id, attempt, error = %why, "webhook delivery failed; giving up");
                    return;
                }
                let backoff = options.backoff(attempt);
                let jitter = backoff.mul_f64(rand::random::<f64>() * 0.25);
                let wait = retry_after.unwrap_or_default().max(backoff + jitter).min(options.max_delay);
                tracing::info!(webhook, delivery = id, attempt, error = %why, ?wait, "webhook delivery failed; retrying");
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// One delivery attempt: checks the destination (resolving its host),
/// connects only to the checked addresses, never follows redirects or uses
/// a proxy, and signs the body.
pub async fn send(
    target: &WebhookTarget,
    id: &str,
    event: WebhookEvent,
    body: &Bytes,
    options: &NotifierOptions,
) -> Attempt {
    let checked = match options.policy.check(&target.webhook.url).await {
        Ok(checked) => checked,
        Err(refusal @ Refusal::Unresolvable(_)) => {
            return Attempt::Retry(refusal.to_string(), None);
        }
        Err(refusal) => return Attempt::Failed(refusal.to_string()),
    };
    let mut client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(options.timeout)
        .timeout(options.timeout)
        .user_agent(concat!("switchyard-webhooks/", env!("CARGO_PKG_VERSION")));
    if let Some(domain) = &checked.domain {
        client = client.resolve_to_addrs(domain, &checked.addrs);
    }
    let client = match client.build() {
        Ok(client) => client,
        Err(err) => return Attempt::Failed(format!("building the HTTP client: {err}")),
    };
    let event_name = match event {
        WebhookEvent::Kill => "kill",
        WebhookEvent::Restore => "restore",
        WebhookEvent::All => "all",
    };
    let request = client
        .post(checked.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("x-switchyard-event", event_name)
        .header("x-switchyard-delivery", id)
        .header("x-switchyard-timestamp", Utc::now().timestamp().to_string())
        .header("x-switchyard-signature", sign(&target.secret, body))
        .body(body.clone());
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            if status.is_success() {
                Attempt::Delivered(status.as_u16())
            } else if status.is_server_error() || matches!(status.as_u16(), 408 | 429) {
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                Attempt::Retry(format!("receiver answered {status}"), retry_after)
            } else {
                Attempt::Failed(format!("receiver answered {status}"))
            }
        }
        Err(err) => Attempt::Retry(err.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        let o = NotifierOptions::default();
        let delays: Vec<u64> = (1..=6).map(|a| o.backoff(a).as_secs()).collect();
        assert_eq!(delays, vec![1, 4, 16, 64, 64, 64]);
    }
}
