//! A release plan started where approvals are on (issue 19 §3): it is
//! created `awaiting_approval` with its first step's job due at the end of
//! time, in the transaction that opens a change request for its first
//! stage's split (the plan's `change_request_id`, the link: migration 0019). Applying that request starts the plan in the
//! request's transaction (the plan `running`, its job due now, audited
//! `release.approved`); cancelling it aborts the plan. The plan's later
//! steps are the scheduler's writes as `plan:<id>`, which no policy gates.
//!
//! Reads and moves `release_plans` rows and their jobs, through `release`.

use super::lookup::EnvRef;
use super::release::move_plan;
use super::tx::WriteTx;
use crate::store::{Actor, ChangeRequest, PlanState, PlanStateChange, ReleasePlan, Result};

/// The plan awaiting `request`, if any (linked by `change_request_id`):
/// its id and its first step's job key.
async fn awaiting(tx: &mut WriteTx, env: &EnvRef, request: &ChangeRequest) -> Result<Option<(i64, String)>> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM release_plans WHERE environment_id = $1 AND change_request_id = $2 \
         AND state = 'awaiting_approval'",
    )
    .bind(env.id)
    .bind(request.id)
    .fetch_optional(tx.conn().await?)
    .await?;
    Ok(id.map(|id| (id, format!("release:{id}:0"))))
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
        // Bounded like every audit reason: many long approver names must
        // not make the request impossible to apply.
        reason: Some(crate::text::truncate(
            &format!("change request {} approved by {} and applied", request.id, request.approvers().join(", ")),
            crate::text::MAX_REASON,
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
