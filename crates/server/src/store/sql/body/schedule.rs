//! Scheduled changes ([`ScheduleStore`](crate::store::ScheduleStore)).
//!
//! A change and its job (`jobs`, key `change:<id>`, payload `{"change":
//! id}`) are written together. Applying one is a single transaction under
//! the environment's lock: the compare-and-set `pending` → `applied`, the
//! configuration write (`configs::write_configs`: version, history,
//! revision, audit), the change's record and finishing the claimed job. A
//! crash leaves all of it or none of it, so a job that runs again after a
//! crash or a lapsed claim applies the change exactly once (`schedule_apply`).
//! Edits and cancellations are compare-and-sets on `pending` too: they
//! either happen before the apply (which then sees them) or are refused
//! after it. An edit makes its author the requester (kind and id): whoever
//! last set what the change does must be allowed to make it when it is due.
//!
//! Owns `scheduled_changes` (rows read through `schedule_rows`);
//! configurations are written through `configs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::types::Json;

use super::This;
use super::configs;
use super::jobs;
use super::lookup::{self, EnvRef};
use super::prereqs;
use super::row::Conn;
use super::schedule_rows::{SELECT, by_id, change_from_row, event, in_env};
use super::tx::WriteTx;
use crate::store::ScheduleStore;
use crate::store::sql::common::{ConfigRow, FlagRow, invalid, prefixed};
use crate::store::{
    Actor, ConfigPatch, NewJob, NewScheduledChange, Result, ScheduleEdit, ScheduleState, ScheduledChange, StoreError,
};

/// The key of the job that applies change `id`.
fn job_key(id: i64) -> String {
    format!("change:{id}")
}

/// Refuses an empty change, a change of an archived flag (409 `archived`),
/// and one a configuration write of now would refuse, checked as PUT
/// checks it: the configuration (422) and the environment's prerequisite
/// graph (`prereqs::check`: 422 for an unknown flag or variant, 409
/// `prerequisite_cycle` and the like), paths under `change.`. Checked again
/// when the change is applied (`configs::write_configs`).
pub(super) async fn check_patch(
    tx: &mut WriteTx,
    env: &EnvRef,
    (flag, current): (&FlagRow, &ConfigRow),
    patch: &ConfigPatch,
) -> Result<()> {
    if patch.is_empty() {
        return Err(invalid("change", "empty", "the change sets nothing: give any field of a configuration write"));
    }
    if flag.def.archived_at.is_some() {
        return Err(configs::archived(&flag.def.key));
    }
    let config = patch.apply_to(&current.config);
    let segments = lookup::segment_keys(tx.conn().await?, env.project_id).await?;
    configs::validate(flag, current, &config, &segments)
        .map_err(|errors| StoreError::Validation(prefixed(errors, "change.")))?;
    let update = [(flag.def.key.as_str(), &current.config, &config)];
    prereqs::check(tx, env, &update).await.map_err(|err| match err {
        StoreError::Validation(errors) => StoreError::Validation(prefixed(errors, "change.")),
        StoreError::FieldConflict { code, message, fields } => {
            StoreError::FieldConflict { code, message, fields: prefixed(fields, "change.") }
        }
        other => other,
    })
}

fn conflict(change: &ScheduledChange, what: &str) -> StoreError {
    StoreError::Conflict {
        code: "schedule_state",
        message: format!("the scheduled change {} is {}: it can no longer be {what}", change.id, change.state.as_str()),
        current_version: None,
    }
}

/// Ends the change's job (cancelled: it must not run).
async fn end_job(conn: &mut Conn, id: i64, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE jobs SET state = 'done', locked_by = NULL, locked_until = NULL, updated_at = $2 \
         WHERE key = $1 AND state IN ('pending', 'running')",
    )
    .bind(job_key(id))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Cancels the pending changes of `flag` in every environment of project
