//! Release templates and plans ([`ReleaseStore`](crate::store::ReleaseStore)).
//! A plan's state and stage change by compare-and-set (`WHERE state …` /
//! `WHERE stage = …`), each together with the job it finishes and the job
//! it schedules, so a step that runs twice (a lapsed claim, a crash between
//! its write and its record) is recorded once.
//!
//! Owns `release_templates` and `release_plans`; the stage writes
//! themselves are configuration writes (`configs`), made by the caller.

use async_trait::async_trait;
use serde_json::json;
use sqlx::types::Json;

use super::This;
use super::audit::Audit;
use super::jobs;
use super::lookup;
use super::release_rows::{plan_from_row, template_from_row, update_history};
use super::row::{Conn, get};
use super::tx::WriteTx;
use crate::store::ReleaseStore;
use crate::store::sql::common::{check_key, not_found, to_time, unique_or};
use crate::store::{
    Actor, NewJob, NewReleasePlan, NewReleaseTemplate, PlanState, PlanStateChange, ReleasePlan, ReleaseTemplate,
    Result, StageRecord, StoreError,
};

macro_rules! plan_select {
    ($where:literal) => {
        concat!(
            "SELECT r.id, e.project_id, p.key AS project_key, e.key AS env_key, r.flag, r.template, r.control, \
             r.treatment, r.stages, r.guards, r.state, r.stage, r.stage_started_at, r.summary, r.history, \
             r.created_by, r.created_at, r.updated_at, r.change_request_id FROM release_plans r JOIN environments e ON e.id = r.environment_id \
             JOIN projects p ON p.id = e.project_id WHERE ",
            $where
        )
    };
}

/// A plan and its project's row id.
async fn plan_by_id(conn: &mut Conn, id: i64) -> Result<(i64, ReleasePlan)> {
    let row = sqlx::query(plan_select!("r.id = $1")).bind(id).fetch_optional(conn).await?;
    let row = row.ok_or_else(|| not_found("release plan", id.to_string()))?;
    Ok((get(&row, "project_id")?, plan_from_row(&row)?))
}

/// Moves plan `id` by `change` in `tx` (the state compare-and-set, its
/// stage entry closed, its next job, the audit event by `actor`); `false`
/// with the plan as it is when it was in none of `change.from` (nothing written).
pub(super) async fn move_plan(
    tx: &mut WriteTx,
    actor: &Actor,
    id: i64,
    change: &PlanStateChange,
) -> Result<(bool, ReleasePlan)> {
    let allowed: Vec<String> = change.from.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let sql = format!(
        "UPDATE release_plans SET state = $2, updated_at = $3 WHERE id = $1 AND state IN ({})",
        allowed.join(", ")
    );
    let now = tx.now;
    let moved = sqlx::query(&sql).bind(id).bind(change.to.as_str()).bind(now).execute(tx.conn().await?).await?;
    let moved = moved.rows_affected() > 0;
    if moved && change.close.is_some() {
        update_history(tx.conn().await?, id, now, change.close.as_ref(), None).await?;
    }
    let (project_id, plan) = plan_by_id(tx.conn().await?, id).await?;
    if moved {
        if let Some(job) = &change.job {
            jobs::upsert(tx.conn().await?, job, now).await?;
        }
        tx.audit(actor, plan_audit(project_id, &plan, change.action, change.reason.as_deref())).await?;
    }
    Ok((moved, plan))
}

const ACTIVE: &str = "SELECT COUNT(*) FROM release_plans WHERE state IN ('awaiting_approval', 'running', 'paused')";

/// 409 `plan_active`: the flag has a plan awaiting approval, running or paused here.
fn plan_active(flag: &str) -> StoreError {
    let message = format!("flag `{flag}` already has a release plan awaiting approval, running or paused here");
    StoreError::Conflict { code: "plan_active", message, current_version: None }
}

fn plan_audit<'a>(project_id: i64, plan: &'a ReleasePlan, action: &'a str, reason: Option<&'a str>) -> Audit<'a> {
    Audit {
        project_id: Some(project_id),
        environment: Some(&plan.environment),
        flag: Some(&plan.flag),
        action,
        reason,
        after: Some(json!({ "plan": plan.id, "state": plan.state, "stage": plan.stage })),
        ..Audit::default()
    }
}

