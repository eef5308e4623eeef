//! Transactions: the write transaction (revision bumps, change log, audit,
//! commit-then-publish) and the read transaction.
//!
//! Owns the transaction lifecycle; never decodes rows of any area (that is
//! `lookup`) and writes the outbox only through `outbox::write`.
//!
//! Writes whose results nothing reads (change log, revision bump when the
//! revision is known, audit events, notifications; configuration rows from
//! `configs`) are deferred ([`super::batch`]) and sent together before the
//! transaction's next statement: [`WriteTx::conn`] flushes them first, so
//! every statement sees every earlier write.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sqlx::Transaction;
use switchyard_core::ChangeEvent;
use tokio::sync::OwnedMutexGuard;

use super::audit::Audit;
use super::batch::{Arg, Batch};
use super::lookup::EnvRef;
use super::outbox::{self, Announcement};
use super::row::Conn;
use super::{BEGIN_READ, BEGIN_WRITE, Db, NOTIFY_SQL, This, lock_project};
use crate::store::sql::common::{now_ms, to_i64, to_u64};
use crate::store::{Actor, EnvChange, NOTIFY_CHANNEL, Result, StoreError};

/// A write transaction. Dropping it without [`WriteTx::commit`] rolls back.
pub(super) struct WriteTx {
    tx: Transaction<'static, Db>,
    /// SQLite: the store's writer mutex, held until after publishing.
    _writer: Option<OwnedMutexGuard<()>>,
    /// The time of this write (ms), the same for every row it writes.
    pub now: i64,
    retention: u64,
    /// This store's id in change notifications (`ClusterStore::change_origin`).
    origin: Arc<str>,
    /// The caller waits for the receipt (see `ChangeSink::urgent`): the
    /// notification says so (`:u`).
    urgent: bool,
    changes: Vec<EnvChange>,
    /// Webhook events to write to the outbox just before commit.
    announcements: Vec<Announcement>,
    /// Writes not sent yet.
    batch: Batch,
    /// The current revision of each environment this transaction read
    /// under its lock (and bumped since): the next one needs no `RETURNING`.
    revisions: HashMap<i64, u64>,
    /// Projects read under an environment lock with no active webhook: the
    /// outbox has nothing to look up for them.
    quiet: HashSet<i64>,
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
            origin: Arc::clone(&self.shared.origin),
            urgent: self.shared.sink.urgent(),
            changes: Vec::new(),
            announcements: Vec::new(),
            batch: Batch::default(),
            revisions: HashMap::new(),
            quiet: HashSet::new(),
        })
    }

    pub(super) async fn begin_read(&self) -> Result<Transaction<'static, Db>> {
        Ok(self.pool.begin_with(BEGIN_READ).await?)
    }
}

impl WriteTx {
    /// The connection, after sending every deferred write.
    pub async fn conn(&mut self) -> Result<&mut Conn> {
        self.batch.flush(&mut self.tx).await?;
        Ok(&mut self.tx)
    }

    /// Defers a write whose result nothing reads (see [`super::batch`]).
    pub fn defer(&mut self, sql: &'static str, args: Vec<Arg>) {
        self.batch.write(sql, args);
    }

    /// Records what a lookup of `env` under its lock (`LOCK_ENV_ROW`) read:
    /// its revision, and whether its project has an active webhook.
    pub fn locked(&mut self, env: &EnvRef, hooked: bool) {
        self.revisions.insert(env.id, env.revision);
        if !hooked {
            self.quiet.insert(env.project_id);
        }
    }

    /// Locks the project and all its environments (see the backend's
    /// `lock_project`), then takes the time of the write.
    pub async fn lock_project(&mut self, project_id: i64) -> Result<()> {
        lock_project(self.conn().await?, project_id).await?;
        self.now = self.now.max(now_ms());
        Ok(())
    }

