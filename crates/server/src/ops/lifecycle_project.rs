//! Projects' lifecycle (issue 19 part 4), with the environments' care
//! ([`super::lifecycle_env`]): archiving is a dry run unless confirmed, and
//! refused (409 `in_use`) while any of the project's environments is in use
//! — an SDK key of it authenticated a request in the last `days` (default
//! [`DEFAULT_IN_USE_DAYS`]) or SDK instances are connected to it now (on
//! every replica) — unless `force`. Archived, the project's SDK keys
//! authenticate nothing: this replica closes their open streams at once and
//! forgets them; other replicas stop accepting them within the SDK key
//! cache's TTL (30 s) and close their streams when the keys next
//! authenticate. A connected SDK keeps serving its last flags and reports
//! `Unauthorized` (it retries slowly, never in a tight loop). Restoring from
//! the archive lets the same keys in again. Only an archived project is
//! deleted, with a reason. Kills are never refused: the kill path does not
//! come here, and the store still writes kills in an archived project.
//!
//! Must not touch HTTP types or SQL.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::OpResult;
pub use super::lifecycle_env::{DEFAULT_IN_USE_DAYS, EnvArchiveRequest as ProjectArchiveRequest};
use super::lifecycle_env::{confirm, in_use_window};
use crate::auth::Principal;
use crate::auth::credentials::Kind;
use crate::state::AppState;
use crate::store::{Project, SdkKey};

/// The answer to a project archive request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectArchiveOutcome {
    /// The project after the request (`archived_at` once archived).
    pub project: Project,
    /// Whether this request archived it.
    pub archived: bool,
    /// Whether it is in use: a key used within `days`, or instances connected.
    pub in_use: bool,
    /// The look-back of the key check, in days.
    pub days: u32,
    /// Its SDK keys (not revoked, every environment) used within `days`, with when.
    pub keys_used: Vec<SdkKey>,
    /// SDK instances connected to its environments now, on every replica.
    pub connected: usize,
    /// When the check looked (keys used after this count).
    pub since: DateTime<Utc>,
}

/// Archives `project` when confirmed and not in use (or forced); else
/// answers the dry run.
#[tracing::instrument(name = "project.archive", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project,
    confirm = req.confirm, force = req.force,
))]
pub async fn archive(
    state: &AppState,
    principal: &Principal,
    project: &str,
    req: ProjectArchiveRequest,
) -> OpResult<ProjectArchiveOutcome> {
    let (days, since) = in_use_window(&req)?;
    let current = state.store.get_project(project).await?;
    let (mut keys, mut connected) = (Vec::new(), 0);
    for env in state.store.list_environments(project).await? {
        let list = state.store.list_sdk_keys(project, &env.key).await?;
        keys.extend(list.into_iter().filter(|k| k.revoked_at.is_none()));
        connected += super::fleet::view(state, project, &env.key).await?.instances.len();
    }
    let keys_used: Vec<SdkKey> = keys.iter().filter(|k| k.last_used_at.is_some_and(|t| t >= since)).cloned().collect();
    let in_use = !keys_used.is_empty() || connected > 0;
    let outcome =
        ProjectArchiveOutcome { project: current, archived: false, in_use, days, keys_used, connected, since };
    if !req.confirm {
        return Ok(outcome);
    }
    let what = format!("project `{project}`");
    let (reason, detail) = confirm(&what, &req, (days, outcome.keys_used.len(), connected))?;
    let written = state.store.archive_project(&principal.actor(), project, &reason, detail).await?;
    // Its keys now authenticate nothing: forget them here and close their streams.
    for key in &keys {
        state.sdk_keys.revoke(key.id);
    }
    Ok(ProjectArchiveOutcome { project: written.value, archived: written.changed, ..outcome })
}

/// Restores an archived project from the archive (a no-op when it is not
/// archived); its SDK keys authenticate again at once.
pub async fn unarchive(
    state: &AppState,
    principal: &Principal,
    project: &str,
    reason: Option<String>,
) -> OpResult<Project> {
    let reason = reason.filter(|r| !r.trim().is_empty());
    let written = state.store.unarchive_project(&principal.actor(), project, reason.as_deref()).await?;
    // The negative cache may remember its keys as unknown.
    state.credentials.created(Kind::SdkKey);
    Ok(written.value)
}

/// Deletes an archived project; the reason is required (422).
pub async fn delete(state: &AppState, principal: &Principal, project: &str, reason: Option<String>) -> OpResult<()> {
    let reason = reason.unwrap_or_default();
    super::require_reason(&reason)?;
    Ok(state.store.delete_project(&principal.actor(), project, &reason).await?)
}
