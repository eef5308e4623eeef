//! Per-environment configuration: read, edit, toggle — and `write_configs`,
//! the one way configurations of an environment are written (versions,
//! history rows, revision, audit).
//!
//! Implements `ConfigStore`. Owns the `flag_configs` and
//! `flag_config_versions` rows: every other area writes configurations through
//! this module. Must not touch definitions or segments.

use async_trait::async_trait;
use switchyard_core::{ChangeEvent, ValidationErrors};

use super::This;
use super::audit::Audit;
use super::batch::Arg;
use super::lookup::{self, EnvRef};
use super::prereqs;
use super::row::Conn;
use super::tx::WriteTx;
use crate::store::ConfigStore;
use crate::store::sql::common::{ConfigRow, FlagRow, check_flag, merge, now_ms, to_i64, to_json, version_conflict};
use crate::store::{Actor, ActorKind, FlagConfig, FlagConfigRecord, Result, StoreError, Written};

/// One configuration to write: the flag, its current row and the new config.
pub(super) struct Update {
    pub flag: FlagRow,
    pub current: ConfigRow,
    pub config: FlagConfig,
}

/// Shared audit fields of a batch of configuration writes.
pub(super) struct Why<'a> {
    pub action: &'a str,
    pub reason: Option<&'a str>,
    pub group_id: Option<&'a str>,
    /// Extra keys merged into each audit event's `after` (e.g. what an undo undid).
    pub detail: Option<serde_json::Value>,
    /// Incident id (kills and restores).
    pub incident: Option<&'a str>,
}

/// Inserts a configuration (version 1 of a flag in an environment) and its history row.
pub(super) async fn insert_config(
    conn: &mut Conn,
    env_id: i64,
    flag: &FlagRow,
    config: &FlagConfig,
    by: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO flag_configs (environment_id, flag_id, version, config, on_state, killed, updated_at, updated_by) \
         VALUES ($1, $2, 1, $3, $4, $5, $6, $7)",
    )
    .bind(env_id)
    .bind(flag.id)
    .bind(sqlx::types::Json(config))
    .bind(config.on)
    .bind(config.kill.is_some())
    .bind(now)
    .bind(by)
    .execute(&mut *conn)
    .await?;
    insert_history(conn, env_id, flag, 1, config, by, now, None).await
}

