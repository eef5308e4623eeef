//! A release plan started where approvals are on (issue 19 §3): it is
//! created `awaiting_approval` with its first step's job due at the end of
//! time (the job's payload names the change request it waits for:
//! `{"plan", "stage": 0, "change_request"}`), beside a change request for
//! its first stage's split. Applying that request starts the plan in the
//! request's transaction (the plan `running`, its job due now, audited
//! `release.approved`); cancelling it aborts the plan. The plan's later
//! steps are the scheduler's writes as `plan:<id>`, which no policy gates.
//!
//! Reads and moves `release_plans` rows and their jobs, through `release`.

use serde_json::Value;

use super::lookup::EnvRef;
use super::release::move_plan;
use super::row::get_json;
use super::tx::WriteTx;
use crate::store::{Actor, ChangeRequest, PlanState, PlanStateChange, ReleasePlan, Result};

/// The plan of `request`'s flag awaiting that request, if any: its id and
/// its first step's job key.
async fn awaiting(tx: &mut WriteTx, env: &EnvRef, request: &ChangeRequest) -> Result<Option<(i64, String)>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM release_plans WHERE environment_id = $1 AND flag = $2 AND state = 'awaiting_approval'",
    )
    .bind(env.id)
    .bind(&request.flag)
    .fetch_all(tx.conn().await?)
    .await?;
    for id in ids {
        let key = format!("release:{id}:0");
        let row =
            sqlx::query("SELECT payload FROM jobs WHERE key = $1").bind(&key).fetch_optional(tx.conn().await?).await?;
        let payload: Option<Value> = row.as_ref().map(|row| get_json(row, "payload")).transpose()?;
        if payload.and_then(|p| p.get("change_request").and_then(Value::as_i64)) == Some(request.id) {
            return Ok(Some((id, key)));
        }
    }
    Ok(None)
}

/// After `request` was applied (in its transaction): starts the plan that
/// waited for it, its first step due now. The plan, if one was started.
pub(super) async fn start(
    tx: &mut WriteTx,
    actor: &Actor,
    env: &EnvRef,
    request: &ChangeRequest,
) -> Result<Option<ReleasePlan>> {
    let Some((id, key)) = awaiting(tx, env, request).await? else { return Ok(None) };
    let change = PlanStateChange {
        from: &[PlanState::AwaitingApproval],
        to: PlanState::Running,
        action: "release.approved",
        reason: Some(format!(
            "change request {} approved by {} and applied",
            request.id,
            request.approvers().join(", ")
        )),
        job: None,
        close: None,
    };
    let (moved, plan) = move_plan(tx, actor, id, &change).await?;
    if moved {
        sqlx::query(
            "UPDATE jobs SET state = 'pending', due_at = $2, attempts = 0, locked_by = NULL, locked_until = NULL, \
             updated_at = $2 WHERE key = $1",
        )
        .bind(&key)
        .bind(tx.now)
        .execute(tx.conn().await?)
        .await?;
    }
    Ok(moved.then_some(plan))
}

/// After `request` was cancelled (in its transaction): aborts the plan
/// that waited for it and ends its job.
pub(super) async fn abort(tx: &mut WriteTx, actor: &Actor, env: &EnvRef, request: &ChangeRequest) -> Result<()> {
    let Some((id, key)) = awaiting(tx, env, request).await? else { return Ok(()) };
    let change = PlanStateChange {
        from: &[PlanState::AwaitingApproval],
        to: PlanState::Aborted,
        action: "release.abort",
        reason: Some(format!("its change request {} was cancelled", request.id)),
        job: None,
        close: None,
    };
    move_plan(tx, actor, id, &change).await?;
    sqlx::query("UPDATE jobs SET state = 'done', updated_at = $2 WHERE key = $1")
        .bind(&key)
        .bind(tx.now)
        .execute(tx.conn().await?)
        .await?;
    Ok(())
}
