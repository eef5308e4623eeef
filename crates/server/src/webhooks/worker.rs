//! The delivery worker: one per replica. It claims due outbox rows (leased,
//! so replicas never send the same row at once), sends each from its own
//! task, and records the outcome: delivered, retry at a backed-off time, or
//! dead. It wakes when this replica commits an event (the store's
//! [`outbox_wakeup`](crate::store::OutboxStore::outbox_wakeup)), when a retry is
//! due, and on a slow poll.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use tokio::sync::{Notify, Semaphore};

use super::{Attempt, WorkerOptions, send};
use crate::metrics::Metrics;
use crate::store::{ClaimedDelivery, DeliveryUpdate, DynStore};

/// Deliveries in flight at once per replica.
const CONCURRENCY: usize = 16;
/// Shortest sleep when rows look due but none could be claimed (another
/// replica holds them): avoids spinning.
const MIN_WAIT: Duration = Duration::from_millis(50);
/// Wait after a database error.
const ERROR_WAIT: Duration = Duration::from_secs(1);
/// How often finished deliveries older than the retention are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The delivery worker of this replica.
pub struct Worker {
    store: DynStore,
    options: WorkerOptions,
    metrics: Arc<Metrics>,
    wakeup: Arc<Notify>,
    stop: Notify,
    stopped: std::sync::atomic::AtomicBool,
    permits: Arc<Semaphore>,
}

impl Worker {
    /// Starts the worker (call inside a tokio runtime).
    pub fn start(store: DynStore, options: WorkerOptions, metrics: Arc<Metrics>) -> Arc<Worker> {
        let worker = Arc::new(Worker {
            wakeup: store.outbox_wakeup(),
            store,
            options,
            metrics,
            stop: Notify::new(),
            stopped: std::sync::atomic::AtomicBool::new(false),
            permits: Arc::new(Semaphore::new(CONCURRENCY)),
        });
        tokio::spawn(Arc::clone(&worker).run());
        worker
    }

    /// Stops claiming (on shutdown) and waits up to `grace` for the
    /// attempts in flight to finish and be recorded. Any still running when
    /// the process ends are sent again after their lease, by any replica.
    pub async fn stop(&self, grace: Duration) {
        self.stopped.store(true, std::sync::atomic::Ordering::SeqCst);
        self.stop.notify_one();
        let all = CONCURRENCY as u32;
        if tokio::time::timeout(grace, self.permits.acquire_many(all)).await.is_err() {
            tracing::warn!("webhook deliveries still in flight at shutdown; they will be retried");
        }
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn run(self: Arc<Self>) {
        let mut pruned = Instant::now().checked_sub(PRUNE_EVERY).unwrap_or_else(Instant::now);
        while !self.is_stopped() {
            let wait = match self.round().await {
                Ok(true) => continue,
                Ok(false) => self.until_next_due().await,
                Err(err) => {
                    tracing::warn!(error = %err, "webhook outbox: claiming failed");
                    ERROR_WAIT
                }
            };
            if pruned.elapsed() >= PRUNE_EVERY {
                pruned = Instant::now();
                self.prune().await;
            }
            tokio::select! {
                () = self.wakeup.notified() => {}
                () = tokio::time::sleep(wait) => {}
                () = self.stop.notified() => {}
            }
        }
    }

    /// Claims as many due rows as there are free permits and starts them.
    /// `Ok(true)` when it should go again at once (a full batch).
    async fn round(self: &Arc<Self>) -> crate::store::Result<bool> {
        let free = self.permits.available_permits();
        if free == 0 {
            return Ok(false); // a finishing attempt wakes us
        }
        let claimed = self.store.claim_deliveries(self.options.lease, free as u32).await?;
        let full = claimed.len() == free;
        for delivery in claimed {
            let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else { break };
            let worker = Arc::clone(self);
            tokio::spawn(async move {
                worker.deliver(delivery).await;
                drop(permit);
                worker.wakeup.notify_one();
            });
        }
        Ok(full)
    }

    /// How long to sleep: until the earliest pending row is due, at most
    /// the poll interval, at least [`MIN_WAIT`].
    async fn until_next_due(&self) -> Duration {
        match self.store.next_delivery_at().await {
            Ok(Some(due)) => {
                let wait = (due - Utc::now()).to_std().unwrap_or_default();
                wait.clamp(MIN_WAIT, self.options.poll.max(MIN_WAIT))
            }
            Ok(None) => self.options.poll,
            Err(err) => {
                tracing::warn!(error = %err, "webhook outbox: reading the next due time failed");
                ERROR_WAIT
            }
        }
    }

    async fn prune(&self) {
        let Ok(retention) = chrono::Duration::from_std(self.options.retention) else { return };
        match self.store.prune_deliveries(Utc::now() - retention).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "webhook outbox: pruned old deliveries"),
            Err(err) => tracing::warn!(error = %err, "webhook outbox: pruning failed"),
        }
    }

    /// One attempt of a claimed row, and its outcome recorded.
    async fn deliver(&self, d: ClaimedDelivery) {
        let (webhook, delivery, attempt) = (d.target.webhook.id, d.delivery_id.clone(), d.attempt);
        let age = (Utc::now() - d.created_at).to_std().unwrap_or_default();
        let outcome = if d.target.webhook.disabled_at.is_some() {
            Attempt::Failed { error: "webhook deleted".into(), status: None }
        } else if age > self.options.max_age {
            Attempt::Failed { error: format!("not sent: older than {:?}", self.options.max_age), status: None }
        } else {
            send(&d.target, &d.delivery_id, d.event, &Bytes::from(d.body), &self.options).await
        };
        let update = match outcome {
            Attempt::Delivered(status) => {
                tracing::debug!(webhook, %delivery, attempt, status, "webhook delivered");
                self.metrics.webhook_latency.observe(age.as_secs_f64());
                DeliveryUpdate::Delivered { status }
            }
            Attempt::Failed { error, status } => {
                tracing::warn!(webhook, %delivery, attempt, %error, "webhook delivery failed for good");
                DeliveryUpdate::Dead { status, error }
            }
            Attempt::Retry { error, status, .. } if attempt >= self.options.max_attempts => {
                tracing::warn!(webhook, %delivery, attempt, %error, "webhook delivery failed; giving up");
                DeliveryUpdate::Dead { status, error: format!("{error} (gave up after {attempt} attempts)") }
            }
            Attempt::Retry { error, status, retry_after } => {
                let wait = self.options.retry_wait(attempt, retry_after, rand::random::<f64>());
                tracing::info!(webhook, %delivery, attempt, %error, ?wait, "webhook delivery failed; will retry");
                let at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::zero());
                DeliveryUpdate::Retry { at, status, error }
            }
        };
        self.metrics.webhook_attempt(match update {
            DeliveryUpdate::Delivered { .. } => "delivered",
            DeliveryUpdate::Retry { .. } => "retry",
            DeliveryUpdate::Dead { .. } => "dead",
        });
        match self.store.finish_delivery(d.id, attempt, update).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(webhook, %delivery, attempt, "webhook delivery outcome dropped: the lease had expired")
            }
            Err(err) => {
                // The row stays leased; it is attempted again after the lease.
                tracing::warn!(webhook, %delivery, attempt, error = %err, "recording a webhook delivery failed")
            }
        }
    }
}
