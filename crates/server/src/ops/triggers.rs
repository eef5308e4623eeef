//! An alert trigger firing: rate-limited over the fleet, the alert body
//! read ([`crate::alerts`]), then a kill (through [`super::kill::kill_flags`],
//! the same path as a human's kill) or a restore, audited as the trigger.
//! A resolved alert undoes only the trigger's own kill, never a human's.
//!
//! Must not touch: HTTP types, and how a secret is looked up and
//! authenticated (the handler resolves it to an active [`Trigger`] first,
//! through the credential guard).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::OpResult;
use super::kill::{Receipted, kill_flags, record_restore, with_receipt};
use crate::alerts::{self, Alert, Signal};
use crate::delivery::receipts::Receipt;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{Actor, ActorKind, KillRequest, Trigger, TriggerAction, Written};

/// How many times one trigger may fire per minute, over the whole fleet.
pub const FIRES_PER_MINUTE: u32 = 10;

/// What a notification did.
#[derive(Debug, Serialize, Deserialize)]
pub struct HookOutcome {
    /// `true` when the notification asked for nothing this trigger does
    /// (nothing was written or audited).
    pub ignored: bool,
    /// What was done.
    pub action: Option<TriggerAction>,
    /// The sender's status (`firing`, `resolved`, `alerting`, `ok`…), if it gave one.
    pub status: Option<String>,
    /// Why a notification was ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Whether the flag's state changed (`false`: it already was killed/restored).
    pub changed: bool,
    /// The environment revision after the change.
    pub revision: Option<u64>,
    /// Delivery to connected SDK instances (with `?wait=`).
    pub receipt: Option<Receipt>,
}

impl HookOutcome {
    fn ignored(status: Option<String>, note: &str) -> HookOutcome {
        HookOutcome {
            ignored: true,
            action: None,
            status,
            note: Some(note.to_string()),
            changed: false,
            revision: None,
            receipt: None,
        }
    }
}

/// The request a trigger fired from (for its audit events).
#[derive(Debug, Default, Clone)]
pub struct Origin {
    /// `x-request-id`.
    pub request_id: Option<String>,
    /// The sender's address.
    pub client_addr: Option<String>,
}

/// Fires `trigger` (already authenticated) with an alert notification
/// `body`: 429 beyond [`FIRES_PER_MINUTE`] (every well-formed request
/// counts, ignored ones included), then kills or restores its flag, or
/// ignores the notification without writing anything.
#[tracing::instrument(name = "trigger.fire", skip_all, fields(
    request_id = origin.request_id.as_deref(), actor = %trigger.name, project = %trigger.project,
    env = %trigger.environment, flag = %trigger.flag, revision = tracing::field::Empty,
))]
pub async fn fire(
    state: &AppState,
    trigger: Trigger,
    origin: Origin,
    body: &[u8],
    wait: Option<Duration>,
) -> OpResult<HookOutcome> {
    if let Some(retry) = state.store.claim_trigger_fire(trigger.id, FIRES_PER_MINUTE, Duration::from_secs(60)).await? {
        let retry_after = retry.as_secs_f64().ceil().max(1.0) as u64;
        return Err(ApiError::TooManyRequests { retry_after });
    }
    let alert = alerts::parse(body);
    let action = match (trigger.action, alert.signal) {
        (TriggerAction::Kill, Signal::Fire) => TriggerAction::Kill,
        (TriggerAction::Kill, Signal::Resolve) if trigger.restore_on_resolve => TriggerAction::Restore,
        (TriggerAction::Restore, Signal::Fire) => TriggerAction::Restore,
        (_, Signal::Resolve) => {
            return Ok(HookOutcome::ignored(alert.status, "resolved notifications do nothing for this trigger"));
        }
        (_, Signal::Ignore) => return Ok(HookOutcome::ignored(alert.status, "this alert state asks for nothing")),
    };
    let actor = Actor {
        name: trigger.name.clone(),
        kind: ActorKind::Trigger,
        request_id: origin.request_id,
        client_addr: origin.client_addr,
        id: None,
    };
    tracing::info!(trigger = %trigger.name, project = %trigger.project, env = %trigger.environment, flag = %trigger.flag, action = ?action, "trigger fired");
    let receipted = match action {
        TriggerAction::Kill => kill_as(state, &trigger, actor, &alert, wait).await?,
        TriggerAction::Restore => match restore_as(state, &trigger, actor, &alert, wait).await? {
            Some(receipted) => receipted,
            None => {
                let note = "the flag was killed by someone else; restore it by hand";
                return Ok(HookOutcome::ignored(alert.status, note));
            }
        },
    };
    if let Some(revision) = receipted.written.revision {
        tracing::Span::current().record("revision", revision);
    }
    state.metrics.triggers_fired.inc();
    let Receipted { written, receipt } = receipted;
    let (changed, revision) = (written.changed, written.revision);
    Ok(HookOutcome {
        ignored: false,
        action: Some(action),
        status: alert.status,
        note: None,
        changed,
        revision,
        receipt,
    })
}

/// The trigger's kill, on the path every kill takes.
async fn kill_as(
    state: &AppState,
    trigger: &Trigger,
    actor: Actor,
    alert: &Alert,
    wait: Option<Duration>,
) -> OpResult<Receipted<()>> {
    let reason = alert.reason(&format!("fired by trigger {}", trigger.name));
    let flags = vec![trigger.flag.clone()];
    // The alert's own start, for the incident timeline (`ops::incident`).
    let detail = alert.starts_at.map(|t| serde_json::json!({"alert": {"starts_at": t.to_rfc3339()}}));
    let request = KillRequest { flags, reason, incident: alert.incident.clone(), panic: false, detail };
    let place = (trigger.project.as_str(), trigger.environment.as_str());
    let Receipted { written, receipt } = kill_flags(state, actor, "trigger", place, request, wait).await?;
    Ok(Receipted { written: Written { value: (), changed: written.changed, revision: written.revision }, receipt })
}

/// The trigger's restore; `None` when a resolved alert finds the flag
/// killed by someone else (a human's kill is never undone by an alert).
async fn restore_as(
    state: &AppState,
    trigger: &Trigger,
    actor: Actor,
    alert: &Alert,
    wait: Option<Duration>,
) -> OpResult<Option<Receipted<()>>> {
    let (project, env, flag) = (&trigger.project, &trigger.environment, &trigger.flag);
    if alert.signal == Signal::Resolve {
        let current = state.store.get_flag_config(project, env, flag).await?;
        if current.config.kill.is_some_and(|kill| kill.by != trigger.name) {
            return Ok(None);
        }
    }
    let reason = match alert.signal {
        Signal::Resolve => format!("resolved: {}", alert.reason(&trigger.name)),
        _ => alert.reason(&format!("restored by trigger {}", trigger.name)),
    };
    let reason = alerts::truncate(&reason);
    let flags = std::slice::from_ref(flag);
    let incident = alert.incident.clone();
    let written = state.store.restore_flags(&actor, project, env, flags, reason, incident.clone()).await?;
    let written = Written { value: (), changed: written.changed, revision: written.revision };
    let receipted = with_receipt(state, project, env, written, wait).await?;
    let revision = receipted.written.revision.filter(|_| receipted.written.changed);
    record_restore(
        state,
        actor,
        (project.as_str(), env.as_str()),
        flags,
        (revision, incident),
        receipted.receipt.clone(),
    )
    .await;
    Ok(Some(receipted))
}
