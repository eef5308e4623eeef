//! Approval policies and change requests ([`ApprovalStore`](crate::store::ApprovalStore)).
//!
//! Applying a request is one transaction under the environment's lock:
//! the compare-and-set `open` → `applied`, the approval count, the
//! conflict check (each field the request sets must still hold the value
//! it had when the request was made), the configuration write
//! (`configs::write_configs`) and the request's revision; a release plan
//! that waited for the request starts with it (`release_approval`), and
//! one whose request is cancelled is aborted.
//!
//! Owns `approval_policies`, `change_requests` and `change_request_notes`;
//! configurations are written through `configs`.

use async_trait::async_trait;
use serde_json::{Value, json};
use sqlx::types::Json;
use switchyard_core::{ValidationError, ValidationErrors};

use super::This;
use super::audit::Audit;
use super::configs::{Update, Why, begin_env, write_configs};
use super::lookup::{self, EnvRef};
use super::release_approval;
use super::row::{Conn, Row, get, get_json};
use super::schedule::check_patch;
use super::schedule_rows::requester_from_row;
use crate::store::ApprovalStore;
use crate::store::revert::FieldChange;
use crate::store::sql::common::{not_found, to_i64, to_time, to_u64, unique_or};
use crate::store::{
    Actor, ApprovalPolicy, ChangeRequest, ChangeRequestNote, ChangeRequestState, ConfigPatch, FlagConfig,
    NewChangeRequest, NoteKind, Result, Role, StoreError, Written,
};

const SELECT: &str = "SELECT r.id, e.project_id, p.key AS project_key, e.key AS env_key, r.flag, r.change, \
                      r.base_version, r.diff, r.state, r.reason, r.author, r.author_kind, r.author_id, r.revision, \
                      r.created_at, r.updated_at \
                      FROM change_requests r JOIN environments e ON e.id = r.environment_id \
                      JOIN projects p ON p.id = e.project_id";

/// The top-level configuration fields a patch sets, with their values in
/// `config` (`null`: absent there, as an unset fail-safe).
fn fields(config: &FlagConfig, patch: &ConfigPatch) -> Result<Vec<(String, Value)>> {
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
fn diff(config: &FlagConfig, patch: &ConfigPatch) -> Result<Vec<FieldChange>> {
    let after = fields(&patch.apply_to(config), patch)?;
    let before = fields(config, patch)?;
    Ok(before
        .into_iter()
        .zip(after)
        .map(|((field, before), (_, after))| FieldChange { field, before, after })
        .collect())
}

async fn notes(conn: &mut Conn, id: i64) -> Result<Vec<ChangeRequestNote>> {
    let rows = sqlx::query("SELECT kind, author, body, at FROM change_request_notes WHERE request_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| {
            let kind: String = get(row, "kind")?;
            Ok(ChangeRequestNote {
                kind: if kind == "approval" { NoteKind::Approval } else { NoteKind::Comment },
                author: get(row, "author")?,
                body: get(row, "body")?,
                at: to_time(get(row, "at")?)?,
            })
        })
        .collect()
}

