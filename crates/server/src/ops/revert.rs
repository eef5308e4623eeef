//! Going back: on one flag, **undo one change** (its inverse, refused on
//! conflict) and **restore one version** (the whole earlier state); on an
//! environment, restore to a time; and change sets (several configuration
//! changes as one revision, and reverting one). Every one of them that
//! takes `dry_run` previews the exact diff and writes nothing.
//!
//! Must not touch: HTTP types (`?dry_run=` is parsed by the handler and
//! arrives folded into the request), SQL and diffing (the store's).

use super::configs::record_revision;
use super::{OpResult, require_reason};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::store::{
    ChangeSetRequest, ChangeSetResult, RestoreDiff, RestoreRequest, RestoreVersion, Reverted, Store, UndoChange,
    Written,
};

/// Restore this version: writes `request.to_version`'s whole configuration
/// as a new version (the kill state is kept; history is never rewritten).
#[tracing::instrument(name = "flag.revert", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = target.0, env = target.1,
    flag = target.2, to_version = request.to_version, dry_run = request.dry_run,
))]
pub async fn revert_flag(
    store: &dyn Store,
    principal: &Principal,
    target: (&str, &str, &str),
    request: RestoreVersion,
) -> OpResult<Reverted> {
    Ok(store.revert_flag(&principal.actor(), target, request).await?)
}

/// Undo this change: puts back, field by field, what the change that
/// produced `request.version` changed (409 `undo_conflict` when a later
/// change touched one of those fields).
#[tracing::instrument(name = "flag.undo", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = target.0, env = target.1,
    flag = target.2, version = request.version, dry_run = request.dry_run,
))]
pub async fn undo_change(
    store: &dyn Store,
    principal: &Principal,
    target: (&str, &str, &str),
    request: UndoChange,
) -> OpResult<Reverted> {
    Ok(store.undo_flag_change(&principal.actor(), target, request).await?)
}

/// Reverts every flag of the environment changed since `request.at`, in one
/// revision (a reason is required, even for a dry run).
#[tracing::instrument(name = "env.restore", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, env = env,
    dry_run = request.dry_run, revision = tracing::field::Empty,
))]
pub async fn restore_environment(
    store: &dyn Store,
    principal: &Principal,
    (project, env): (&str, &str),
    request: RestoreRequest,
) -> OpResult<Written<Vec<RestoreDiff>>> {
    require_reason(&request.reason)?;
    let written = store.restore_environment(&principal.actor(), project, env, request).await?;
    record_revision(written.revision);
    Ok(written)
}

/// Applies several configuration changes as one revision, all or nothing
/// (422 on `changes` when there are none).
#[tracing::instrument(name = "changes.apply", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, env = env,
    changes = set.changes.len(), revision = tracing::field::Empty,
))]
pub async fn apply_changes(
    store: &dyn Store,
    principal: &Principal,
    (project, env): (&str, &str),
    set: ChangeSetRequest,
) -> OpResult<Written<ChangeSetResult>> {
    if set.changes.is_empty() {
        return Err(ApiError::invalid("changes", "empty", "a change set needs at least one change"));
    }
    let written = store.apply_change_set(&principal.actor(), project, env, set).await?;
    record_revision(written.revision);
    Ok(written)
}

/// Reverts a whole change set in one revision.
#[tracing::instrument(name = "changes.revert", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, env = env,
    change_set = id, revision = tracing::field::Empty,
))]
pub async fn revert_changes(
    store: &dyn Store,
    principal: &Principal,
    (project, env, id): (&str, &str, &str),
    reason: String,
) -> OpResult<Written<ChangeSetResult>> {
    require_reason(&reason)?;
    let written = store.revert_change_set(&principal.actor(), project, env, id, reason).await?;
    record_revision(written.revision);
    Ok(written)
}
