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

use switchyard_core::CompiledSnapshot;
use tokio::sync::watch;

use super::http::Endpoint;
use crate::persist;
use crate::state::Shared;

/// Acknowledges the latest applied revision (`POST /sdk/v1/ack`). Errors
/// are logged at debug level and otherwise ignored: the server only uses
/// acks to count deliveries.
///
/// Each ack is held for a jittered `delay` after the revision was applied
/// and reports how long it was held (`held_ms`), so the server still
/// computes the true apply time. Why hold it: when a change reaches
/// thousands of instances at once, their acks would otherwise compete for
/// the server's CPU with the delivery of that very change.
pub(crate) async fn ack_loop(endpoint: Endpoint, mut applied: watch::Receiver<u64>, delay: std::time::Duration) {
    while applied.changed().await.is_ok() {
        let revision = *applied.borrow_and_update();
        let seen = std::time::Instant::now();
        if !delay.is_zero() {
            tokio::time::sleep(super::backoff::jitter(delay)).await;
        }
        match endpoint.ack(revision, seen.elapsed()).await {
            Ok(()) => tracing::trace!(revision, "switchyard ack sent"),
            Err(error) => tracing::debug!(revision, %error, "switchyard ack failed (ignored)"),
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
