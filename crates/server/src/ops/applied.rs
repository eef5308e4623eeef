//! What a kill's delivery receipt becomes: the answer's [`Receipted`] (a
//! write plus, when waited for, its receipt) and the `flag.kill.applied`
//! audit event ([`AppliedKill`]) that every kill which changed something
//! gets exactly once (and `flag.restore.applied`, which every restore
//! made for an incident gets: the incident timeline's "fleet obeyed").
//!
//! Must not touch: HTTP types, the receipts registry's internals (it asks
//! [`crate::delivery::fleet::Fleet`] for a receipt and stores what it got).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::Instrument as _;

use crate::delivery::receipts::Receipt;
use crate::state::AppState;
use crate::store::{Actor, ReceiptOf, Written};

/// Longest wait for a receipt (`?wait=` is at most this).
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// How long a kill nobody waited on is awaited in the background before its
/// receipt is recorded anyway (`complete: false`).
pub const RECORD_WAIT: Duration = MAX_WAIT;

/// How often that background wait asks the other replicas.
const RECORD_POLL: Duration = Duration::from_millis(250);

/// A write's result plus, when asked to wait, its delivery receipt.
#[derive(Debug, Serialize, Deserialize)]
pub struct Receipted<T> {
    /// The write.
    #[serde(flatten)]
    pub written: Written<T>,
    /// Delivery to connected SDK instances (with `?wait=`).
    pub receipt: Option<Receipt>,
}

/// A committed kill whose delivery receipt goes into the audit history
/// (`flag.kill.applied`): who had applied it, how fast, and whether every
/// connected SDK instance had. Every kill that changed something gets
/// exactly one: a waited-on kill records the receipt it answered with; any
/// other (no wait, or a trigger's) is awaited in the background, up to
/// [`RECORD_WAIT`] or until complete. Failing to record it does not fail
/// the kill, which is already committed. A restore made for an incident
/// gets one the same way (`flag.restore.applied`, `of.restore`).
pub struct AppliedKill {
    /// Who killed (the receipt is recorded as them).
    pub actor: Actor,
    /// Project key.
    pub project: String,
    /// Environment key.
    pub env: String,
    /// The flags killed.
    pub flags: Vec<String>,
    /// The write's revision, whether it was a restore, its incident.
    pub of: ReceiptOf,
}

impl AppliedKill {
    /// Records `receipt` now, or (`None`) waits for it in the background
    /// (in a `record_receipt` span, child of the caller's).
    pub async fn record(self, state: &AppState, receipt: Option<Receipt>) {
        match receipt {
            Some(receipt) => self.write(state, &receipt).await,
            None => {
                let state = state.clone();
                let span = tracing::info_span!("record_receipt", revision = self.of.revision);
                state.background.clone().spawn(async move { self.await_and_write(&state).await }.instrument(span));
            }
        }
    }

    async fn await_and_write(self, state: &AppState) {
        match state.store.get_environment(&self.project, &self.env).await {
            Ok(env) => {
                let (hub, rev) = (&state.hub, self.of.revision);
                // Shutting down: record what is known now, while the SDKs
                // are still connected (`complete: false` unless every one of
                // them had it).
                let receipt = tokio::select! {
                    receipt = state.fleet.wait_polling(hub, env.id, rev, RECORD_WAIT, RECORD_POLL) => receipt,
                    () = state.stopping.cancelled() => state.fleet.receipt(hub, env.id, rev).await,
                };
                self.write(state, &receipt).await;
            }
            Err(err) => tracing::warn!(error = %err, revision = self.of.revision, "kill receipt: no environment"),
        }
    }

    async fn write(&self, state: &AppState, receipt: &Receipt) {
        let mut json = serde_json::to_value(receipt).unwrap_or_default();
        json["complete"] = serde_json::Value::Bool(receipt.complete());
        let (actor, revision) = (&self.actor, self.of.revision);
        if let Err(err) = state.store.record_receipt(actor, &self.project, &self.env, &self.flags, &self.of, json).await
        {
            tracing::warn!(error = %err, revision, "recording the receipt failed");
        }
    }
}
