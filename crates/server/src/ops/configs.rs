//! Flag writes: definitions (create, patch, delete; environment-independent)
//! and one environment's configuration (replace under a version check,
//! toggle with an optional wait for the delivery receipt).
//!
//! Must not touch: HTTP types (the handler reads the expected version from
//! the body or `If-Match` and hands it over), SQL and flag semantics (the
//! store validates and writes in one transaction; `switchyard-core`
//! compiles). Kills are not configuration writes: see [`super::kill`].

use std::time::Duration;

use super::OpResult;
use super::kill::{Receipted, with_receipt};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{Actor, FlagConfig, FlagConfigRecord, FlagDefinition, FlagPatch, NewFlag, Store, Written};

/// Creates a flag, off in every environment.
#[tracing::instrument(name = "flag.create", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, flag = %flag.key,
))]
pub async fn create_flag(
    store: &dyn Store,
    principal: &Principal,
    project: &str,
    flag: NewFlag,
) -> OpResult<FlagDefinition> {
    Ok(store.create_flag(&principal.actor(), project, flag).await?)
}

/// Patches a definition; with `expected` the write is refused (409) unless
/// the definition is at that version.
#[tracing::instrument(name = "flag.update", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, flag = flag,
))]
pub async fn update_flag(
    store: &dyn Store,
    principal: &Principal,
    (project, flag): (&str, &str),
    patch: FlagPatch,
    expected: Option<u64>,
) -> OpResult<FlagDefinition> {
    Ok(store.update_flag(&principal.actor(), project, flag, patch, expected).await?)
}

/// Deletes an archived flag in every environment (its audit history stays);
/// the reason is required (422), a flag not archived is a 409 `not_archived`.
#[tracing::instrument(name = "flag.delete", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, flag = flag,
))]
pub async fn delete_flag(
    store: &dyn Store,
    principal: &Principal,
    (project, flag): (&str, &str),
    reason: Option<String>,
) -> OpResult<()> {
    let reason = reason.unwrap_or_default();
    super::require_reason(&reason)?;
    Ok(store.delete_flag(&principal.actor(), project, flag, Some(reason)).await?)
}

/// Replaces one environment's configuration of a flag. The expected
/// version is required (422 on `version` without it); a stale one is a 409
/// naming the current version. The `kill` part of `config` is ignored.
#[tracing::instrument(name = "config.put", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, env = env, flag = flag,
    revision = tracing::field::Empty,
))]
pub async fn put_config(
    store: &dyn Store,
    principal: &Principal,
    (project, env, flag): (&str, &str, &str),
    config: FlagConfig,
    (expected, reason): (Option<u64>, Option<String>),
) -> OpResult<Written<FlagConfigRecord>> {
    let version = expected.ok_or_else(|| {
        ApiError::invalid("version", "required", "the expected version is required (body or If-Match)")
    })?;
    let written = store.put_flag_config(&principal.actor(), project, env, flag, config, version, reason).await?;
    record_revision(written.revision);
    Ok(written)
}

/// [`put_config`] by an actor that is not a request's principal (a release
/// plan's stage change): the same store write, audited as `actor`.
#[tracing::instrument(name = "config.put", skip_all, fields(
    request_id = actor.request_id.as_deref(), actor = %actor.name, project = project, env = env, flag = flag,
    revision = tracing::field::Empty,
))]
pub async fn put_config_as(
    store: &dyn Store,
    actor: &Actor,
    (project, env, flag): (&str, &str, &str),
    config: FlagConfig,
    (expected, reason): (u64, Option<String>),
) -> OpResult<Written<FlagConfigRecord>> {
    let written = store.put_flag_config(actor, project, env, flag, config, expected, reason).await?;
    record_revision(written.revision);
    Ok(written)
}

/// Turns targeting on or off; with `wait`, answers once every connected
/// SDK applied it (or the wait expires).
#[tracing::instrument(name = "toggle", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, env = env, flag = flag,
    on = on, revision = tracing::field::Empty,
))]
pub async fn toggle(
    state: &AppState,
    principal: &Principal,
    (project, env, flag): (&str, &str, &str),
    (on, reason): (bool, Option<String>),
    wait: Option<Duration>,
) -> OpResult<Receipted<FlagConfigRecord>> {
    let actor = principal.actor();
    let writing = state.store.toggle_flag(&actor, project, env, flag, on, reason);
    // A caller waiting for the receipt gets acks without the hold.
    let written = if wait.is_some() { crate::delivery::hub::urgent(writing).await? } else { writing.await? };
    record_revision(written.revision);
    with_receipt(state, project, env, written, wait).await
}

/// Records the revision a write produced on the current op's span.
pub(crate) fn record_revision(revision: Option<u64>) {
    if let Some(revision) = revision {
        tracing::Span::current().record("revision", revision);
    }
}
