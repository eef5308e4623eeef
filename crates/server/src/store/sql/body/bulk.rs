//! Multi-flag writes of one environment, each one revision: restore to a
//! point in time, change sets and their revert.
//!
//! Implements `BulkStore`. Owns no rows of its own: it writes configurations
//! only through `configs::write_configs`, never around it.

use std::collections::HashMap;

use async_trait::async_trait;
use switchyard_core::{ValidationError, ValidationErrors};

use super::This;
use super::configs::{Update, Why, begin_env, begin_ordinary, validate, write_configs};
use super::history::version_config;
use super::lookup;
use super::row::{get, get_json};
use crate::store::BulkStore;
use crate::store::sql::common::{invalid, new_group_id, not_found, prefixed, to_u64, version_conflict};
use crate::store::{
    Actor, ChangeSetRequest, ChangeSetResult, FlagConfig, RestoreDiff, RestoreRequest, Result, StoreError, Written,
};

#[async_trait]
impl BulkStore for This {
    async fn restore_environment(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        request: RestoreRequest,
    ) -> Result<Written<Vec<RestoreDiff>>> {
        guard!(actor, project, env, request);
        let (mut tx, env) = if request.dry_run {
            begin_env(self, project, env).await?
        } else {
            begin_ordinary(self, actor, project, env).await?
        };
        let at = request.at.timestamp_millis();
        if at < env.created_at {
            let created = env.environment()?.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            return Err(invalid(
                "at",
                "before_environment",
                format!("{} did not exist then: it was created at {created}; choose a later time", env.name),
            ));
        }
        // The newest version of every flag written at or before `at`.
        let rows = sqlx::query(
            "SELECT v.flag_id, v.version, v.config FROM flag_config_versions v \
             WHERE v.environment_id = $1 AND v.created_at <= $2 AND v.version = ( \
               SELECT MAX(w.version) FROM flag_config_versions w \
               WHERE w.environment_id = v.environment_id AND w.flag_id = v.flag_id AND w.created_at <= $2)",
        )
        .bind(env.id)
        .bind(at)
        .fetch_all(tx.conn().await?)
        .await?;
        let mut then: HashMap<i64, (u64, FlagConfig)> = HashMap::with_capacity(rows.len());
        for row in &rows {
            then.insert(get(row, "flag_id")?, (to_u64(get(row, "version")?)?, get_json(row, "config")?));
        }

        let flags = lookup::flags(tx.conn().await?, env.project_id).await?;
        let segments = lookup::segment_keys(tx.conn().await?, env.project_id).await?;
        let mut diffs = Vec::new();
        let mut updates = Vec::new();
        let mut errors = ValidationErrors(Vec::new());
        // Archived flags are left as they are: no SDK holds them, and they refuse edits.
        for flag in flags.into_iter().filter(|f| f.def.archived_at.is_none()) {
            let current = lookup::config(tx.conn().await?, &env, &flag).await?;
            let (to_version, after) = match then.remove(&flag.id) {
                Some((version, config)) => (Some(version), FlagConfig { kill: current.config.kill.clone(), ..config }),
                // Created after `at`: switched off, nothing else touched.
                None => (None, FlagConfig { on: false, ..current.config.clone() }),
            };
            if after == current.config {
                continue;
            }
            if let Err(e) = validate(&flag, &current, &after, &segments) {
                errors.0.extend(prefixed(e, &format!("flags.{}.", flag.def.key)).0);
            }
            diffs.push(RestoreDiff {
                flag: flag.def.key.clone(),
                from_version: current.version,
                to_version,
                before: current.config.clone(),
                after: after.clone(),
            });
            updates.push(Update { flag, current, config: after });
        }
        if !errors.0.is_empty() {
            return Err(StoreError::Validation(errors));
        }
        if request.dry_run || updates.is_empty() {
            return Ok(Written { value: diffs, changed: false, revision: None });
        }
        let group = new_group_id();
        let why = Why {
            action: "environment.restore",
            reason: Some(&request.reason),
            group_id: Some(&group),
            detail: None,
            incident: None,
        };
        let (_, revision) = write_configs(&mut tx, actor, &env, &updates, &why).await?;
        tx.commit(self).await?;
        Ok(Written { value: diffs, changed: true, revision: Some(revision) })
    }