#[allow(clippy::too_many_arguments)]
async fn insert_history(
    conn: &mut Conn,
    env_id: i64,
    flag: &FlagRow,
    version: u64,
    config: &FlagConfig,
    by: &str,
    now: i64,
    group_id: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO flag_config_versions (environment_id, flag_id, flag_key, version, config, group_id, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(env_id)
    .bind(flag.id)
    .bind(&flag.def.key)
    .bind(to_i64(version))
    .bind(sqlx::types::Json(config))
    .bind(group_id)
    .bind(now)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes each update as version + 1 (with its history row), bumps the
/// environment once with every new flag state, appends one audit event per
/// flag, and returns the new records and the revision. `updates` must be
/// non-empty and validated; prerequisites are checked here, on the
/// environment's graph after the write (`prereqs::check`), before anything
/// is written. An archived flag is refused (409 `archived`) except by kills
/// and restores, which are never blocked: they are written and audited but
/// left out of the change event (no SDK holds an archived flag).
pub(super) async fn write_configs(
    tx: &mut WriteTx,
    actor: &Actor,
    env: &EnvRef,
    updates: &[Update],
    why: &Why<'_>,
) -> Result<(Vec<FlagConfigRecord>, u64)> {
    let break_glass = matches!(why.action, "flag.kill" | "flag.restore");
    if let Some(u) = updates.iter().find(|u| u.flag.def.archived_at.is_some()).filter(|_| !break_glass) {
        return Err(archived(&u.flag.def.key));
    }
    if env.project_archived_at.is_some() && !break_glass {
        return Err(StoreError::Conflict {
            code: "project_archived",
            message: format!("project `{}` is archived: restore it from the archive to change it", env.project),
            current_version: None,
        });
    }
    if env.archived_at.is_some() && !break_glass {
        return Err(StoreError::Conflict {
            code: "environment_archived",
            message: format!("environment `{}` is archived: restore it from the archive to change it", env.key),
            current_version: None,
        });
    }
    let changes: Vec<_> = updates.iter().map(|u| (u.flag.def.key.as_str(), &u.current.config, &u.config)).collect();
    prereqs::check(tx, env, &changes).await?;
    let now = tx.now;
    let mut records = Vec::with_capacity(updates.len());
    let mut flags = Vec::with_capacity(updates.len());
    for u in updates {
        let version = u.current.version + 1;
        let config = to_json(&u.config)?;
        tx.defer(
            "UPDATE flag_configs SET version = $3, config = $4, on_state = $5, killed = $6, updated_at = $7, updated_by = $8 \
             WHERE environment_id = $1 AND flag_id = $2",
            vec![
                Arg::Int(env.id),
                Arg::Int(u.flag.id),
                Arg::Int(to_i64(version)),
                Arg::Json(config.clone()),
                Arg::Bool(u.config.on),
                Arg::Bool(u.config.kill.is_some()),
                Arg::Int(now),
                Arg::Text(actor.name.clone()),
            ],
        );
        tx.defer(
            "INSERT INTO flag_config_versions (environment_id, flag_id, flag_key, version, config, group_id, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            vec![
                Arg::Int(env.id),
                Arg::Int(u.flag.id),
                Arg::Text(u.flag.def.key.clone()),
                Arg::Int(to_i64(version)),
                Arg::Json(config),
                Arg::OptText(why.group_id.map(str::to_string)),
                Arg::Int(now),
                Arg::Text(actor.name.clone()),
            ],
        );
        let row = ConfigRow { version, config: u.config.clone(), updated_at: now, updated_by: actor.name.clone() };
        records.push(row.record(&u.flag.def.key, &env.key)?);
        // An archived flag's kill is kept (a restore from the archive
        // brings it back killed) but no SDK holds the flag to hear of it.
        if u.flag.def.archived_at.is_none() {
            flags.push(merge(&u.flag.def, version, &u.config));
        }
    }
    let revision = tx.bump(env, ChangeEvent { flags, ..ChangeEvent::default() }).await?;
    for (u, record) in updates.iter().zip(&records) {
        let before = u.current.record(&u.flag.def.key, &env.key)?;
        tx.audit(
            actor,
            Audit {
                project_id: Some(env.project_id),
                environment: Some(&env.key),
                flag: Some(&u.flag.def.key),
                action: why.action,
                reason: why.reason,
                before: Some(to_json(&before)?),
                after: Some(with_detail(to_json(record)?, why.detail.as_ref())),
                revision: Some(revision),
                group_id: why.group_id,
                incident: why.incident,
                ..Audit::default()
            },
        )
        .await?;
    }
    Ok((records, revision))
}

/// The refusal of an edit to an archived flag.
pub(super) fn archived(flag: &str) -> StoreError {
    StoreError::Conflict {
        code: "archived",
        message: format!("flag `{flag}` is archived: restore it from the archive (POST …/unarchive) to change it"),
        current_version: None,
    }
}

/// `after` with the keys of `detail` (an object) added.
fn with_detail(mut after: serde_json::Value, detail: Option<&serde_json::Value>) -> serde_json::Value {
    if let (Some(map), Some(serde_json::Value::Object(extra))) = (after.as_object_mut(), detail) {
        map.extend(extra.clone());
    }
    after
}

/// Validates `config` as the next version of `flag`; paths relative to the config.
pub(super) fn validate(
    flag: &FlagRow,
    current: &ConfigRow,
    config: &FlagConfig,
    segments: &std::collections::HashSet<String>,
) -> std::result::Result<(), ValidationErrors> {
    check_flag(&merge(&flag.def, current.version + 1, config), segments)
}

/// Opens a write transaction with the environment locked, reading no
/// approval policy: kills, panics, restores, triggers, release plans, the
/// scheduler and an approved change request's apply write through here.
pub(super) async fn begin_env(store: &This, project: &str, env: &str) -> Result<(WriteTx, EnvRef)> {
    open_env(store, project, env, None).await
}

/// [`begin_env`] for an ordinary change by `actor`: a user's or a token's
/// is refused (409 `approval_required`) when the environment's approval
/// policy asks for approvals; it must be a change request. The policy is
/// read in the statement that locks the environment (no round trip of its
/// own, and no window between the check and the write).
pub(super) async fn begin_ordinary(store: &This, actor: &Actor, project: &str, env: &str) -> Result<(WriteTx, EnvRef)> {
    open_env(store, project, env, Some(actor)).await
}

async fn open_env(store: &This, project: &str, env: &str, ordinary: Option<&Actor>) -> Result<(WriteTx, EnvRef)> {
    let mut tx = store.begin_write().await?;
    let (env, locked) = lookup::env_locked(tx.conn().await?, project, env).await?;
    let governed = ordinary.is_some_and(|actor| matches!(actor.kind, ActorKind::User | ActorKind::Token));
    if governed && locked.approvals > 0 {
        return Err(StoreError::Conflict {
            code: "approval_required",
            message: format!(
                "changes in `{}` need {} approval(s): open a change request (POST …/flags/{{flag}}/change-requests)",
                env.key, locked.approvals
            ),
            current_version: None,
        });
    }
    tx.locked(&env, locked.hooked);
    // Taken under the lock: timestamps follow the order of writes to the environment.
    tx.now = tx.now.max(now_ms());
    Ok((tx, env))
}

/// Writes one update (or nothing when `config` equals the current one) and commits.
pub(super) async fn write_one(
    store: &This,
    mut tx: WriteTx,
    actor: &Actor,
    env: &EnvRef,
    update: Update,
    why: Why<'_>,
) -> Result<Written<FlagConfigRecord>> {
    if update.config == update.current.config {
        return Ok(Written {
            value: update.current.record(&update.flag.def.key, &env.key)?,
            changed: false,
            revision: None,
        });
    }
    let (mut records, revision) = write_configs(&mut tx, actor, env, std::slice::from_ref(&update), &why).await?;
    tx.commit(store).await?;
    let value = records.pop().ok_or_else(|| StoreError::Corrupt("no record written".into()))?;
    Ok(Written { value, changed: true, revision: Some(revision) })
}

#[async_trait]
impl ConfigStore for This {
    async fn get_flag_config(&self, project: &str, env: &str, flag: &str) -> Result<FlagConfigRecord> {
        guard!(project, env, flag);
        let mut tx = self.begin_read().await?;
        let env = lookup::env(&mut tx, project, env).await?;
        let flag = lookup::flag(&mut tx, env.project_id, flag).await?;
        let row = lookup::config(&mut tx, &env, &flag).await?;
        row.record(&flag.def.key, &env.key)
    }

    async fn put_flag_config(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        flag: &str,
        mut config: FlagConfig,
        expected_version: u64,
        reason: Option<String>,
    ) -> Result<Written<FlagConfigRecord>> {
        guard!(actor, project, env, flag, config, reason);
        let (mut tx, env) = begin_ordinary(self, actor, project, env).await?;
        let (flag, current) = lookup::flag_config(tx.conn().await?, &env, flag).await?;
        if flag.def.archived_at.is_some() {
            return Err(archived(&flag.def.key));
        }
        if current.version != expected_version {
            return Err(version_conflict("configuration of flag", &flag.def.key, current.version, expected_version));
        }
        config.kill = current.config.kill.clone();
        if config != current.config {
            let segments = lookup::segment_keys(tx.conn().await?, env.project_id).await?;
            validate(&flag, &current, &config, &segments)?;
        }
        let why = Why {
            action: "flag.config.update",
            reason: reason.as_deref(),
            group_id: None,
            detail: None,
            incident: None,
        };
        write_one(self, tx, actor, &env, Update { flag, current, config }, why).await
    }

    async fn toggle_flag(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        flag: &str,
        on: bool,
        reason: Option<String>,
    ) -> Result<Written<FlagConfigRecord>> {
        guard!(actor, project, env, flag, reason);
        let (mut tx, env) = begin_ordinary(self, actor, project, env).await?;
        let (flag, current) = lookup::flag_config(tx.conn().await?, &env, flag).await?;
        if flag.def.archived_at.is_some() {
            return Err(archived(&flag.def.key));
        }
        let config = FlagConfig { on, ..current.config.clone() };
        let why =
            Why { action: "flag.toggle", reason: reason.as_deref(), group_id: None, detail: None, incident: None };
        write_one(self, tx, actor, &env, Update { flag, current, config }, why).await
    }
}
