//! Applying a due scheduled change ([`ScheduleStore::apply_scheduled_change`](crate::store::ScheduleStore)):
//! one transaction under the environment's lock does the compare-and-set
//! `pending` → `applied`, the configuration write (`configs::write_configs`:
//! version, history, revision, audit), the change's record and finishing
//! the claimed job. A crash leaves all of it or none of it, so a job that
//! runs again after a crash or a lapsed claim applies the change exactly
//! once. A change refused by the caller (its requester may no longer make
//! it), or one the configuration of now refuses, is `failed` instead, with
//! why, audited `flag.schedule.failed`; nothing else is written.
//!
//! Writes `scheduled_changes` rows of `schedule` and configurations through `configs`.

use chrono::Utc;
use serde_json::json;

use super::This;
use super::configs::{self, Update, Why, begin_env, write_configs};
use super::jobs;
use super::lookup::{self, EnvRef};
use super::schedule_rows::{by_id, event};
use super::tx::WriteTx;
use crate::store::sql::common::to_i64;
use crate::store::{Actor, Result, ScheduleState, ScheduledChange, StoreError};

/// The configuration write of a due change, in the apply transaction:
/// the revision, or `None` when the flag already served it.
async fn write_change(tx: &mut WriteTx, actor: &Actor, env: &EnvRef, change: &ScheduledChange) -> Result<Option<u64>> {
    let (flag, current) = lookup::flag_config(tx.conn().await?, env, &change.flag).await?;
    let config = change.change.apply_to(&current.config);
    if config == current.config {
        return Ok(None);
    }
    let segments = lookup::segment_keys(tx.conn().await?, env.project_id).await?;
    configs::validate(&flag, &current, &config, &segments)?;
    let action = if change.change.is_toggle() { "flag.toggle" } else { "flag.config.update" };
    let detail = json!({ "scheduled": {
        "id": change.id, "requested_by": change.requested_by, "requester": change.requester, "at": change.at,
    }});
    let why = Why { action, reason: change.reason.as_deref(), group_id: None, detail: Some(detail), incident: None };
    let (_, revision) = write_configs(tx, actor, env, &[Update { flag, current, config }], &why).await?;
    Ok(Some(revision))
}

/// Why a due change is not applied now: approvals turned on since it was
/// scheduled (it is no longer an ordinary change), or `refusal`.
async fn refused(tx: &mut WriteTx, env: &EnvRef, refusal: Option<&str>) -> Result<Option<StoreError>> {
    if let Some(why) = refusal {
        let message = why.to_string();
        return Ok(Some(StoreError::Conflict { code: "requester_not_authorized", message, current_version: None }));
    }
    let gated: Option<i64> =
        sqlx::query_scalar("SELECT approvals FROM approval_policies WHERE environment_id = $1 AND approvals > 0")
            .bind(env.id)
            .fetch_optional(tx.conn().await?)
            .await?;
    Ok(gated.map(|n| StoreError::Conflict {
        code: "approval_required",
        message: format!("`{}` now needs {n} approval(s): open a change request instead", env.key),
        current_version: None,
    }))
}

/// See the module docs.
pub(super) async fn apply(
    store: &This,
    actor: &Actor,
    id: i64,
    (job, worker): (i64, &str),
    refusal: Option<&str>,
) -> Result<ScheduledChange> {
    let (_, change) = by_id(&mut *store.pool.acquire().await?, id).await?;
    if change.state != ScheduleState::Pending || change.at > Utc::now() {
        return Ok(change);
    }
    let (mut tx, env) = begin_env(store, &change.project, &change.environment).await?;
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
        return Ok(by_id(&mut *store.pool.acquire().await?, id).await?.1);
    }
    let outcome = match refused(&mut tx, &env, refusal).await? {
        Some(refusal) => Err(refusal),
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
            // Bounded as every audit reason is (a long validation error would
            // otherwise be refused by the audit and fail the job on every run).
        ) => (ScheduleState::Failed, None, Some(crate::text::truncate(&err.to_string(), crate::text::MAX_REASON))),
        Err(err) => return Err(err),
    };
    sqlx::query("UPDATE scheduled_changes SET state = $2, revision = $3, result = $4, updated_at = $5 WHERE id = $1")
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
    tx.commit(store).await?;
    Ok(recorded)
}
