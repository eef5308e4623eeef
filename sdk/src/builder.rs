//! [`ClientBuilder`]: every option of a networked [`Client`], validated once
//! in [`ClientBuilder::build`] (in `start`, which also spawns the tasks);
//! and [`Client::builder`], so that the client module need not know the
//! builder (no `builder <-> client` cycle).
//!
//! Owns: the options, their defaults and setters. Must not touch: the
//! client's getters and state, the sync task's behaviour.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::client::Client;

mod start;

/// Default largest snapshot body, single event or line accepted (bounded
/// memory even against a misbehaving server or proxy).
pub(crate) const MAX_BODY: usize = 64 * 1024 * 1024;

/// The server's default heartbeat interval (`--heartbeat`).
pub(crate) const SERVER_HEARTBEAT: Duration = Duration::from_secs(15);

/// Configures and starts a networked [`Client`]. Setters never fail; any
/// invalid value is reported once, by [`ClientBuilder::build`].
///
/// ```no_run
/// use std::time::Duration;
/// use switchyard::{Client, Context};
///
/// # async fn run() -> Result<(), switchyard::Error> {
/// let client = Client::builder("sdk-key")
///     .base_url("http://localhost:8080")
///     .stale_bound(Duration::from_secs(120)) // Stale (and fail-safe variants) after 2 min unconfirmed
///     .persist_path("/var/lib/myapp/flags.json") // survive a restart during an outage
///     .build()?; // starts syncing in the background
/// client.wait_until_ready(Duration::from_secs(5)).await?; // Err(Timeout | Unauthorized | …)
///
/// let ctx = Context::new("user-123").with("plan", "pro").with("country", "SE");
/// let on: bool = client.bool_value("new-checkout", &ctx, false); // sync, local, never fails
/// # let _ = on;
/// # Ok(())
/// # }
/// ```
#[must_use = "a builder does nothing until .build() is called"]
#[derive(Clone)]
pub struct ClientBuilder {
    sdk_key: String,
    base_url: Option<String>,
    connect_timeout: Duration,
    read_timeout: Duration,
    heartbeat: Duration,
    initial_backoff: Duration,
    max_backoff: Duration,
    polling_interval: Duration,
    persist_path: Option<PathBuf>,
    stale_bound: Option<Duration>,
    unauthorized_retry: Duration,
    max_event_size: usize,
    ack_delay: Duration,
    streaming: bool,
    http_client: Option<reqwest::Client>,
    telemetry: bool,
    telemetry_flush: Duration,
    service_name: Option<String>,
    service_version: Option<String>,
}

impl ClientBuilder {
    pub(crate) fn new(sdk_key: String) -> Self {
        ClientBuilder {
            sdk_key,
            base_url: None,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(30),
            heartbeat: SERVER_HEARTBEAT,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            polling_interval: Duration::from_secs(30),
            persist_path: None,
            stale_bound: None,
            unauthorized_retry: Duration::from_secs(60),
            max_event_size: MAX_BODY,
            ack_delay: Duration::from_millis(100),
            streaming: true,
            http_client: None,
            telemetry: false,
            telemetry_flush: Duration::from_secs(10),
            service_name: None,
            service_version: None,
        }
    }

