//! The domain: what the server *does*, one function per operation, called
//! by the HTTP handlers (and by anything else that needs the same workflow,
//! such as alert triggers). Each op takes the store (or the application
//! state, when it also needs delivery: hub, fleet, receipts), the caller
//! (a [`crate::auth::Principal`] or an audit [`crate::store::Actor`]) and its
//! input, and returns a domain result or an [`ApiError`] (the crate's one
//! error enum; its status mapping lives in [`crate::error`]).
//!
//! Ops never touch HTTP types: no axum, no `StatusCode`, no extractors or
//! headers. Request parsing (query strings, `If-Match`, path tuples) stays in
//! [`crate::http`]; flag semantics stay in `switchyard-core`; SQL stays in
//! [`crate::store`]. Every op carries a `tracing` span whose fields name the
//! request id, the actor, project, environment, flag and (once written) the
//! revision: never a secret.
//!
//! ## Layout
//! - [`kill`]: kill, restore, the panic button, waiting for delivery receipts.
//! - [`applied`]: the kill receipt recorded in the audit history (`flag.kill.applied`).
//! - [`fleet`]: the connected SDK instances of an environment, over the replicas.
//! - [`blast`]: the blast radius of a kill: services, instances and rates evaluating the flags now (reads only).
//! - [`triggers`]: an alert trigger firing (kill or restore, as the trigger).
//! - [`incident`]: one incident's timeline (kills, triggers, guard trips, restores, receipts,
//!   the changes before) and its times (to mitigate, to restore); the project's incidents.
//! - [`drill`]: rehearse a rollback: kill, wait for the fleet, restore, wait, report.
//! - [`telemetry`]: SDK telemetry batches in (validated, merged, added up per minute).
//! - [`telemetry_series`]: one flag's per-variant telemetry series out; the retention prune.
//! - [`usage`]: who still evaluates a flag, per environment (last evaluated, variants, services).
//! - [`stale`]: removal candidates (expired, one variant for N days, not evaluated for N days).
//! - [`guard`]: the release guard's check of a plan (telemetry replayed through `switchyard-guard`);
//!   [`guard_stats`] its report; [`guard_trip`] a trip killing the flag through the kill path.
//! - [`configs`]: flag definitions and per-environment configuration writes.
//! - [`lifecycle`]: archive a flag (a dry run showing who still evaluates it, then confirmed), restore it from the archive.
//! - [`lifecycle_env`]: archive an environment (refused while in use: SDK keys used lately, instances connected), restore, delete.
//! - [`lifecycle_project`]: the same for a project (archived, its SDK keys authenticate nothing).
//! - [`revert`]: undo one change, restore one version, restore an environment, change sets.
//! - [`release`]: release plans (start, pause, resume, abort, promote, templates), their steps, the guard hook.
//! - [`schedule`]: scheduled changes of a flag's configuration (schedule, edit, cancel; the job that applies one).
//! - [`scheduler`]: the durable, replica-safe runner of due jobs (release steps, scheduled changes; any kind).
//! - [`approvals`]: approval policies, change requests, the gate on ordinary writes.
//! - [`standing`]: whether a scheduled change's requester or a change request's author may still make it.
//! - [`members`]: per-project user roles (who may grant what).
//! - [`accounts`]: login, users, passwords (change and reset), API tokens, the first `admin`.

pub mod accounts;
pub mod applied;
pub mod approvals;
pub mod blast;
pub mod configs;
pub mod drill;
pub mod fleet;
pub mod guard;
pub mod guard_stats;
pub mod guard_trip;
pub mod incident;
pub mod kill;
pub mod kill_requests;
pub mod lifecycle;
pub mod lifecycle_env;
pub mod lifecycle_project;
pub mod members;
pub mod plan_halt;
pub mod release;
pub mod revert;
pub mod schedule;
pub mod scheduler;
pub mod stale;
pub mod standing;
pub mod telemetry;
pub mod telemetry_series;
pub mod triggers;
pub mod usage;

use crate::error::ApiError;

/// The result of an op.
pub type OpResult<T> = Result<T, ApiError>;

/// A 422 on `reason` unless it holds something other than white space
/// (kills, restores and reverts must say why) and at most
/// [`crate::text::MAX_REASON`] characters.
pub fn require_reason(reason: &str) -> OpResult<()> {
    if reason.trim().is_empty() {
        return Err(ApiError::invalid("reason", "required", "a reason is required"));
    }
    check_length("reason", reason, crate::text::MAX_REASON)
}

/// A 422 `too_long` on `path` past `max` characters: free text of the
/// audit history, checked before any work (the store checks it again).
pub fn check_length(path: &str, text: &str, max: usize) -> OpResult<()> {
    crate::text::check_length(path, text, max)
        .map_err(|e| ApiError::Validation(switchyard_core::ValidationErrors(vec![e])))
}

/// [`require_reason`], and the incident id at most
/// [`crate::text::MAX_INCIDENT`] characters: what a kill, a panic or a
/// restore is asked with, all checked before anything is written.
pub fn check_emergency(reason: &str, incident: Option<&str>) -> OpResult<()> {
    require_reason(reason)?;
    incident.map_or(Ok(()), |incident| check_length("incident", incident, crate::text::MAX_INCIDENT))
}
