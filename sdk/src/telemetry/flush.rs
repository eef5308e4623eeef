//! The flush: every interval (and on [`crate::Client::flush`]) the current
//! window is closed into a batch and the queue of unsent batches is sent,
//! oldest first. The queue is bounded: while the server cannot be reached
//! the oldest batches are dropped and their items counted, to be reported
//! in the next batch the server accepts. Nothing here ever blocks an
//! evaluation.

use std::collections::VecDeque;
use std::sync::Arc;

use super::Telemetry;
use super::batch::TelemetryBatch;

/// The SDK's name and version on the wire.
const SDK: &str = concat!("switchyard-rust/", env!("CARGO_PKG_VERSION"));

/// Unsent batches; the async lock also keeps two flushes from sending the
/// same batch.
#[derive(Default)]
pub(crate) struct Pending {
    queue: tokio::sync::Mutex<VecDeque<TelemetryBatch>>,
}

/// Closes the window and sends every queued batch. On failure the batches
/// stay queued (bounded) for the next flush.
pub(crate) async fn flush_now(t: &Telemetry) -> Result<(), (String, usize)> {
    let mut queue = t.pending.queue.lock().await;
    let batch = t.harvest(SDK);
    if !batch.is_empty() {
        queue.push_back(batch);
    }
    while queue.len() > t.config.max_pending {
        if let Some(old) = queue.pop_front() {
            t.add_dropped(old.items() + old.dropped);
        }
    }
    while let Some(front) = queue.front_mut() {
        front.dropped += t.take_dropped();
        let body = serde_json::to_vec(&*front).map_err(|e| (e.to_string(), 0))?;
        match (t.send)(body).await {
            Ok(()) => {
                queue.pop_front();
            }
            Err(failure) => {
                tracing::debug!(%failure, pending = queue.len(), "switchyard telemetry not sent; kept for the next flush");
                return Err((failure, queue.len()));
            }
        }
    }
    Ok(())
}

/// Flushes every `flush_interval` until the task is aborted (when the
/// client is dropped).
pub(crate) async fn flush_loop(t: Arc<Telemetry>) {
    let mut tick = tokio::time::interval(t.config.flush_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate
    loop {
        tick.tick().await;
        let _ = flush_now(&t).await;
    }
}
