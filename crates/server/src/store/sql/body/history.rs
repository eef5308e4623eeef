//! Configuration history: list versions, revert to one.

use super::This;
use super::configs::{Update, Why, begin_env, validate, write_one};
use super::lookup;
use super::tx::{Conn, get, get_json};
use crate::store::sql::common::{ConfigRow, not_found, to_i64, to_u64};
use crate::store::{Actor, FlagConfig, FlagConfigRecord, Result, Written};

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
pub(super) async fn version_config(
    conn: &mut Conn,
    env_id: i64,
    flag_id: i64,
    version: u64,
) -> Result<Option<FlagConfig>> {
    let row = sqlx::query(
        "SELECT config FROM flag_config_versions WHERE environment_id = $1 AND flag_id = $2 AND version = $3",
    )
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