/// `project_id` and their jobs, as `actor`, because the flag is being
/// archived (in the archive's transaction): `result` says so, each audited
/// `flag.schedule.cancel` with reason `why`. Their ids.
pub(super) async fn cancel_for_flag(
    tx: &mut WriteTx,
    actor: &Actor,
    (project_id, flag): (i64, &str),
    why: &str,
) -> Result<Vec<i64>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT c.id FROM scheduled_changes c JOIN environments e ON e.id = c.environment_id \
         WHERE e.project_id = $1 AND c.flag = $2 AND c.state = 'pending' ORDER BY c.id",
    )
    .bind(project_id)
    .bind(flag)
    .fetch_all(tx.conn().await?)
    .await?;
    let now = tx.now;
    for &id in &ids {
        sqlx::query("UPDATE scheduled_changes SET state = 'cancelled', result = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(format!("cancelled: {why}"))
            .bind(now)
            .execute(tx.conn().await?)
            .await?;
        end_job(tx.conn().await?, id, now).await?;
        let (_, change) = by_id(tx.conn().await?, id).await?;
        tx.audit(actor, event(project_id, &change, "flag.schedule.cancel", Some(why))).await?;
    }
    Ok(ids)
}

/// Moves the change's job to `at`, pending again (whatever its state: an
/// edited change must run at its new time, once).
async fn move_job(conn: &mut Conn, id: i64, at: DateTime<Utc>, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE jobs SET state = 'pending', due_at = $2, attempts = 0, locked_by = NULL, locked_until = NULL, \
         last_error = NULL, updated_at = $3 WHERE key = $1",
    )
    .bind(job_key(id))
    .bind(at.timestamp_millis())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl ScheduleStore for This {
    async fn schedule_change(
        &self,
        actor: &Actor,
        (project, env, flag): (&str, &str, &str),
        change: NewScheduledChange,
        kind: &str,
    ) -> Result<ScheduledChange> {
        guard!(actor, project, env, flag, change, kind);
        let mut tx = self.begin_write().await?;
        let env = lookup::env(tx.conn().await?, project, env).await?;
        let (flag, current) = lookup::flag_config(tx.conn().await?, &env, flag).await?;
        check_patch(&mut tx, &env, (&flag, &current), &change.change).await?;
        let now = tx.now;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO scheduled_changes (environment_id, flag, change, due_at, state, reason, requested_by, \
             requester_kind, requester_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5, $6, $8, $9, $7, $7) RETURNING id",
        )
        .bind(env.id)
        .bind(&flag.def.key)
        .bind(Json(&change.change))
        .bind(change.at.timestamp_millis())
        .bind(&change.reason)
        .bind(&actor.name)
        .bind(now)
        .bind(actor.requester().map(|r| r.kind.as_str()))
        .bind(actor.requester().map(|r| r.id))
        .fetch_one(tx.conn().await?)
        .await?;
        let job =
            NewJob { kind: kind.to_string(), key: job_key(id), payload: json!({ "change": id }), due_at: change.at };
        jobs::upsert(tx.conn().await?, &job, now).await?;
        let (_, created) = by_id(tx.conn().await?, id).await?;
        tx.audit(actor, event(env.project_id, &created, "flag.schedule", created.reason.as_deref())).await?;
        tx.commit(self).await?;
        Ok(created)
    }

    async fn list_scheduled_changes(&self, project: &str, env: &str) -> Result<Vec<ScheduledChange>> {
        guard!(project, env);
        let mut conn = self.pool.acquire().await?;
        let env = lookup::env(&mut conn, project, env).await?;
        let rows = sqlx::query(&format!(
            "{SELECT} WHERE c.environment_id = $1 ORDER BY CASE WHEN c.state = 'pending' THEN 0 ELSE 1 END, \
             CASE WHEN c.state = 'pending' THEN c.due_at ELSE -c.id END, c.id LIMIT 200"
        ))
        .bind(env.id)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(change_from_row).collect()
    }

    async fn get_scheduled_change(&self, project: &str, env: &str, id: i64) -> Result<ScheduledChange> {
        guard!(project, env);
        let mut conn = self.pool.acquire().await?;
        let env = lookup::env(&mut conn, project, env).await?;
        in_env(&mut conn, &env, id).await
    }

    async fn edit_scheduled_change(
        &self,
        actor: &Actor,
        (project, env, id): (&str, &str, i64),
        edit: ScheduleEdit,
    ) -> Result<ScheduledChange> {
        guard!(actor, project, env, edit);
        let mut tx = self.begin_write().await?;
        let env = lookup::env(tx.conn().await?, project, env).await?;
        let current = in_env(tx.conn().await?, &env, id).await?;
        if current.state != ScheduleState::Pending {
            return Err(conflict(&current, "edited"));
        }
        if let Some(patch) = &edit.change {
            let (flag, config) = lookup::flag_config(tx.conn().await?, &env, &current.flag).await?;
            check_patch(&mut tx, &env, (&flag, &config), patch).await?;
        }
        let at = edit.at.unwrap_or(current.at);
        let now = tx.now;
        // Whoever sets what the change does answers for it; moving it (its
        // time or reason) leaves it its requester's, who must still be
        // allowed when it is due.
        let (requested_by, requester) = match edit.change {
            Some(_) => (actor.name.clone(), actor.requester()),
            None => (current.requested_by.clone(), current.requester),
        };
        let moved = sqlx::query(
            "UPDATE scheduled_changes SET change = $2, due_at = $3, reason = $4, updated_at = $5, \
             requested_by = $6, requester_kind = $7, requester_id = $8 WHERE id = $1 AND state = 'pending'",
        )
        .bind(id)
        .bind(Json(edit.change.as_ref().unwrap_or(&current.change)))
        .bind(at.timestamp_millis())
        .bind(edit.reason.clone().or_else(|| current.reason.clone()))
        .bind(now)
        .bind(&requested_by)
        .bind(requester.map(|r| r.kind.as_str()))
        .bind(requester.map(|r| r.id))
        .execute(tx.conn().await?)
        .await?;
        if moved.rows_affected() == 0 {
            return Err(conflict(&in_env(tx.conn().await?, &env, id).await?, "edited"));
        }
        move_job(tx.conn().await?, id, at, now).await?;
        let edited = in_env(tx.conn().await?, &env, id).await?;
        tx.audit(actor, event(env.project_id, &edited, "flag.schedule.edit", edit.reason.as_deref())).await?;
        tx.commit(self).await?;
        Ok(edited)
    }

    async fn cancel_scheduled_change(
        &self,
        actor: &Actor,
        (project, env, id): (&str, &str, i64),
        reason: Option<String>,
    ) -> Result<ScheduledChange> {
        guard!(actor, project, env, reason);
        let mut tx = self.begin_write().await?;
        let env = lookup::env(tx.conn().await?, project, env).await?;
        let now = tx.now;
        let moved = sqlx::query(
            "UPDATE scheduled_changes SET state = 'cancelled', updated_at = $3 \
             WHERE id = $1 AND environment_id = $2 AND state = 'pending'",
        )
        .bind(id)
        .bind(env.id)
        .bind(now)
        .execute(tx.conn().await?)
        .await?;
        let change = in_env(tx.conn().await?, &env, id).await?;
        if moved.rows_affected() == 0 {
            return Err(conflict(&change, "cancelled"));
        }
        end_job(tx.conn().await?, id, now).await?;
        tx.audit(actor, event(env.project_id, &change, "flag.schedule.cancel", reason.as_deref())).await?;
        tx.commit(self).await?;
        Ok(change)
    }

    async fn scheduled_change(&self, id: i64) -> Result<ScheduledChange> {
        Ok(by_id(&mut *self.pool.acquire().await?, id).await?.1)
    }

    async fn apply_scheduled_change(
        &self,
        actor: &Actor,
        id: i64,
        (job, worker): (i64, &str),
        refusal: Option<&str>,
    ) -> Result<ScheduledChange> {
        guard!(actor, worker);
        super::schedule_apply::apply(self, actor, id, (job, worker), refusal).await
    }
}
