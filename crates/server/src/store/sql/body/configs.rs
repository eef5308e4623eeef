//! Per-environment configuration: read, edit, toggle, kill, restore,
//! history, revert — and `write_configs`, the one way configurations of an
//! environment are written (versions, history, revision, audit).

use switchyard_core::{ChangeEvent, Kill, ValidationErrors};

use super::super::common::{
    ConfigRow, FlagRow, check_flag, invalid, merge, new_group_id, not_found, rfc3339, to_i64, to_json, to_u64,
    version_conflict,
};
use super::lookup::{self, EnvRef};
use super::tx::{Audit, Conn, WriteTx, get, get_json};
use super::{This, lock_env};
use crate::store::{
    Actor, FlagConfig, FlagConfigRecord, KillRequest, Result, StoreError, Written,
};

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
/// non-empty and validated.
pub(super) async fn write_configs(
    tx: &mut WriteTx,
    actor: &Actor,
    env: &EnvRef,
    updates: &[Update],
    why: &Why<'_>,
) -> Result<(Vec<FlagConfigRecord>, u64)> {
    let now = tx.now;
    let mut records = Vec::with_capacity(updates.len());
    let mut flags = Vec::with_capacity(updates.len());
    for u in updates {
        let version = u.current.version + 1;
        sqlx::query(
            "UPDATE flag_configs SET version = $3, config = $4, on_state = $5, killed = $6, updated_at = $7, updated_by = $8 \
             WHERE environment_id = $1 AND flag_id = $2",
        )
        .bind(env.id)
        .bind(u.flag.id)
        .bind(to_i64(version))
        .bind(sqlx::types::Json(&u.config))
        .bind(u.config.on)
        .bind(u.config.kill.is_some())
        .bind(now)
        .bind(&actor.name)
        .execute(tx.conn())
        .await?;
        insert_history(tx.conn(), env.id, &u.flag, version, &u.config, &actor.name, now, why.group_id).await?;
        let row = ConfigRow {
            flag_id: u.flag.id,
            version,
            config: u.config.clone(),
            updated_at: now,
            updated_by: actor.name.clone(),
        };
        records.push(row.record(&u.flag.def.key, &env.key)?);
        flags.push(merge(&u.flag.def, version, &u.config));
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
                after: Some(to_json(record)?),
                revision: Some(revision),
                group_id: why.group_id,
                ..Audit::default()
            },
        )
        .await?;
    }
    Ok((records, revision))
}

/// Validates `config` as the next version of `flag`; paths relative to the config.
pub(super) fn validate(flag: &FlagRow, current: &ConfigRow, config: &FlagConfig, segments: &std::collections::HashSet<String>) -> std::result::Result<(), ValidationErrors> {
    check_flag(&merge(&flag.def, current.version + 1, config), segments)
}

/// Opens a write transaction with the environment locked.
pub(super) async fn begin_env(store: &This, project: &str, env: &str) -> Result<(WriteTx, EnvRef)> {
    let mut tx = store.begin_write().await?;
    let env = lookup::env(tx.conn(), project, env).await?;
    lock_env(tx.conn(), env.id).await?;
    Ok((tx, env))
}

/// Writes one update (or nothing when `config` equals the current one) and commits.
async fn write_one(store: &This, mut tx: WriteTx, actor: &Actor, env: &EnvRef, update: Update, why: Why<'_>) -> Result<Written<FlagConfigRecord>> {
    if update.config == update.current.config {
        return Ok(Written { value: update.current.record(&update.flag.def.key, &env.key)?, changed: false, revision: None });
    }
    let (mut records, revision) = write_configs(&mut tx, actor, env, std::slice::from_ref(&update), &why).await?;
    tx.commit(store).await?;
    let value = records.pop().ok_or_else(|| StoreError::Corrupt("no record written".into()))?;
    Ok(Written { value, changed: true, revision: Some(revision) })
}

