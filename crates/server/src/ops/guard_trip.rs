//! The release guard acting: check a plan ([`super::guard::check`]) and,
//! when it trips, kill the flag **through the kill path**
//! ([`super::kill::kill_flags`], source `guard`): the same transaction,
//! revision, SSE change, `flag.killed` webhooks and background delivery
//! receipt (`flag.kill.applied`) as a person's kill. The kill's reason is
//! the trip in one line; its audit event's `after.guard` holds the
//! statistics ([`GuardTrip`]).
//!
//! Nothing happens between the verdict and the kill: the counters are
//! bumped and the plan's state is changed (by the caller) after it.
//!
//! Must not touch: HTTP types, SQL, plan state.

use chrono::{DateTime, Utc};

use super::OpResult;
use super::guard::{GuardInput, GuardTrip, Verdict, check};
use super::kill::{Receipted, kill_flags};
use crate::state::AppState;
use crate::store::{Actor, FlagConfigRecord, KillRequest};

/// The metrics label of kills by the guard.
pub const SOURCE: &str = "guard";

/// What one enforced check did.
#[derive(Debug)]
pub enum Enforced {
    /// The guard did not trip (the verdict says whether the stage may advance).
    Checked(Verdict),
    /// It tripped and the flag was killed.
    RolledBack {
        /// The statistics.
        trip: GuardTrip,
        /// The kill (its receipt is recorded in the background).
        kill: Receipted<Vec<FlagConfigRecord>>,
    },
}

/// Checks the plan of `flag` in `(project, env)` and kills the flag as
/// `actor` when the guard trips.
#[tracing::instrument(name = "guard", skip_all, fields(actor = %actor.name, project, env, flag))]
pub async fn enforce(
    state: &AppState,
    actor: Actor,
    (project, env, flag): (&str, &str, &str),
    input: &GuardInput,
    now: DateTime<Utc>,
) -> OpResult<Enforced> {
    let verdict = check(&state.store, input, now).await?;
    state.metrics.guard_evaluations.inc();
    let Verdict::Trip(trip) = verdict else { return Ok(Enforced::Checked(verdict)) };
    let kill = roll_back(state, actor, (project, env, flag), &trip).await?;
    Ok(Enforced::RolledBack { trip, kill })
}

/// Kills `flag` for `trip`: reason = [`GuardTrip::summary`], audit
/// `after.guard` = the statistics; no wait for the receipt (recorded in
/// the background, like a trigger's kill).
pub async fn roll_back(
    state: &AppState,
    actor: Actor,
    (project, env, flag): (&str, &str, &str),
    trip: &GuardTrip,
) -> OpResult<Receipted<Vec<FlagConfigRecord>>> {
    let detail = serde_json::json!({ "guard": trip });
    let request = KillRequest {
        flags: vec![flag.into()],
        reason: trip.summary(),
        incident: None,
        panic: false,
        detail: Some(detail),
    };
    let kill = kill_flags(state, actor, SOURCE, (project, env), request, None).await?;
    state.metrics.guard_tripped(trip.trip.reason());
    tracing::warn!(project, env, flag, reason = trip.trip.reason(), revision = ?kill.written.revision, "release guard tripped: flag killed");
    Ok(kill)
}
