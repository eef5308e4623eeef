//! Scheduled changes ([`ScheduleStore`](crate::store::ScheduleStore)).
//!
//! A change and its job (`jobs`, key `change:<id>`, payload `{"change":
//! id}`) are written together. Applying one is a single transaction under
//! the environment's lock: the compare-and-set `pending` → `applied`, the
//! configuration write (`configs::write_configs`: version, history,
//! revision, audit), the change's record and finishing the claimed job. A
//! crash leaves all of it or none of it, so a job that runs again after a
//! crash or a lapsed claim applies the change exactly once. Edits and
//! cancellations are compare-and-sets on `pending` too: they either happen
//! before the apply (which then sees them) or are refused after it.
//!
//! Owns `scheduled_changes`; configurations are written through `configs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::types::Json;
use switchyard_core::ValidationErrors;

use super::This;
use super::audit::Audit;
use super::configs::{self, Update, Why, begin_env, write_configs};
use super::jobs;
use super::lookup::{self, EnvRef};
use super::row::{Conn, Row, get, get_json};
use super::tx::WriteTx;
use crate::store::ScheduleStore;
use crate::store::sql::common::{ConfigRow, FlagRow, invalid, not_found, to_i64, to_time, to_u64};
use crate::store::{
    Actor, ConfigPatch, FlagConfig, NewJob, NewScheduledChange, Result, ScheduleEdit, ScheduleState, ScheduledChange,
    StoreError,
};

const SELECT: &str = "SELECT c.id, e.project_id, p.key AS project_key, e.key AS env_key, c.flag, c.change, \
                      c.due_at, c.state, c.reason, c.requested_by, c.revision, c.result, c.created_at, c.updated_at \
                      FROM scheduled_changes c JOIN environments e ON e.id = c.environment_id \
                      JOIN projects p ON p.id = e.project_id";

/// The key of the job that applies change `id`.
fn job_key(id: i64) -> String {
    format!("change:{id}")
}

fn change_from_row(row: &Row) -> Result<ScheduledChange> {
    let state: String = get(row, "state")?;
    Ok(ScheduledChange {
        id: get(row, "id")?,
        project: get(row, "project_key")?,
        environment: get(row, "env_key")?,
        flag: get(row, "flag")?,
        change: get_json(row, "change")?,
        at: to_time(get(row, "due_at")?)?,
        state: ScheduleState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown scheduled change state `{state}`")))?,
        reason: get(row, "reason")?,
        requested_by: get(row, "requested_by")?,
        revision: get::<Option<i64>>(row, "revision")?.map(to_u64).transpose()?,
        result: get(row, "result")?,
        created_at: to_time(get(row, "created_at")?)?,
        updated_at: to_time(get(row, "updated_at")?)?,
    })
}

/// A change by id, with its project's row id.
async fn by_id(conn: &mut Conn, id: i64) -> Result<(i64, ScheduledChange)> {
    let row = sqlx::query(&format!("{SELECT} WHERE c.id = $1")).bind(id).fetch_optional(conn).await?;
    let row = row.ok_or_else(|| not_found("scheduled change", id.to_string()))?;
    Ok((get(&row, "project_id")?, change_from_row(&row)?))
}

/// A change of environment `env` (another environment's id is not found).
async fn in_env(conn: &mut Conn, env: &EnvRef, id: i64) -> Result<ScheduledChange> {
    let row = sqlx::query(&format!("{SELECT} WHERE c.id = $1 AND c.environment_id = $2"))
        .bind(id)
        .bind(env.id)
        .fetch_optional(conn)
        .await?;
    change_from_row(&row.ok_or_else(|| not_found("scheduled change", id.to_string()))?)
}

/// `config` with the fields `patch` sets replaced.
pub(super) fn patched(config: &FlagConfig, patch: &ConfigPatch) -> FlagConfig {
    let mut out = config.clone();
    if let Some(on) = patch.on {
        out.on = on;
    }
    if let Some(targets) = &patch.targets {
        out.targets = targets.clone();
    }
    if let Some(rules) = &patch.rules {
        out.rules = rules.clone();
    }
    if let Some(fallthrough) = &patch.fallthrough {
        out.fallthrough = fallthrough.clone();
    }
    out
}

/// Refuses an empty change, and one the flag's configuration of now would
/// refuse (paths under `change.`).
pub(super) async fn check_patch(
    conn: &mut Conn,
    env: &EnvRef,
    (flag, current): (&FlagRow, &ConfigRow),
    patch: &ConfigPatch,
) -> Result<()> {
    if patch.is_empty() {
        return Err(invalid("change", "empty", "the change sets nothing: give on, targets, rules or fallthrough"));
    }
    let config = patched(&current.config, patch);
    let segments = lookup::segment_keys(conn, env.project_id).await?;
    configs::validate(flag, current, &config, &segments).map_err(|errors| {
        let prefixed = errors.0.into_iter().map(|mut e| {
            e.path = if e.path.is_empty() { "change".into() } else { format!("change.{}", e.path) };
            e
        });
        StoreError::Validation(ValidationErrors(prefixed.collect()))
    })
}

fn conflict(change: &ScheduledChange, what: &str) -> StoreError {
    StoreError::Conflict {
        code: "schedule_state",
        message: format!("the scheduled change {} is {}: it can no longer be {what}", change.id, change.state.as_str()),
        current_version: None,
    }
}

fn event<'a>(project_id: i64, change: &'a ScheduledChange, action: &'a str, reason: Option<&'a str>) -> Audit<'a> {
    let after = json!({ "scheduled": {
        "id": change.id, "at": change.at, "change": change.change, "state": change.state,
        "requested_by": change.requested_by,
    }});
    Audit {
        project_id: Some(project_id),
        environment: Some(&change.environment),
        flag: Some(&change.flag),
        action,
        reason,
        after: Some(after),
        ..Audit::default()
    }
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

