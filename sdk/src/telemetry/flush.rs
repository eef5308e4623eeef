//! The flush: every interval (and on [`crate::Client::flush`]) the current
//! window is closed into a batch and the queue of unsent batches is sent,
//! oldest first. The queue is bounded: while the server cannot be reached
//! the oldest batches are dropped and their items counted, to be reported
//! in the next batch the server accepts. Nothing here ever blocks an
//! evaluation.

use std::collections::VecDeque;
use std::sync::Arc;

use super::batch::TelemetryBatch;
use super::{NotSent, Telemetry};

/// The SDK's name and version on the wire.
const SDK: &str = concat!("switchyard-rust/", env!("CARGO_PKG_VERSION"));

/// Unsent batches; the async lock also keeps two flushes from sending the
/// same batch.
#[derive(Default)]
pub(crate) struct Pending {
    queue: tokio::sync::Mutex<VecDeque<TelemetryBatch>>,
}

/// Closes the window and sends every queued batch. When the server cannot
/// take it now the batches stay queued (bounded) for the next flush; a batch
/// the server refuses is discarded (its items counted as dropped) and the
/// rest are still sent. `Err` names the last reason and how many batches
/// are still queued.
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
    let mut refused = None;
    while let Some(front) = queue.front_mut() {
        front.dropped += t.take_dropped();
        let body = serde_json::to_vec(&*front).map_err(|e| (e.to_string(), 0))?;
        match (t.send)(body).await {
            Ok(()) => {
                queue.pop_front();
            }
            Err(NotSent::Refused(why)) => {
                if let Some(gone) = queue.pop_front() {
                    t.add_dropped(gone.items() + gone.dropped);
                }
                tracing::warn!(%why, "switchyard telemetry batch refused by the server; discarded and counted as dropped");
                refused = Some(why);
            }
            Err(NotSent::Retry(failure)) => {
                tracing::debug!(%failure, pending = queue.len(), "switchyard telemetry not sent; kept for the next flush");
                return Err((failure, queue.len()));
            }
        }
    }
    match refused {
        Some(why) => Err((format!("refused by the server: {why}"), 0)),
        None => Ok(()),
    }
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::super::{NotSent, Sender, Telemetry, TelemetryConfig};
    use super::*;

    /// A sender answering from a script, recording what it was sent.
    fn scripted(answers: Vec<Result<(), NotSent>>) -> (Sender, Arc<Mutex<Vec<TelemetryBatch>>>) {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(VecDeque::from(answers)));
        let log = sent.clone();
        let send: Sender = Arc::new(move |body: Vec<u8>| {
            let answer = answers.lock().unwrap().pop_front().unwrap_or(Ok(()));
            let batch: TelemetryBatch = serde_json::from_slice(&body).unwrap();
            if answer.is_ok() {
                log.lock().unwrap().push(batch);
            }
            Box::pin(async move { answer })
        });
        (send, sent)
    }

    fn telemetry(send: Sender) -> Telemetry {
        Telemetry::new(TelemetryConfig::new(Duration::from_secs(10), "i-1".into()), send)
    }

    #[tokio::test]
    async fn a_refused_batch_is_dropped_and_counted_not_retried_forever() {
        let (send, sent) = scripted(vec![Err(NotSent::Refused("HTTP 400".into()))]);
        let t = telemetry(send);
        t.track(0, "checkout", 1.0);
        t.track(0, "checkout", 1.0);
        let first = flush_now(&t).await;
        assert!(first.is_err_and(|(why, pending)| why.contains("HTTP 400") && pending == 0));
        t.track(0, "signup", 1.0);
        flush_now(&t).await.unwrap();
        let sent = sent.lock().unwrap();
        assert_eq!(sent.len(), 1, "the refused batch is not sent again");
        assert_eq!(sent[0].events.len(), 1);
        assert_eq!(sent[0].dropped, 2, "the two refused events are reported as dropped");
    }

    #[tokio::test]
    async fn an_unreachable_server_keeps_the_batch_for_the_next_flush() {
        let (send, sent) = scripted(vec![Err(NotSent::Retry("connection refused".into()))]);
        let t = telemetry(send);
        t.track(0, "checkout", 1.0);
        assert!(flush_now(&t).await.is_err_and(|(_, pending)| pending == 1));
        flush_now(&t).await.unwrap();
        let sent = sent.lock().unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].events.len(), 1);
        assert_eq!(sent[0].dropped, 0);
    }
}
