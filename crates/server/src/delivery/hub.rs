//! The change hub: turns committed changes into SSE frames, once, and fans
//! them out to every stream of the environment.
//!
//! Owns the environment channels and the order of what goes on them. Must
//! not touch HTTP, authentication or the application state: it is built
//! with the store, the metrics and the queue it drains.
//!
//! Writers hand [`EnvChange`]s to the hub through the [`ChangeQueue`] (the
//! store's [`ChangeSink`]), which only queues them: the hub task does the
//! serialising and the `broadcast::send` (at 10k receivers waking them
//! costs milliseconds, which must not be charged to the request that
//! committed). Revisions heard of otherwise (another replica's NOTIFY) are
//! queued as bare [`Notice::Revision`]s. The hub guarantees
//! per-environment, gap-free, in-order delivery: an event older than what
//! was already broadcast is dropped; an event that would leave a gap (two
//! commits published out of order, or a change made by another replica) is
//! preceded by the missing changes read from the store's change log.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dashmap::DashMap;
use switchyard_core::protocol::{self, AckRequest};
use tokio::sync::{mpsc, watch};

use super::channel::EnvChannel;
use super::frames::{change_frame_asking, heartbeat, sse_frame};
use super::snapshots::SnapshotCache;
use crate::metrics::Metrics;
use crate::store::{ChangeEvent, ChangeSink, DynStore, EnvChange};

/// What the hub's queue carries.
#[derive(Debug)]
pub enum Notice {
    /// A change committed by this replica, with its content, the span
    /// its fan-out belongs in (see [`within`]) and whether its caller waits
    /// for its receipt (see [`urgent`]).
    Change(EnvChange, tracing::Span, bool),
    /// A revision known to exist in the store (another replica's commit,
    /// a resync): the hub reads what it has not broadcast yet.
    Revision {
        /// The environment.
        environment_id: i64,
        /// Its revision.
        revision: u64,
        /// Whether its writer waits for the receipt (another replica's
        /// [`urgent`] write, carried in its notification).
        urgent: bool,
    },
}

/// The hub's clock settings.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Interval of heartbeat comments.
    pub heartbeat: Duration,
    /// The least acknowledgement hold advised.
    pub ack_hold: Duration,
    /// The maximum age of an SDK stream (zero: none); heartbeats come at
    /// least four times per age, as streams check their age on them.
    pub max_age: Duration,
}

/// The sending side of the hub's queue; the store's [`ChangeSink`]. It
/// also records, as it queues, the newest revision known committed per
/// environment ([`Hub::committed`]).
#[derive(Clone)]
pub struct ChangeQueue(mpsc::UnboundedSender<Notice>, Arc<DashMap<i64, u64>>);

/// The receiving side, drained by the hub task.
pub type ChangeReceiver = mpsc::UnboundedReceiver<Notice>;

impl ChangeQueue {
    /// A new queue: connect the store with the sender, then
    /// [`Hub::start`] with both.
    pub fn new() -> (ChangeQueue, ChangeReceiver) {
        let (tx, rx) = mpsc::unbounded_channel();
        (ChangeQueue(tx, Arc::default()), rx)
    }

    /// Records `revision` of `environment_id` as committed (revisions only
    /// grow here), then queues `notice`.
    fn send(&self, environment_id: i64, revision: u64, notice: Notice) {
        self.1.entry(environment_id).and_modify(|r| *r = (*r).max(revision)).or_insert(revision);
        let _ = self.0.send(notice);
    }
}

impl ChangeSink for ChangeQueue {
    fn urgent(&self) -> bool {
        URGENT.try_with(|()| ()).is_ok()
    }

    fn publish(&self, change: EnvChange) {
        let span = DELIVERY_SPAN.try_with(tracing::Span::clone).unwrap_or_else(|_| tracing::Span::current());
        let urgent = URGENT.try_with(|()| ()).is_ok();
        self.send(change.environment_id, change.event.revision, Notice::Change(change, span, urgent));
    }
}

tokio::task_local! {
    /// The span the fan-out of the writes committed in [`within`] belongs in.
    static DELIVERY_SPAN: tracing::Span;
    /// Set while [`urgent`] runs a write.
    static URGENT: ();
}

