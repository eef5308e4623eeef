//! Configuration history: list versions; **restore this version** (a whole
//! earlier state) and **undo this change** (the inverse of one change, field
//! by field, refused when later changes touched those fields). Both can
//! preview (`dry_run`) the exact diff they apply.
//!
//! Implements `HistoryStore`. Reads configuration versions; writes only
//! through `configs`. The field arithmetic is `store::revert`'s.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::json;
use switchyard_core::{ValidationError, ValidationErrors};

use super::This;
use super::configs::{Update, Why, begin_env, begin_ordinary, validate, write_one};
use super::lookup::{self, EnvRef};
use super::row::{Conn, get, get_json};
use super::tx::WriteTx;
use crate::store::HistoryStore;
use crate::store::sql::common::{ConfigRow, invalid, not_found, to_i64, to_u64};
use crate::store::{
    Actor, FlagConfig, FlagConfigRecord, RestoreVersion, Result, Reverted, StoreError, UndoChange, changed_fields,
    config_diff, with_fields,
};

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

/// The reason of a write; a dry run needs none.
fn reason(reason: Option<&str>, dry_run: bool) -> Result<Option<&str>> {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        None if !dry_run => Err(invalid("reason", "required", "a reason is required")),
        r => Ok(r),
    }
}

/// Answers the diff of `update` and, unless `dry_run` (or nothing
/// changes), writes it and commits.
async fn preview_or_write(
    store: &This,
    (tx, actor, env): (WriteTx, &Actor, &EnvRef),
    update: Update,
    why: Why<'_>,
    dry_run: bool,
) -> Result<Reverted> {
    let current = update.current.record(&update.flag.def.key, &env.key)?;
    let diff = config_diff(&current, update.config.clone(), &env.name)?;
    if dry_run || update.config == update.current.config {
        return Ok(Reverted { value: current, changed: false, revision: None, dry_run, diff });
    }
    let written = write_one(store, tx, actor, env, update, why).await?;
    Ok(Reverted { value: written.value, changed: written.changed, revision: written.revision, dry_run, diff })
}

/// One stored version: number, configuration, author.
struct Version {
    version: u64,
    config: FlagConfig,
    by: String,
}

/// Versions `from..` of one flag in one environment, ascending.
async fn versions_from(conn: &mut Conn, env_id: i64, flag_id: i64, from: u64) -> Result<Vec<Version>> {
    let rows = sqlx::query(
        "SELECT version, config, created_by FROM flag_config_versions \
         WHERE environment_id = $1 AND flag_id = $2 AND version >= $3 ORDER BY version",
    )
    .bind(env_id)
    .bind(flag_id)
    .bind(to_i64(from))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Version {
                version: to_u64(get(r, "version")?)?,
                config: get_json(r, "config")?,
                by: get(r, "created_by")?,
            })
        })
        .collect()
}

fn nothing_to_undo(message: String) -> StoreError {
    StoreError::Conflict { code: "nothing_to_undo", message, current_version: None }
}

/// Each of `fields` that a version after the first of `later` changed, with
/// who changed it in which version.
fn touched_later(later: &[Version], fields: &[String]) -> Result<BTreeMap<String, Vec<String>>> {
    let mut touched: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in later.windows(2) {
        for field in changed_fields(&pair[0].config, &pair[1].config)? {
            if fields.contains(&field) {
                touched.entry(field).or_default().push(format!("version {} by {}", pair[1].version, pair[1].by));
            }
        }
    }
    Ok(touched)
}

fn undo_conflict(flag: &str, version: u64, touched: BTreeMap<String, Vec<String>>) -> StoreError {
    let names: Vec<String> = touched.keys().map(|f| format!("`{f}`")).collect();
    let message = format!(
        "cannot undo version {version} of `{flag}`: later changes touched the same field(s): {}. \
         Nothing was written; restore a whole version instead, or edit the flag",
        names.join(", ")
    );
    let fields = touched
        .into_iter()
        .map(|(field, by)| {
            let message = format!("`{field}` was changed again after version {version}: {}", by.join(", "));
            ValidationError { path: field, code: "changed_later", message }
        })
        .collect();
    StoreError::FieldConflict { code: "undo_conflict", message, fields: ValidationErrors(fields) }
}

