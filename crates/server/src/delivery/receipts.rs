//! Delivery receipts: which connected SDK instances have applied which
//! revision, and how long it took.
//!
//! Owns the per-environment registry and the [`Receipt`] shape. Must not
//! touch the store, HTTP or other replicas (that is [`super::fleet`]).
//!
//! Each SDK instance identifies itself with `X-Switchyard-Instance` on its
//! stream and acknowledges applied revisions with `POST /sdk/v1/ack`. The
//! registry is per environment and lock-light (dashmap); acknowledgements
//! wake receipt waiters through a `Notify`.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::delivery::histogram::Histogram;
use crate::delivery::roster::{Identity, InstanceRow, Pollers, Transport, now_ms};

/// How many revision timestamps are kept per environment.
const REVISION_TIMES: usize = 4096;

/// State of one SDK instance in one environment.
#[derive(Debug, Clone)]
struct Instance {
    /// Open streams of this instance on this replica.
    streams: usize,
    /// Highest revision acknowledged.
    applied: u64,
    /// When it applied `applied` (the ack's arrival minus its hold);
    /// `None` when unknown (a resumed stream).
    applied_at: Option<Instant>,
    /// Who it says it is (the fleet view).
    identity: Identity,
    /// SSE or OFREP.
    transport: Transport,
    /// When its first open stream here opened, ms since the epoch.
    connected_at_ms: i64,
    /// Its last stream open or ack, ms since the epoch.
    last_seen_ms: i64,
}

/// Slots of the lock-free ring of recent broadcast times.
const RING: usize = 64;

/// The per-environment registry.
pub struct Registry {
    instances: DashMap<String, Instance>,
    /// (revision, time the hub broadcast it), ascending.
    times: Mutex<VecDeque<(u64, Instant)>>,
    /// The last [`RING`] broadcast times by `revision % RING` (revision,
    /// nanoseconds since `epoch`), read by acks without a lock; `times`
    /// answers for older revisions.
    ring: [(AtomicU64, AtomicU64); RING],
    epoch: Instant,
    acked: Notify,
    /// Callers waiting for [`Registry::changed`] (acks wake only if any).
    watchers: AtomicUsize,
    /// Instances that only poll (not counted in receipts: no connection).
    pub pollers: Pollers,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            instances: DashMap::new(),
            times: Mutex::new(VecDeque::new()),
            ring: std::array::from_fn(|_| (AtomicU64::new(0), AtomicU64::new(0))),
            epoch: Instant::now(),
            acked: Notify::new(),
            watchers: AtomicUsize::new(0),
            pollers: Pollers::default(),
        }
    }
}

/// Counts as a watcher of a registry while alive (see [`Registry::watch`]).
pub struct Watching<'a>(&'a AtomicUsize);

impl Drop for Watching<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether, and how fast, connected SDK instances applied a revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// The revision.
    pub revision: u64,
    /// SDK instances with an open stream (on the replicas counted).
    pub connected: usize,
    /// Of those, how many applied the revision (or a later one).
    pub applied: usize,
    /// `connected - applied`.
    pub pending: usize,
    /// Median time from broadcast to acknowledgement, milliseconds (the
    /// acknowledgement at rank `applied / 2`; its value is within 1.5 % of
    /// the true one: see [`crate::delivery::histogram`]).
    pub p50_ms: Option<f64>,
    /// Slowest acknowledgement, milliseconds (exact).
    pub max_ms: Option<f64>,
    /// Replicas whose streams are counted (this one included).
    #[serde(default = "one")]
    pub replicas: usize,
    /// Live replicas (connected to Postgres) that did not answer in time:
    /// their streams are missing from the counts, so the receipt is not
    /// complete while this is not empty.
    #[serde(default)]
    pub unanswered: Vec<String>,
}

fn one() -> usize {
    1
}

/// One replica's part of a receipt.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Instances with an open stream.
    pub connected: usize,
    /// Of those, how many applied the revision.
    pub applied: usize,
    /// Apply latencies (ms) of those that applied it.
    pub latencies: Histogram,
}