    /// The server's base URL, e.g. `https://flags.example.com` (required).
    /// A path prefix is kept: `https://example.com/switchyard` talks to
    /// `https://example.com/switchyard/sdk/v1/stream`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Timeout for establishing a TCP/TLS connection. Default 5 s. Ignored
    /// with [`ClientBuilder::http_client`] (configure that client instead).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Bound on each snapshot and acknowledgement request, and on the
    /// stream's response headers (at most twice the heartbeat interval).
    /// Default 30 s.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// The server's heartbeat interval. Default 15 s, the server's default
    /// (`--heartbeat`); a server announces its own on the stream
    /// (`X-Switchyard-Heartbeat-Ms`), which then takes precedence. A stream
    /// silent for twice this long is reconnected, and data the stream has
    /// not confirmed for that long is checked with a snapshot poll. Also
    /// sets the default [`ClientBuilder::stale_bound`] (3 × this).
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat = interval;
        self
    }

    /// First reconnection delay; doubles per failed attempt (with jitter)
    /// up to [`ClientBuilder::max_backoff`]. Default 1 s. The server's SSE
    /// `retry:` hint raises it if larger.
    pub fn initial_backoff(mut self, delay: Duration) -> Self {
        self.initial_backoff = delay;
        self
    }

    /// Longest reconnection delay. Default 30 s. A connection that
    /// delivered data (an event or a heartbeat) resets the delay to the
    /// initial one, whatever ended it. (A rejected key, 401/403, waits
    /// [`ClientBuilder::unauthorized_retry`].)
    pub fn max_backoff(mut self, delay: Duration) -> Self {
        self.max_backoff = delay;
        self
    }

    /// How often at most to poll `GET /sdk/v1/snapshot` (with
    /// `If-None-Match`) while the stream fails to confirm the data (down,
    /// cut before catching up, silent), or always with `streaming(false)`.
    /// A healthy stream needs no polls. Default 30 s.
    pub fn polling_interval(mut self, interval: Duration) -> Self {
        self.polling_interval = interval;
        self
    }

    /// Persist the last good snapshot to this file (written atomically on
    /// every change) and serve it at startup if the server is unreachable,
    /// so that a restart during an outage still serves the last known flags.
    pub fn persist_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.persist_path = Some(path.into());
        self
    }

    /// How long an acknowledgement of an applied revision is held (jittered
    /// between half and all of it) before it is sent; it reports the time it
    /// was held, so receipts stay exact. Holding keeps a fleet's acks from
    /// competing with the delivery of the change itself. Default 100 ms; zero
    /// sends at once. Applies only to servers that do not ask for
    /// acknowledgements (older than `X-Switchyard-Acks: on-request`):
    /// current servers ask after each change and advise the hold themselves.
    pub fn ack_delay(mut self, delay: Duration) -> Self {
        self.ack_delay = delay;
        self
    }

    /// When the flags have not been confirmed current for longer than this,
    /// they are *stale*: the status is [`crate::Status::Stale`] (with the
    /// reason and age), flags with a `fail_safe_variant` serve it (reason
    /// [`crate::Reason::FailSafe`]), the others keep their last known
    /// evaluation, and details say `stale: true`. Default 3 × the heartbeat
    /// interval (45 s): a healthy stream confirms every heartbeat, a broken
    /// one is replaced by snapshot polls after two.
    pub fn stale_bound(mut self, bound: Duration) -> Self {
        self.stale_bound = Some(bound);
        self
    }

    /// How long to wait (jittered between half and all of it) before
    /// retrying after the server rejected the SDK key (401/403), so a
    /// revoked key never causes load. Default 60 s.
    pub fn unauthorized_retry(mut self, delay: Duration) -> Self {
        self.unauthorized_retry = delay;
        self
    }

    /// Largest snapshot body, stream event or line accepted, in bytes. A
    /// peer sending more (say, a proxy injecting data without line ends) is
    /// disconnected, so memory stays bounded. Default 64 MiB.
    pub fn max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes;
        self
    }

    /// `false` disables the SSE stream: the client only polls at the polling
    /// interval (for environments whose proxies break long-lived responses).
    /// Default `true`.
    pub fn streaming(mut self, enabled: bool) -> Self {
        self.streaming = enabled;
        self
    }

    /// Count evaluations per (flag, variant), accept [`Client::record`] and
    /// [`Client::track`], and send them every
    /// [`ClientBuilder::telemetry_flush_interval`] to `POST
    /// /sdk/v1/telemetry`, for guarded releases. Counting allocates
    /// nothing and takes no lock; a server that cannot be reached costs a
    /// bounded queue (one minute of batches), never a blocked evaluation.
    /// Default `false`.
    pub fn telemetry(mut self, enabled: bool) -> Self {
        self.telemetry = enabled;
        self
    }

    /// Interval between telemetry flushes. Default 10 s.
    pub fn telemetry_flush_interval(mut self, interval: Duration) -> Self {
        self.telemetry_flush = interval;
        self
    }

    /// The name of the service this client runs in (`checkout`), sent when
    /// it connects so that the server's fleet view (`switchyard fleet`)
    /// says which services evaluate what. 1 to 64 printable ASCII
    /// characters (checked by [`ClientBuilder::build`]). Default: none.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// The version of that service (`1.4.2`), shown next to its name; same
    /// limits. Default: none.
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// Use this HTTP client (proxies, custom TLS roots, ...). Do not set a
    /// total request timeout on it: the stream is a long-lived response.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }
}

impl Client {
    /// Starts configuring a networked client for this SDK key (see
    /// [`ClientBuilder`] for an example).
    pub fn builder(sdk_key: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(sdk_key.into())
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("sdk_key", &"<redacted>")
            .field("base_url", &self.base_url)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("heartbeat_interval", &self.heartbeat)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("polling_interval", &self.polling_interval)
            .field("persist_path", &self.persist_path)
            .field("stale_bound", &self.stale_bound)
            .field("unauthorized_retry", &self.unauthorized_retry)
            .field("max_event_size", &self.max_event_size)
            .field("ack_delay", &self.ack_delay)
            .field("streaming", &self.streaming)
            .field("http_client", &self.http_client.is_some())
            .field("telemetry", &self.telemetry.then_some(self.telemetry_flush))
            .field("service_name", &self.service_name)
            .field("service_version", &self.service_version)
            .finish()
    }
}
