//! [`Status`]: how current the client's flags are, and [`StatusStream`] to
//! watch it change.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use tokio::sync::watch;
use tokio_stream::Stream;
use tokio_stream::wrappers::WatchStream;

/// How current the client's flags are.
///
/// Evaluation never depends on the status: a client serves its last known
/// flags (or the callers' defaults, before the first snapshot) in every
/// state. The status is for readiness probes, dashboards and alerts: a
/// client that lost its server is [`Status::Stale`], never silently "fine".
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// No flags yet: the first snapshot has not arrived and the first
    /// attempt to get one has not failed yet.
    Initializing,
    /// In sync with the server: the stream is connected, or (while it is
    /// down or disabled) the last poll succeeded. Offline clients
    /// ([`crate::Client::from_snapshot`], [`crate::Client::from_file`]) are
    /// always `Ready`.
    Ready,
    /// The client serves flags it could not confirm since `since` (the last
    /// contact with the server, or the time a persisted snapshot was saved).
    Stale {
        /// When the flags were last known to be current.
        since: SystemTime,
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
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Stale { since } => {
                let ago = SystemTime::now().duration_since(*since).unwrap_or_default();
                write!(f, "STALE (last in sync {}s ago)", ago.as_secs())
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
