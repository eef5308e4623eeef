//! The webhook outbox: events collected by a write transaction and written
//! to `webhook_deliveries` just before it commits (so an event exists if and
//! only if its change committed), and the worker's side: claim, finish,
//! history, pruning.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::audit::Audit;
use super::lookup;
use super::lookup::webhook_from_row;
use super::row::{Conn, Row, get, get_json};
use super::{SKIP_LOCKED, This};
use crate::store::OutboxStore;
use crate::store::sql::common::{not_found, to_time};
use crate::store::{
    Actor, ClaimedDelivery, Delivery, DeliveryActor, DeliveryRecord, DeliveryStatus, DeliveryUpdate, Result,
    StoreError, Webhook, WebhookEvent,
};

/// Audit actions announced as `flag.changed`: every change SDKs can see,
/// except kills and restores (announced explicitly, see [`Announcement`]).
const CHANGE_ACTIONS: &[&str] = &[
    "flag.create",
    "flag.update",
    "flag.delete",
    "flag.archive",
    "flag.unarchive",
    "flag.toggle",
    "flag.config.update",
    "flag.revert",
    "environment.restore",
    "change_set.apply",
    "change_set.revert",
    "segment.create",
    "segment.update",
    "segment.delete",
];

/// An event a write transaction announces when it commits.
pub(super) struct Announcement {
    pub project_id: i64,
    pub event: WebhookEvent,
    pub action: String,
    pub environment: Option<String>,
    pub flags: Vec<String>,
    pub segments: Vec<String>,
    pub actor: DeliveryActor,
    pub reason: Option<String>,
    pub incident: Option<String>,
    pub revision: Option<u64>,
}

impl Announcement {
    /// Folds an audit event into the `flag.changed` announcements: one per
    /// action, environment and revision, naming every flag and segment.
    pub fn collect(list: &mut Vec<Announcement>, actor: &Actor, audit: &Audit<'_>) {
        let Some(project_id) = audit.project_id else { return };
        if !CHANGE_ACTIONS.contains(&audit.action) {
            return;
        }
        let environment = audit.environment.map(str::to_string);
        let same = |a: &&mut Announcement| {
            a.event == WebhookEvent::FlagChanged
                && a.project_id == project_id
                && a.action == audit.action
                && a.environment == environment
                && a.revision == audit.revision
        };
        let entry = match list.iter_mut().find(same) {
            Some(entry) => entry,
            None => {
                list.push(Announcement {
                    project_id,
                    event: WebhookEvent::FlagChanged,
                    action: audit.action.to_string(),
                    environment,
                    flags: Vec::new(),
                    segments: Vec::new(),
                    actor: DeliveryActor { name: actor.name.clone(), kind: actor.kind },
                    reason: audit.reason.map(str::to_string),
                    incident: None,
                    revision: audit.revision,
                });
                list.last_mut().expect("just pushed")
            }
        };
        if let Some(flag) = audit.flag
            && !entry.flags.iter().any(|f| f == flag)
        {
            entry.flags.push(flag.to_string());
        }
        if let Some(segment) = audit.segment
            && !entry.segments.iter().any(|s| s == segment)
        {
            entry.segments.push(segment.to_string());
        }
    }
}

/// A project's active webhooks: its key and each webhook's subscription.
struct Subscribers {
    project: String,
    hooks: Vec<(i64, Vec<WebhookEvent>)>,
}

async fn subscribers(conn: &mut Conn, project_id: i64) -> Result<Subscribers> {
    let rows = sqlx::query(
        "SELECT w.id, w.events, p.key FROM webhooks w JOIN projects p ON p.id = w.project_id \
         WHERE w.project_id = $1 AND w.disabled_at IS NULL ORDER BY w.id",
    )
    .bind(project_id)
    .fetch_all(conn)
    .await?;
    let project = rows.first().map(|r| get::<String>(r, "key")).transpose()?.unwrap_or_default();
    let hooks = rows.iter().map(|r| Ok((get(r, "id")?, get_json(r, "events")?))).collect::<Result<_>>()?;
    Ok(Subscribers { project, hooks })
}

