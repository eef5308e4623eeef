//! One environment's fan-out state: its broadcast channel, the last
//! revision broadcast on it, its open streams and their receipts.
//!
//! Owns the per-environment registry only. Sending on the channel is the
//! [`super::hub`]'s; reading from it is [`super::stream`]'s. Must not touch
//! the store or HTTP.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::broadcast;

use super::frames::Frame;
use super::receipts::Registry;

/// Capacity of each environment's channel; a stream lagging further
/// behind is disconnected and resyncs on reconnect.
pub const CHANNEL_CAPACITY: usize = 1024;

/// The advised hold grows by this much per open stream.
const HOLD_PER_STREAM: Duration = Duration::from_micros(100);

/// The longest hold advised.
pub const MAX_HOLD: Duration = Duration::from_secs(10);

/// The acknowledgement hold advised to SDKs of an environment with
/// `streams` open streams: at least `least`, 0.1 ms per stream (the fan-out
/// of a change to 10,000 streams takes the better part of a second on a
/// small machine; acks held that long reach a server that is done with
/// it), at most [`MAX_HOLD`].
pub fn advised_hold(least: Duration, streams: usize) -> Duration {
    let by_streams = HOLD_PER_STREAM.saturating_mul(u32::try_from(streams).unwrap_or(u32::MAX));
    least.max(by_streams).min(MAX_HOLD)
}

/// The hold advised for an urgent change (a kill, a restore, a write whose
/// caller waits for the receipt): 0.03 ms per stream, no least hold, at
/// most 1 s: 0 below 34 streams, 30 ms at 1,000, 300 ms at 10,000. SDKs
/// answer after 50-100 % of it, so a fleet's acks arrive after the fan-out
/// they acknowledge has reached the last SDKs (about 20 ms at 1,000 on 2
/// cores) instead of competing with its tail; with 0.01 ms per stream
/// (10 ms at 1,000), 1,000 acks landed inside the fan-out and the last SDK
/// applied a kill 2-3x later than a toggle (docs/benchmarks.md). Short
/// enough for the responder waiting for "applied by N/N"; receipts exclude
/// it either way (SDKs report how long they held).
pub fn urgent_hold(streams: usize) -> Duration {
    (HOLD_PER_STREAM * 3 / 10).saturating_mul(u32::try_from(streams).unwrap_or(u32::MAX)).min(Duration::from_secs(1))
}

/// One environment's fan-out state.
pub struct EnvChannel {
    environment_id: i64,
    pub(super) sender: broadcast::Sender<Frame>,
    revision: AtomicU64,
    /// Open SSE streams.
    pub connections: AtomicUsize,
    /// Which SDK instances applied which revision.
    pub receipts: Registry,
}

impl EnvChannel {
    /// A channel at revision 0.
    pub(super) fn new(environment_id: i64) -> EnvChannel {
        EnvChannel {
            environment_id,
            sender: broadcast::channel(CHANNEL_CAPACITY).0,
            revision: AtomicU64::new(0),
            connections: AtomicUsize::new(0),
            receipts: Registry::default(),
        }
    }

    /// The environment's id.
    pub fn environment_id(&self) -> i64 {
        self.environment_id
    }

    /// The last revision broadcast.
    pub fn revision(&self) -> u64 {
        self.revision.load(Ordering::Acquire)
    }

    /// Records `revision` as broadcast (the hub does, before sending it).
    pub(super) fn set_revision(&self, revision: u64) {
        self.revision.store(revision, Ordering::Release);
    }

    /// Subscribes (do this *before* reading the snapshot for a new stream).
    pub fn subscribe(&self) -> broadcast::Receiver<Frame> {
        self.sender.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{MAX_HOLD, advised_hold, urgent_hold};

    #[test]
    fn the_advised_hold_grows_with_the_streams_within_bounds() {
        let least = Duration::from_millis(100);
        assert_eq!(advised_hold(least, 0), least);
        assert_eq!(advised_hold(least, 1_000), least);
        assert_eq!(advised_hold(least, 10_000), Duration::from_secs(1));
        assert_eq!(advised_hold(least, 10_000_000), MAX_HOLD);
        assert_eq!(advised_hold(Duration::ZERO, 0), Duration::ZERO);
    }

    #[test]
    fn the_urgent_hold_grows_per_stream_without_a_floor() {
        assert_eq!(urgent_hold(0), Duration::ZERO);
        assert_eq!(urgent_hold(1_000), Duration::from_millis(30));
        assert_eq!(urgent_hold(10_000), Duration::from_millis(300));
        assert_eq!(urgent_hold(10_000_000), Duration::from_secs(1));
    }
}