fn request_from_row(row: &Row, notes: Vec<ChangeRequestNote>) -> Result<ChangeRequest> {
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

/// A request of environment `env`, with its notes.
async fn in_env(conn: &mut Conn, env: &EnvRef, id: i64) -> Result<ChangeRequest> {
    let row = sqlx::query(&format!("{SELECT} WHERE r.id = $1 AND r.environment_id = $2"))
        .bind(id)
        .bind(env.id)
        .fetch_optional(&mut *conn)
        .await?;
    let row = row.ok_or_else(|| not_found("change request", id.to_string()))?;
    let notes = notes(conn, id).await?;
    request_from_row(&row, notes)
}

fn state_conflict(request: &ChangeRequest, what: &str) -> StoreError {
    StoreError::Conflict {
        code: "change_request_state",
        message: format!("change request {} is {}: it cannot be {what}", request.id, request.state.as_str()),
        current_version: None,
    }
}

fn event<'a>(env: &'a EnvRef, request: &'a ChangeRequest, action: &'a str, reason: Option<&'a str>) -> Audit<'a> {
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

/// 409 `change_conflict` naming each field the request sets that changed since it was made.
fn conflicts(config: &FlagConfig, request: &ChangeRequest) -> Result<()> {
    let now = fields(config, &request.change)?;
    let changed: Vec<ValidationError> = request
        .diff
        .iter()
        .filter(|d| now.iter().any(|(f, v)| *f == d.field && *v != d.before))
        .map(|d| ValidationError {
            path: d.field.clone(),
            code: "changed_since",
            message: format!("`{}` changed since the request was made: open a new one", d.field),
        })
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = changed.iter().map(|e| e.path.as_str()).collect();
    Err(StoreError::FieldConflict {
        code: "change_conflict",
        message: format!("the flag changed since the request was made ({}): nothing written", names.join(", ")),
        fields: ValidationErrors(changed),
    })
}

#[async_trait]
impl ApprovalStore for This {
    async fn approval_policy(&self, project: &str, env: &str) -> Result<ApprovalPolicy> {
        guard!(project, env);
        let mut conn = self.pool.acquire().await?;
        let env = lookup::env(&mut conn, project, env).await?;
        let row = sqlx::query("SELECT approvals, approver_role FROM approval_policies WHERE environment_id = $1")
            .bind(env.id)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(row) = row else { return Ok(ApprovalPolicy::default()) };
        let role: String = get(&row, "approver_role")?;
        Ok(ApprovalPolicy {
            approvals: u32::try_from(get::<i64>(&row, "approvals")?).unwrap_or(0),
            approver_role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role `{role}`")))?,
        })
    }

    async fn set_approval_policy(
        &self,
        actor: &Actor,
        (project, env): (&str, &str),
        policy: ApprovalPolicy,
    ) -> Result<ApprovalPolicy> {
        guard!(actor, project, env, policy);
        // Under the environment's lock, as every ordinary write reads the
        // policy (`begin_ordinary`): none runs half under the old one.
        let (mut tx, env) = begin_env(self, project, env).await?;
        let now = tx.now;
        sqlx::query(
            "INSERT INTO approval_policies (environment_id, approvals, approver_role, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (environment_id) DO UPDATE SET approvals = excluded.approvals, \
             approver_role = excluded.approver_role, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(env.id)
        .bind(i64::from(policy.approvals))
        .bind(policy.approver_role.as_str())
        .bind(&actor.name)
        .bind(now)
        .execute(tx.conn().await?)
        .await?;
        let after = Some(json!({ "approvals": policy.approvals, "approver_role": policy.approver_role }));
        let event = Audit {
            project_id: Some(env.project_id),
            environment: Some(&env.key),
            action: "environment.approvals",
            after,
            ..Audit::default()
        };
        tx.audit(actor, event).await?;
        tx.commit(self).await?;
        Ok(policy)
    }

    async fn open_change_request(
        &self,
        actor: &Actor,
        (project, env, flag): (&str, &str, &str),
        request: NewChangeRequest,
    ) -> Result<ChangeRequest> {
        guard!(actor, project, env, flag, request);
        let mut tx = self.begin_write().await?;
        let env = lookup::env(tx.conn().await?, project, env).await?;
        let (flag, current) = lookup::flag_config(tx.conn().await?, &env, flag).await?;
        check_patch(&mut tx, &env, (&flag, &current), &request.change).await?;
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
        let opened = in_env(tx.conn().await?, &env, id).await?;
        tx.audit(actor, event(&env, &opened, "change_request.open", opened.reason.as_deref())).await?;
        tx.commit(self).await?;
        Ok(opened)
    }

    async fn list_change_requests(&self, project: &str, env: &str) -> Result<Vec<ChangeRequest>> {
        guard!(project, env);
        let mut conn = self.pool.acquire().await?;
        let env = lookup::env(&mut conn, project, env).await?;
        let rows = sqlx::query(&format!(
            "{SELECT} WHERE r.environment_id = $1 \
             ORDER BY CASE WHEN r.state = 'open' THEN 0 ELSE 1 END, r.id DESC LIMIT 200"
        ))
        .bind(env.id)
        .fetch_all(&mut *conn)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let notes = notes(&mut conn, get(row, "id")?).await?;
            out.push(request_from_row(row, notes)?);
        }
        Ok(out)
    }

    async fn get_change_request(&self, project: &str, env: &str, id: i64) -> Result<ChangeRequest> {
        guard!(project, env);
        let mut conn = self.pool.acquire().await?;
        let env = lookup::env(&mut conn, project, env).await?;
        in_env(&mut conn, &env, id).await
    }

    async fn add_change_request_note(
        &self,
        actor: &Actor,
        (project, env, id): (&str, &str, i64),
        kind: NoteKind,
        body: Option<String>,
    ) -> Result<ChangeRequest> {
        guard!(actor, project, env, body);
        let mut tx = self.begin_write().await?;
        let env = lookup::env(tx.conn().await?, project, env).await?;
        let request = in_env(tx.conn().await?, &env, id).await?;
        if request.state != ChangeRequestState::Open {
            return Err(state_conflict(&request, "approved or commented on"));
        }
        let (kind_text, action) = match kind {
            NoteKind::Approval => ("approval", "change_request.approve"),
            NoteKind::Comment => ("comment", "change_request.comment"),
        };
        let now = tx.now;
        sqlx::query(
            "INSERT INTO change_request_notes (request_id, kind, author, body, at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(kind_text)
        .bind(&actor.name)
        .bind(&body)
        .bind(now)
        .execute(tx.conn().await?)
        .await
        .map_err(|e| unique_or(e, "approval", &actor.name))?;
        let noted = in_env(tx.conn().await?, &env, id).await?;
        tx.audit(actor, event(&env, &noted, action, body.as_deref())).await?;
        tx.commit(self).await?;
        Ok(noted)
    }

    async fn apply_change_request(
        &self,
        actor: &Actor,
        (project, env, id): (&str, &str, i64),
        approvals: u32,
    ) -> Result<Written<ChangeRequest>> {
        guard!(actor, project, env);
        let (mut tx, env) = begin_env(self, project, env).await?;
        let request = in_env(tx.conn().await?, &env, id).await?;
        if request.state != ChangeRequestState::Open {
            return Err(state_conflict(&request, "applied"));
        }
        let approvers = request.approvers();
        if (approvers.len() as u64) < u64::from(approvals) {
            return Err(StoreError::Conflict {
                code: "approvals_missing",
                message: format!("change request {id} has {} of the {approvals} approvals it needs", approvers.len()),
                current_version: None,
            });
        }
        let (flag, current) = lookup::flag_config(tx.conn().await?, &env, &request.flag).await?;
        conflicts(&current.config, &request)?;
        let config = request.change.apply_to(&current.config);
        let now = tx.now;
        let revision = if config == current.config {
            None
        } else {
            let segments = lookup::segment_keys(tx.conn().await?, env.project_id).await?;
            super::configs::validate(&flag, &current, &config, &segments)?;
            let action = if request.change.is_toggle() { "flag.toggle" } else { "flag.config.update" };
            let detail = json!({ "change_request": { "id": id, "author": request.author, "approvers": approvers } });
            let why =
                Why { action, reason: request.reason.as_deref(), group_id: None, detail: Some(detail), incident: None };
            Some(write_configs(&mut tx, actor, &env, &[Update { flag, current, config }], &why).await?.1)
        };
        sqlx::query("UPDATE change_requests SET state = 'applied', revision = $2, updated_at = $3 WHERE id = $1 AND state = 'open'")
            .bind(id)
            .bind(revision.map(to_i64))
            .bind(now)
            .execute(tx.conn().await?)
            .await?;
        let applied = in_env(tx.conn().await?, &env, id).await?;
        release_approval::start(&mut tx, actor, &env, &applied).await?;
        if revision.is_none() {
            tx.audit(actor, event(&env, &applied, "change_request.apply", None)).await?;
        }
        tx.commit(self).await?;
        Ok(Written { value: applied, changed: revision.is_some(), revision })
    }

    async fn cancel_change_request(
        &self,
        actor: &Actor,
        (project, env, id): (&str, &str, i64),
        reason: Option<String>,
    ) -> Result<ChangeRequest> {
        guard!(actor, project, env, reason);
        let mut tx = self.begin_write().await?;
        let env = lookup::env(tx.conn().await?, project, env).await?;
        let now = tx.now;
        let moved = sqlx::query(
            "UPDATE change_requests SET state = 'cancelled', updated_at = $3 \
             WHERE id = $1 AND environment_id = $2 AND state = 'open'",
        )
        .bind(id)
        .bind(env.id)
        .bind(now)
        .execute(tx.conn().await?)
        .await?;
        let request = in_env(tx.conn().await?, &env, id).await?;
        if moved.rows_affected() == 0 {
            return Err(state_conflict(&request, "cancelled"));
        }
        tx.audit(actor, event(&env, &request, "change_request.cancel", reason.as_deref())).await?;
        release_approval::abort(&mut tx, actor, &env, &request).await?;
        tx.commit(self).await?;
        Ok(request)
    }
}