/// The configuration write of a due change, in the apply transaction:
/// the revision, or `None` when the flag already served it.
async fn write_change(tx: &mut WriteTx, actor: &Actor, env: &EnvRef, change: &ScheduledChange) -> Result<Option<u64>> {
    let (flag, current) = lookup::flag_config(tx.conn().await?, env, &change.flag).await?;
    let config = patched(&current.config, &change.change);
    if config == current.config {
        return Ok(None);
    }
    let segments = lookup::segment_keys(tx.conn().await?, env.project_id).await?;
    configs::validate(&flag, &current, &config, &segments)?;
    let action = if change.change.is_toggle() { "flag.toggle" } else { "flag.config.update" };
    let detail = json!({ "scheduled": { "id": change.id, "requested_by": change.requested_by, "at": change.at } });
    let why = Why { action, reason: change.reason.as_deref(), group_id: None, detail: Some(detail), incident: None };
    let (_, revision) = write_configs(tx, actor, env, &[Update { flag, current, config }], &why).await?;
    Ok(Some(revision))
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
        check_patch(tx.conn().await?, &env, (&flag, &current), &change.change).await?;
        let now = tx.now;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO scheduled_changes (environment_id, flag, change, due_at, state, reason, requested_by, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $7) RETURNING id",
        )
        .bind(env.id)
        .bind(&flag.def.key)
        .bind(Json(&change.change))
        .bind(change.at.timestamp_millis())
        .bind(&change.reason)
        .bind(&actor.name)
        .bind(now)
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
            check_patch(tx.conn().await?, &env, (&flag, &config), patch).await?;
        }
        let at = edit.at.unwrap_or(current.at);
        let now = tx.now;
        let moved = sqlx::query(
            "UPDATE scheduled_changes SET change = $2, due_at = $3, reason = $4, updated_at = $5 \
             WHERE id = $1 AND state = 'pending'",
        )
        .bind(id)
        .bind(Json(edit.change.as_ref().unwrap_or(&current.change)))
        .bind(at.timestamp_millis())
        .bind(edit.reason.clone().or_else(|| current.reason.clone()))
        .bind(now)
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
        sqlx::query(
            "UPDATE jobs SET state = 'done', locked_by = NULL, locked_until = NULL, updated_at = $2 \
             WHERE key = $1 AND state IN ('pending', 'running')",
        )
        .bind(job_key(id))
        .bind(now)
        .execute(tx.conn().await?)
        .await?;
        tx.audit(actor, event(env.project_id, &change, "flag.schedule.cancel", reason.as_deref())).await?;
        tx.commit(self).await?;
        Ok(change)
    }

    async fn apply_scheduled_change(
        &self,
        actor: &Actor,
        id: i64,
        (job, worker): (i64, &str),
    ) -> Result<ScheduledChange> {
        guard!(actor, worker);
        let (_, change) = by_id(&mut *self.pool.acquire().await?, id).await?;
        if change.state != ScheduleState::Pending || change.at > Utc::now() {
            return Ok(change);
        }
        let (mut tx, env) = begin_env(self, &change.project, &change.environment).await?;
        let now = tx.now;
        let claimed = sqlx::query(
            "UPDATE scheduled_changes SET state = 'applied', updated_at = $2 \
             WHERE id = $1 AND state = 'pending' AND due_at <= $2",
        )
        .bind(id)
        .bind(now)
        .execute(tx.conn().await?)
        .await?;
        if claimed.rows_affected() == 0 {
            // Cancelled or edited meanwhile: as it is now.
            drop(tx);
            return Ok(by_id(&mut *self.pool.acquire().await?, id).await?.1);
        }
        // Approvals turned on since it was scheduled: it is no longer an ordinary change.
        let gated: Option<i64> =
            sqlx::query_scalar("SELECT approvals FROM approval_policies WHERE environment_id = $1 AND approvals > 0")
                .bind(env.id)
                .fetch_optional(tx.conn().await?)
                .await?;
        let outcome = match gated {
            Some(n) => Err(StoreError::Conflict {
                code: "approval_required",
                message: format!("`{}` now needs {n} approval(s): open a change request instead", env.key),
                current_version: None,
            }),
            None => write_change(&mut tx, actor, &env, &change).await,
        };
        let (state, revision, result) = match outcome {
            Ok(Some(revision)) => (ScheduleState::Applied, Some(revision), None),
            Ok(None) => (ScheduleState::Applied, None, Some("the flag already served this: nothing written".into())),
            Err(
                err @ (StoreError::NotFound { .. }
                | StoreError::Validation(_)
                | StoreError::Conflict { .. }
                | StoreError::FieldConflict { .. }),
            ) => (ScheduleState::Failed, None, Some(err.to_string())),
            Err(err) => return Err(err),
        };
        sqlx::query(
            "UPDATE scheduled_changes SET state = $2, revision = $3, result = $4, updated_at = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(state.as_str())
        .bind(revision.map(to_i64))
        .bind(&result)
        .bind(now)
        .execute(tx.conn().await?)
        .await?;
        jobs::finish(tx.conn().await?, job, worker, now).await?;
        let (project_id, recorded) = by_id(tx.conn().await?, id).await?;
        if state == ScheduleState::Failed {
            tx.audit(actor, event(project_id, &recorded, "flag.schedule.failed", result.as_deref())).await?;
        }
        tx.commit(self).await?;
        Ok(recorded)
    }
}
