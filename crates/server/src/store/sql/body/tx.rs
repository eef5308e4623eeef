//! Transactions: the write transaction (revision bumps, change log, audit,
//! commit-then-publish) and the read transaction.
//!
//! Owns the transaction lifecycle; never decodes rows of any area (that is
//! `lookup`) and writes the outbox only through `outbox::write`.

use sqlx::Transaction;
use sqlx::types::Json;
use switchyard_core::ChangeEvent;
use tokio::sync::OwnedMutexGuard;

use super::audit::Audit;
use super::lookup::EnvRef;
use super::outbox::{self, Announcement};
use super::row::Conn;
use super::{BEGIN_READ, BEGIN_WRITE, Db, This, lock_env, lock_project, notify};
use crate::store::sql::common::{now_ms, to_i64, to_u64};
use crate::store::{Actor, EnvChange, Result};

/// A write transaction. Dropping it without [`WriteTx::commit`] rolls back.
pub(super) struct WriteTx {
    tx: Transaction<'static, Db>,
    /// SQLite: the store's writer mutex, held until after publishing.
    _writer: Option<OwnedMutexGuard<()>>,
    /// The time of this write (ms), the same for every row it writes.
    pub now: i64,
    retention: u64,
    changes: Vec<EnvChange>,
    /// Webhook events to write to the outbox just before commit.
    announcements: Vec<Announcement>,
}

impl This {
    pub(super) async fn begin_write(&self) -> Result<WriteTx> {
        let writer = match &self.shared.write_lock {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let tx = self.pool.begin_with(BEGIN_WRITE).await?;
        Ok(WriteTx {
            tx,
            _writer: writer,
            now: now_ms(),
            retention: self.shared.options.change_log_retention.max(1),
            changes: Vec::new(),
            announcements: Vec::new(),
        })
    }

    pub(super) async fn begin_read(&self) -> Result<Transaction<'static, Db>> {
        Ok(self.pool.begin_with(BEGIN_READ).await?)
    }
}

impl WriteTx {
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.tx
    }

    /// Locks one environment against concurrent writers (see the backend's
    /// `lock_env`), then takes the time of the write: taken under the lock,
    /// timestamps follow the order of writes to the environment.
    pub async fn lock_env(&mut self, environment_id: i64) -> Result<()> {
        lock_env(&mut self.tx, environment_id).await?;
        self.now = self.now.max(now_ms());
        Ok(())
    }

    /// Locks the project and all its environments (see the backend's
    /// `lock_project`), then takes the time of the write.
    pub async fn lock_project(&mut self, project_id: i64) -> Result<()> {
        lock_project(&mut self.tx, project_id).await?;
        self.now = self.now.max(now_ms());
        Ok(())
    }

    /// Bumps the environment's revision and logs `event` as that revision.
    pub async fn bump(&mut self, env: &EnvRef, event: ChangeEvent) -> Result<u64> {
        let revision: i64 =
            sqlx::query_scalar("UPDATE environments SET revision = revision + 1 WHERE id = $1 RETURNING revision")
                .bind(env.id)
                .fetch_one(&mut *self.tx)
                .await?;
        let revision = to_u64(revision)?;
        self.log_change(env, event, revision).await?;
        Ok(revision)
    }

    /// Appends `event` as `revision` to the change log (pruning entries older
    /// than the retention), notifies and queues it for the sink.
    pub async fn log_change(&mut self, env: &EnvRef, mut event: ChangeEvent, revision: u64) -> Result<()> {
        event.revision = revision;
        sqlx::query("INSERT INTO changes (environment_id, revision, event, created_at) VALUES ($1, $2, $3, $4)")
            .bind(env.id)
            .bind(to_i64(revision))
            .bind(Json(&event))
            .bind(self.now)
            .execute(&mut *self.tx)
            .await?;
        if revision > self.retention {
            sqlx::query("DELETE FROM changes WHERE environment_id = $1 AND revision <= $2")
                .bind(env.id)
                .bind(to_i64(revision - self.retention))
                .execute(&mut *self.tx)
                .await?;
        }
        notify(&mut self.tx, env.id, revision).await?;
        self.changes.push(EnvChange {
            environment_id: env.id,
            project: env.project.clone(),
            environment: env.key.clone(),
            event,
        });
        Ok(())
    }

    /// Announces an event to the project's webhooks when this transaction
    /// commits (kills, restores, panics; `flag.changed` events are derived
    /// from the audit events).
    pub fn announce(&mut self, announcement: Announcement) {
        self.announcements.push(announcement);
    }

    /// Appends one audit event (and folds it into a `flag.changed`
    /// announcement when it is a change SDKs can see).
    pub async fn audit(&mut self, actor: &Actor, event: Audit<'_>) -> Result<()> {
        Announcement::collect(&mut self.announcements, actor, &event);
        sqlx::query(
            "INSERT INTO audit_events (project_id, environment, flag, segment, actor, actor_kind, action, reason, \
             before, after, revision, request_id, client_addr, group_id, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(event.project_id)
        .bind(event.environment)
        .bind(event.flag)
        .bind(event.segment)
        .bind(&actor.name)
        .bind(actor.kind.as_str())
        .bind(event.action)
        .bind(event.reason)
        .bind(event.before.map(Json))
        .bind(event.after.map(Json))
        .bind(event.revision.map(to_i64))
        .bind(actor.request_id.as_deref())
        .bind(actor.client_addr.as_deref())
        .bind(event.group_id)
        .bind(self.now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Writes the announced webhook events to the outbox, commits, then
    /// hands every logged change to the sink (in the order logged, which is
    /// revision order per environment) and wakes the webhook worker.
    pub async fn commit(self, store: &This) -> Result<()> {
        let WriteTx { mut tx, _writer, changes, announcements, now, .. } = self;
        let announced = !announcements.is_empty() && outbox::write(&mut tx, announcements, now).await?;
        let order = store.shared.order.lock(changes.iter().map(|c| c.environment_id)).await;
        tx.commit().await?;
        if announced {
            store.shared.outbox_wakeup.notify_one();
        }
        for change in changes {
            store.shared.sink.publish(change);
        }
        drop(order);
        drop(_writer);
        Ok(())
    }
}
