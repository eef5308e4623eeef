//! Drills: rehearse a rollback. A drill kills one flag in a non-production
//! environment under a drill incident id (through [`super::kill::kill_flags`],
//! the path every kill takes), waits until every connected SDK applied it,
//! restores it (through [`super::kill::restore`]) and waits for that too,
//! then reports both receipts and how long each step took. Both steps, and
//! their receipts, are in the audit history under the incident id, so the
//! drill has an incident timeline like a real one ([`super::incident`]).
//!
//! **Production-like** environments are refused unless forced: an
//! environment whose key or name contains the word `production`, `prod`
//! or `prd` (words split at anything but letters and digits, any case:
//! `production`, `prod-eu`, `EU Production`, also `Pre-production`; not
//! `producer` or `preprod`).
//! Environments carry no attribute saying what they are, so their name is
//! the signal; a false alarm costs one `force`.
//!
//! Must not touch: HTTP types (the `?wait=` string is parsed by the
//! handler), SQL, delivery internals.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::OpResult;
use super::kill::{MAX_WAIT, UnkillRequest, kill_flags, restore};
use crate::auth::Principal;
use crate::delivery::receipts::Receipt;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::KillRequest;

/// A drill of one flag.
#[derive(Debug, Default, Deserialize)]
// A mistyped field (`forced`) is refused, not silently dropped.
#[serde(deny_unknown_fields)]
pub struct DrillRequest {
    /// Drill even in a production-like environment.
    #[serde(default)]
    pub force: bool,
    /// Incident id of the drill (default `DRILL-<UTC time>`).
    #[serde(default)]
    pub incident: Option<String>,
}

/// One step of a drill (the kill, or the restore).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrillStep {
    /// The revision it wrote.
    pub revision: u64,
    /// Its delivery receipt, when every connected SDK applied it or the wait ran out.
    pub receipt: Receipt,
    /// Whether every connected SDK instance (on every replica) applied it.
    pub complete: bool,
    /// From the step's start to its receipt, ms, on the server's clock
    /// (the write, the fan-out and the slowest acknowledgement).
    pub elapsed_ms: f64,
}

/// What a drill did and how fast the fleet followed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrillReport {
    /// Project key.
    pub project: String,
    /// Environment key.
    pub environment: String,
    /// Flag key.
    pub flag: String,
    /// The drill's incident id (its timeline: `GET …/incidents/{incident}`).
    pub incident: String,
    /// The kill.
    pub kill: DrillStep,
    /// The restore.
    pub restore: DrillStep,
}

/// Whether an environment's key or name says production (see the module docs).
pub fn production_like(key: &str, name: &str) -> bool {
    [key, name].iter().any(|text| {
        text.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| matches!(word.to_ascii_lowercase().as_str(), "production" | "prod" | "prd"))
    })
}

/// Runs a drill of `flag` in `(project, env)`, each step waiting up to
/// `wait` (default and at most 30 s) for its receipt: 422 on `force` in a
/// production-like environment, 409 when the flag is already killed (a
/// drill must never undo a real kill).
#[tracing::instrument(name = "drill", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, env = env, flag = flag,
))]
pub async fn drill(
    state: &AppState,
    principal: &Principal,
    (project, env, flag): (&str, &str, &str),
    input: DrillRequest,
    wait: Option<Duration>,
) -> OpResult<DrillReport> {
    if let Some(incident) = &input.incident {
        super::check_length("incident", incident, crate::text::MAX_INCIDENT)?;
    }
    let environment = state.store.get_environment(project, env).await?;
    if !input.force && production_like(&environment.key, &environment.name) {
        let message = format!("`{env}` looks like a production environment; a drill there needs `force`");
        return Err(ApiError::invalid("force", "production_environment", message));
    }
    if let Some(kill) = state.store.get_flag_config(project, env, flag).await?.config.kill {
        let message = format!("`{flag}` is killed (by {}: {}); a drill would restore it", kill.by, kill.reason);
        return Err(ApiError::Conflict { code: "already_killed", message, current_version: None });
    }
    let incident = input.incident.unwrap_or_else(|| format!("DRILL-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")));
    let wait = Some(wait.unwrap_or(MAX_WAIT));
    let started = Instant::now();
    let request = KillRequest {
        flags: vec![flag.to_string()],
        reason: format!("drill: rehearsing a rollback of {flag}"),
        incident: Some(incident.clone()),
        panic: false,
        detail: Some(serde_json::json!({"drill": true})),
    };
    let killed = kill_flags(state, principal.actor(), "drill", (project, env), request, wait).await?;
    let kill = step(killed.written.revision, killed.receipt, started)?;
    let started = Instant::now();
    let input = UnkillRequest { reason: "drill: restore".into(), incident: Some(incident.clone()) };
    let restored = restore(state, principal, (project, env, flag), input, wait).await?;
    let restore = step(restored.written.revision, restored.receipt, started)?;
    tracing::info!(project, env, flag, %incident, kill_complete = kill.complete, restore_complete = restore.complete, "drill done");
    Ok(DrillReport { project: project.into(), environment: env.into(), flag: flag.into(), incident, kill, restore })
}

/// A step's report; a write that changed nothing means someone else got
/// there between the check and the write.
fn step(revision: Option<u64>, receipt: Option<Receipt>, started: Instant) -> OpResult<DrillStep> {
    let (Some(revision), Some(receipt)) = (revision, receipt) else {
        let message = "the flag changed under the drill (killed or restored by someone else)".to_string();
        return Err(ApiError::Conflict { code: "drill_interrupted", message, current_version: None });
    };
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(DrillStep { revision, complete: receipt.complete(), receipt, elapsed_ms })
}

#[cfg(test)]
mod tests {
    use super::production_like;

    #[test]
    fn production_is_recognised_by_its_words() {
        for (key, name) in
            [("production", "x"), ("prod", "x"), ("prod-eu", "x"), ("x", "EU Production"), ("us_prd", "x")]
        {
            assert!(production_like(key, name), "{key} / {name}");
        }
        for (key, name) in [("staging", "Staging"), ("preprod", "Preprod"), ("producer", "x"), ("dev", "Dev")] {
            assert!(!production_like(key, name), "{key} / {name}");
        }
    }
}