/// Runs `write` so that the changes it commits ask for acknowledgements
/// at once (the urgent hold: 0 below 34 streams, 30 ms at 1,000) rather
/// than after the advised hold: for writes
/// whose caller waits for the receipt (kills, restores, `?wait=`). The
/// hold exists to keep thousands of acks from competing with the delivery
/// of an ordinary change; a responder waiting for "applied by N/N" must
/// not wait it out. Other replicas hear it with the change's notification
/// (`<env>:<revision>:<origin>:u`, see [`ChangeSink::urgent`]), and a kill
/// is urgent by its content wherever it is broadcast.
pub async fn urgent<F: std::future::Future>(write: F) -> F::Output {
    URGENT.scope((), write).await
}

/// Runs `write` so that the hub's `fan_out` span of every change it
/// commits is a child of `span` (the op's `broadcast` span: a kill's trace
/// reads write -> broadcast -> fan_out -> receipts). Without it, the
/// fan-out's parent is the span current at commit. Only a span handle
/// travels with the change: nothing waits for the fan-out.
pub async fn within<F: std::future::Future>(span: tracing::Span, write: F) -> F::Output {
    DELIVERY_SPAN.scope(span, write).await
}

/// The hub.
pub struct Hub {
    envs: DashMap<i64, Arc<EnvChannel>>,
    queue: ChangeQueue,
    store: DynStore,
    snapshots: SnapshotCache,
    /// Turns `true` when the server shuts down: streams say goodbye and end.
    closing: watch::Sender<bool>,
    metrics: Arc<Metrics>,
    /// The least acknowledgement hold advised (see [`super::channel::advised_hold`]).
    ack_hold: Duration,
}

impl Hub {
    /// Loads current revisions, then runs the publisher (draining
    /// `changes`) and heartbeat tasks.
    pub async fn start(
        store: DynStore,
        (queue, changes): (ChangeQueue, ChangeReceiver),
        metrics: Arc<Metrics>,
        timing: Timing,
    ) -> crate::store::Result<Arc<Hub>> {
        let Timing { heartbeat, ack_hold, max_age } = timing;
        let hub = Arc::new(Hub {
            envs: DashMap::new(),
            queue,
            snapshots: SnapshotCache::new(Arc::clone(&store)),
            store,
            closing: watch::channel(false).0,
            metrics,
            ack_hold,
        });
        for (env, revision) in hub.store.revisions().await? {
            hub.channel(env).set_revision(revision);
            hub.queue.1.entry(env).or_insert(revision);
        }
        tokio::spawn(Arc::clone(&hub).publisher(changes));
        // Streams check their age when a heartbeat wakes them (no timer
        // per stream): beat at least four times per maximum age.
        let beat = if max_age.is_zero() { heartbeat } else { heartbeat.min(max_age / 4) };
        tokio::spawn(Arc::clone(&hub).heartbeats(beat.max(Duration::from_millis(10))));
        Ok(hub)
    }

    /// The channel of an environment (created on first use).
    pub fn channel(&self, environment_id: i64) -> Arc<EnvChannel> {
        // A shared (read) lock on the hot paths (acks, streams); the
        // exclusive one only to create the channel.
        if let Some(channel) = self.envs.get(&environment_id) {
            return Arc::clone(&channel);
        }
        self.envs.entry(environment_id).or_insert_with(|| Arc::new(EnvChannel::new(environment_id))).clone()
    }

    /// The acknowledgement request for `revision` on `channel`, with the
    /// hold advised for its number of open streams (a tenth of it, without
    /// the least hold, when `urgent`: see [`super::channel::urgent_hold`]).
    pub fn ack_request(&self, channel: &EnvChannel, revision: u64, urgent: bool) -> AckRequest {
        let streams = channel.connections.load(std::sync::atomic::Ordering::Relaxed);
        let hold = if urgent {
            super::channel::urgent_hold(streams)
        } else {
            super::channel::advised_hold(self.ack_hold, streams)
        };
        AckRequest { revision, hold_ms: u64::try_from(hold.as_millis()).unwrap_or(u64::MAX) }
    }

    /// Queues a revision known to exist in the store (e.g. from another
    /// replica's NOTIFY); the hub reads and broadcasts it if it is new.
    pub fn notify_revision(&self, environment_id: i64, revision: u64, urgent: bool) {
        self.queue.send(environment_id, revision, Notice::Revision { environment_id, revision, urgent });
    }