#[async_trait]
impl ReleaseStore for This {
    async fn create_release_template(
        &self,
        actor: &Actor,
        project: &str,
        template: NewReleaseTemplate,
    ) -> Result<ReleaseTemplate> {
        guard!(actor, project, template);
        check_key(&template.key, "key")?;
        let mut tx = self.begin_write().await?;
        let project = lookup::project(tx.conn().await?, project).await?;
        let now = tx.now;
        sqlx::query(
            "INSERT INTO release_templates (project_id, key, name, stages, guards, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(project.id)
        .bind(&template.key)
        .bind(&template.name)
        .bind(Json(&template.stages))
        .bind(Json(&template.guards))
        .bind(&actor.name)
        .bind(now)
        .execute(tx.conn().await?)
        .await
        .map_err(|e| unique_or(e, "release template", &template.key))?;
        let after = json!({ "template": template.key, "stages": template.stages, "guards": template.guards });
        let event = Audit {
            project_id: Some(project.id),
            action: "release.template.create",
            after: Some(after),
            ..Audit::default()
        };
        tx.audit(actor, event).await?;
        tx.commit(self).await?;
        let NewReleaseTemplate { key, name, stages, guards } = template;
        Ok(ReleaseTemplate { key, name, stages, guards, created_by: actor.name.clone(), created_at: to_time(now)? })
    }

    async fn list_release_templates(&self, project: &str) -> Result<Vec<ReleaseTemplate>> {
        guard!(project);
        let mut conn = self.pool.acquire().await?;
        let project = lookup::project(&mut conn, project).await?;
        let rows = sqlx::query("SELECT * FROM release_templates WHERE project_id = $1 ORDER BY key")
            .bind(project.id)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(template_from_row).collect()
    }

    async fn get_release_template(&self, project: &str, key: &str) -> Result<ReleaseTemplate> {
        guard!(project, key);
        let mut conn = self.pool.acquire().await?;
        let project = lookup::project(&mut conn, project).await?;
        let row = sqlx::query("SELECT * FROM release_templates WHERE project_id = $1 AND key = $2")
            .bind(project.id)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
        template_from_row(&row.ok_or_else(|| not_found("release template", key))?)
    }

    async fn delete_release_template(&self, actor: &Actor, project: &str, key: &str) -> Result<()> {
        guard!(actor, project, key);
        let mut tx = self.begin_write().await?;
        let project = lookup::project(tx.conn().await?, project).await?;
        let gone = sqlx::query("DELETE FROM release_templates WHERE project_id = $1 AND key = $2")
            .bind(project.id)
            .bind(key)
            .execute(tx.conn().await?)
            .await?;
        if gone.rows_affected() == 0 {
            return Err(not_found("release template", key));
        }
        let before = Some(json!({ "template": key }));
        let event =
            Audit { project_id: Some(project.id), action: "release.template.delete", before, ..Audit::default() };
        tx.audit(actor, event).await?;
        tx.commit(self).await
    }

    async fn create_plan(
        &self,
        actor: &Actor,
        (project, env): (&str, &str),
        plan: NewReleasePlan,
        first: NewJob,
    ) -> Result<ReleasePlan> {
        guard!(actor, project, env, plan, first);
        // The environment locked: starts racing each other see each other's plan.
        let (mut tx, env) = super::configs::begin_env(self, project, env).await?;
        lookup::flag(tx.conn().await?, env.project_id, &plan.flag).await?;
        let now = tx.now;
        // The unique index covers running and paused plans; one awaiting approval counts too.
        let active = format!("{ACTIVE} AND environment_id = $1 AND flag = $2");
        if sqlx::query_scalar::<_, i64>(&active).bind(env.id).bind(&plan.flag).fetch_one(tx.conn().await?).await? > 0 {
            return Err(plan_active(&plan.flag));
        }
        // Where approvals are on: its change request, opened in this transaction.
        let awaiting = match plan.approval {
            Some(request) => Some(super::approval_rows::open_in(&mut tx, actor, &env, &plan.flag, request).await?.id),
            None => None,
        };
        let (state, summary) = match awaiting {
            Some(request) => ("awaiting_approval", Some(format!("awaiting approval: change request {request}"))),
            None => ("running", None),
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO release_plans (environment_id, flag, template, control, treatment, stages, guards, state, \
             summary, created_by, created_at, updated_at, change_request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $10, $11, $8, $9, $9, $12) RETURNING id",
        )
        .bind(env.id)
        .bind(&plan.flag)
        .bind(&plan.template)
        .bind(&plan.control)
        .bind(&plan.treatment)
        .bind(Json(&plan.stages))
        .bind(Json(&plan.guards))
        .bind(&actor.name)
        .bind(now)
        .bind(state)
        .bind(summary)
        .bind(awaiting)
        .fetch_one(tx.conn().await?)
        .await
        .map_err(|e| match unique_or(e, "release plan", &plan.flag) {
            StoreError::AlreadyExists { .. } => plan_active(&plan.flag),
            other => other,
        })?;
        let first = NewJob {
            key: first.key.replace("{plan}", &id.to_string()),
            payload: serde_json::from_str(&first.payload.to_string().replace("\"{plan}\"", &id.to_string()))
                .map_err(|e| StoreError::Corrupt(format!("job payload: {e}")))?,
            ..first
        };
        jobs::upsert(tx.conn().await?, &first, now).await?;
        let (_, created) = plan_by_id(tx.conn().await?, id).await?;
        tx.audit(actor, plan_audit(env.project_id, &created, "release.start", plan.reason.as_deref())).await?;
        tx.commit(self).await?;
        Ok(created)
    }

    async fn get_plan(&self, id: i64) -> Result<ReleasePlan> {
        let mut conn = self.pool.acquire().await?;
        Ok(plan_by_id(&mut conn, id).await?.1)
    }

    async fn latest_plan(&self, project: &str, env: &str, flag: &str) -> Result<ReleasePlan> {
        guard!(project, env, flag);
        let mut conn = self.pool.acquire().await?;
        let env = lookup::env(&mut conn, project, env).await?;
        let row = sqlx::query(plan_select!("r.environment_id = $1 AND r.flag = $2 ORDER BY r.id DESC LIMIT 1"))
            .bind(env.id)
            .bind(flag)
            .fetch_optional(&mut *conn)
            .await?;
        plan_from_row(&row.ok_or_else(|| not_found("release plan", flag))?)
    }

    async fn list_plans(&self, project: &str, env: &str, flag: &str) -> Result<Vec<ReleasePlan>> {
        guard!(project, env, flag);
        let mut conn = self.pool.acquire().await?;
        let env = lookup::env(&mut conn, project, env).await?;
        let rows = sqlx::query(plan_select!("r.environment_id = $1 AND r.flag = $2 ORDER BY r.id DESC"))
            .bind(env.id)
            .bind(flag)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(plan_from_row).collect()
    }

    async fn set_plan_state(&self, actor: &Actor, id: i64, change: PlanStateChange) -> Result<ReleasePlan> {
        guard!(actor, reason = change.reason, job = change.job, close = change.close);
        let mut tx = self.begin_write().await?;
        let (moved, plan) = move_plan(&mut tx, actor, id, &change).await?;
        if !moved {
            return Err(StoreError::Conflict {
                code: "plan_state",
                message: format!("the release plan is {}: cannot {}", plan.state.as_str(), change.action),
                current_version: None,
            });
        }
        tx.commit(self).await?;
        Ok(plan)
    }

    async fn record_stage(&self, id: i64, record: StageRecord) -> Result<bool> {
        guard!(summary = record.summary, next = record.next, close = record.close);
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let from = record.from.map_or(-1, i64::from);
        let sql = if record.finish {
            "UPDATE release_plans SET state = 'completed', stage = $2, summary = $3, updated_at = $4 \
             WHERE id = $1 AND state = 'running' AND COALESCE(stage, -1) = $5"
        } else {
            "UPDATE release_plans SET stage = $2, stage_started_at = $4, summary = $3, updated_at = $4 \
             WHERE id = $1 AND state = 'running' AND COALESCE(stage, -1) = $5"
        };
        let moved = sqlx::query(sql)
            .bind(id)
            .bind(i64::from(record.to))
            .bind(&record.summary)
            .bind(now)
            .bind(from)
            .execute(tx.conn().await?)
            .await?;
        if moved.rows_affected() == 0 {
            return Ok(false);
        }
        let next = (!record.finish).then_some((record.to, record.percent));
        update_history(tx.conn().await?, id, now, record.close.as_ref(), next).await?;
        if let Some((job, worker)) = &record.done {
            jobs::finish(tx.conn().await?, *job, worker, now).await?;
        }
        if let Some(next) = &record.next {
            jobs::upsert(tx.conn().await?, next, now).await?;
        }
        if record.finish {
            let (project_id, plan) = plan_by_id(tx.conn().await?, id).await?;
            let actor = Actor { name: format!("plan:{id}"), ..Actor::system() };
            tx.audit(&actor, plan_audit(project_id, &plan, "release.complete", Some(&record.summary))).await?;
        }
        tx.commit(self).await?;
        Ok(true)
    }

    async fn plan_counts(&self) -> Result<Vec<(PlanState, u64)>> {
        let rows =
            sqlx::query("SELECT state, COUNT(*) AS n FROM release_plans GROUP BY state").fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let state: String = get(row, "state")?;
            let state = PlanState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("plan state `{state}`")))?;
            out.push((state, u64::try_from(get::<i64>(row, "n")?).unwrap_or(0)));
        }
        Ok(out)
    }
}
