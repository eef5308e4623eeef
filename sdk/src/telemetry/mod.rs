//! Telemetry (issue 16, part 1): evaluation counts per (flag, variant),
//! request outcomes and custom events, flushed in batches to
//! `POST /sdk/v1/telemetry` for the release guard.
//!
//! - `counters`: the per-snapshot atomic counters evaluation increments
//!   (no lock, no allocation on the hot path).
//! - `record`: the outcome and event aggregates ([`Outcome`], [`Exposure`],
//!   [`Attribution`]), bounded in distinct keys.
//! - `scope`: [`RequestScope`], the (flag, variant) pairs one request was
//!   served, for attributing its outcome and events.
//! - `flush`: the background flush and its bounded queue of unsent batches.
//! - [`batch`](TelemetryBatch): the wire type.

mod batch;
mod counters;
mod flush;
mod record;
mod scope;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use switchyard_core::CompiledSnapshot;

pub use batch::{EvaluationCount, EventCount, LATENCY_BUCKETS_MS, OutcomeCount, TelemetryBatch, VariantEventCount};
use flush::flush_loop;
pub use record::{Attribution, Exposure, Outcome};
pub use scope::RequestScope;
pub(crate) use scope::note as note_in_scope;

pub(crate) use counters::Counters;
use record::Aggregates;

/// Sends one serialized batch to the server; `Err` says why not. Built by
/// the sync layer, so that this module knows nothing of HTTP.
pub(crate) type Sender = Arc<dyn Fn(Vec<u8>) -> BoxFuture<'static, Result<(), NotSent>> + Send + Sync>;

/// Why a batch was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotSent {
    /// The server could not be reached or answered "later" (network, 5xx,
    /// 429, a refused key): the batch stays queued for the next flush.
    Retry(String),
    /// The server refused this batch's content (400, 413, 422): sending it
    /// again cannot succeed, so it is discarded and its items counted as
    /// dropped, instead of holding back every later batch.
    Refused(String),
}

impl std::fmt::Display for NotSent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotSent::Retry(why) => write!(f, "{why}"),
            NotSent::Refused(why) => write!(f, "refused by the server: {why}"),
        }
    }
}

/// Telemetry settings, from the builder.
#[derive(Debug, Clone)]
pub(crate) struct TelemetryConfig {
    /// Interval between flushes.
    pub(crate) flush_interval: Duration,
    /// Unsent batches kept while the server cannot be reached; older ones
    /// are dropped (and counted).
    pub(crate) max_pending: usize,
    /// Distinct (flag, variant) outcome keys and event names per window.
    pub(crate) max_keys: usize,
    /// This client's instance id (as on the stream).
    pub(crate) instance: String,
}

impl TelemetryConfig {
    /// The defaults: a minute of batches queued, 10,000 keys per window.
    pub(crate) fn new(flush_interval: Duration, instance: String) -> Self {
        TelemetryConfig { flush_interval, max_pending: 6, max_keys: 10_000, instance }
    }
}

/// Starts telemetry: the state to share with the client and the flush task.
pub(crate) fn spawn(
    runtime: &tokio::runtime::Handle,
    config: TelemetryConfig,
    send: Sender,
) -> (Arc<Telemetry>, tokio::task::AbortHandle) {
    let telemetry = Arc::new(Telemetry::new(config, send));
    let task = runtime.spawn(flush_loop(telemetry.clone())).abort_handle();
    (telemetry, task)
}

/// A client's telemetry state, shared by the getters (counting), the
/// outcome API and the flush task.
pub(crate) struct Telemetry {
    pub(crate) config: TelemetryConfig,
    /// Counters of the snapshot being served (getters reach them through
    /// the served snapshot; this handle is for harvesting).
    counters: Mutex<Option<Arc<Counters>>>,
    /// Counters of replaced snapshots, harvested at the next two flushes
    /// (a getter may still hold the old snapshot for an instant).
    retired: Mutex<Vec<(Arc<Counters>, u8)>>,
    unattributed: AtomicU64,
    aggregates: Mutex<Aggregates>,
    /// Items discarded and not yet reported.
    dropped: AtomicU64,
    /// Start of the current window, ms since the epoch.
    window_start: AtomicU64,
    /// Unsent batches and the sender's lock.
    pub(crate) pending: flush::Pending,
    /// Where batches go.
    send: Sender,
}