pub(super) async fn get_config(store: &This, project: &str, env: &str, flag: &str) -> Result<FlagConfigRecord> {
    let mut tx = store.begin_read().await?;
    let env = lookup::env(&mut tx, project, env).await?;
    let flag = lookup::flag(&mut tx, env.project_id, flag).await?;
    let row = lookup::config(&mut tx, &env, &flag).await?;
    row.record(&flag.def.key, &env.key)
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn put(
    store: &This,
    actor: &Actor,
    project: &str,
    env: &str,
    flag: &str,
    mut config: FlagConfig,
    expected_version: u64,
    reason: Option<String>,
) -> Result<Written<FlagConfigRecord>> {
    let (mut tx, env) = begin_env(store, project, env).await?;
    let flag = lookup::flag(tx.conn(), env.project_id, flag).await?;
    let current = lookup::config(tx.conn(), &env, &flag).await?;
    if current.version != expected_version {
        return Err(version_conflict("configuration of flag", &flag.def.key, current.version, expected_version));
    }
    config.kill = current.config.kill.clone();
    if config != current.config {
        let segments = lookup::segment_keys(tx.conn(), env.project_id).await?;
        validate(&flag, &current, &config, &segments)?;
    }
    let why = Why { action: "flag.config.update", reason: reason.as_deref(), group_id: None };
    write_one(store, tx, actor, &env, Update { flag, current, config }, why).await
}

pub(super) async fn toggle(
    store: &This,
    actor: &Actor,
    (project, env, flag): (&str, &str, &str),
    on: bool,
    reason: Option<String>,
) -> Result<Written<FlagConfigRecord>> {
    let (mut tx, env) = begin_env(store, project, env).await?;
    let flag = lookup::flag(tx.conn(), env.project_id, flag).await?;
    let current = lookup::config(tx.conn(), &env, &flag).await?;
    let config = FlagConfig { on, ..current.config.clone() };
    let why = Why { action: "flag.toggle", reason: reason.as_deref(), group_id: None };
    write_one(store, tx, actor, &env, Update { flag, current, config }, why).await
}

/// Kill (`Some`) or restore (`None`) a set of flags as one revision.
pub(super) async fn set_kill(
    store: &This,
    actor: &Actor,
    (project, env): (&str, &str),
    flags: &[String],
    kill: Option<KillRequest>,
    reason: &str,
) -> Result<Written<Vec<FlagConfigRecord>>> {
    let (mut tx, env) = begin_env(store, project, env).await?;
    let mut keys: Vec<&str> = Vec::with_capacity(flags.len());
    for key in flags {
        if !keys.contains(&key.as_str()) {
            keys.push(key);
        }
    }
    let mut values = Vec::with_capacity(keys.len());
    let mut updates = Vec::new();
    for key in keys {
        let flag = lookup::flag(tx.conn(), env.project_id, key).await?;
        let current = lookup::config(tx.conn(), &env, &flag).await?;
        values.push(current.record(&flag.def.key, &env.key)?);
        let config = match &kill {
            Some(_) if current.config.kill.is_some() => continue,
            None if current.config.kill.is_none() => continue,
            Some(req) => FlagConfig {
                kill: Some(Kill {
                    reason: req.reason.clone(),
                    by: actor.name.clone(),
                    at: rfc3339(tx.now)?,
                    incident: req.incident.clone(),
                }),
                ..current.config.clone()
            },
            None => FlagConfig { kill: None, ..current.config.clone() },
        };
        updates.push((values.len() - 1, Update { flag, current, config }));
    }
    if updates.is_empty() {
        return Ok(Written { value: values, changed: false, revision: None });
    }
    let group = new_group_id();
    let action = if kill.is_some() { "flag.kill" } else { "flag.restore" };
    let why = Why { action, reason: Some(reason), group_id: Some(&group) };
    let (slots, updates): (Vec<usize>, Vec<Update>) = updates.into_iter().unzip();
    let (records, revision) = write_configs(&mut tx, actor, &env, &updates, &why).await?;
    tx.commit(store).await?;
    for (slot, record) in slots.into_iter().zip(records) {
        values[slot] = record;
    }
    Ok(Written { value: values, changed: true, revision: Some(revision) })
}

pub(super) async fn kill(store: &This, actor: &Actor, project: &str, env: &str, req: KillRequest) -> Result<Written<Vec<FlagConfigRecord>>> {
    if req.reason.trim().is_empty() {
        return Err(invalid("reason", "required", "a kill needs a reason"));
    }
    let flags = req.flags.clone();
    let reason = req.reason.clone();
    set_kill(store, actor, (project, env), &flags, Some(req), &reason).await
}

pub(super) async fn history(store: &This, project: &str, env: &str, flag: &str) -> Result<Vec<FlagConfigRecord>> {
    let mut tx = store.begin_read().await?;
    let env = lookup::env(&mut tx, project, env).await?;
    let flag = lookup::flag(&mut tx, env.project_id, flag).await?;
    let rows = sqlx::query(
        "SELECT version, config, created_at, created_by FROM flag_config_versions \
         WHERE environment_id = $1 AND flag_id = $2 ORDER BY version DESC",
    )
    .bind(env.id)
    .bind(flag.id)
    .fetch_all(&mut *tx)
    .await?;
    rows.iter()
        .map(|row| {
            ConfigRow {
                flag_id: flag.id,
                version: to_u64(get(row, "version")?)?,
                config: get_json(row, "config")?,
                updated_at: get(row, "created_at")?,
                updated_by: get(row, "created_by")?,
            }
            .record(&flag.def.key, &env.key)
        })
        .collect()
}

/// The configuration of one stored version.
pub(super) async fn version_config(conn: &mut Conn, env_id: i64, flag_id: i64, version: u64) -> Result<Option<FlagConfig>> {
    let row = sqlx::query("SELECT config FROM flag_config_versions WHERE environment_id = $1 AND flag_id = $2 AND version = $3")
        .bind(env_id)
        .bind(flag_id)
        .bind(to_i64(version))
        .fetch_optional(conn)
        .await?;
    row.map(|r| get_json(&r, "config")).transpose()
}

pub(super) async fn revert(
    store: &This,
    actor: &Actor,
    (project, env, flag): (&str, &str, &str),
    to_version: u64,
    reason: String,
) -> Result<Written<FlagConfigRecord>> {
    let (mut tx, env) = begin_env(store, project, env).await?;
    let flag = lookup::flag(tx.conn(), env.project_id, flag).await?;
    let current = lookup::config(tx.conn(), &env, &flag).await?;
    let Some(mut config) = version_config(tx.conn(), env.id, flag.id, to_version).await? else {
        return Err(not_found("configuration version", format!("{}@{to_version}", flag.def.key)));
    };
    config.kill = current.config.kill.clone();
    if config != current.config {
        let segments = lookup::segment_keys(tx.conn(), env.project_id).await?;
        validate(&flag, &current, &config, &segments)?;
    }
    let why = Why { action: "flag.revert", reason: Some(&reason), group_id: None };
    write_one(store, tx, actor, &env, Update { flag, current, config }, why).await
}