#[async_trait]
impl HistoryStore for This {
    async fn config_history(&self, project: &str, env: &str, flag: &str) -> Result<Vec<FlagConfigRecord>> {
        guard!(project, env, flag);
        let mut tx = self.begin_read().await?;
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

    async fn revert_flag(
        &self,
        actor: &Actor,
        (project, env, flag): (&str, &str, &str),
        request: RestoreVersion,
    ) -> Result<Reverted> {
        guard!(actor, target = (project, env, flag), request);
        let reason = reason(request.reason.as_deref(), request.dry_run)?;
        let (mut tx, env) = if request.dry_run {
            begin_env(self, project, env).await?
        } else {
            begin_ordinary(self, actor, project, env).await?
        };
        let flag = lookup::flag(tx.conn().await?, env.project_id, flag).await?;
        let current = lookup::config(tx.conn().await?, &env, &flag).await?;
        let to_version = request.to_version;
        let Some(mut config) = version_config(tx.conn().await?, env.id, flag.id, to_version).await? else {
            return Err(not_found("configuration version", format!("{}@{to_version}", flag.def.key)));
        };
        config.kill = current.config.kill.clone();
        if config != current.config {
            let segments = lookup::segment_keys(tx.conn().await?, env.project_id).await?;
            validate(&flag, &current, &config, &segments)?;
        }
        let detail = json!({ "restored_version": to_version });
        let why = Why { action: "flag.revert", reason, group_id: None, detail: Some(detail), incident: None };
        preview_or_write(self, (tx, actor, &env), Update { flag, current, config }, why, request.dry_run).await
    }

    async fn undo_flag_change(
        &self,
        actor: &Actor,
        (project, env, flag): (&str, &str, &str),
        request: UndoChange,
    ) -> Result<Reverted> {
        guard!(actor, target = (project, env, flag), request);
        let reason = reason(request.reason.as_deref(), request.dry_run)?;
        let (mut tx, env) = if request.dry_run {
            begin_env(self, project, env).await?
        } else {
            begin_ordinary(self, actor, project, env).await?
        };
        let flag = lookup::flag(tx.conn().await?, env.project_id, flag).await?;
        let current = lookup::config(tx.conn().await?, &env, &flag).await?;
        let (key, n) = (flag.def.key.clone(), request.version);
        if n == 0 || n > current.version {
            return Err(not_found("configuration version", format!("{key}@{n}")));
        }
        if n == 1 {
            return Err(nothing_to_undo(format!(
                "version 1 of `{key}` in {} is its creation: there is no earlier state to go back to",
                env.key
            )));
        }
        let versions = versions_from(tx.conn().await?, env.id, flag.id, n - 1).await?;
        let [before, changed, ..] = versions.as_slice() else {
            return Err(StoreError::Corrupt(format!("versions {}..{n} of `{key}` are missing", n - 1)));
        };
        let fields = changed_fields(&before.config, &changed.config)?;
        if fields.is_empty() {
            return Err(nothing_to_undo(format!(
                "version {n} of `{key}` only killed or restored it: use the kill switch (kill / restore) for that"
            )));
        }
        let touched = touched_later(&versions[1..], &fields)?;
        if !touched.is_empty() {
            return Err(undo_conflict(&key, n, touched));
        }
        let config = with_fields(&current.config, &before.config, &fields)?;
        if config != current.config {
            let segments = lookup::segment_keys(tx.conn().await?, env.project_id).await?;
            validate(&flag, &current, &config, &segments)?;
        }
        let detail = json!({ "undid": { "version": n, "fields": fields } });
        let why = Why { action: "flag.undo", reason, group_id: None, detail: Some(detail), incident: None };
        preview_or_write(self, (tx, actor, &env), Update { flag, current, config }, why, request.dry_run).await
    }
}