impl Telemetry {
    pub(crate) fn new(config: TelemetryConfig, send: Sender) -> Self {
        Telemetry {
            config,
            counters: Mutex::new(None),
            retired: Mutex::new(Vec::new()),
            unattributed: AtomicU64::new(0),
            aggregates: Mutex::new(Aggregates::default()),
            dropped: AtomicU64::new(0),
            window_start: AtomicU64::new(now_ms()),
            pending: flush::Pending::default(),
            send,
        }
    }

    /// Sends everything counted so far (see [`crate::Client::flush`]).
    pub(crate) async fn flush(&self) -> Result<(), crate::Error> {
        flush::flush_now(self).await.map_err(|(reason, pending)| crate::Error::TelemetryNotSent { reason, pending })
    }

    /// A snapshot is about to be served: its counters (the previous ones
    /// are harvested at the next two flushes: a getter may still hold the
    /// old snapshot for an instant).
    pub(crate) fn prepare(&self, snapshot: &Arc<CompiledSnapshot>) -> Arc<Counters> {
        let counters = Arc::new(Counters::new(snapshot.clone()));
        if let Some(old) = lock(&self.counters).replace(counters.clone()) {
            lock(&self.retired).push((old, 0));
        }
        counters
    }

    /// Counts an evaluation that served the caller's default.
    #[inline]
    pub(crate) fn count_unattributed(&self) {
        self.unattributed.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one request outcome.
    pub(crate) fn record(&self, exposure: Exposure<'_>, outcome: Outcome) {
        if !lock(&self.aggregates).record(exposure, outcome, self.config.max_keys) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records one outcome against what `to` names, for the client whose
    /// shared state is at `owner`; returns the exposures it was recorded
    /// against.
    pub(crate) fn record_to(&self, owner: usize, to: Attribution<'_>, outcome: Outcome) -> usize {
        let (scope, only) = match to {
            Attribution::Exposure(e) => {
                self.record(e, outcome);
                return 1;
            }
            Attribution::Flag(flag) => (RequestScope::current(), Some(flag)),
            Attribution::Scope(scope) => (Some(scope.clone()), None),
        };
        let Some(scope) = scope.filter(|s| s.belongs_to(owner)) else { return 0 };
        let exposures = scope.lock();
        let mut recorded = 0;
        for (flag, variant) in exposures.iter().filter(|(f, _)| only.is_none_or(|o| **f == *o)) {
            self.record(Exposure::new(flag, variant), outcome);
            recorded += 1;
        }
        recorded
    }

    /// Records one custom event, and once per variant the current request
    /// scope (of the client at `owner`) was served so far.
    pub(crate) fn track(&self, owner: usize, event: &str, value: f64) {
        let mut aggregates = lock(&self.aggregates);
        if !aggregates.track(event, value, self.config.max_keys) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let Some(scope) = RequestScope::current().filter(|s| s.belongs_to(owner)) else { return };
        for exposure in scope.lock().iter() {
            if !aggregates.track_variant(exposure, event, value, self.config.max_keys) {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Adds discarded items to the next report.
    pub(crate) fn add_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// Closes the current window: everything counted since the last
    /// harvest, as a batch (`dropped` not included: the sender adds it).
    pub(crate) fn harvest(&self, sdk: &str) -> TelemetryBatch {
        let end_ms = now_ms();
        let start_ms = self.window_start.swap(end_ms, Ordering::Relaxed);
        let mut evaluations = std::collections::BTreeMap::<(Arc<str>, Arc<str>), u64>::new();
        let mut add = |f: &Arc<str>, v: &Arc<str>, n: u64| *evaluations.entry((f.clone(), v.clone())).or_default() += n;
        {
            let mut retired = lock(&self.retired);
            for (c, times) in retired.iter_mut() {
                c.harvest(&mut add);
                *times += 1;
            }
            retired.retain(|(_, times)| *times < 2);
        }
        let current = lock(&self.counters).clone();
        if let Some(c) = current {
            c.harvest(&mut add);
        }
        let (outcomes, events, variant_events) = std::mem::take(&mut *lock(&self.aggregates)).into_wire();
        TelemetryBatch {
            sdk: sdk.to_owned(),
            instance: self.config.instance.clone(),
            start_ms,
            end_ms,
            evaluations: evaluations
                .into_iter()
                .map(|((f, v), count)| EvaluationCount { flag: f.to_string(), variant: v.to_string(), count })
                .collect(),
            unattributed: self.unattributed.swap(0, Ordering::Relaxed),
            outcomes,
            events,
            variant_events,
            dropped: 0,
        }
    }

    /// Takes the dropped count for a batch about to be sent.
    pub(crate) fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::Relaxed)
    }
}

/// Locks, ignoring poisoning (the data are counters: always usable).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
