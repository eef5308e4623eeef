//! Change requests and their notes as rows, their diff and audit event,
//! and opening one in a caller's transaction (`approvals`', and a release
//! plan's when it waits for one: `release`).

use serde_json::{Value, json};
use sqlx::types::Json;

use super::audit::Audit;
use super::lookup::{self, EnvRef};
use super::row::{Conn, Row, get, get_json};
use super::schedule::check_patch;
use super::schedule_rows::requester_from_row;
use super::tx::WriteTx;
use crate::store::revert::FieldChange;
use crate::store::sql::common::{not_found, to_i64, to_time, to_u64};
use crate::store::{
    Actor, ChangeRequest, ChangeRequestNote, ChangeRequestState, ConfigPatch, FlagConfig, NewChangeRequest, NoteKind,
    Result, StoreError,
};

pub(super) const SELECT: &str = "SELECT r.id, e.project_id, p.key AS project_key, e.key AS env_key, r.flag, r.change, \
                      r.base_version, r.diff, r.state, r.reason, r.author, r.author_kind, r.author_id, r.revision, \
                      r.created_at, r.updated_at \
                      FROM change_requests r JOIN environments e ON e.id = r.environment_id \
                      JOIN projects p ON p.id = e.project_id";

pub(super) async fn notes(conn: &mut Conn, id: i64) -> Result<Vec<ChangeRequestNote>> {
    let rows = sqlx::query("SELECT kind, author, author_kind, author_id, body, at FROM change_request_notes WHERE request_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| {
            let kind: String = get(row, "kind")?;
            Ok(ChangeRequestNote {
                kind: if kind == "approval" { NoteKind::Approval } else { NoteKind::Comment },
                author: get(row, "author")?,
                author_principal: requester_from_row(row, "author_kind", "author_id")?,
                body: get(row, "body")?,
                at: to_time(get(row, "at")?)?,
            })
        })
        .collect()
}

pub(super) fn request_from_row(row: &Row, notes: Vec<ChangeRequestNote>) -> Result<ChangeRequest> {
    let state: String = get(row, "state")?;
    Ok(ChangeRequest {
        id: get(row, "id")?,
        project: get(row, "project_key")?,
        environment: get(row, "env_key")?,
        flag: get(row, "flag")?,
        change: get_json(row, "change")?,
        base_version: to_u64(get(row, "base_version")?)?,
        diff: get_json(row, "diff")?,
        state: ChangeRequestState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown change request state `{state}`")))?,
        reason: get(row, "reason")?,
        author: get(row, "author")?,
        author_principal: requester_from_row(row, "author_kind", "author_id")?,
        notes,
        revision: get::<Option<i64>>(row, "revision")?.map(to_u64).transpose()?,
        created_at: to_time(get(row, "created_at")?)?,
        updated_at: to_time(get(row, "updated_at")?)?,
    })
}

/// The top-level configuration fields a patch sets, with their values in
/// `config` (`null`: absent there, as an unset fail-safe).
pub(super) fn fields(config: &FlagConfig, patch: &ConfigPatch) -> Result<Vec<(String, Value)>> {
    let all = serde_json::to_value(config).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(patch
        .fields()
        .into_iter()
        .map(|field| {
            let value = all.get(&field).cloned().unwrap_or(Value::Null);
            (field, value)
        })
        .collect())
}

/// The request's diff against `config`: each field it sets, before and after.
pub(super) fn diff(config: &FlagConfig, patch: &ConfigPatch) -> Result<Vec<FieldChange>> {
    let after = fields(&patch.apply_to(config), patch)?;
    let before = fields(config, patch)?;
    Ok(before
        .into_iter()
        .zip(after)
        .map(|((field, before), (_, after))| FieldChange { field, before, after })
        .collect())
}

/// Opens a change request on `flag` in `env`, audited, in `tx` (also
/// the transaction that creates a release plan waiting for it).
pub(super) async fn open_in(
    tx: &mut WriteTx,
    actor: &Actor,
    env: &EnvRef,
    flag: &str,
    request: NewChangeRequest,
) -> Result<ChangeRequest> {
    let (flag, current) = lookup::flag_config(tx.conn().await?, env, flag).await?;
    check_patch(tx, env, (&flag, &current), &request.change).await?;
    let diff = diff(&current.config, &request.change)?;
    let now = tx.now;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO change_requests (environment_id, flag, change, base_version, diff, state, reason, author, \
         author_kind, author_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $9, $10, $8, $8) RETURNING id",
    )
    .bind(env.id)
    .bind(&flag.def.key)
    .bind(Json(&request.change))
    .bind(to_i64(current.version))
    .bind(Json(&diff))
    .bind(&request.reason)
    .bind(&actor.name)
    .bind(now)
    .bind(actor.requester().map(|r| r.kind.as_str()))
    .bind(actor.requester().map(|r| r.id))
    .fetch_one(tx.conn().await?)
    .await?;
    let opened = in_env(tx.conn().await?, env, id).await?;
    tx.audit(actor, event(env, &opened, "change_request.open", opened.reason.as_deref())).await?;
    Ok(opened)
}

/// A request of environment `env`, with its notes.
pub(super) async fn in_env(conn: &mut Conn, env: &EnvRef, id: i64) -> Result<ChangeRequest> {
    let row = sqlx::query(&format!("{SELECT} WHERE r.id = $1 AND r.environment_id = $2"))
        .bind(id)
        .bind(env.id)
        .fetch_optional(&mut *conn)
        .await?;
    let row = row.ok_or_else(|| not_found("change request", id.to_string()))?;
    let notes = notes(conn, id).await?;
    request_from_row(&row, notes)
}

pub(super) fn event<'a>(
    env: &'a EnvRef,
    request: &'a ChangeRequest,
    action: &'a str,
    reason: Option<&'a str>,
) -> Audit<'a> {
    let after = json!({ "change_request": {
        "id": request.id, "author": request.author, "state": request.state, "diff": request.diff,
        "approvers": request.approvers(),
    }});
    Audit {
        project_id: Some(env.project_id),
        environment: Some(&env.key),
        flag: Some(&request.flag),
        action,
        reason,
        after: Some(after),
        ..Audit::default()
    }
}

/// Cancels the open change requests of `flag` in every environment of
/// project `project_id`, as `actor`, for `reason` (in the caller's
/// transaction: archiving the flag), each audited `change_request.cancel`.
/// Their ids. A plan awaiting one was aborted by the caller already.
pub(super) async fn cancel_for_flag(
    tx: &mut WriteTx,
    actor: &Actor,
    (project_id, flag): (i64, &str),
    reason: &str,
) -> Result<Vec<i64>> {
    let mut cancelled = Vec::new();
    for env in lookup::project_envs(tx.conn().await?, project_id).await? {
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE change_requests SET state = 'cancelled', updated_at = $3 \
             WHERE environment_id = $1 AND flag = $2 AND state = 'open' RETURNING id",
        )
        .bind(env.id)
        .bind(flag)
        .bind(tx.now)
        .fetch_all(tx.conn().await?)
        .await?;
        let mut ids = ids;
        ids.sort_unstable();
        for id in ids {
            let request = in_env(tx.conn().await?, &env, id).await?;
            tx.audit(actor, event(&env, &request, "change_request.cancel", Some(reason))).await?;
            cancelled.push(id);
        }
    }
    Ok(cancelled)
}
