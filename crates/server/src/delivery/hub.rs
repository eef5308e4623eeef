//! The change hub: turns committed changes into SSE frames, once, and fans
//! them out to every stream of the environment.
//!
//! Writers hand [`EnvChange`]s to the hub through [`ChangeSink::publish`],
//! which only queues them: the hub task does the serialising and the
//! `broadcast::send` (at 10k receivers waking them costs milliseconds, which
//! must not be charged to the request that committed). The hub guarantees
//! per-environment, gap-free, in-order delivery: an event older than what
//! was already broadcast is dropped; an event that would leave a gap (two
//! commits published out of order, or a change made by another replica) is
//! preceded by the missing changes read from the store's change log.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use dashmap::DashMap;
use switchyard_core::protocol;
use tokio::sync::{broadcast, mpsc, watch};

use crate::store::{ChangeEvent, ChangeSink, DynStore, EnvChange, SdkKey};

/// Capacity of each environment's channel; a stream lagging further
/// behind is disconnected and resyncs on reconnect.
pub const CHANNEL_CAPACITY: usize = 1024;

/// How long an authenticated SDK key is trusted without asking the store.
pub const SDK_KEY_TTL: Duration = Duration::from_secs(30);

/// A frame on an environment channel: its revision (0 for heartbeats and
/// control frames) and the complete, pre-serialised SSE bytes.
pub type Frame = (u64, Bytes);

/// One environment's fan-out state.
pub struct EnvChannel {
    sender: broadcast::Sender<Frame>,
    revision: AtomicU64,
    /// Open SSE streams.
    pub connections: AtomicUsize,
    /// Which SDK instances applied which revision.
    pub receipts: crate::delivery::receipts::Registry,
}

impl EnvChannel {
    /// The last revision broadcast.
    pub fn revision(&self) -> u64 {
        self.revision.load(Ordering::Acquire)
    }

    /// Subscribes (do this *before* reading the snapshot for a new stream).
    pub fn subscribe(&self) -> broadcast::Receiver<Frame> {
        self.sender.subscribe()
    }
}

/// The hub.
pub struct Hub {
    envs: DashMap<i64, Arc<EnvChannel>>,
    queue: mpsc::UnboundedSender<EnvChange>,
    store: OnceLock<DynStore>,
    /// Authenticated SDK keys by secret hash, with when they were checked
    /// (saves a query per request; entries expire so that a revocation on
    /// another replica takes effect within [`SDK_KEY_TTL`]).
    sdk_keys: DashMap<String, (SdkKey, std::time::Instant)>,
    /// Revocation signals of SDK keys with open streams.
    revoked: DashMap<i64, watch::Sender<bool>>,
    /// The last serialised snapshot per environment: (revision, JSON).
    snapshots: DashMap<i64, (u64, Bytes)>,
    /// Turns `true` when the server shuts down: streams say goodbye and end.
    closing: watch::Sender<bool>,
    /// Metrics.
    metrics: Arc<crate::metrics::Metrics>,
}

/// Serialises a change into its complete SSE frame.
pub fn change_frame(event: &ChangeEvent) -> Bytes {
    sse_frame(protocol::event::CHANGE, event.revision, &serde_json::to_string(event).unwrap_or_default())
}

/// Formats one SSE event (`data` must be a single line, as JSON is).
pub fn sse_frame(event: &str, id: u64, data: &str) -> Bytes {
    Bytes::from(protocol::frame(event, id, data))
}

impl Hub {
    /// Creates the hub and its queue consumer. Call [`Hub::start`] once the
    /// store exists (the store needs the hub as its sink first).
    pub fn new(metrics: Arc<crate::metrics::Metrics>) -> (Arc<Hub>, mpsc::UnboundedReceiver<EnvChange>) {
        let (queue, rx) = mpsc::unbounded_channel();
        let hub = Hub {
            envs: DashMap::new(),
            queue,
            store: OnceLock::new(),
            sdk_keys: DashMap::new(),
            revoked: DashMap::new(),
            snapshots: DashMap::new(),
            closing: watch::channel(false).0,
            metrics,
        };
        (Arc::new(hub), rx)
    }

    /// Loads current revisions, then runs the publisher and heartbeat tasks.
    pub async fn start(
        self: &Arc<Self>,
        store: DynStore,
        rx: mpsc::UnboundedReceiver<EnvChange>,
        heartbeat: Duration,
    ) -> crate::store::Result<()> {
        for (env, revision) in store.revisions().await? {
            self.channel(env).revision.store(revision, Ordering::Release);
        }
        let _ = self.store.set(store);
        tokio::spawn(Arc::clone(self).publisher(rx));
        tokio::spawn(Arc::clone(self).heartbeats(heartbeat));
        Ok(())
    }

    /// The channel of an environment (created on first use).
    pub fn channel(&self, environment_id: i64) -> Arc<EnvChannel> {
        self.envs
            .entry(environment_id)
            .or_insert_with(|| {
                Arc::new(EnvChannel {
                    sender: broadcast::channel(CHANNEL_CAPACITY).0,
                    revision: AtomicU64::new(0),
                    connections: AtomicUsize::new(0),
                    receipts: Default::default(),
                })
            })
            .clone()
    }

    /// Queues a revision known to exist in the store (e.g. from another
    /// replica's NOTIFY); the hub reads and broadcasts it if it is new.
    pub fn notify_revision(&self, environment_id: i64, revision: u64) {
        let _ = self.queue.send(EnvChange {
            environment_id,
            project: String::new(),
            environment: String::new(),
            event: ChangeEvent { revision, ..Default::default() },
        });
    }

