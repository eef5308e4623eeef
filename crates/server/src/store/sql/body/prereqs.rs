//! Prerequisites checked where configurations are written: inside the
//! write's transaction, with the environment locked (so two writes to one
//! environment are checked one after the other, and two concurrent edits
//! cannot close a loop between them), on the environment's graph as it
//! will be after the write; and the flag deletions and variant removals
//! that would leave a prerequisite pointing at nothing (they lock the
//! project and every environment, so no configuration write runs between
//! their check and their write).
//!
//! The rules are core's (`validate_prerequisite_graph`); this module reads
//! the graph. Owns no rows.

use std::collections::HashMap;

use switchyard_core::validate::{GRAPH_CODES, PrerequisiteNode, validate_prerequisite_graph};
use switchyard_core::{Flag, ValidationErrors};

use super::lookup::{self, EnvRef};
use super::row::{Conn, get, get_json};
use super::tx::WriteTx;
use crate::store::sql::common::prefixed;
use crate::store::{FlagConfig, Result, StoreError};

/// Refuses `updates` when one names a flag or variant the environment
/// lacks (422 `unknown_flag` / `unknown_variant`) or when the graph would
/// loop, chain deeper than core allows or need too many evaluations (409
/// with that code: it conflicts with other flags' state). Reads nothing
/// when no update changes prerequisites to a non-empty list. Paths are
/// relative to the configuration, prefixed `flags.<key>.` when several
/// flags are written.
///
/// `updates`: (flag key, current configuration, new configuration).
pub(super) async fn check(tx: &mut WriteTx, env: &EnvRef, updates: &[(&str, &FlagConfig, &FlagConfig)]) -> Result<()> {
    let changed: Vec<&str> = updates
        .iter()
        .filter(|(_, current, new)| !new.prerequisites.is_empty() && new.prerequisites != current.prerequisites)
        .map(|(key, _, _)| *key)
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let mut flags: Vec<Flag> = lookup::env_flags(tx.conn().await?, env.id).await?;
    for (key, _, new) in updates {
        if let Some(f) = flags.iter_mut().find(|f| f.key == *key) {
            f.prerequisites.clone_from(&new.prerequisites);
        }
    }
    let variants: Vec<Vec<&str>> = flags.iter().map(|f| f.variants.iter().map(|v| v.key.as_str()).collect()).collect();
    let nodes: HashMap<&str, PrerequisiteNode<'_>> = flags
        .iter()
        .zip(&variants)
        .map(|(f, v)| (f.key.as_str(), PrerequisiteNode { variants: v, prerequisites: &f.prerequisites }))
        .collect();
    let mut errors = ValidationErrors(Vec::new());
    for key in changed {
        if let Err(e) = validate_prerequisite_graph(&nodes, key) {
            let e = if updates.len() > 1 { prefixed(e, &format!("flags.{key}.")) } else { e };
            errors.0.extend(e.0);
        }
    }
    if let Some((code, message)) =
        errors.0.iter().find(|e| GRAPH_CODES.contains(&e.code)).map(|e| (e.code, e.message.clone()))
    {
        return Err(StoreError::FieldConflict { code, message, fields: errors });
    }
    errors.into_result().map_err(StoreError::Validation)
}

/// Where `flag` (by key) is a prerequisite in the project, as
/// "flag `a` in `production`" (needing `variant` only, when given), at most
/// five and a count of the rest; empty when nowhere.
pub(super) async fn users(conn: &mut Conn, project_id: i64, flag: &str, variant: Option<&str>) -> Result<String> {
    users_among(conn, project_id, flag, variant, true).await
}

/// [`users`] among the flags not archived (those an SDK holds): archiving
/// `flag` must not leave one of them pointing at nothing.
pub(super) async fn active_users(conn: &mut Conn, project_id: i64, flag: &str) -> Result<String> {
    users_among(conn, project_id, flag, None, false).await
}

async fn users_among(
    conn: &mut Conn,
    project_id: i64,
    flag: &str,
    variant: Option<&str>,
    archived_too: bool,
) -> Result<String> {
    let sql = if archived_too {
        "SELECT f.key AS flag_key, e.key AS env_key, c.config FROM flag_configs c \
         JOIN flags f ON f.id = c.flag_id JOIN environments e ON e.id = c.environment_id \
         WHERE f.project_id = $1 ORDER BY f.key, e.id"
    } else {
        "SELECT f.key AS flag_key, e.key AS env_key, c.config FROM flag_configs c \
         JOIN flags f ON f.id = c.flag_id JOIN environments e ON e.id = c.environment_id \
         WHERE f.project_id = $1 AND f.archived_at IS NULL ORDER BY f.key, e.id"
    };
    let rows = sqlx::query(sql).bind(project_id).fetch_all(conn).await?;
    let mut users = Vec::new();
    for row in &rows {
        let config: FlagConfig = get_json(row, "config")?;
        if config.prerequisites.iter().any(|p| p.flag == flag && variant.is_none_or(|v| p.variant == v)) {
            users.push(format!("flag `{}` in `{}`", get::<String>(row, "flag_key")?, get::<String>(row, "env_key")?));
        }
    }
    let more = if users.len() > 5 { format!(" and {} more", users.len() - 5) } else { String::new() };
    users.truncate(5);
    Ok(if users.is_empty() { String::new() } else { format!("{}{more}", users.join(", ")) })
}