impl Receipt {
    /// Combines the samples of several replicas (one per replica).
    pub fn merge(revision: u64, samples: impl IntoIterator<Item = Sample>) -> Receipt {
        let (mut connected, mut applied, mut replicas) = (0usize, 0usize, 0usize);
        let mut latencies = Histogram::default();
        for sample in samples {
            connected = connected.saturating_add(sample.connected);
            applied = applied.saturating_add(sample.applied);
            latencies.merge(&sample.latencies);
            replicas += 1;
        }
        let applied = applied.min(connected);
        Receipt {
            revision,
            connected,
            applied,
            pending: connected - applied,
            p50_ms: latencies.median(),
            max_ms: latencies.max(),
            replicas,
            unanswered: Vec::new(),
        }
    }

    /// Every connected instance, on every live replica, applied it.
    pub fn complete(&self) -> bool {
        self.pending == 0 && self.unanswered.is_empty()
    }
}

impl Registry {
    /// Records when a revision was broadcast.
    pub fn broadcast(&self, revision: u64) {
        let now = Instant::now();
        // One writer (the hub task): invalidate the slot, then fill it.
        let (rev, nanos) = &self.ring[ring_slot(revision)];
        rev.store(0, Ordering::SeqCst);
        nanos.store(u64::try_from(now.duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX), Ordering::SeqCst);
        rev.store(revision, Ordering::SeqCst);
        if let Ok(mut times) = self.times.lock() {
            times.push_back((revision, now));
            while times.len() > REVISION_TIMES {
                times.pop_front();
            }
        }
    }

    fn broadcast_at(&self, revision: u64) -> Option<Instant> {
        // Acks name a recent revision: read its slot (consistent when the
        // revision is the same before and after reading the time).
        let (rev, nanos) = &self.ring[ring_slot(revision)];
        if revision != 0 && rev.load(Ordering::SeqCst) == revision {
            let at = nanos.load(Ordering::SeqCst);
            if rev.load(Ordering::SeqCst) == revision {
                return Some(self.epoch + Duration::from_nanos(at));
            }
        }
        let times = self.times.lock().ok()?;
        times.iter().find(|(r, _)| *r >= revision).map(|(_, t)| *t)
    }

