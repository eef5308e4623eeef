//! [`Status`]: how current the client's flags are, and [`StatusStream`] to
//! watch it change.
//!
//! Owns: the status type and its stream. Must not touch: when the status
//! changes (`sync`, `state`).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio_stream::Stream;
use tokio_stream::wrappers::WatchStream;

/// How current the client's flags are.
///
/// `Ready` is a promise with a bound: the flags served were confirmed to be
/// the server's current ones within the last
/// [`crate::ClientBuilder::stale_bound`] (default 45 s). What confirms them:
/// a `snapshot` event, a heartbeat (or a change) after the stream caught up,
/// or a polled snapshot (`200`, or `304` for the revision held). Merely
/// being connected confirms nothing: a stream cut or stalled by a proxy
/// keeps the client `Ready` only while the snapshot polls confirm it; past
/// the bound it is [`Status::Stale`], with the reason.
///
/// Evaluation serves the last known flags in every state (or the callers'
/// defaults before the first snapshot); only flags with a fail-safe variant
/// change what they serve when stale (see [`crate::Detail`]). The status is
/// for readiness probes, dashboards and alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// No flags yet: the first snapshot has not arrived and the first
    /// attempt to get one has not failed yet.
    Initializing,
    /// The flags were confirmed current within the stale bound (by the
    /// stream or by a poll). Offline clients ([`crate::Client::from_snapshot`],
    /// [`crate::Client::from_file`]) are always `Ready`.
    Ready,
    /// The client serves flags it could not confirm for longer than the
    /// stale bound (or a persisted snapshot, before reaching the server).
    Stale {
        /// When the flags were last confirmed current (or the time a
        /// persisted snapshot was saved). [`Status::age`] is the time since.
        since: SystemTime,
        /// Why they could not be confirmed since: the last failure of the
        /// stream or of the snapshot poll, e.g. `stream: no data from the
        /// server within 30s; snapshot poll: unexpected HTTP status 503`.
        reason: String,
    },
    /// The server rejected the SDK key (401/403). The client keeps serving
    /// its last known flags and retries rarely (about once a minute).
    Unauthorized,
    /// No flags yet and the last attempt to get them failed; the message
    /// says why. The client keeps retrying with backoff.
    Error(String),
}

impl Status {
    /// The stable code: `INITIALIZING`, `READY`, `STALE`, `UNAUTHORIZED` or
    /// `ERROR` (for metrics labels and logs).
    pub fn code(&self) -> &'static str {
        match self {
            Status::Initializing => "INITIALIZING",
            Status::Ready => "READY",
            Status::Stale { .. } => "STALE",
            Status::Unauthorized => "UNAUTHORIZED",
            Status::Error(_) => "ERROR",
        }
    }

    /// `true` for [`Status::Ready`].
    pub fn is_ready(&self) -> bool {
        matches!(self, Status::Ready)
    }

    /// For [`Status::Stale`]: how long ago the flags were last confirmed
    /// current (`None` in the other states).
    pub fn age(&self) -> Option<Duration> {
        match self {
            Status::Stale { since, .. } => Some(SystemTime::now().duration_since(*since).unwrap_or_default()),
            _ => None,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Stale { reason, .. } => {
                let ago = self.age().unwrap_or_default();
                write!(f, "STALE (last confirmed {}s ago: {reason})", ago.as_secs())
            }
            Status::Error(msg) => write!(f, "ERROR ({msg})"),
            other => f.write_str(other.code()),
        }
    }
}

/// A [`Stream`] of [`Status`] values: the current one first, then every
/// change (intermediate values may be skipped; the latest is never missed).
/// Ends when the client's background sync stops.
///
/// ```
/// # async fn demo(client: switchyard::Client) {
/// use tokio_stream::StreamExt;
/// let mut statuses = client.status_stream();
/// while let Some(status) = statuses.next().await {
///     println!("switchyard: {status}");
/// }
/// # }
/// ```
pub struct StatusStream {
    inner: WatchStream<Status>,
}

impl StatusStream {
    pub(crate) fn new(rx: watch::Receiver<Status>) -> Self {
        StatusStream { inner: WatchStream::new(rx) }
    }
}

impl Stream for StatusStream {
    type Item = Status;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Status>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

impl fmt::Debug for StatusStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusStream").finish_non_exhaustive()
    }
}
