//! The SSE change stream of one environment: what a new stream sends
//! first (the missed changes, or a snapshot), then the live frames of the
//! hub's channel until the key is revoked, the stream reaches its age, the
//! server shuts down or the client lags.
//!
//! Owns a stream's life and its bytes. Must not touch HTTP types,
//! authentication or the application state: the handler authenticates,
//! reads the headers and hands over the [`Connect`] request and the
//! revocation signal.
//!
//! The stream subscribes to the environment's channel *before* it reads
//! what to send first (snapshot or the missed changes), so a change
//! committed in between is never lost; frames at or below the revision
//! already sent are skipped. Change frames are the hub's pre-serialised
//! `Bytes`, shared by every connection.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, stream};
use switchyard_core::protocol::{self, event::RESET, event::SNAPSHOT};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::channel::EnvChannel;
use super::frames::{Frame, ack_request, change_frame, goaway, retry_hint, sse_frame};
use super::hub::Hub;
use crate::store::{Result, Store};

/// The body of an SSE response.
pub type SseBody = Pin<Box<dyn Stream<Item = std::result::Result<Bytes, Infallible>> + Send>>;

/// Most changes replayed to a resuming stream; further behind, it gets a snapshot.
const MAX_REPLAY: u32 = 1_000;

/// An SDK's request for a stream (its key already authenticated).
#[derive(Debug)]
pub struct Connect {
    /// The key's environment.
    pub environment_id: i64,
    /// `Last-Event-ID`: the revision the SDK holds, if resuming.
    pub last_event_id: Option<u64>,
    /// `X-Switchyard-Instance` (an invalid one counts as absent).
    pub instance: Option<String>,
    /// Who the SDK says it is (service, version, SDK).
    pub identity: super::roster::Identity,
    /// The server's maximum stream age (zero: none).
    pub max_age: Duration,
}

/// Opens an SDK stream: the first frames, then the live ones until
/// `revoked` turns `true` (or the age, shutdown, a lag).
#[tracing::instrument(name = "stream.connect", skip_all,
    fields(env = connect.environment_id, instance = tracing::field::Empty, resume = connect.last_event_id, revision))]
pub async fn sdk(
    hub: &Arc<Hub>,
    store: &dyn Store,
    connect: Connect,
    revoked: watch::Receiver<bool>,
) -> Result<SseBody> {
    let env = connect.environment_id;
    let last_id = connect.last_event_id;
    let channel = hub.channel(env);
    let rx = channel.subscribe();
    let mut first = vec![retry_hint()];
    let (sent, delivered) = match resume_frames(&channel, store, last_id).await? {
        Some((frames, revision)) => {
            let delivered = !frames.is_empty();
            first.extend(frames);
            (revision, delivered)
        }
        None => {
            let (revision, json) = hub.snapshot_json_after(env, last_id.unwrap_or(0)).await?;
            // A client ahead of the store (the database was restored to an
            // earlier state) gets `reset`: replace, even with an older revision.
            let event = if last_id.is_some_and(|id| id > revision) { RESET } else { SNAPSHOT };
            first.push(sse_frame(event, revision, std::str::from_utf8(&json).unwrap_or(protocol::EMPTY_DATA)));
            (revision, true)
        }
    };
    if delivered {
        // The instance acknowledges what it now holds (a resumed stream
        // with nothing new already counts as applied, below).
        first.push(ack_request(&hub.ack_request(&channel, sent, false)));
    }
    let instance =
        connect.instance.filter(|v| valid_instance(v)).unwrap_or_else(|| format!("anonymous-{}", uuid::Uuid::new_v4()));
    tracing::Span::current().record("instance", instance.as_str()).record("revision", sent);
    channel.connections.fetch_add(1, Ordering::Relaxed);
    channel.receipts.connect_as(&instance, connect.identity, super::roster::Transport::Sse);
    // Resuming at `Last-Event-ID` means the client has applied that revision
    // (and acknowledged it on its previous stream, maybe to a server that has
    // since restarted). Count it: with nothing new to apply the client sends
    // no ack, and receipts of the current revision (a repeated kill) would
    // show every reconnected instance as pending.
    if let Some(applied) = last_id.filter(|id| *id <= sent) {
        channel.receipts.resumed(&instance, applied);
    }
    let live = Live {
        rx,
        sent,
        revoked: Some(revoked),
        expires: stream_deadline(connect.max_age, rand::random::<f64>()).map(|d| Instant::now() + d),
        closing: hub.closing(),
        hub: Arc::clone(hub),
        _guard: ConnectionGuard { channel, instance: Some(instance) },
    };
    Ok(Box::pin(stream::iter(first.into_iter().map(Ok)).chain(live.into_stream())))
}

/// Live changes of one environment for admin clients (the web UI): the
/// same `change` frames SDKs get, without the initial snapshot.
pub fn admin(hub: &Arc<Hub>, environment_id: i64) -> SseBody {
    let channel = hub.channel(environment_id);
    let live = Live {
        rx: channel.subscribe(),
        sent: channel.revision(),
        revoked: None,
        expires: None,
        closing: hub.closing(),
        hub: Arc::clone(hub),
        _guard: ConnectionGuard { channel, instance: None },
    };
    Box::pin(stream::iter([Ok(retry_hint())]).chain(live.into_stream()))
}

