//! Environments' lifecycle (issue 19 part 4), with the same care as flags:
//! archiving is a dry run unless confirmed, and refused (409 `in_use`)
//! while the environment is in use — an SDK key of it authenticated a
//! request in the last `days` (default [`DEFAULT_IN_USE_DAYS`]; the keys
//! record their use to within 5 minutes) or SDK instances are connected to
//! it now (on every replica) — unless `force`. Only an archived
//! environment is deleted. Kills are never refused: the kill path does not
//! come here, and the store still writes kills in an archived environment.
//!
//! Must not touch HTTP types or SQL.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::OpResult;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{Environment, SdkKey};

/// The look-back of the in-use check when the request names none.
pub const DEFAULT_IN_USE_DAYS: u32 = 7;

/// An environment archive request: a dry run unless `confirm`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvArchiveRequest {
    /// Only show whether it is in use (also the default without `confirm`).
    #[serde(default)]
    pub dry_run: bool,
    /// Archive now (with `reason`).
    #[serde(default)]
    pub confirm: bool,
    /// Archive even though it is in use.
    #[serde(default)]
    pub force: bool,
    /// Why (required with `confirm`).
    #[serde(default)]
    pub reason: Option<String>,
    /// In use when an SDK key was used within this many days (1–365, default 7).
    #[serde(default)]
    pub days: Option<u32>,
}

/// The answer to an environment archive request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvArchiveOutcome {
    /// The environment after the request (`archived_at` once archived).
    pub environment: Environment,
    /// Whether this request archived it.
    pub archived: bool,
    /// Whether it is in use: a key used within `days`, or instances connected.
    pub in_use: bool,
    /// The look-back of the key check, in days.
    pub days: u32,
    /// Its SDK keys (not revoked) used within `days`, with when.
    pub keys_used: Vec<SdkKey>,
    /// SDK instances connected to it now, on every replica.
    pub connected: usize,
    /// When the check looked (keys used after this count).
    pub since: DateTime<Utc>,
}

/// Archives `(project, env)` when confirmed and not in use (or forced);
/// else answers the dry run.
#[tracing::instrument(name = "environment.archive", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, env = env,
    confirm = req.confirm, force = req.force,
))]
pub async fn archive(
    state: &AppState,
    principal: &Principal,
    (project, env): (&str, &str),
    req: EnvArchiveRequest,
) -> OpResult<EnvArchiveOutcome> {
    let (days, since) = in_use_window(&req)?;
    let keys_used: Vec<SdkKey> = state
        .store
        .list_sdk_keys(project, env)
        .await?
        .into_iter()
        .filter(|k| k.revoked_at.is_none() && k.last_used_at.is_some_and(|t| t >= since))
        .collect();
    let connected = super::fleet::view(state, project, env).await?.instances.len();
    let in_use = !keys_used.is_empty() || connected > 0;
    let environment = state.store.get_environment(project, env).await?;
    let outcome = EnvArchiveOutcome { environment, archived: false, in_use, days, keys_used, connected, since };
    if !req.confirm {
        return Ok(outcome);
    }
    let (reason, detail) = confirm(&format!("environment `{env}`"), &req, (days, outcome.keys_used.len(), connected))?;
    let written = state.store.archive_environment(&principal.actor(), project, env, &reason, detail).await?;
    Ok(EnvArchiveOutcome { environment: written.value, archived: written.changed, ..outcome })
}

/// The in-use check's window for `req`: its look-back in days (1–365,
/// default [`DEFAULT_IN_USE_DAYS`]) and when that starts. A dry run that is
/// also confirmed is refused. Shared with projects' archive.
pub(super) fn in_use_window(req: &EnvArchiveRequest) -> OpResult<(u32, DateTime<Utc>)> {
    if req.confirm && req.dry_run {
        return Err(ApiError::invalid("dry_run", "conflicting", "a dry run cannot be confirmed: send one of the two"));
    }
    let days = req.days.unwrap_or(DEFAULT_IN_USE_DAYS);
    if !(1..=365).contains(&days) {
        return Err(ApiError::invalid("days", "out_of_range", "days must be between 1 and 365"));
    }
    Ok((days, Utc::now() - chrono::Duration::days(i64::from(days))))
}

/// What a confirmed archive of `what` (e.g. ``environment `prod` ``) takes:
/// a reason (422), and `force` while in use (409 `in_use`), given the
/// check's `(days, keys used, instances connected)`. Answers the reason and
/// the audit detail. Shared with projects' archive.
pub(super) fn confirm(
    what: &str,
    req: &EnvArchiveRequest,
    (days, keys_used, connected): (u32, usize, usize),
) -> OpResult<(String, serde_json::Value)> {
    let reason = req.reason.clone().unwrap_or_default();
    super::require_reason(&reason)?;
    let in_use = keys_used > 0 || connected > 0;
    if in_use && !req.force {
        return Err(ApiError::Conflict {
            code: "in_use",
            message: format!(
                "{what} is in use: {keys_used} SDK key(s) used in the last {days} days, {connected} SDK instance(s) \
                 connected; archive with `force` to archive it anyway"
            ),
            current_version: None,
        });
    }
    let detail = serde_json::json!({
        "forced": req.force && in_use,
        "in_use": {"days": days, "keys_used": keys_used, "connected": connected},
    });
    Ok((reason, detail))
}

/// Restores an archived environment from the archive (a no-op when it is not archived).
pub async fn unarchive(
    state: &AppState,
    principal: &Principal,
    (project, env): (&str, &str),
    reason: Option<String>,
) -> OpResult<Environment> {
    let reason = reason.filter(|r| !r.trim().is_empty());
    Ok(state.store.unarchive_environment(&principal.actor(), project, env, reason.as_deref()).await?.value)
}

/// Deletes an archived environment; the reason is required (422).
pub async fn delete(
    state: &AppState,
    principal: &Principal,
    (project, env): (&str, &str),
    reason: Option<String>,
) -> OpResult<()> {
    let reason = reason.unwrap_or_default();
    super::require_reason(&reason)?;
    Ok(state.store.delete_environment(&principal.actor(), project, env, &reason).await?)
}
