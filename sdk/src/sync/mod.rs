//! The background sync task: keeps [`Shared`] current over the SSE stream,
//! polls the snapshot whenever the stream fails to confirm freshness, and
//! never discards good data on failure.
//!
//! ```text
//!  connect ──200──► read items (silence: 2 × heartbeat) ──► apply ──► swap + notify
//!     │                 │ EOF / goaway / resync / error / silence
//!     └─ failure ◄──────┘
//!     wait (backoff, reset by a connection that delivered data; goaway: the
//!     retry hint; 401/403: ~60 s) ─── meanwhile poll GET /snapshot (ETag)
//!     when the data was not confirmed for 2 heartbeats (at most once per
//!     polling interval), also while a stream is open but not confirming
//! ```
//!
//! What confirms the data (and keeps the status `Ready`): a `snapshot` or
//! `reset` event, a heartbeat comment (every frame sent before it arrived),
//! a change applied after either of those on the same connection, and a
//! polled snapshot (`200` or `304`). A `200` to a resuming request does not:
//! the missed changes may still be cut off. The `freshness_watch` task
//! turns `Ready` into `Stale` once nothing confirmed the data within the
//! stale bound.
//!
//! Layout: [`sse`] parses the stream, `connection` runs one stream
//! connection, [`http`] makes the requests and classifies failures,
//! [`backoff`] computes delays, `apply` installs snapshots and changes,
//! [`tasks`] runs the coalesced acknowledgement and persistence writers and
//! the freshness watch.
//!
//! Owns: the sync task's state machine and retry policy. Must not touch:
//! the protocol's names and shapes (`switchyard_core::protocol`),
//! evaluation.

mod apply;
pub(crate) mod backoff;
mod connection;
pub(crate) mod http;
pub(crate) mod sse;
pub(crate) mod tasks;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use switchyard_core::CompiledSnapshot;
use tokio::sync::watch;
use tokio::time::{Instant, sleep, sleep_until};

use self::backoff::{Backoff, jitter};
use self::http::{Endpoint, Failure};
use crate::state::Shared;
use crate::status::Status;

/// Cap on a server's `Retry-After`, so a bogus header cannot stop sync.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
/// Least delay before resuming after `goaway` (whatever `retry:` says), so
/// a server that keeps saying goaway can never cause a tight loop.
const MIN_GOAWAY_DELAY: Duration = Duration::from_millis(100);

/// Sync settings (validated by the builder).
#[derive(Debug, Clone)]
pub(crate) struct SyncConfig {
    pub(crate) streaming: bool,
    pub(crate) read_timeout: Duration,
    /// The server's heartbeat interval unless the stream announces one.
    pub(crate) heartbeat: Duration,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) polling_interval: Duration,
    pub(crate) unauthorized_retry: Duration,
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
    acks: watch::Sender<tasks::AckState>,
    persist: Option<watch::Sender<Option<Arc<CompiledSnapshot>>>>,
    tried_file: bool,
    /// The key was rejected: do not poll until a request succeeds.
    unauthorized: bool,
    /// When the snapshot was last polled.
    last_poll: Option<Instant>,
    /// No poll before this (the server's `Retry-After` on a poll).
    poll_not_before: Option<Instant>,
    /// The server's heartbeat interval: announced by the stream, else
    /// configured. Silence for twice this long ends a connection.
    heartbeat: Duration,
    /// The server's latest `retry:` hint: the delay before resuming after
    /// a `goaway`.
    retry_hint: Option<Duration>,
    /// The stream was opened without `Last-Event-ID` although we hold
    /// server data (a resync): its first snapshot is the server's state and
    /// replaces ours even if older (the database went back).
    fresh_start: bool,
    /// The current connection delivered a snapshot or a heartbeat: what
    /// follows on it is live, so each applied change confirms freshness.
    caught_up: bool,
    /// The current connection delivered an event or a heartbeat (data, not
    /// just a `retry:` line): the backoff starts over.
    progress: bool,
}

impl Syncer {
    pub(crate) fn new(
        shared: Arc<Shared>,
        endpoint: Endpoint,
        config: SyncConfig,
        acks: watch::Sender<tasks::AckState>,
        persist: Option<watch::Sender<Option<Arc<CompiledSnapshot>>>>,
    ) -> Self {
        let backoff = Backoff::new(config.initial_backoff, config.max_backoff);
        Syncer {
            shared,
            endpoint,
            heartbeat: config.heartbeat,
            config,
            current: None,
            authoritative: false,
            fresh_start: false,
            backoff,
            acks,
            persist,
            tried_file: false,
            unauthorized: false,
            last_poll: None,
            poll_not_before: None,
            retry_hint: None,
            caught_up: false,
            progress: false,
        }
    }