    /// Counts the caller as waiting for [`Registry::changed`] until the
    /// guard drops: take it *before* reading a receipt and calling
    /// `changed`, so that no ack goes unnoticed.
    pub fn watch(&self) -> Watching<'_> {
        self.watchers.fetch_add(1, Ordering::SeqCst);
        Watching(&self.watchers)
    }

    /// A stream of `instance` opened (an anonymous SSE stream).
    pub fn connect(&self, instance: &str) {
        self.connect_as(instance, Identity::default(), Transport::Sse);
    }

    /// A stream of `instance`, which says it is `identity`, opened.
    pub fn connect_as(&self, instance: &str, identity: Identity, transport: Transport) {
        let now = now_ms();
        let mut entry = self.instances.entry(instance.to_string()).or_insert_with(|| Instance {
            streams: 0,
            applied: 0,
            applied_at: None,
            identity: Identity::default(),
            transport,
            connected_at_ms: now,
            last_seen_ms: now,
        });
        entry.streams += 1;
        entry.identity = identity;
        entry.transport = transport;
        entry.last_seen_ms = now;
    }

    /// A stream of `instance` closed.
    pub fn disconnect(&self, instance: &str) {
        let remove = match self.instances.get_mut(instance) {
            Some(mut entry) => {
                entry.streams = entry.streams.saturating_sub(1);
                entry.streams == 0
            }
            None => false,
        };
        if remove {
            self.instances.remove_if(instance, |_, i| i.streams == 0);
        }
        self.acked.notify_waiters();
    }

    /// `instance` applied `revision` `held` ago (the SDK holds acks
    /// briefly); returns the time from broadcast to apply. Unknown instances
    /// (no open stream on this replica) are ignored.
    pub fn ack(&self, instance: &str, revision: u64, held: Duration) -> Option<Duration> {
        let mut latency = None;
        if let Some(mut entry) = self.instances.get_mut(instance)
            && revision > entry.applied
        {
            let now = Instant::now();
            let start = self.broadcast_at(revision);
            // Never before the broadcast, whatever the client claims.
            let applied_at = now.checked_sub(held).map_or(now, |t| start.map_or(t, |s| t.max(s)));
            entry.applied = revision;
            entry.applied_at = Some(applied_at);
            entry.last_seen_ms = now_ms();
            latency = start.map(|s| applied_at.saturating_duration_since(s));
        }
        // `notify_waiters` takes a lock: only when someone waits.
        if self.watchers.load(Ordering::SeqCst) > 0 {
            self.acked.notify_waiters();
        }
        latency
    }

    /// `instance` resumed its stream having applied `revision` (its
    /// `Last-Event-ID`), at an unknown time: counted as applied, with no
    /// latency (the reconnect time is not when it applied the change).
    pub fn resumed(&self, instance: &str, revision: u64) {
        if let Some(mut entry) = self.instances.get_mut(instance)
            && revision > entry.applied
        {
            entry.applied = revision;
            entry.applied_at = None;
        }
        self.acked.notify_waiters();
    }

    /// Whether `instance` has an open stream on this replica.
    pub fn knows(&self, instance: &str) -> bool {
        self.instances.contains_key(instance)
    }

    /// How long ago the first revision after `applied` was broadcast, ms:
    /// 0 when `applied` is `current` (or later), `None` when that broadcast
    /// is not among the times kept here (before this replica started).
    pub fn lag_ms(&self, applied: u64, current: u64) -> Option<u64> {
        if applied >= current {
            return Some(0);
        }
        let times = self.times.lock().ok()?;
        let missing = applied + 1;
        if times.front().is_none_or(|(first, _)| *first > missing) {
            return None;
        }
        let (_, at) = times.iter().find(|(r, _)| *r >= missing)?;
        Some(u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// This replica's rows for the fleet view: every instance with an open
    /// stream, then those that only polled recently.
    /// `current` is the environment's revision as this replica knows it.
    pub fn roster(&self, replica: &str, current: u64) -> Vec<InstanceRow> {
        let mut rows: Vec<InstanceRow> = self
            .instances
            .iter()
            .filter(|e| e.streams > 0)
            .map(|e| InstanceRow {
                instance: e.key().clone(),
                identity: e.identity.clone(),
                transport: e.transport,
                replica: replica.to_string(),
                revision: e.applied,
                lag_revisions: 0,
                lag_ms: self.lag_ms(e.applied, current),
                connected_at_ms: e.connected_at_ms,
                last_seen_ms: e.last_seen_ms,
            })
            .collect();
        rows.extend(self.pollers.rows(replica, |id| self.knows(id), |rev| self.lag_ms(rev, current)));
        rows
    }

    /// This replica's part of the receipt of `revision`: connected
    /// instances and the apply latencies (ms) of those that applied it.
    pub fn sample(&self, revision: u64) -> Sample {
        let start = self.broadcast_at(revision);
        let mut sample = Sample::default();
        for entry in self.instances.iter().filter(|e| e.streams > 0) {
            sample.connected += 1;
            if entry.applied >= revision {
                // A resumed stream's instance counts as applied without a
                // latency: when it applied is unknown (not the reconnect).
                if let Some(at) = entry.applied_at {
                    let ms = start.map_or(0.0, |s| at.saturating_duration_since(s).as_secs_f64() * 1e3);
                    sample.latencies.record(ms);
                }
                sample.applied += 1;
            }
        }
        sample
    }

    /// The receipt of `revision` now, on this replica alone.
    pub fn receipt(&self, revision: u64) -> Receipt {
        Receipt::merge(revision, [self.sample(revision)])
    }

    /// Resolves on the next acknowledgement or disconnect.
    ///
    /// Not an `async fn`: the returned future registers at once (tokio
    /// guarantees a created `Notified` sees `notify_waiters`), so an ack
    /// that lands while the caller computes a receipt still wakes it.
    pub fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.acked.notified()
    }

    /// Waits until every connected instance applied `revision`, or `timeout`.
    pub async fn wait(&self, revision: u64, timeout: Duration) -> Receipt {
        let _watching = self.watch();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.acked.notified();
            let receipt = self.receipt(revision);
            if receipt.complete() {
                return receipt;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.receipt(revision);
            }
        }
    }
}

/// The ring slot of a revision.
fn ring_slot(revision: u64) -> usize {
    (revision % RING as u64) as usize
}

#[cfg(test)]
#[path = "receipts_tests.rs"]
mod tests;