    /// A cached, still-valid SDK key for a secret hash.
    pub fn cached_sdk_key(&self, hash: &str) -> Option<SdkKey> {
        self.sdk_keys.get(hash).filter(|e| e.1.elapsed() < SDK_KEY_TTL).map(|e| e.0.clone())
    }

    /// Remembers an authenticated SDK key.
    pub fn cache_sdk_key(&self, hash: String, key: SdkKey) {
        if self.sdk_keys.len() > 100_000 {
            self.sdk_keys.clear();
        }
        self.sdk_keys.insert(hash, (key, std::time::Instant::now()));
    }

    /// Forgets a revoked key and closes its open streams.
    pub fn revoke_key(&self, key_id: i64) {
        self.sdk_keys.retain(|_, k| k.0.id != key_id);
        if let Some((_, tx)) = self.revoked.remove(&key_id) {
            let _ = tx.send(true);
        }
    }

    /// A receiver that turns `true` when the key is revoked.
    pub fn revocation(&self, key_id: i64) -> watch::Receiver<bool> {
        self.revoked.entry(key_id).or_insert_with(|| watch::channel(false).0).subscribe()
    }

    /// The serialised snapshot of an environment, cached per revision.
    pub async fn snapshot_json(&self, environment_id: i64) -> crate::store::Result<(u64, Bytes)> {
        self.snapshot_json_after(environment_id, 0).await
    }

    /// The snapshot, read from the store unless the cached one is current
    /// and newer than `client`: a client ahead of this replica's view (it
    /// came from a replica that heard of a commit first, or the database
    /// was restored to an earlier state) gets what the store holds now.
    pub async fn snapshot_json_after(&self, environment_id: i64, client: u64) -> crate::store::Result<(u64, Bytes)> {
        let current = self.channel(environment_id).revision();
        if let Some(hit) = self.snapshots.get(&environment_id)
            && hit.0 == current
            && hit.0 >= client
        {
            return Ok(hit.clone());
        }
        let store = self.store.get().ok_or_else(|| crate::store::StoreError::Corrupt("hub not started".into()))?;
        let snapshot = store.snapshot(environment_id).await?;
        let json =
            Bytes::from(serde_json::to_vec(&snapshot).map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?);
        let entry = (snapshot.revision, json);
        if snapshot.revision >= current {
            self.snapshots.insert(environment_id, entry.clone());
        }
        Ok(entry)
    }

    /// Asks every stream to end (after a final `goaway` event).
    pub fn shutdown(&self) {
        let _ = self.closing.send(true);
    }

    /// Resolves when the server is shutting down.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Records an SDK acknowledgement if `instance` streams from this
    /// replica (the HTTP ack and a forwarded one alike); `false` when it
    /// does not (the caller forwards it). `held_ms` is how long the SDK
    /// held the ack, so the apply time is its arrival minus that.
    pub fn record_ack(&self, environment_id: i64, instance: &str, revision: u64, held_ms: f64) -> bool {
        let channel = self.channel(environment_id);
        if !channel.receipts.knows(instance) {
            return false;
        }
        let held = std::time::Duration::from_secs_f64((held_ms / 1e3).clamp(0.0, 60.0));
        if let Some(latency) = channel.receipts.ack(instance, revision, held) {
            self.metrics.propagation.observe(latency.as_secs_f64());
        }
        true
    }

    /// The metrics.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    async fn publisher(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<EnvChange>) {
        while let Some(change) = rx.recv().await {
            self.deliver(change).await;
        }
    }

    async fn deliver(&self, change: EnvChange) {
        let channel = self.channel(change.environment_id);
        let last = channel.revision();
        let revision = change.event.revision;
        if revision <= last {
            return;
        }
        let carries_data = !(change.event.flags.is_empty()
            && change.event.deleted_flags.is_empty()
            && change.event.segments.is_empty()
            && change.event.deleted_segments.is_empty());
        if revision == last + 1 && carries_data {
            self.broadcast(&channel, &change.event);
            return;
        }
        // A gap (or a bare revision notice): read the missing changes.
        let Some(store) = self.store.get() else { return };
        match store.changes_since(change.environment_id, last, 10_000).await {
            Ok(Some(events)) => {
                for event in events.iter().filter(|e| e.revision > channel.revision()) {
                    self.broadcast(&channel, event);
                }
            }
            Ok(None) => {
                // The log no longer reaches back: tell streams to resync.
                channel.revision.store(revision, Ordering::Release);
                let _ =
                    channel.sender.send((revision, sse_frame(protocol::event::RESYNC, revision, protocol::EMPTY_DATA)));
            }
            Err(err) => tracing::warn!(error = %err, env = change.environment_id, "reading change log failed"),
        }
    }

    fn broadcast(&self, channel: &EnvChannel, event: &ChangeEvent) {
        channel.revision.store(event.revision, Ordering::Release);
        channel.receipts.broadcast(event.revision);
        let frame = change_frame(event);
        let bytes = frame.len() as u64;
        // No receivers is fine: nobody is streaming this environment.
        let receivers = channel.sender.send((event.revision, frame)).unwrap_or(0) as u64;
        self.metrics.events_broadcast.inc();
        self.metrics.bytes_broadcast.inc_by(bytes * receivers);
    }

    async fn heartbeats(self: Arc<Self>, every: Duration) {
        let frame = Bytes::from_static(protocol::HEARTBEAT_FRAME.as_bytes());
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            for entry in self.envs.iter() {
                let _ = entry.value().sender.send((0, frame.clone()));
            }
        }
    }
}

/// The store's sink is the hub's queue.
pub struct HubSink(pub Arc<Hub>);

impl ChangeSink for HubSink {
    fn publish(&self, change: EnvChange) {
        let _ = self.0.queue.send(change);
    }
}