/// Writes one row per announcement and subscribed webhook. Returns whether
/// it wrote any (the committer then wakes the worker). `quiet`: projects
/// known to have no active webhook (read in this transaction), skipped
/// without a query.
pub(super) async fn write(conn: &mut Conn, list: Vec<Announcement>, now: i64, quiet: &HashSet<i64>) -> Result<bool> {
    let mut projects: HashMap<i64, Subscribers> = HashMap::new();
    let mut wrote = false;
    for a in list.into_iter().filter(|a| !quiet.contains(&a.project_id)) {
        let subs = match projects.entry(a.project_id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(subscribers(conn, a.project_id).await?),
        };
        let wanting: Vec<i64> =
            subs.hooks.iter().filter(|(_, events)| Webhook::subscribed(events, a.event)).map(|(id, _)| *id).collect();
        if wanting.is_empty() {
            continue;
        }
        let project = subs.project.clone();
        let delivery = Delivery {
            id: uuid::Uuid::new_v4().to_string(),
            event: a.event,
            action: a.action,
            project,
            environment: a.environment,
            flags: a.flags,
            segments: a.segments,
            actor: a.actor,
            reason: a.reason,
            incident: a.incident,
            revision: a.revision,
            at: to_time(now)?,
        };
        let body = serde_json::to_string(&delivery).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        for webhook in wanting {
            sqlx::query(
                "INSERT INTO webhook_deliveries (webhook_id, delivery_id, event, body, status, attempts, \
                 next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5)",
            )
            .bind(webhook)
            .bind(&delivery.id)
            .bind(delivery.event.as_str())
            .bind(&body)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            wrote = true;
        }
    }
    Ok(wrote)
}

fn event_of(row: &Row) -> Result<WebhookEvent> {
    let name: String = get(row, "event")?;
    WebhookEvent::parse(&name).ok_or_else(|| StoreError::Corrupt(format!("unknown webhook event `{name}`")))
}

fn count(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("attempt count {v}")))
}

/// Marks a deleted webhook's pending deliveries dead (in its delete transaction).
pub(super) async fn cancel(conn: &mut Conn, webhook: i64, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'dead', last_error = 'webhook deleted', next_attempt_at = $2 \
         WHERE webhook_id = $1 AND status = 'pending'",
    )
    .bind(webhook)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

fn record_from_row(row: &Row) -> Result<DeliveryRecord> {
    let status: String = get(row, "status")?;
    let status = DeliveryStatus::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown delivery status `{status}`")))?;
    let time = |column| -> Result<Option<DateTime<Utc>>> { get::<Option<i64>>(row, column)?.map(to_time).transpose() };
    let code = get::<Option<i64>>(row, "response_status")?;
    Ok(DeliveryRecord {
        id: get(row, "id")?,
        delivery_id: get(row, "delivery_id")?,
        webhook_id: get(row, "webhook_id")?,
        event: event_of(row)?,
        status,
        attempts: count(get(row, "attempts")?)?,
        response_status: code.and_then(|c| u16::try_from(c).ok()),
        last_error: get(row, "last_error")?,
        created_at: to_time(get(row, "created_at")?)?,
        last_attempt_at: time("last_attempt_at")?,
        next_attempt_at: if status == DeliveryStatus::Pending { time("next_attempt_at")? } else { None },
        delivered_at: time("delivered_at")?,
    })
}

#[async_trait]
impl OutboxStore for This {
    fn outbox_wakeup(&self) -> std::sync::Arc<tokio::sync::Notify> {
        std::sync::Arc::clone(&self.shared.outbox_wakeup)
    }

