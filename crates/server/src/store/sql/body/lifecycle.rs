//! Archive and restore from the archive (issue 19 part 4).
//!
//! Implements `LifecycleStore`. Owns the `archived_at` columns; leaves
//! configurations untouched (an archived flag keeps its kill and targeting,
//! so a restore from the archive serves exactly what it served). Archiving
//! stops the flag's running and paused release plans ([`abort_for_archive`])
//! and cancels its pending scheduled changes (`schedule::cancel_for_flag`)
//! in its transaction, reason `flag archived`, audited. What an
//! archived flag is left out of is decided where it is read: `lookup::env_flags`
//! (snapshots), `list` (lists, tags), `configs::write_configs` (edits).

use async_trait::async_trait;
use serde_json::json;
use switchyard_core::ChangeEvent;

use super::This;
use super::approval_rows;
use super::audit::Audit;
use super::env_lifecycle;
use super::lookup;
use super::prereqs;
use super::project_lifecycle;
use super::release;
use super::schedule;
use super::tx::WriteTx;
use crate::store::LifecycleStore;
use crate::store::sql::common::{now_ms, to_json, to_time};
use crate::store::{
    Actor, Environment, FlagDefinition, PlanState, PlanStateChange, Project, Result, StageClose, StoreError, Written,
};

/// Aborts the running or paused plans of `flag` in every environment of
/// project `project_id`, as `actor`, because the flag is being archived
/// (in the archive's transaction): reason `flag archived`, the stage entry
/// closed `aborted`. Their ids. The configuration is left as it is (the
/// archived flag is in no snapshot; a restore from the archive serves what
/// it served), and a plan's pending step finds it no longer running.
async fn abort_for_archive(tx: &mut WriteTx, actor: &Actor, project_id: i64, flag: &str) -> Result<Vec<i64>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT r.id FROM release_plans r JOIN environments e ON e.id = r.environment_id \
         WHERE e.project_id = $1 AND r.flag = $2 AND r.state IN ('awaiting_approval', 'running', 'paused') ORDER BY r.id",
    )
    .bind(project_id)
    .bind(flag)
    .fetch_all(tx.conn().await?)
    .await?;
    for &id in &ids {
        let summary = format!("release plan {id} aborted: {ARCHIVED}");
        let close = Some(StageClose { verdict: "aborted", summary, guard: None });
        let (from, to) =
            (&[PlanState::AwaitingApproval, PlanState::Running, PlanState::Paused][..], PlanState::Aborted);
        let change =
            PlanStateChange { from, to, action: "release.abort", reason: Some(ARCHIVED.into()), job: None, close };
        release::move_plan(tx, actor, id, &change).await?;
    }
    Ok(ids)
}

/// Why archiving stops a flag's plans and cancels its scheduled changes.
const ARCHIVED: &str = "flag archived";

fn unchanged(def: FlagDefinition) -> Written<FlagDefinition> {
    Written { value: def, changed: false, revision: None }
}

#[async_trait]
impl LifecycleStore for This {
    async fn archive_flag(
        &self,
        actor: &Actor,
        project: &str,
        key: &str,
        reason: &str,
    ) -> Result<Written<FlagDefinition>> {
        guard!(actor, project, flag = key, reason);
        let mut tx = self.begin_write().await?;
        let p = lookup::project(tx.conn().await?, project).await?;
        // Every environment write waits for the project lock: no edit can
        // name this flag as a prerequisite between the check and the write.
        tx.lock_project(p.id).await?;
        let flag = lookup::flag(tx.conn().await?, p.id, key).await?;
        if flag.def.archived_at.is_some() {
            return Ok(unchanged(flag.def));
        }
        let users = prereqs::active_users(tx.conn().await?, p.id, key).await?;
        if !users.is_empty() {
            return Err(StoreError::Conflict {
                code: "prerequisite_in_use",
                message: format!("flag `{key}` is a prerequisite of {users}; remove it there (or archive those) first"),
                current_version: None,
            });
        }
        sqlx::query("UPDATE flags SET archived_at = $2 WHERE id = $1")
            .bind(flag.id)
            .bind(tx.now)
            .execute(tx.conn().await?)
            .await?;
        // Nothing may change an archived flag later: its plans stop and its
        // scheduled changes are cancelled now, each audited.
        let plans = abort_for_archive(&mut tx, actor, p.id, key).await?;
        let changes = schedule::cancel_for_flag(&mut tx, actor, (p.id, key), ARCHIVED).await?;
        let requests = approval_rows::cancel_for_flag(&mut tx, actor, (p.id, key), ARCHIVED).await?;
        let def = FlagDefinition { archived_at: Some(to_time(tx.now)?), ..flag.def.clone() };
        let mut after = to_json(&def)?;
        after["stopped_plans"] = json!(plans);
        after["cancelled_changes"] = json!(changes);
        after["cancelled_requests"] = json!(requests);
        tx.audit(
            actor,
            Audit {
                project_id: Some(p.id),
                flag: Some(key),
                action: "flag.archive",
                reason: Some(reason),
                before: Some(to_json(&flag.def)?),
                after: Some(after),
                ..Audit::default()
            },
        )
        .await?;
        for env in &lookup::project_envs(tx.conn().await?, p.id).await? {
            tx.bump(env, ChangeEvent { deleted_flags: vec![key.to_string()], ..ChangeEvent::default() }).await?;
        }
        tx.commit(self).await?;
        Ok(Written { value: def, changed: true, revision: None })
    }

