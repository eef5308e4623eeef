//! One stream connection, from request to end: reading items with a
//! silence deadline, applying events, and polling the snapshot meanwhile
//! when the connection does not confirm the data in time.
//!
//! Owns: one connection's loop and event dispatch (event names and data
//! from `switchyard_core::protocol`). Must not touch: request building
//! (`http`), SSE parsing (`sse`), installing data (`apply`).

use std::time::Duration;

use switchyard_core::protocol::{ACKS_ON_REQUEST, Event, header};
use tokio::time::{Instant, sleep_until, timeout, timeout_at};

use super::apply::ChangeError;
use super::http::Failure;
use super::sse::{ReadError, SseEvent, SseItem, SseReader};
use super::{End, Syncer};

/// Bounds on a heartbeat interval announced by the server.
const MIN_HEARTBEAT: Duration = Duration::from_millis(100);
const MAX_HEARTBEAT: Duration = Duration::from_secs(600);

impl Syncer {
    /// One stream connection, from request to end.
    pub(super) async fn stream_once(&mut self, resume: bool) -> End {
        let last_id = if resume && self.authoritative { self.shared.revision() } else { None };
        self.fresh_start = last_id.is_none() && self.authoritative;
        self.caught_up = false;
        let opened = Instant::now();
        let open_timeout = self.config.read_timeout.min(self.silence());
        let resp = match timeout(open_timeout, self.endpoint.open_stream(last_id)).await {
            Err(_) => return End::Failed { failure: Failure::Silence(open_timeout), resume: true },
            Ok(Err(failure)) => return End::Failed { failure, resume: true },
            Ok(Ok(resp)) => resp,
        };
        if let Some(announced) = announced_heartbeat(&resp) {
            self.heartbeat = announced;
        }
        let on_request = resp.headers().get(header::ACKS).is_some_and(|v| v.as_bytes() == ACKS_ON_REQUEST.as_bytes());
        self.acks.send_if_modified(|acks| std::mem::replace(&mut acks.on_request, on_request) != on_request);
        let mut reader = SseReader::new(resp.bytes_stream(), self.endpoint.max_body);
        let mut silent_at = Instant::now() + self.silence();
        loop {
            // Give the connection two heartbeats to confirm before polling.
            let poll_at = self.poll_at().map(|at| at.max(opened + self.silence()));
            let read = async {
                match poll_at {
                    Some(at) => tokio::select! {
                        read = timeout_at(silent_at, reader.next()) => Some(read),
                        () = sleep_until(at) => None,
                    },
                    None => Some(timeout_at(silent_at, reader.next()).await),
                }
            };
            let item = match read.await {
                None => {
                    let _ = self.poll_once().await;
                    continue;
                }
                Some(Err(_)) => return End::Failed { failure: Failure::Silence(self.silence()), resume: true },
                Some(Ok(Err(ReadError::Body(e)))) => {
                    return End::Failed { failure: Failure::Network(e.to_string()), resume: true };
                }
                Some(Ok(Err(ReadError::TooLarge(e)))) => {
                    return End::Failed { failure: Failure::Protocol(e.to_string()), resume: true };
                }
                Some(Ok(Ok(None))) => return End::Closed,
                Some(Ok(Ok(Some(item)))) => item,
            };
            silent_at = Instant::now() + self.silence();
            match item {
                SseItem::Comment => {
                    // Everything sent before this heartbeat has arrived.
                    self.progress = true;
                    self.caught_up = true;
                    self.confirmed();
                }
                SseItem::Retry(hint) => {
                    self.retry_hint = Some(hint);
                    self.backoff.set_floor(hint);
                }
                SseItem::Event(event) => {
                    self.progress = true;
                    if let Err(end) = self.handle_event(event) {
                        return end;
                    }
                }
            }
        }
    }

    /// Applies one event; `Err` ends the connection.
    fn handle_event(&mut self, event: SseEvent) -> Result<(), End> {
        let malformed = |what: &str, e: serde_json::Error| End::Failed {
            failure: Failure::Protocol(format!("malformed {what} event: {e}")),
            resume: true,
        };
        // Invalid content (does not compile): start over from a full snapshot.
        let invalid = |msg: String| End::Failed { failure: Failure::Protocol(msg), resume: false };
        let parsed = match Event::parse(&event.event, &event.data) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => {
                tracing::debug!(event = event.event, "ignoring unknown switchyard event");
                return Ok(());
            }
            Err(e) => return Err(malformed(&event.event, e)),
        };
        let reset_event = matches!(parsed, Event::Reset(_));
        match parsed {
            Event::Snapshot(snapshot) | Event::Reset(snapshot) => {
                let reset = reset_event || std::mem::take(&mut self.fresh_start);
                self.apply_full(snapshot, reset).map_err(invalid)?;
                // The server's state when this connection opened.
                self.caught_up = true;
            }
            Event::Change(change) => match self.apply_change(change) {
                Ok(()) => {}
                Err(ChangeError::Gap) => return Err(End::Resync),
                Err(ChangeError::Invalid(msg)) => return Err(invalid(msg)),
            },
            Event::Resync => return Err(End::Resync),
            Event::GoAway => return Err(End::GoAway),
            Event::Ack(request) => {
                self.acks.send_modify(|acks| acks.asked(request));
                return Ok(());
            }
        }
        if self.caught_up {
            self.confirmed();
        }
        Ok(())
    }
}

/// The heartbeat interval the server announced, within sane bounds.
fn announced_heartbeat(resp: &reqwest::Response) -> Option<Duration> {
    let ms = resp.headers().get(header::HEARTBEAT_MS)?.to_str().ok()?.trim().parse::<u64>().ok()?;
    Some(Duration::from_millis(ms).clamp(MIN_HEARTBEAT, MAX_HEARTBEAT))
}
