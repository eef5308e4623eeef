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
use serde_json::json;
use switchyard_core::{ValidationError, ValidationErrors};

use super::This;
use super::approval_rows::{SELECT, event, fields, in_env, notes, open_in, request_from_row};
use super::audit::Audit;
use super::configs::{Update, Why, begin_env, write_configs};
use super::lookup;
use super::release_approval;
use super::row::get;
use crate::store::ApprovalStore;
use crate::store::sql::common::{to_i64, unique_or};
use crate::store::{
    Actor, ApprovalPolicy, ChangeRequest, ChangeRequestState, FlagConfig, NewChangeRequest, NoteKind, Result, Role,
    StoreError, Written,
};

fn state_conflict(request: &ChangeRequest, what: &str) -> StoreError {
    StoreError::Conflict {
        code: "change_request_state",
        message: format!("change request {} is {}: it cannot be {what}", request.id, request.state.as_str()),
        current_version: None,
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
        let opened = open_in(&mut tx, actor, &env, flag, request).await?;
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
        let who = actor.requester();
        sqlx::query(
            "INSERT INTO change_request_notes (request_id, kind, author, body, at, author_kind, author_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(kind_text)
        .bind(&actor.name)
        .bind(&body)
        .bind(now)
        .bind(who.map(|w| w.kind.as_str()))
        .bind(who.map(|w| w.id))
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