    /// The newest revision of an environment this replica knows committed
    /// (`None`: not seen since start): its own writes from the moment they
    /// commit (the store hands them to the queue before the write returns,
    /// ahead of the broadcast), other replicas' when their NOTIFY arrives.
    /// So it is read-your-writes only for writes made through this
    /// replica: on a single-instance store (SQLite) it is the store's
    /// revision without a read; with replicas, read the store.
    pub fn committed(&self, environment_id: i64) -> Option<u64> {
        self.queue.1.get(&environment_id).map(|r| *r)
    }

    /// The serialised snapshot of an environment, cached per revision.
    pub async fn snapshot_json(&self, environment_id: i64) -> crate::store::Result<(u64, Bytes)> {
        self.snapshot_json_after(environment_id, 0).await
    }

    /// The snapshot for a client holding revision `client` (see
    /// [`SnapshotCache::json_after`]).
    pub async fn snapshot_json_after(&self, environment_id: i64, client: u64) -> crate::store::Result<(u64, Bytes)> {
        let current = self.channel(environment_id).revision();
        self.snapshots.json_after(environment_id, current, client).await
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
        let held = Duration::from_secs_f64((held_ms / 1e3).clamp(0.0, 60.0));
        if let Some(latency) = channel.receipts.ack(instance, revision, held) {
            self.metrics.propagation.observe(latency.as_secs_f64());
        }
        true
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    async fn publisher(self: Arc<Self>, mut rx: ChangeReceiver) {
        while let Some(notice) = rx.recv().await {
            self.deliver(notice).await;
        }
    }

    async fn deliver(&self, notice: Notice) {
        let (environment_id, revision, event, parent, urgent) = match notice {
            Notice::Change(change, span, urgent) => {
                (change.environment_id, change.event.revision, Some(change.event), span, urgent)
            }
            Notice::Revision { environment_id, revision, urgent } => {
                (environment_id, revision, None, tracing::Span::none(), urgent)
            }
        };
        // A bare revision notice (a NOTIFY, possibly this replica's own
        // write winning the race with its local publish) carries no span.
        let via = if event.is_some() { "local" } else { "notify" };
        let channel = self.channel(environment_id);
        let last = channel.revision();
        if revision <= last {
            return;
        }
        if let Some(event) = event.filter(|_| revision == last + 1) {
            self.broadcast(&channel, &event, &parent, via, urgent);
            return;
        }
        // A gap (or a bare revision notice): read the missing changes.
        match self.store.changes_since(environment_id, last, 10_000).await {
            Ok(Some(events)) => {
                for event in events.iter().filter(|e| e.revision > channel.revision()) {
                    self.broadcast(&channel, event, &parent, via, urgent && event.revision == revision);
                }
            }
            Ok(None) => {
                // The log no longer reaches back: tell streams to resync.
                channel.set_revision(revision);
                let _ =
                    channel.sender.send((revision, sse_frame(protocol::event::RESYNC, revision, protocol::EMPTY_DATA)));
                tracing::info!(env = environment_id, revision, "change log does not reach back: resync");
            }
            Err(err) => tracing::warn!(error = %err, env = environment_id, "reading change log failed"),
        }
    }

    #[tracing::instrument(level = "debug", name = "fan_out", parent = parent, skip_all,
        fields(env = channel.environment_id(), revision = event.revision, via = via, receivers))]
    fn broadcast(
        &self,
        channel: &EnvChannel,
        event: &ChangeEvent,
        parent: &tracing::Span,
        via: &'static str,
        urgent: bool,
    ) {
        channel.set_revision(event.revision);
        channel.receipts.broadcast(event.revision);
        // Every change asks for acknowledgements (receipts are exact for
        // every revision), in the same bytes: one write, one wake-up. A
        // kill is never held, on whichever replica it was written.
        let urgent = urgent || event.flags.iter().any(|flag| flag.kill.is_some());
        let frame = change_frame_asking(event, &self.ack_request(channel, event.revision, urgent));
        let bytes = frame.len() as u64;
        // No receivers is fine: nobody is streaming this environment.
        let receivers = channel.sender.send((event.revision, frame)).unwrap_or(0) as u64;
        tracing::Span::current().record("receivers", receivers);
        self.metrics.events_broadcast.inc();
        self.metrics.bytes_broadcast.inc_by(bytes * receivers);
    }

    async fn heartbeats(self: Arc<Self>, every: Duration) {
        let frame = heartbeat();
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
