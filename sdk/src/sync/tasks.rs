//! Coalescing writers fed through `watch` channels: the latest value wins,
//! at most one request (or file write) is in flight, and neither ever
//! blocks evaluation or the sync task. And the freshness watch, which turns
//! the status `Stale` when nothing confirms the data within the bound.
//!
//! Owns: the coalescing ack and persistence writers and the freshness
//! watch. Must not touch: what is applied (`apply`), the file format
//! (`persist`).

use std::path::PathBuf;
use std::sync::Arc;

use std::time::{Duration, Instant};

use switchyard_core::CompiledSnapshot;
use switchyard_core::protocol::AckRequest;
use tokio::sync::watch;

use super::http::Endpoint;
use crate::persist;
use crate::state::Shared;

/// What the acknowledgement writer goes by (fed by the sync task).
#[derive(Debug, Clone, Default)]
pub(crate) struct AckState {
    /// The server revision applied (0: none), and when.
    pub(crate) applied: u64,
    pub(crate) applied_at: Option<Instant>,
    /// The stream's server asks for acknowledgements (`header::ACKS`):
    /// only its requests are answered, after the hold they advise.
    pub(crate) on_request: bool,
    /// Requests received so far; the latest one's revision and hold.
    pub(crate) asks: u64,
    pub(crate) requested: u64,
    pub(crate) hold: Option<Duration>,
}

impl AckState {
    /// Whether an acknowledgement is due, `acked` and `answered` being the
    /// revision last sent and the requests it answered.
    fn due(&self, acked: u64, answered: u64) -> bool {
        if self.applied == 0 {
            return false;
        }
        if self.on_request { self.asks > answered && self.applied >= self.requested } else { self.applied != acked }
    }

    /// Records an `ack` event.
    pub(crate) fn asked(&mut self, request: AckRequest) {
        self.asks += 1;
        self.requested = request.revision;
        self.hold = Some(Duration::from_millis(request.hold_ms).min(MAX_ADVISED_HOLD));
    }
}

/// The longest hold a server may advise (a bogus one cannot silence acks).
const MAX_ADVISED_HOLD: Duration = Duration::from_secs(60);

/// Acknowledges the applied revision (`POST /sdk/v1/ack`): when the server
/// asks (an `ack` event, on streams whose server announced
/// `header::ACKS`), after a jittered hold of up to the hold it advises;
/// with older servers, every applied revision after `own_hold`. Errors are
/// logged at debug level and otherwise ignored: the server only uses acks
/// to count deliveries.
///
/// The ack is sent after the hold with the revision applied *then*, so
/// changes that arrive meanwhile are acknowledged together (one request),
/// and reports how long that revision was held (`held_ms`), so the server
/// still computes its true apply time. Why hold at all: when a change
/// reaches thousands of instances at once, their acks would otherwise
/// compete for the server's CPU with the delivery of that very change.
pub(crate) async fn ack_loop(endpoint: Endpoint, mut state: watch::Receiver<AckState>, own_hold: Duration) {
    let (mut acked, mut answered) = (0, 0);
    loop {
        let hold = match state.wait_for(|s| s.due(acked, answered)).await {
            Ok(s) if s.on_request => s.hold.unwrap_or(own_hold),
            Ok(_) => own_hold,
            Err(_) => return,
        };
        if !hold.is_zero() {
            hold_unless_hurried(&mut state, hold).await;
        }
        let now = state.borrow_and_update().clone();
        let held = now.applied_at.map_or(Duration::ZERO, |at| at.elapsed());
        match endpoint.ack(now.applied, held).await {
            Ok(()) => tracing::trace!(revision = now.applied, "switchyard ack sent"),
            Err(error) => tracing::debug!(revision = now.applied, %error, "switchyard ack failed (ignored)"),
        }
        acked = now.applied;
        if now.applied >= now.requested {
            answered = now.asks;
        }
    }
}

/// Sleeps a jittered `hold`, cut short when a newer request advises a
/// shorter one (a kill asks for its ack at once, and must not wait behind
/// the hold of an ordinary change just before it).
async fn hold_unless_hurried(state: &mut watch::Receiver<AckState>, mut hold: Duration) {
    let mut deadline = tokio::time::Instant::now() + super::backoff::jitter(hold);
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => return,
            changed = state.changed() => {
                if changed.is_err() {
                    return;
                }
                let advised = state.borrow_and_update().hold;
                if let Some(advised) = advised.filter(|&advised| advised < hold) {
                    hold = advised;
                    deadline = deadline.min(tokio::time::Instant::now() + super::backoff::jitter(advised));
                }
            }
        }
    }
}

/// Writes the latest snapshot to `path` (temporary file + rename). The wire
/// form is materialised here, from the sources the compiled snapshot keeps,
/// so applying a change never copies the model.
pub(crate) async fn persist_loop(
    path: PathBuf,
    fingerprint: String,
    mut latest: watch::Receiver<Option<Arc<CompiledSnapshot>>>,
) {
    while latest.changed().await.is_ok() {
        let Some(snapshot) = latest.borrow_and_update().clone() else {
            continue;
        };
        let (path, fingerprint) = (path.clone(), fingerprint.clone());
        let revision = snapshot.revision();
        let result =
            tokio::task::spawn_blocking(move || persist::write(&path, &fingerprint, &snapshot.to_snapshot())).await;
        match result {
            Ok(Ok(())) => tracing::debug!(revision, "switchyard snapshot persisted"),
            Ok(Err(error)) => {
                tracing::warn!(revision, %error, "cannot persist the switchyard snapshot")
            }
            Err(error) => {
                tracing::warn!(revision, %error, "persisting the switchyard snapshot panicked")
            }
        }
    }
}

/// Turns `Ready` into `Stale` once the data has gone unconfirmed for longer
/// than the stale bound. Needed because the failures that matter most are
/// silent: a stalled stream and failing polls deliver nothing to react to.
pub(crate) async fn freshness_watch(shared: Arc<Shared>) {
    let Some(bound) = shared.stale_bound else {
        return;
    };
    let mut status = shared.status.subscribe();
    loop {
        match shared.freshness.age() {
            Some(age) if age <= bound => {
                tokio::time::sleep(bound - age + std::time::Duration::from_millis(1)).await;
            }
            _ => {
                shared.expire_if_stale();
                status.borrow_and_update();
                if status.changed().await.is_err() {
                    return;
                }
            }
        }
    }
}
