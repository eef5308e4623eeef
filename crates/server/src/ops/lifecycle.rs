//! Lifecycle (issue 19 part 4): archive a flag (two steps: a dry run that
//! shows, per environment, when it was last evaluated and which connected
//! SDK instances evaluate it; then the confirmed archive, with a reason),
//! restore it from the archive, delete it once archived
//! ([`super::configs::delete_flag`]).
//!
//! The dry run reads only ([`super::usage`] for the last evaluation,
//! [`super::blast`] for the fleet, the flag's running or paused release
//! plan and pending scheduled changes per environment); the writes are one
//! store transaction each. The confirmed archive stops those plans (aborted,
//! `flag archived`) and cancels those changes in its transaction, audited:
//! nothing may change an archived flag later. Kills are never refused because a flag is archived: the kill path
//! does not come here. Must not touch HTTP types or SQL.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::OpResult;
use super::blast::{Selection, blast_radius};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{ChangeRequestState, FlagDefinition, PlanState, ScheduleState, Store, StoreError};

/// An archive request: a dry run unless `confirm`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveRequest {
    /// Only show what archiving would take away (also the default without `confirm`).
    #[serde(default)]
    pub dry_run: bool,
    /// Archive now (with `reason`); the flag leaves every SDK snapshot.
    #[serde(default)]
    pub confirm: bool,
    /// Why (required with `confirm`).
    #[serde(default)]
    pub reason: Option<String>,
}

/// A restore from the archive.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnarchiveRequest {
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The answer to an archive request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchiveOutcome {
    /// The flag after the request (`archived_at` set once archived).
    pub flag: FlagDefinition,
    /// Whether this request archived it (`false`: a dry run, or already archived).
    pub archived: bool,
    /// What archiving takes away, per environment in creation order (a dry
    /// run only: empty once confirmed).
    pub environments: Vec<ArchiveUse>,
}

/// Who still uses a flag in one environment, as the dry run shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchiveUse {
    /// The environment's key.
    pub environment: String,
    /// When an SDK last reported evaluating it (SDK telemetry; `None`:
    /// never within the telemetry retention, or no SDK sends telemetry).
    pub last_evaluated: Option<DateTime<Utc>>,
    /// SDK instances connected to the environment now (on every replica).
    pub connected: usize,
    /// Of those, instances that evaluated it in the last 15 minutes.
    pub evaluating: usize,
    /// Of those connected, instances that sent no telemetry in that window:
    /// whether they evaluate it is unknown.
    pub without_telemetry: usize,
    /// Flags of the environment naming it as a prerequisite: archiving is
    /// refused (409 `prerequisite_in_use`) while there are any.
    pub dependents: Vec<String>,
    /// Its running or paused release plan here: archiving stops it
    /// (aborted, reason `flag archived`).
    pub release_plan: Option<i64>,
    /// Its pending scheduled changes here: archiving cancels them.
    pub scheduled_changes: Vec<i64>,
    /// Its open change requests here (a plan's awaiting approval too):
    /// archiving cancels them.
    pub change_requests: Vec<i64>,
}

/// Archives `flag` when `req.confirm` (reason required), else answers the
/// dry run. 422 on `dry_run` when both are set.
#[tracing::instrument(name = "flag.archive", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, flag = flag,
    confirm = req.confirm,
))]
pub async fn archive(
    state: &AppState,
    principal: &Principal,
    (project, flag): (&str, &str),
    req: ArchiveRequest,
) -> OpResult<ArchiveOutcome> {
    if req.confirm && req.dry_run {
        return Err(ApiError::invalid("dry_run", "conflicting", "a dry run cannot be confirmed: send one of the two"));
    }
    if !req.confirm {
        let flag_def = state.store.get_flag(project, flag).await?;
        let environments = preview(state, project, flag).await?;
        return Ok(ArchiveOutcome { flag: flag_def, archived: false, environments });
    }
    let reason = req.reason.unwrap_or_default();
    super::require_reason(&reason)?;
    let written = state.store.archive_flag(&principal.actor(), project, flag, &reason).await?;
    Ok(ArchiveOutcome { flag: written.value, archived: written.changed, environments: Vec::new() })
}

/// Per environment: last evaluated (telemetry), connected and evaluating instances, dependents.
async fn preview(state: &AppState, project: &str, flag: &str) -> OpResult<Vec<ArchiveUse>> {
    let usage = super::usage::usage(&state.store, project, flag).await?;
    let mut out = Vec::with_capacity(usage.environments.len());
    for env in usage.environments {
        let selection = Selection { flags: vec![flag.to_string()], tag: None };
        let radius = blast_radius(state, (project, &env.environment), selection).await?;
        let reach = radius.flags.into_iter().next();
        let release_plan = match state.store.latest_plan(project, &env.environment, flag).await {
            Ok(plan) => matches!(plan.state, PlanState::AwaitingApproval | PlanState::Running | PlanState::Paused)
                .then_some(plan.id),
            Err(StoreError::NotFound { .. }) => None,
            Err(err) => return Err(err.into()),
        };
        let scheduled = state.store.list_scheduled_changes(project, &env.environment).await?.into_iter();
        let scheduled_changes =
            scheduled.filter(|c| c.flag == flag && c.state == ScheduleState::Pending).map(|c| c.id).collect();
        let requests = state.store.list_change_requests(project, &env.environment).await?.into_iter();
        let mut change_requests: Vec<i64> =
            requests.filter(|r| r.flag == flag && r.state == ChangeRequestState::Open).map(|r| r.id).collect();
        change_requests.sort_unstable();
        out.push(ArchiveUse {
            environment: env.environment,
            last_evaluated: env.last_evaluated,
            connected: radius.connected,
            evaluating: reach.as_ref().map_or(0, |r| r.evaluating),
            without_telemetry: radius.without_telemetry,
            dependents: reach.map(|r| r.dependents).unwrap_or_default(),
            release_plan,
            scheduled_changes,
            change_requests,
        });
    }
    Ok(out)
}

/// Restores an archived flag from the archive (a no-op when it is not archived).
#[tracing::instrument(name = "flag.unarchive", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, flag = flag,
))]
pub async fn unarchive(
    store: &dyn Store,
    principal: &Principal,
    (project, flag): (&str, &str),
    req: UnarchiveRequest,
) -> OpResult<FlagDefinition> {
    let reason = req.reason.filter(|r| !r.trim().is_empty());
    Ok(store.unarchive_flag(&principal.actor(), project, flag, reason.as_deref()).await?.value)
}