    /// Bumps the environment's revision and logs `event` as that revision.
    /// Deferred when this transaction read the revision under the lock.
    pub async fn bump(&mut self, env: &EnvRef, event: ChangeEvent) -> Result<u64> {
        let revision = match self.revisions.get(&env.id) {
            Some(&current) => {
                let sql = "UPDATE environments SET revision = $2 WHERE id = $1";
                self.batch.write(sql, vec![Arg::Int(env.id), Arg::Int(to_i64(current + 1))]);
                current + 1
            }
            None => {
                let sql = "UPDATE environments SET revision = revision + 1 WHERE id = $1 RETURNING revision";
                let revision: i64 = sqlx::query_scalar(sql).bind(env.id).fetch_one(self.conn().await?).await?;
                to_u64(revision)?
            }
        };
        self.revisions.insert(env.id, revision);
        self.log_change(env, event, revision).await?;
        Ok(revision)
    }

    /// Appends `event` as `revision` to the change log (pruning entries older
    /// than the retention), notifies and queues it for the sink.
    pub async fn log_change(&mut self, env: &EnvRef, mut event: ChangeEvent, revision: u64) -> Result<()> {
        event.revision = revision;
        let json = serde_json::to_value(&event).map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
        self.batch.write(
            "INSERT INTO changes (environment_id, revision, event, created_at) VALUES ($1, $2, $3, $4)",
            vec![Arg::Int(env.id), Arg::Int(to_i64(revision)), Arg::Json(json), Arg::Int(self.now)],
        );
        if revision > self.retention {
            self.batch.write(
                "DELETE FROM changes WHERE environment_id = $1 AND revision <= $2",
                vec![Arg::Int(env.id), Arg::Int(to_i64(revision - self.retention))],
            );
        }
        if let Some(sql) = NOTIFY_SQL {
            let urgent = if self.urgent { ":u" } else { "" };
            let payload = format!("{}:{revision}:{}{urgent}", env.id, self.origin);
            self.batch.select(sql, vec![Arg::Text(NOTIFY_CHANNEL.into()), Arg::Text(payload)]);
        }
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
    /// Refuses a reason or incident id over the limits of [`crate::text`]
    /// (422 `too_long`; the ops check their input first, so only a path
    /// that forgot to gets here).
    pub async fn audit(&mut self, actor: &Actor, event: Audit<'_>) -> Result<()> {
        use crate::text::{MAX_INCIDENT, MAX_REASON, check_length};
        let reason = event.reason.map_or(Ok(()), |r| check_length("reason", r, MAX_REASON));
        let incident = event.incident.map_or(Ok(()), |i| check_length("incident", i, MAX_INCIDENT));
        reason.and(incident).map_err(|e| StoreError::Validation(switchyard_core::ValidationErrors(vec![e])))?;
        Announcement::collect(&mut self.announcements, actor, &event);
        let text = |v: Option<&str>| Arg::OptText(v.map(str::to_string));
        self.batch.write(
            "INSERT INTO audit_events (project_id, environment, flag, segment, actor, actor_kind, action, reason, \
             before, after, revision, request_id, client_addr, group_id, incident, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            vec![
                Arg::OptInt(event.project_id),
                text(event.environment),
                text(event.flag),
                text(event.segment),
                Arg::Text(actor.name.clone()),
                Arg::Text(actor.kind.as_str().into()),
                Arg::Text(event.action.into()),
                text(event.reason),
                Arg::OptJson(event.before),
                Arg::OptJson(event.after),
                Arg::OptInt(event.revision.map(to_i64)),
                text(actor.request_id.as_deref()),
                text(actor.client_addr.as_deref()),
                text(event.group_id),
                text(event.incident),
                Arg::Int(self.now),
            ],
        );
        Ok(())
    }

    /// Writes the announced webhook events to the outbox, commits, then
    /// hands every logged change to the sink (in the order logged, which is
    /// revision order per environment) and wakes the webhook worker.
    pub async fn commit(mut self, store: &This) -> Result<()> {
        self.batch.flush(&mut self.tx).await?;
        let WriteTx { mut tx, _writer, changes, announcements, now, quiet, .. } = self;
        let announced = !announcements.is_empty() && outbox::write(&mut tx, announcements, now, &quiet).await?;
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
