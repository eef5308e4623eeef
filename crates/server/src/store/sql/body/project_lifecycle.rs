//! Projects' lifecycle (issue 19 part 4): archive, restore from the
//! archive, delete an archived one.
//!
//! Called by `lifecycle` (the `LifecycleStore` impl). Owns
//! `projects.archived_at` and deleting a project's rows. What an archived
//! project is kept from is decided where it is read: `sdk` (its SDK keys
//! authenticate nothing), `configs::write_configs` (ordinary writes, 409
//! `project_archived`; kills still written), the project list (the handler
//! filters). The in-use check is the op's (`ops::lifecycle_project`).

use super::This;
use super::audit::Audit;
use super::lookup;
use crate::store::sql::common::{to_json, to_time};
use crate::store::{Actor, Project, Result, StoreError, Written};

/// Archives (`true`) or restores from the archive (`false`) a project: one
/// audited write under the project lock; no revision (SDKs are refused by
/// their key, not told by a change).
pub(super) async fn set_archived(
    store: &This,
    actor: &Actor,
    project: &str,
    archive: bool,
    reason: Option<&str>,
    detail: Option<serde_json::Value>,
) -> Result<Written<Project>> {
    let mut tx = store.begin_write().await?;
    let p = lookup::project(tx.conn().await?, project).await?;
    tx.lock_project(p.id).await?;
    if p.project.archived_at.is_some() == archive {
        return Ok(Written { value: p.project, changed: false, revision: None });
    }
    let at = archive.then_some(tx.now);
    sqlx::query("UPDATE projects SET archived_at = $2 WHERE id = $1")
        .bind(p.id)
        .bind(at)
        .execute(tx.conn().await?)
        .await?;
    let before = p.project;
    let value = Project { archived_at: at.map(to_time).transpose()?, ..before.clone() };
    let mut after = to_json(&value)?;
    if let (Some(map), Some(serde_json::Value::Object(extra))) = (after.as_object_mut(), detail) {
        map.extend(extra);
    }
    let action = if archive { "project.archive" } else { "project.unarchive" };
    let audit = Audit {
        project_id: Some(p.id),
        action,
        reason,
        before: Some(to_json(&before)?),
        after: Some(after),
        ..Audit::default()
    };
    tx.audit(actor, audit).await?;
    tx.commit(store).await?;
    Ok(Written { value, changed: true, revision: None })
}

/// Deletes an archived project and everything of it but the audit history
/// (its environments with their configurations, versions, change logs, SDK
/// keys and triggers; its flags, segments, webhooks with their deliveries,
/// API tokens; the rest cascades).
pub(super) async fn delete(store: &This, actor: &Actor, project: &str, reason: &str) -> Result<()> {
    let mut tx = store.begin_write().await?;
    let p = lookup::project(tx.conn().await?, project).await?;
    tx.lock_project(p.id).await?;
    if p.project.archived_at.is_none() {
        return Err(StoreError::Conflict {
            code: "not_archived",
            message: format!(
                "project `{project}` is not archived: archive it first (POST …/projects/{project}/archive)"
            ),
            current_version: None,
        });
    }
    const ENVS: &str = "(SELECT id FROM environments WHERE project_id = $1)";
    for sql in [
        format!("DELETE FROM triggers WHERE environment_id IN {ENVS}"),
        format!("DELETE FROM sdk_keys WHERE environment_id IN {ENVS}"),
        format!("DELETE FROM changes WHERE environment_id IN {ENVS}"),
        format!("DELETE FROM flag_config_versions WHERE environment_id IN {ENVS}"),
        format!("DELETE FROM flag_configs WHERE environment_id IN {ENVS}"),
        "DELETE FROM environments WHERE project_id = $1".to_string(),
        "DELETE FROM webhook_deliveries WHERE webhook_id IN (SELECT id FROM webhooks WHERE project_id = $1)"
            .to_string(),
        "DELETE FROM webhooks WHERE project_id = $1".to_string(),
        "DELETE FROM segments WHERE project_id = $1".to_string(),
        "DELETE FROM flags WHERE project_id = $1".to_string(),
        "DELETE FROM api_tokens WHERE project_id = $1".to_string(),
        "DELETE FROM projects WHERE id = $1".to_string(),
    ] {
        sqlx::query(&sql).bind(p.id).execute(tx.conn().await?).await?;
    }
    let audit = Audit {
        project_id: Some(p.id),
        action: "project.delete",
        reason: Some(reason),
        before: Some(to_json(&p.project)?),
        ..Audit::default()
    };
    tx.audit(actor, audit).await?;
    tx.commit(store).await
}
