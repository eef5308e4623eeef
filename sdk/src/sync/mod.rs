//! The background sync task: keeps [`Shared`] current over the SSE stream,
//! polls the snapshot while the stream is down, and never discards good
//! data on failure.
//!
//! ```text
//!  connect ──200──► read items (timeout per item) ──► apply ──► swap + notify
//!     │                 │ EOF / goaway / resync / error
//!     └─ failure ◄──────┘
//!     wait (backoff; goaway: the retry hint; 401/403: ~60 s) ─── meanwhile poll GET /snapshot (ETag)
//! ```
//! Layout: [`sse`] parses the stream, [`http`] makes the requests and
//! classifies failures, [`backoff`] computes delays, `apply` installs
//! snapshots and changes, [`tasks`] runs the coalesced acknowledgement and
//! persistence writers.

mod apply;
pub(crate) mod backoff;
pub(crate) mod http;
pub(crate) mod sse;
pub(crate) mod tasks;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use switchyard_core::{ChangeEvent, CompiledSnapshot, Snapshot};
use tokio::sync::watch;
use tokio::time::{Instant, sleep, sleep_until, timeout};

use self::apply::ChangeError;
use self::backoff::{Backoff, jitter};
use self::http::{Endpoint, Failure};
use self::sse::{ReadError, SseEvent, SseItem, SseReader};
use crate::state::Shared;
use crate::status::Status;

/// Delay before retrying after 401/403: a revoked key must not cause load.
const UNAUTHORIZED_RETRY: Duration = Duration::from_secs(60);
/// Cap on a server's `Retry-After`, so a bogus header cannot stop sync.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
/// Least delay before resuming after `goaway` (whatever `retry:` says), so
/// a server that keeps saying goaway can never cause a tight loop.
const MIN_GOAWAY_DELAY: Duration = Duration::from_millis(100);
/// A stream that stayed up this long resets the backoff.
const HEALTHY_STREAM: Duration = Duration::from_secs(60);

/// Sync settings (validated by the builder).
#[derive(Debug, Clone)]
pub(crate) struct SyncConfig {
    pub(crate) streaming: bool,
    pub(crate) read_timeout: Duration,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) polling_interval: Duration,
    pub(crate) persist_path: Option<PathBuf>,
    /// Identifies our environment in persisted files.
    pub(crate) fingerprint: String,
}

/// How a stream connection ended.
#[derive(Debug)]
enum End {
    /// The server closed the stream (e.g. it restarted, or we lagged).
    Closed,
    /// The server said `goaway` (shutting down, or the stream reached its
    /// maximum age): resume promptly, with no backoff penalty.
    GoAway,
    /// Reconnect without `Last-Event-ID` for a full snapshot.
    Resync,
    /// Something failed; `resume` says whether to send `Last-Event-ID`.
    Failed { failure: Failure, resume: bool },
}

/// The sync task's state.
pub(crate) struct Syncer {
    shared: Arc<Shared>,
    endpoint: Endpoint,
    config: SyncConfig,
    /// What is served (it keeps its wire form), kept to apply change
    /// events to and to diff against.
    current: Option<Arc<CompiledSnapshot>>,
    /// The served data came from the server (not from a persisted file),
    /// so revisions compare and `Last-Event-ID`/`If-None-Match` apply.
    authoritative: bool,
    backoff: Backoff,
    acks: watch::Sender<u64>,
    persist: Option<watch::Sender<Option<Arc<CompiledSnapshot>>>>,
    tried_file: bool,
    /// The key was rejected: do not poll until a request succeeds.
    unauthorized: bool,
    /// When to poll next while the stream is down.
    next_poll: Option<Instant>,
    /// The server's latest `retry:` hint: the delay before resuming after
    /// a `goaway`.
    retry_hint: Option<Duration>,
    /// The stream was opened without `Last-Event-ID` although we hold
    /// server data (a resync): its first snapshot is the server's state and
    /// replaces ours even if older (the database went back).
    fresh_start: bool,
}

