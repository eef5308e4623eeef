//! The rows of scheduled changes: reading them (with their requester), the
//! configuration a change makes, and the audit event of a change. The leaf
//! that `schedule` (scheduling, edits, cancellations), `schedule_apply`
//! (applying a due one) and `approvals` (a change request's patch) share.
//!
//! Reads `scheduled_changes`; writes nothing.

use serde_json::json;

use super::audit::Audit;
use super::lookup::EnvRef;
use super::row::{Conn, Row, get, get_json};
use crate::store::sql::common::{not_found, to_time, to_u64};
use crate::store::{ActorKind, Requester, Result, ScheduleState, ScheduledChange, StoreError};

pub(super) const SELECT: &str = "SELECT c.id, e.project_id, p.key AS project_key, e.key AS env_key, c.flag, c.change, \
                      c.due_at, c.state, c.reason, c.requested_by, c.requester_kind, c.requester_id, c.revision, c.result, \
                      c.created_at, c.updated_at \
                      FROM scheduled_changes c JOIN environments e ON e.id = c.environment_id \
                      JOIN projects p ON p.id = e.project_id";

/// A requester read from its kind and id columns (none when either is NULL).
pub(super) fn requester_from_row(row: &Row, kind: &str, id: &str) -> Result<Option<Requester>> {
    let (Some(kind), Some(id)) = (get::<Option<String>>(row, kind)?, get::<Option<i64>>(row, id)?) else {
        return Ok(None);
    };
    let kind =
        ActorKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("unknown requester kind `{kind}`")))?;
    Ok(Some(Requester { kind, id }))
}

pub(super) fn change_from_row(row: &Row) -> Result<ScheduledChange> {
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
        requester: requester_from_row(row, "requester_kind", "requester_id")?,
        revision: get::<Option<i64>>(row, "revision")?.map(to_u64).transpose()?,
        result: get(row, "result")?,
        created_at: to_time(get(row, "created_at")?)?,
        updated_at: to_time(get(row, "updated_at")?)?,
    })
}

/// A change by id, with its project's row id.
pub(super) async fn by_id(conn: &mut Conn, id: i64) -> Result<(i64, ScheduledChange)> {
    let row = sqlx::query(&format!("{SELECT} WHERE c.id = $1")).bind(id).fetch_optional(conn).await?;
    let row = row.ok_or_else(|| not_found("scheduled change", id.to_string()))?;
    Ok((get(&row, "project_id")?, change_from_row(&row)?))
}

/// A change of environment `env` (another environment's id is not found).
pub(super) async fn in_env(conn: &mut Conn, env: &EnvRef, id: i64) -> Result<ScheduledChange> {
    let row = sqlx::query(&format!("{SELECT} WHERE c.id = $1 AND c.environment_id = $2"))
        .bind(id)
        .bind(env.id)
        .fetch_optional(conn)
        .await?;
    change_from_row(&row.ok_or_else(|| not_found("scheduled change", id.to_string()))?)
}

pub(super) fn event<'a>(
    project_id: i64,
    change: &'a ScheduledChange,
    action: &'a str,
    reason: Option<&'a str>,
) -> Audit<'a> {
    let after = json!({ "scheduled": {
        "id": change.id, "at": change.at, "change": change.change, "state": change.state,
        "requested_by": change.requested_by, "requester": change.requester,
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