    /// Runs until the task is aborted (the last client clone dropped).
    pub(crate) async fn run(mut self) {
        if !self.config.streaming {
            return self.poll_loop().await;
        }
        let mut resume = true;
        loop {
            let end = self.stream_once(resume).await;
            if std::mem::take(&mut self.progress) {
                // Data arrived: whatever cut the connection, it is not a
                // server refusing us. Start over at the initial delay.
                self.backoff.reset();
            }
            let delay = match end {
                End::Closed => {
                    tracing::debug!("switchyard stream closed by the server; reconnecting");
                    self.shared.note_problem(false, "the stream was closed before catching up".to_owned());
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
                    self.on_failure(&failure, false).await;
                    self.failure_delay(&failure)
                }
            };
            self.wait(delay).await;
        }
    }

    /// How long the stream may stay silent (and how long it may go without
    /// confirming the data before a poll): twice the heartbeat interval.
    fn silence(&self) -> Duration {
        self.heartbeat.saturating_mul(2)
    }

    /// When to poll the snapshot next (`None`: not while the key is
    /// rejected). Without confirmed server data: now; else once the data
    /// went unconfirmed for the polling interval or [`Syncer::silence`],
    /// whichever is shorter; never more often than the polling interval.
    fn poll_at(&self) -> Option<Instant> {
        if self.unauthorized {
            return None;
        }
        let now = Instant::now();
        let unconfirmed = self.silence().min(self.config.polling_interval);
        let due = match self.shared.freshness.age() {
            Some(age) if self.authoritative => (now + unconfirmed).checked_sub(age).unwrap_or(now),
            _ => now,
        };
        let due = self.last_poll.map_or(due, |at| due.max(at + self.config.polling_interval));
        Some(self.poll_not_before.map_or(due, |at| due.max(at)))
    }

    /// Records a failure in the status (loading the persisted snapshot
    /// first if we have nothing to serve). Data confirmed within the stale
    /// bound stays `Ready`: one failed reconnect or poll is no news yet.
    async fn on_failure(&mut self, failure: &Failure, poll: bool) {
        tracing::warn!(error = %failure, poll, "switchyard sync failed");
        self.shared.note_problem(poll, failure.to_string());
        if self.current.is_none() {
            self.load_persisted().await;
        }
        let status = match failure {
            Failure::Unauthorized(_) => {
                self.unauthorized = true;
                Status::Unauthorized
            }
            _ if self.current.is_none() => Status::Error(failure.to_string()),
            _ if self.authoritative && !self.data_stale() => return,
            _ => match self.shared.stale_status() {
                Some(status) => status,
                None => Status::Error(failure.to_string()),
            },
        };
        self.shared.set_status(status);
    }

    /// The data is older than the stale bound.
    fn data_stale(&self) -> bool {
        self.shared.freshness.age().is_none_or(|age| self.shared.is_stale(age))
    }

    /// How long to wait after `failure` before reconnecting.
    fn failure_delay(&mut self, failure: &Failure) -> Duration {
        match failure {
            Failure::Unauthorized(_) => jitter(self.config.unauthorized_retry),
            Failure::RateLimited { retry_after } | Failure::Status(_, retry_after) => {
                let asked = retry_after.unwrap_or_default().min(MAX_RETRY_AFTER);
                self.backoff.next_delay().max(asked)
            }
            _ => self.backoff.next_delay(),
        }
    }

    /// Sleeps `delay`, polling the snapshot meanwhile when due.
    async fn wait(&mut self, delay: Duration) {
        let deadline = Instant::now() + delay;
        loop {
            match self.poll_at().filter(|at| *at < deadline) {
                Some(at) => {
                    sleep_until(at).await;
                    let _ = self.poll_once().await;
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
        self.last_poll = Some(Instant::now());
        let result = match self.endpoint.fetch_snapshot(have).await {
            Ok(None) => Ok(()),
            Ok(Some((snapshot, reset))) => self.apply_full(snapshot, reset).map_err(Failure::Protocol),
            Err(failure) => Err(failure),
        };
        match &result {
            Ok(()) => self.confirmed(),
            Err(failure) => {
                if let Failure::RateLimited { retry_after: Some(after) } | Failure::Status(_, Some(after)) = failure {
                    self.poll_not_before = Some(Instant::now() + (*after).min(MAX_RETRY_AFTER));
                }
                self.on_failure(failure, true).await;
            }
        }
        result
    }
}
