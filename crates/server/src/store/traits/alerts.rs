//! The alerts area of the store: triggers (and their rate limit), outgoing
//! webhooks, the webhook outbox.
//!
//! Declares the contract only (implemented once per backend in `sql`); owns
//! no data and must not touch HTTP.

use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::{
    Actor, ClaimedDelivery, DeliveryRecord, DeliveryUpdate, NewTrigger, NewWebhook, Result, SecretHash, Trigger,
    Webhook,
};

/// Alert triggers (no revision: nothing SDK-visible changes) and their fleet-wide rate limit.
#[async_trait]
pub trait TriggerStore: Send + Sync + 'static {
    /// Stores a trigger for one flag in one environment (audited `trigger.create`).
    async fn create_trigger(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        flag: &str,
        trigger: NewTrigger,
    ) -> Result<Trigger>;
    /// The triggers of one flag in one environment, disabled ones included, by id.
    async fn list_triggers(&self, project: &str, env: &str, flag: &str) -> Result<Vec<Trigger>>;
    /// Disables a trigger (soft delete: the row stays; audited
    /// `trigger.delete`). `NotFound` unless it belongs to this flag and
    /// environment; idempotent.
    async fn delete_trigger(&self, actor: &Actor, project: &str, env: &str, flag: &str, id: i64) -> Result<Trigger>;
    /// Replaces a trigger's secret (the old URL stops working; audited
    /// `trigger.rotate`). `Conflict` (`trigger_disabled`) on a disabled trigger.
    async fn rotate_trigger(
        &self,
        actor: &Actor,
        (project, env, flag): (&str, &str, &str),
        id: i64,
        secret: SecretHash,
    ) -> Result<Trigger>;
    /// Finds a trigger by the hash of its secret (disabled ones included,
    /// with `disabled_at`). A read: never writes.
    async fn trigger_by_hash(&self, hash: &str) -> Result<Option<Trigger>>;
    /// Claims one fire of trigger `id` if it fired fewer than `limit` times
    /// in the last `window` (over every replica: the count is in the
    /// database, under a lock on the trigger row). `Ok(Some(wait))` when it
    /// is over the limit: a slot frees up in `wait`.
    async fn claim_trigger_fire(
        &self,
        id: i64,
        limit: u32,
        window: std::time::Duration,
    ) -> Result<Option<std::time::Duration>>;
}

/// Outgoing webhooks of a project (no revision: nothing SDK-visible changes).
#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    /// Stores a webhook of a project (audited `webhook.create`, URL without its path).
    async fn create_webhook(&self, actor: &Actor, project: &str, webhook: NewWebhook) -> Result<Webhook>;
    /// A project's webhooks, disabled ones included, by id (no secrets).
    async fn list_webhooks(&self, project: &str) -> Result<Vec<Webhook>>;
    /// Disables a webhook (soft delete; audited `webhook.delete`; idempotent).
    async fn delete_webhook(&self, actor: &Actor, project: &str, id: i64) -> Result<Webhook>;
}

/// The webhook outbox: rows are written by the write transactions of the other areas; the delivery worker claims and finishes them here.
#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Notified after every commit that wrote outbox rows (and by the worker
    /// itself): the delivery worker waits on it.
    fn outbox_wakeup(&self) -> Arc<tokio::sync::Notify>;
    /// Claims up to `limit` due deliveries (oldest due first), counting the
    /// attempt and leasing each for `lease` (Postgres: `FOR UPDATE SKIP
    /// LOCKED`, so concurrent replicas never claim the same row).
    async fn claim_deliveries(&self, lease: Duration, limit: u32) -> Result<Vec<ClaimedDelivery>>;
    /// Records the outcome of attempt `attempt` of delivery `id`; ignored
    /// when the row moved on meanwhile (its lease expired and another
    /// worker claimed it, or it was cancelled). Returns whether it applied.
    async fn finish_delivery(&self, id: i64, attempt: u32, update: DeliveryUpdate) -> Result<bool>;
    /// When the earliest pending delivery is due, if any.
    async fn next_delivery_at(&self) -> Result<Option<DateTime<Utc>>>;
    /// A webhook's most recent deliveries, newest first (`NotFound` when
    /// the webhook is not the project's).
    async fn list_deliveries(&self, project: &str, webhook: i64, limit: u32) -> Result<Vec<DeliveryRecord>>;
    /// Deletes finished (delivered or dead) deliveries written before `before`.
    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64>;
}