impl Syncer {
    pub(crate) fn new(
        shared: Arc<Shared>,
        endpoint: Endpoint,
        config: SyncConfig,
        acks: watch::Sender<u64>,
        persist: Option<watch::Sender<Option<Arc<CompiledSnapshot>>>>,
    ) -> Self {
        let backoff = Backoff::new(config.initial_backoff, config.max_backoff);
        Syncer {
            shared,
            endpoint,
            config,
            current: None,
            authoritative: false,
            fresh_start: false,
            backoff,
            acks,
            persist,
            tried_file: false,
            unauthorized: false,
            next_poll: None,
            retry_hint: None,
        }
    }

    /// Runs until the task is aborted (the last client clone dropped).
    pub(crate) async fn run(mut self) {
        if !self.config.streaming {
            return self.poll_loop().await;
        }
        let mut resume = true;
        loop {
            let started = Instant::now();
            let end = self.stream_once(resume).await;
            if started.elapsed() >= HEALTHY_STREAM {
                self.backoff.reset();
            }
            if self.next_poll.is_none() {
                let wait = if self.current.is_some() { self.config.polling_interval } else { Duration::ZERO };
                self.next_poll = Some(Instant::now() + wait);
            }
            let delay = match end {
                End::Closed => {
                    tracing::debug!("switchyard stream closed by the server; reconnecting");
                    resume = true;
                    self.backoff.next_delay()
                }
                End::GoAway => {
                    // A deliberate end, not a failure: the stream was good.
                    tracing::debug!("switchyard server said goaway; resuming");
                    resume = true;
                    self.backoff.reset();
                    let hint = self.retry_hint.unwrap_or(self.config.initial_backoff);
                    jitter(hint.min(self.config.max_backoff)).max(MIN_GOAWAY_DELAY)
                }
                End::Resync => {
                    resume = false;
                    // Jittered, so a server resyncing everyone is not stampeded.
                    jitter(self.config.initial_backoff)
                }
                End::Failed { failure, resume: r } => {
                    resume = r;
                    self.on_failure(&failure).await;
                    self.failure_delay(&failure)
                }
            };
            self.wait(delay).await;
        }
    }