    async fn apply_change_set(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        set: ChangeSetRequest,
    ) -> Result<Written<ChangeSetResult>> {
        guard!(actor, project, env, set);
        if set.changes.is_empty() {
            return Err(invalid("changes", "required", "a change set needs at least one change"));
        }
        let (mut tx, env) = begin_ordinary(self, actor, project, env).await?;
        let segments = lookup::segment_keys(tx.conn().await?, env.project_id).await?;
        let mut errors = ValidationErrors(Vec::new());
        let mut seen: Vec<&str> = Vec::with_capacity(set.changes.len());
        // (index in the request, update); unchanged items keep their record.
        let mut values = Vec::with_capacity(set.changes.len());
        let mut updates = Vec::new();
        for (i, change) in set.changes.iter().enumerate() {
            if seen.contains(&change.flag.as_str()) {
                errors.0.push(ValidationError::new(
                    format!("changes[{i}].flag"),
                    "duplicate_key",
                    format!("flag `{}` appears more than once", change.flag),
                ));
                continue;
            }
            seen.push(&change.flag);
            let flag = lookup::flag(tx.conn().await?, env.project_id, &change.flag).await?;
            let current = lookup::config(tx.conn().await?, &env, &flag).await?;
            if current.version != change.version {
                return Err(version_conflict("configuration of flag", &flag.def.key, current.version, change.version));
            }
            values.push(current.record(&flag.def.key, &env.key)?);
            let config = FlagConfig { kill: current.config.kill.clone(), ..change.config.clone() };
            if config == current.config {
                continue;
            }
            if let Err(e) = validate(&flag, &current, &config, &segments) {
                errors.0.extend(prefixed(e, &format!("changes[{i}].config.")).0);
            }
            updates.push((values.len() - 1, Update { flag, current, config }));
        }
        if !errors.0.is_empty() {
            return Err(StoreError::Validation(errors));
        }
        let group = new_group_id();
        if updates.is_empty() {
            return Ok(Written {
                value: ChangeSetResult { id: group, configs: values },
                changed: false,
                revision: None,
            });
        }
        let why = Why {
            action: "change_set.apply",
            reason: set.reason.as_deref(),
            group_id: Some(&group),
            detail: None,
            incident: None,
        };
        let (slots, updates): (Vec<usize>, Vec<Update>) = updates.into_iter().unzip();
        let (records, revision) = write_configs(&mut tx, actor, &env, &updates, &why).await?;
        tx.commit(self).await?;
        for (slot, record) in slots.into_iter().zip(records) {
            values[slot] = record;
        }
        Ok(Written { value: ChangeSetResult { id: group, configs: values }, changed: true, revision: Some(revision) })
    }

    async fn revert_change_set(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        change_set: &str,
        reason: String,
    ) -> Result<Written<ChangeSetResult>> {
        guard!(actor, project, env, change_set, reason);
        let (mut tx, env) = begin_ordinary(self, actor, project, env).await?;
        // Change sets (and reverts of change sets, which are change sets too).
        let is_set: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM audit_events WHERE project_id = $1 AND environment = $2 AND group_id = $3 \
             AND action IN ('change_set.apply', 'change_set.revert') LIMIT 1",
        )
        .bind(env.project_id)
        .bind(&env.key)
        .bind(change_set)
        .fetch_optional(tx.conn().await?)
        .await?;
        if is_set.is_none() {
            return Err(not_found("change set", change_set));
        }
        let rows = sqlx::query(
            "SELECT flag_id, MIN(version) AS first_version FROM flag_config_versions \
             WHERE environment_id = $1 AND group_id = $2 GROUP BY flag_id ORDER BY flag_id",
        )
        .bind(env.id)
        .bind(change_set)
        .fetch_all(tx.conn().await?)
        .await?;
        let segments = lookup::segment_keys(tx.conn().await?, env.project_id).await?;
        let mut errors = ValidationErrors(Vec::new());
        let mut values = Vec::new();
        let mut updates = Vec::new();
        for row in &rows {
            // A flag deleted since has nothing left to revert.
            let Some(flag) = lookup::flag_by_id(tx.conn().await?, get(row, "flag_id")?).await? else {
                continue;
            };
            let first = to_u64(get(row, "first_version")?)?;
            let current = lookup::config(tx.conn().await?, &env, &flag).await?;
            values.push(current.record(&flag.def.key, &env.key)?);
            let Some(before) = version_config(tx.conn().await?, env.id, flag.id, first.saturating_sub(1)).await? else {
                continue;
            };
            let config = FlagConfig { kill: current.config.kill.clone(), ..before };
            if config == current.config {
                continue;
            }
            if let Err(e) = validate(&flag, &current, &config, &segments) {
                errors.0.extend(prefixed(e, &format!("flags.{}.", flag.def.key)).0);
            }
            updates.push((values.len() - 1, Update { flag, current, config }));
        }
        if !errors.0.is_empty() {
            return Err(StoreError::Validation(errors));
        }
        let group = new_group_id();
        if updates.is_empty() {
            return Ok(Written {
                value: ChangeSetResult { id: group, configs: values },
                changed: false,
                revision: None,
            });
        }
        let why = Why {
            action: "change_set.revert",
            reason: Some(&reason),
            group_id: Some(&group),
            detail: None,
            incident: None,
        };
        let (slots, updates): (Vec<usize>, Vec<Update>) = updates.into_iter().unzip();
        let (records, revision) = write_configs(&mut tx, actor, &env, &updates, &why).await?;
        tx.commit(self).await?;
        for (slot, record) in slots.into_iter().zip(records) {
            values[slot] = record;
        }
        Ok(Written { value: ChangeSetResult { id: group, configs: values }, changed: true, revision: Some(revision) })
    }
}
