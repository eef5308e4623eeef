//! Environments' lifecycle (issue 19 part 4): archive, restore from the
//! archive, delete an archived one; and the coarse record of SDK key use
//! that the in-use check before an archive reads.
//!
//! Called by `lifecycle` (the `LifecycleStore` impl). Owns
//! `environments.archived_at`, `sdk_keys.last_used_at` and deleting an
//! environment's rows. The in-use check itself is the op's
//! (`ops::lifecycle_env`): it needs the fleet.

use super::This;
use super::audit::Audit;
use super::lookup;
use crate::store::sql::common::{to_json, to_time};
use crate::store::{Actor, Environment, Result, StoreError, Written};

/// An SDK key's use is recorded at most this often (ms).
pub(super) const USE_RESOLUTION_MS: i64 = 5 * 60_000;

/// One conditional update (a no-op within [`USE_RESOLUTION_MS`] of the
/// last record), in a write transaction so that SQLite's writer order holds.
pub(super) async fn record_sdk_key_use(store: &This, id: i64, now: i64) -> Result<()> {
    let mut tx = store.begin_write().await?;
    sqlx::query("UPDATE sdk_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)")
        .bind(id)
        .bind(now)
        .bind(now - USE_RESOLUTION_MS)
        .execute(tx.conn().await?)
        .await?;
    tx.commit(store).await
}

/// Archives (`Some(reason)`) or restores from the archive (`None`) an
/// environment: one audited write under the project lock; no revision
/// (nothing an SDK sees changes).
pub(super) async fn set_archived(
    store: &This,
    actor: &Actor,
    (project, env): (&str, &str),
    archive: bool,
    reason: Option<&str>,
    detail: Option<serde_json::Value>,
) -> Result<Written<Environment>> {
    let mut tx = store.begin_write().await?;
    let p = lookup::project(tx.conn().await?, project).await?;
    tx.lock_project(p.id).await?;
    let current = lookup::env(tx.conn().await?, project, env).await?;
    if current.archived_at.is_some() == archive {
        return Ok(Written { value: current.environment()?, changed: false, revision: None });
    }
    let at = archive.then_some(tx.now);
    sqlx::query("UPDATE environments SET archived_at = $2 WHERE id = $1")
        .bind(current.id)
        .bind(at)
        .execute(tx.conn().await?)
        .await?;
    let before = current.environment()?;
    let mut after = to_json(&Environment { archived_at: at.map(to_time).transpose()?, ..before.clone() })?;
    if let (Some(map), Some(serde_json::Value::Object(extra))) = (after.as_object_mut(), detail) {
        map.extend(extra);
    }
    tx.audit(
        actor,
        Audit {
            project_id: Some(p.id),
            environment: Some(&current.key),
            action: if archive { "environment.archive" } else { "environment.unarchive" },
            reason,
            before: Some(to_json(&before)?),
            after: Some(after),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit(store).await?;
    let value = Environment { archived_at: at.map(to_time).transpose()?, ..before };
    Ok(Written { value, changed: true, revision: None })
}

/// Deletes an archived environment and everything of it but the audit
/// history (its configurations, their versions, change log, SDK keys,
/// triggers; the rest cascades).
pub(super) async fn delete(store: &This, actor: &Actor, (project, env): (&str, &str), reason: &str) -> Result<()> {
    let mut tx = store.begin_write().await?;
    let p = lookup::project(tx.conn().await?, project).await?;
    tx.lock_project(p.id).await?;
    let current = lookup::env(tx.conn().await?, project, env).await?;
    if current.archived_at.is_none() {
        return Err(StoreError::Conflict {
            code: "not_archived",
            message: format!(
                "environment `{env}` is not archived: archive it first (POST …/environments/{env}/archive)"
            ),
            current_version: None,
        });
    }
    for sql in [
        "DELETE FROM triggers WHERE environment_id = $1",
        "DELETE FROM sdk_keys WHERE environment_id = $1",
        "DELETE FROM changes WHERE environment_id = $1",
        "DELETE FROM flag_config_versions WHERE environment_id = $1",
        "DELETE FROM flag_configs WHERE environment_id = $1",
        "DELETE FROM environments WHERE id = $1",
    ] {
        sqlx::query(sql).bind(current.id).execute(tx.conn().await?).await?;
    }
    tx.audit(
        actor,
        Audit {
            project_id: Some(p.id),
            environment: Some(&current.key),
            action: "environment.delete",
            reason: Some(reason),
            before: Some(to_json(&current.environment()?)?),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit(store).await
}
