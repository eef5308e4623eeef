//! One environment's fan-out state: its broadcast channel, the last
//! revision broadcast on it, its open streams and their receipts.
//!
//! Owns the per-environment registry only. Sending on the channel is the
//! [`super::hub`]'s; reading from it is [`super::stream`]'s. Must not touch
//! the store or HTTP.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::broadcast;

use super::frames::Frame;
use super::receipts::Registry;

/// Capacity of each environment's channel; a stream lagging further
/// behind is disconnected and resyncs on reconnect.
pub const CHANNEL_CAPACITY: usize = 1024;

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