    /// Claims due rows: kill, restore and panic notifications first, so a backlog of `flag.changed`
    /// deliveries (say, to an endpoint that is down) never delays them.
    async fn claim_deliveries(&self, lease: Duration, limit: u32) -> Result<Vec<ClaimedDelivery>> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let sql = format!(
            "SELECT d.id AS d_id, d.delivery_id, d.event, d.body, d.attempts, d.created_at AS d_created_at, \
             w.id, p.key AS project_key, w.url, w.events, w.secret, w.prefix, w.created_by, w.created_at, w.disabled_at \
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN projects p ON p.id = w.project_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
             ORDER BY (d.event = 'flag.changed'), d.next_attempt_at, d.id LIMIT $2{SKIP_LOCKED}"
        );
        let rows = sqlx::query(&sql).bind(now).bind(i64::from(limit)).fetch_all(tx.conn().await?).await?;
        let until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = get(row, "d_id")?;
            sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = $2, next_attempt_at = $3 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(now)
            .bind(until)
            .execute(tx.conn().await?)
            .await?;
            claimed.push(ClaimedDelivery {
                id,
                delivery_id: get(row, "delivery_id")?,
                event: event_of(row)?,
                body: get(row, "body")?,
                attempt: count(get::<i64>(row, "attempts")? + 1)?,
                created_at: to_time(get(row, "d_created_at")?)?,
                target: webhook_from_row(row)?,
            });
        }
        tx.commit(self).await?;
        Ok(claimed)
    }

    /// Records an attempt's outcome, if the row is still this attempt's.
    async fn finish_delivery(&self, id: i64, attempt: u32, update: DeliveryUpdate) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let (status, next, code, error, delivered) = match update {
            DeliveryUpdate::Delivered { status } => (DeliveryStatus::Delivered, now, Some(status), None, Some(now)),
            DeliveryUpdate::Retry { at, status, error } => {
                (DeliveryStatus::Pending, at.timestamp_millis(), status, Some(error), None)
            }
            DeliveryUpdate::Dead { status, error } => (DeliveryStatus::Dead, now, status, Some(error), None),
        };
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET status = $3, next_attempt_at = $4, response_status = $5, \
             last_error = COALESCE($6, last_error), delivered_at = $7 \
             WHERE id = $1 AND attempts = $2 AND status = 'pending'",
        )
        .bind(id)
        .bind(i64::from(attempt))
        .bind(status.as_str())
        .bind(next)
        .bind(code.map(i64::from))
        .bind(error)
        .bind(delivered)
        .execute(tx.conn().await?)
        .await?
        .rows_affected();
        tx.commit(self).await?;
        Ok(done == 1)
    }

    async fn next_delivery_at(&self) -> Result<Option<DateTime<Utc>>> {
        let due: Option<i64> =
            sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'")
                .fetch_one(&self.pool)
                .await?;
        due.map(to_time).transpose()
    }

    async fn list_deliveries(&self, project: &str, webhook: i64, limit: u32) -> Result<Vec<DeliveryRecord>> {
        guard!(project);
        let mut conn = self.pool.acquire().await?;
        let project = lookup::project(&mut conn, project).await?;
        let owned: Option<i64> = sqlx::query_scalar("SELECT id FROM webhooks WHERE id = $1 AND project_id = $2")
            .bind(webhook)
            .bind(project.id)
            .fetch_optional(&mut *conn)
            .await?;
        if owned.is_none() {
            return Err(not_found("webhook", webhook.to_string()));
        }
        let rows = sqlx::query(
            "SELECT id, webhook_id, delivery_id, event, status, attempts, response_status, last_error, created_at, \
             last_attempt_at, next_attempt_at, delivered_at FROM webhook_deliveries WHERE webhook_id = $1 \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(webhook)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(record_from_row).collect()
    }

    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let gone = sqlx::query("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < $1")
            .bind(before.timestamp_millis())
            .execute(tx.conn().await?)
            .await?
            .rows_affected();
        tx.commit(self).await?;
        Ok(gone)
    }
}