    async fn unarchive_flag(
        &self,
        actor: &Actor,
        project: &str,
        key: &str,
        reason: Option<&str>,
    ) -> Result<Written<FlagDefinition>> {
        guard!(actor, project, flag = key, reason);
        let mut tx = self.begin_write().await?;
        let p = lookup::project(tx.conn().await?, project).await?;
        tx.lock_project(p.id).await?;
        let flag = lookup::flag(tx.conn().await?, p.id, key).await?;
        if flag.def.archived_at.is_none() {
            return Ok(unchanged(flag.def));
        }
        let envs = lookup::project_envs(tx.conn().await?, p.id).await?;
        let archived: Vec<String> = lookup::flags(tx.conn().await?, p.id)
            .await?
            .into_iter()
            .filter(|f| f.def.archived_at.is_some() && f.id != flag.id)
            .map(|f| f.def.key)
            .collect();
        let mut configs = Vec::with_capacity(envs.len());
        for env in &envs {
            let config = lookup::config(tx.conn().await?, env, &flag).await?;
            if let Some(p) = config.config.prerequisites.iter().find(|p| archived.contains(&p.flag)) {
                return Err(StoreError::Conflict {
                    code: "prerequisite_archived",
                    message: format!(
                        "its prerequisite `{}` (in `{}`) is archived: restore that one from the archive first",
                        p.flag, env.key
                    ),
                    current_version: None,
                });
            }
            configs.push(config);
        }
        sqlx::query("UPDATE flags SET archived_at = NULL WHERE id = $1")
            .bind(flag.id)
            .execute(tx.conn().await?)
            .await?;
        let def = FlagDefinition { archived_at: None, ..flag.def.clone() };
        tx.audit(
            actor,
            Audit {
                project_id: Some(p.id),
                flag: Some(key),
                action: "flag.unarchive",
                reason,
                before: Some(to_json(&flag.def)?),
                after: Some(to_json(&def)?),
                ..Audit::default()
            },
        )
        .await?;
        super::flags::send_everywhere(&mut tx, &def, &envs, &configs).await?;
        tx.commit(self).await?;
        Ok(Written { value: def, changed: true, revision: None })
    }

    async fn archive_environment(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        reason: &str,
        detail: serde_json::Value,
    ) -> Result<Written<Environment>> {
        guard!(actor, project, env, reason);
        env_lifecycle::set_archived(self, actor, (project, env), true, Some(reason), Some(detail)).await
    }

    async fn unarchive_environment(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        reason: Option<&str>,
    ) -> Result<Written<Environment>> {
        guard!(actor, project, env, reason);
        env_lifecycle::set_archived(self, actor, (project, env), false, reason, None).await
    }

    async fn delete_environment(&self, actor: &Actor, project: &str, env: &str, reason: &str) -> Result<()> {
        guard!(actor, project, env, reason);
        env_lifecycle::delete(self, actor, (project, env), reason).await
    }

    async fn archive_project(
        &self,
        actor: &Actor,
        project: &str,
        reason: &str,
        detail: serde_json::Value,
    ) -> Result<Written<Project>> {
        guard!(actor, project, reason);
        project_lifecycle::set_archived(self, actor, project, true, Some(reason), Some(detail)).await
    }

    async fn unarchive_project(&self, actor: &Actor, project: &str, reason: Option<&str>) -> Result<Written<Project>> {
        guard!(actor, project, reason);
        project_lifecycle::set_archived(self, actor, project, false, reason, None).await
    }

    async fn delete_project(&self, actor: &Actor, project: &str, reason: &str) -> Result<()> {
        guard!(actor, project, reason);
        project_lifecycle::delete(self, actor, project, reason).await
    }

    async fn record_sdk_key_use(&self, id: i64) -> Result<()> {
        env_lifecycle::record_sdk_key_use(self, id, now_ms()).await
    }
}