    /// One stream connection, from request to end.
    async fn stream_once(&mut self, resume: bool) -> End {
        let read_timeout = self.config.read_timeout;
        let silence = || End::Failed { failure: Failure::Silence(read_timeout), resume: true };
        let last_id = if resume && self.authoritative { self.shared.revision() } else { None };
        self.fresh_start = last_id.is_none() && self.authoritative;
        let resp = match timeout(read_timeout, self.endpoint.open_stream(last_id)).await {
            Err(_) => return silence(),
            Ok(Err(failure)) => {
                return End::Failed { failure, resume: true };
            }
            Ok(Ok(resp)) => resp,
        };
        self.next_poll = None;
        if last_id.is_some() {
            // Resuming: the server sends whatever we lack right away.
            self.in_sync();
        }
        let mut reader = SseReader::new(resp.bytes_stream(), self.endpoint.max_body);
        loop {
            let item = match timeout(read_timeout, reader.next()).await {
                Err(_) => return silence(),
                Ok(Err(ReadError::Body(e))) => {
                    return End::Failed { failure: Failure::Network(e.to_string()), resume: true };
                }
                Ok(Err(ReadError::TooLarge(e))) => {
                    return End::Failed { failure: Failure::Protocol(e.to_string()), resume: true };
                }
                Ok(Ok(None)) => return End::Closed,
                Ok(Ok(Some(item))) => item,
            };
            match item {
                SseItem::Comment if self.authoritative => self.shared.freshness.confirm_now(),
                SseItem::Comment => {}
                SseItem::Retry(hint) => {
                    self.retry_hint = Some(hint);
                    self.backoff.set_floor(hint);
                }
                SseItem::Event(event) => {
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
        match event.event.as_str() {
            name @ ("snapshot" | "reset") => {
                let snapshot: Snapshot = serde_json::from_str(&event.data).map_err(|e| malformed(name, e))?;
                let reset = name == "reset" || std::mem::take(&mut self.fresh_start);
                self.apply_full(snapshot, reset).map_err(invalid)?;
            }
            "change" => {
                let change: ChangeEvent = serde_json::from_str(&event.data).map_err(|e| malformed("change", e))?;
                match self.apply_change(change) {
                    Ok(()) => {}
                    Err(ChangeError::Gap) => return Err(End::Resync),
                    Err(ChangeError::Invalid(msg)) => return Err(invalid(msg)),
                }
            }
            "resync" => return Err(End::Resync),
            "goaway" => return Err(End::GoAway),
            other => {
                tracing::debug!(event = other, "ignoring unknown switchyard event");
                return Ok(());
            }
        }
        self.in_sync();
        Ok(())
    }

    /// Records a failure in the status (loading the persisted snapshot
    /// first if we have nothing to serve).
    async fn on_failure(&mut self, failure: &Failure) {
        tracing::warn!(error = %failure, "switchyard sync failed");
        if self.current.is_none() {
            self.load_persisted().await;
        }
        let status = match failure {
            Failure::Unauthorized(_) => {
                self.unauthorized = true;
                Status::Unauthorized
            }
            // The stream is down but polling confirmed the data within one
            // polling interval: still current, no flapping to Stale and back
            // on every reconnect attempt. Stale once the polls fail too.
            _ if self.polls_keep_current() => return,
            _ => match self.shared.freshness.confirmed_at() {
                Some(since) if self.current.is_some() => Status::Stale { since },
                _ => Status::Error(failure.to_string()),
            },
        };
        self.shared.set_status(status);
    }

    /// Server data, polled while the stream is down, confirmed current
    /// within the last polling interval.
    fn polls_keep_current(&self) -> bool {
        let polling = self.next_poll.is_some() || !self.config.streaming;
        polling
            && self.authoritative
            && self.current.is_some()
            && self.shared.freshness.age().is_some_and(|age| age <= self.config.polling_interval)
    }

    /// How long to wait after `failure` before reconnecting.
    fn failure_delay(&mut self, failure: &Failure) -> Duration {
        match failure {
            Failure::Unauthorized(_) => jitter(UNAUTHORIZED_RETRY),
            Failure::RateLimited { retry_after } => {
                let asked = retry_after.unwrap_or_default().min(MAX_RETRY_AFTER);
                self.backoff.next_delay().max(asked)
            }
            _ => self.backoff.next_delay(),
        }
    }

    /// Sleeps `delay`, polling the snapshot at the polling interval meanwhile.
    async fn wait(&mut self, delay: Duration) {
        let deadline = Instant::now() + delay;
        loop {
            match self.next_poll.filter(|at| !self.unauthorized && *at < deadline) {
                Some(at) => {
                    sleep_until(at).await;
                    let _ = self.poll_once().await;
                    self.next_poll = Some(Instant::now() + self.config.polling_interval);
                }
                None => return sleep_until(deadline).await,
            }
        }
    }

    /// Polls only (`streaming(false)`).
    async fn poll_loop(mut self) {
        loop {
            let delay = match self.poll_once().await {
                Ok(()) => {
                    self.backoff.reset();
                    self.config.polling_interval
                }
                Err(failure @ (Failure::Unauthorized(_) | Failure::RateLimited { .. })) => self.failure_delay(&failure),
                Err(failure) if self.current.is_none() => {
                    self.failure_delay(&failure).min(self.config.polling_interval)
                }
                Err(_) => self.config.polling_interval,
            };
            sleep(delay).await;
        }
    }

    /// One `GET /sdk/v1/snapshot` (conditional when we have server data).
    async fn poll_once(&mut self) -> Result<(), Failure> {
        let have = self.shared.revision().filter(|_| self.authoritative);
        let result = match self.endpoint.fetch_snapshot(have).await {
            Ok(None) => Ok(()),
            Ok(Some((snapshot, reset))) => self.apply_full(snapshot, reset).map_err(Failure::Protocol),
            Err(failure) => Err(failure),
        };
        match &result {
            Ok(()) => self.in_sync(),
            Err(failure) => self.on_failure(failure).await,
        }
        result
    }
}