/// The missed changes after `last_id`, if the log still has them all.
async fn resume_frames(
    channel: &EnvChannel,
    store: &dyn Store,
    last_id: Option<u64>,
) -> Result<Option<(Vec<Bytes>, u64)>> {
    let Some(last_id) = last_id else { return Ok(None) };
    if last_id > channel.revision() {
        // A revision we never broadcast (another server's, or a reset database).
        return Ok(None);
    }
    let Some(events) = store.changes_since(channel.environment_id(), last_id, MAX_REPLAY).await? else {
        return Ok(None);
    };
    if events.len() >= MAX_REPLAY as usize {
        // Far behind: one snapshot is cheaper than a thousand deltas.
        return Ok(None);
    }
    let revision = events.last().map_or(last_id, |e| e.revision);
    Ok(Some((events.iter().map(change_frame).collect(), revision)))
}

/// Unregisters the stream when it ends.
struct ConnectionGuard {
    channel: Arc<EnvChannel>,
    /// The SDK instance (`None` for admin streams, which are not SDKs).
    instance: Option<String>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if let Some(instance) = &self.instance {
            self.channel.connections.fetch_sub(1, Ordering::Relaxed);
            self.channel.receipts.disconnect(instance);
        }
    }
}

/// An SDK instance id, as sent on the stream and in acks: 1 to 64 bytes
/// (a longer one would not fit the NOTIFY that forwards acks).
pub fn valid_instance(instance: &str) -> bool {
    (1..=protocol::MAX_INSTANCE_LEN).contains(&instance.chars().count())
}

/// The share of the maximum stream age that is always served; each
/// connection's age is drawn uniformly from `[MIN_AGE_SHARE, 1] × max age`.
const MIN_AGE_SHARE: f64 = 0.75;

/// How long a new SDK stream may live (`None`: for ever, `max_age` 0):
/// `max_age × (MIN_AGE_SHARE + (1 − MIN_AGE_SHARE) × unit)` for a random
/// `unit` in `[0, 1)`. Streams that all connected at once (to the first
/// replica up after a rolling restart) thus end spread over the last
/// quarter of the age, and their reconnections spread over the replicas.
fn stream_deadline(max_age: Duration, unit: f64) -> Option<Duration> {
    if max_age.is_zero() {
        return None;
    }
    let share = MIN_AGE_SHARE + (1.0 - MIN_AGE_SHARE) * unit.clamp(0.0, 1.0);
    Some(max_age.mul_f64(share))
}

/// The live part of a stream.
struct Live {
    rx: broadcast::Receiver<Frame>,
    sent: u64,
    /// Turns `true` when the SDK key is revoked (`None` for admin streams).
    revoked: Option<watch::Receiver<bool>>,
    /// When the stream reaches its (jittered) maximum age and says `goaway`
    /// (`None`: never; admin streams, or the limit disabled). Checked when
    /// a heartbeat wakes the stream (the hub beats at least four times per
    /// age): no timer per stream.
    expires: Option<Instant>,
    /// Server shutdown: send `goaway` and end.
    closing: watch::Receiver<bool>,
    hub: Arc<Hub>,
    _guard: ConnectionGuard,
}

/// What woke a live stream.
enum Wake {
    Frame(Frame),
    Revoked,
    Closing,
    Lagged,
    Ended,
}

impl Live {
    fn into_stream(self) -> impl Stream<Item = std::result::Result<Bytes, Infallible>> {
        stream::unfold(Some(self), |state| async move {
            let mut live = state?;
            loop {
                let wake = tokio::select! {
                    biased;
                    true = revoked(&mut live.revoked) => Wake::Revoked,
                    Ok(_) = live.closing.wait_for(|c| *c) => Wake::Closing,
                    frame = live.rx.recv() => match frame {
                        Ok(frame) => Wake::Frame(frame),
                        // Too slow: end the stream; the SDK resumes with Last-Event-ID.
                        Err(broadcast::error::RecvError::Lagged(_)) => Wake::Lagged,
                        Err(broadcast::error::RecvError::Closed) => Wake::Ended,
                    },
                };
                match wake {
                    Wake::Frame((0, _)) if live.expires.is_some_and(|at| Instant::now() >= at) => {
                        live.hub.metrics().streams_expired.inc();
                        return Some((Ok(goaway()), None));
                    }
                    Wake::Frame((revision, bytes)) => {
                        if revision != 0 && revision <= live.sent {
                            continue;
                        }
                        live.sent = live.sent.max(revision);
                        return Some((Ok(bytes), Some(live)));
                    }
                    // The SDK reconnects (to another replica behind the
                    // balancer) and resumes after the last revision it got:
                    // frames still queued here are replayed from the log.
                    Wake::Closing => return Some((Ok(goaway()), None)),
                    Wake::Lagged => {
                        live.hub.metrics().slow_consumers_dropped.inc();
                        return None;
                    }
                    Wake::Revoked | Wake::Ended => return None,
                }
            }
        })
    }
}

/// Resolves `true` once the key is revoked; never for admin streams.
async fn revoked(rx: &mut Option<watch::Receiver<bool>>) -> bool {
    match rx {
        Some(rx) => {
            // Err means the signal was dropped, which only happens on revocation.
            let _ = rx.wait_for(|revoked| *revoked).await;
            true
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::stream_deadline;

    #[test]
    fn stream_age_is_jittered_over_the_last_quarter() {
        let age = Duration::from_secs(1800);
        assert_eq!(stream_deadline(age, 0.0), Some(Duration::from_secs(1350)));
        assert_eq!(stream_deadline(age, 0.5), Some(Duration::from_secs(1575)));
        assert_eq!(stream_deadline(age, 1.0), Some(age));
        // Out-of-range draws are clamped, never beyond the maximum.
        assert_eq!(stream_deadline(age, 7.0), Some(age));
        assert_eq!(stream_deadline(age, -1.0), Some(Duration::from_secs(1350)));
    }

    #[test]
    fn a_zero_max_age_disables_the_limit() {
        assert_eq!(stream_deadline(Duration::ZERO, 0.3), None);
    }
}
