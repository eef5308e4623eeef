//! [`Client`]: the handle applications evaluate flags with.
//!
//! Owns: the public handle, its getters, status and subscriptions. Must not
//! touch: configuration and start-up (`builder`), the sync task (`sync`),
//! evaluation rules (core).

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use switchyard_core::{CompiledSnapshot, Context, Snapshot};
use tokio::task::AbortHandle;

use crate::detail::Detail;
use crate::error::Error;
use crate::persist;
use crate::state::Shared;
use crate::status::{Status, StatusStream};
use crate::telemetry::RequestScope;
use crate::updates::Updates;

/// A Switchyard client: flags held in memory, kept current in the
/// background, evaluated locally.
///
/// Cheap to clone (one `Arc`); every clone shares the same flags and sync.
/// Dropping the last clone stops the background tasks. Getters are
/// synchronous, never block, never panic and never do IO: before the first
/// snapshot (or for an unknown flag, or the wrong type) they return the
/// caller's default.
///
/// ```
/// use switchyard::{Client, Context, Reason, Snapshot};
///
/// let snapshot: Snapshot = serde_json::from_str(r#"{"revision": 7, "flags": [
///   {"key": "new-checkout", "kind": "boolean", "on": true, "off_variant": "off",
///    "variants": [{"key": "on", "value": true}, {"key": "off", "value": false}],
///    "rules": [{"id": "pro", "clauses": [{"attribute": "plan", "op": "equals", "values": ["pro"]}],
///               "serve": {"variant": "on"}}],
///    "fallthrough": {"variant": "off"}},
///   {"key": "banner", "kind": "string", "on": true, "off_variant": "plain",
///    "variants": [{"key": "plain", "value": "hi"}, {"key": "fancy", "value": "hello!"}],
///    "fallthrough": {"variant": "fancy"}}]}"#).unwrap();
/// let client = Client::from_snapshot(snapshot).unwrap();
///
/// let ctx = Context::new("user-123").with("plan", "pro").with("country", "SE");
/// assert!(client.bool_value("new-checkout", &ctx, false));
/// assert_eq!(client.string_value("banner", &ctx, "hi"), "hello!");
/// assert_eq!(client.number_value("missing", &ctx, 2.5), 2.5);
///
/// let d = client.bool_detail("new-checkout", &ctx, false);
/// assert_eq!(d.variant.as_deref(), Some("on"));
/// assert_eq!(d.reason, Reason::RuleMatch { rule_index: 0, rule_id: "pro".into() });
/// assert_eq!(d.revision, 7);
/// // Asking for the wrong type serves the default, with the reason why.
/// let d = client.string_detail("new-checkout", &ctx, "x");
/// assert_eq!((d.value.as_str(), d.reason.code()), ("x", "ERROR"));
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    /// Background tasks, aborted when the last clone is dropped.
    tasks: Vec<AbortHandle>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A last, best-effort telemetry flush (it completes if the runtime
        // keeps running; `Client::flush` before shutdown makes sure).
        if let Some(t) = self.shared.telemetry.get()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let t = t.clone();
            runtime.spawn(async move { t.flush().await });
        }
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Client {
    pub(crate) fn networked(shared: Arc<Shared>, tasks: Vec<AbortHandle>) -> Self {
        Client { inner: Arc::new(Inner { shared, tasks }) }
    }

    /// An offline client serving this snapshot forever: no network, no
    /// runtime needed. For tests and air-gapped use. Always
    /// [`Status::Ready`].
    pub fn from_snapshot(snapshot: Snapshot) -> Result<Client, Error> {
        Self::offline(snapshot, None)
    }

    /// An offline client serving the snapshot in this file: a persisted
    /// file (see [`ClientBuilder::persist_path`](crate::ClientBuilder::persist_path)) or a bare snapshot as
    /// served by `GET /sdk/v1/snapshot`.
    ///
    /// ```no_run
    /// let client = switchyard::Client::from_file("flags.json")?;
    /// # Ok::<(), switchyard::Error>(())
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<Client, Error> {
        let loaded = persist::read(path.as_ref())?;
        Self::offline(loaded.snapshot, loaded.saved_at)
    }

    fn offline(snapshot: Snapshot, saved_at: Option<SystemTime>) -> Result<Client, Error> {
        let compiled = CompiledSnapshot::compile_owned(snapshot)?;
        let shared = Arc::new(Shared::new(None, Status::Ready));
        match saved_at {
            Some(at) => shared.freshness.confirm_at(at),
            None => shared.freshness.confirm_now(),
        }
        shared.install(Arc::new(compiled), Vec::new());
        Ok(Client::networked(shared, Vec::new()))
    }

    /// Waits until the client is [`Status::Ready`], at most `timeout`.
    ///
    /// `Err(Error::Unauthorized)` as soon as the server rejects the key;
    /// `Err(Error::Timeout)` (with the status at that time) otherwise. Either
    /// way the client keeps syncing and serving defaults or persisted flags,
    /// so an application may log the error and carry on.
    pub async fn wait_until_ready(&self, timeout: Duration) -> Result<(), Error> {
        let mut rx = self.inner.shared.status.subscribe();
        let wait = async {
            loop {
                match &*rx.borrow_and_update() {
                    Status::Ready => return Ok(()),
                    Status::Unauthorized => return Err(Error::Unauthorized),
                    _ => {}
                }
                if rx.changed().await.is_err() {
                    // The sync stopped; only the timeout can end the wait.
                    std::future::pending::<()>().await;
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout { waited: timeout, status: self.status() }),
        }
    }

    /// The current [`Status`].
    pub fn status(&self) -> Status {
        self.inner.shared.status.borrow().clone()
    }

    /// A stream of status changes, starting with the current status.
    pub fn status_stream(&self) -> StatusStream {
        StatusStream::new(self.inner.shared.status.subscribe())
    }

    /// A stream of flag changes: one [`crate::Update::Changed`] per changed
    /// flag per applied revision, [`crate::Update::Resync`] if this
    /// subscriber fell behind. Only changes after this call are reported.
    ///
    /// ```
    /// # async fn demo(client: switchyard::Client) {
    /// use switchyard::Update;
    /// use tokio_stream::StreamExt;
    /// let mut updates = client.subscribe();
    /// while let Some(update) = updates.next().await {
    ///     match update {
    ///         Update::Changed(change) => println!("{} changed in revision {}", change.key, change.new_revision),
    ///         Update::Resync => println!("missed some changes: re-read everything"),
    ///         _ => {}
    ///     }
    /// }
    /// # }
    /// ```
    pub fn subscribe(&self) -> Updates {
        Updates::new(self.inner.shared.updates.subscribe())
    }

    /// The revision served, `None` before the first snapshot.
    pub fn revision(&self) -> Option<u64> {
        self.inner.shared.revision()
    }

    /// The compiled snapshot served right now (`None` before the first),
    /// for listing flags or evaluating many at one consistent revision.
    pub fn snapshot(&self) -> Option<Arc<CompiledSnapshot>> {
        self.inner.shared.snapshot.load().as_ref().map(|s| s.compiled.clone())
    }

    /// A boolean flag's value, or `default` (unknown flag, other kind, no
    /// flags yet).
    #[inline]
    pub fn bool_value(&self, key: &str, ctx: &Context<'_>, default: bool) -> bool {
        self.inner.shared.value(key, ctx, default)
    }

    /// A string flag's value, or `default`.
    #[inline]
    pub fn string_value(&self, key: &str, ctx: &Context<'_>, default: impl Into<String>) -> String {
        self.inner.shared.value(key, ctx, default)
    }

    /// A number flag's value, or `default`.
    #[inline]
    pub fn number_value(&self, key: &str, ctx: &Context<'_>, default: f64) -> f64 {
        self.inner.shared.value(key, ctx, default)
    }

    /// Any flag's value as JSON (every kind can be read as JSON), or
    /// `default`.
    #[inline]
    pub fn json_value(&self, key: &str, ctx: &Context<'_>, default: Value) -> Value {
        self.inner.shared.value(key, ctx, default)
    }

    /// Records how a request went, for the release guard (with
    /// [`ClientBuilder::telemetry`](crate::ClientBuilder::telemetry) on; a no-op otherwise), against what
    /// `to` names ([`Attribution`](crate::telemetry::Attribution)): an
    /// [`Exposure`](crate::telemetry::Exposure), a flag key (the variant
    /// of it the calling task's current [`RequestScope`] was served) or a
    /// `&RequestScope` (every variant it was served; what the `tower`
    /// layer records). Returns how many (flag, variant) pairs got the
    /// outcome: 0 when there was nothing to attribute it to (a flag key
    /// outside a scope, say). Never blocks on the network; aggregated in
    /// memory and flushed in batches.
    ///
    /// ```
    /// # fn demo(client: switchyard::Client, ctx: switchyard::Context<'_>) {
    /// use std::time::{Duration, Instant};
    /// use switchyard::telemetry::{Exposure, Outcome};
    /// let started = Instant::now();
    /// let d = client.bool_detail("new-checkout", &ctx, false);
    /// let failed = false; // ... serve the request with d.value ...
    /// if let Some(exposure) = Exposure::of("new-checkout", &d) {
    ///     let took = started.elapsed();
    ///     client.record(exposure, if failed { Outcome::failed(took) } else { Outcome::ok(took) });
    /// }
    /// # }
    /// ```
    pub fn record<'a>(
        &self,
        to: impl Into<crate::telemetry::Attribution<'a>>,
        outcome: crate::telemetry::Outcome,
    ) -> usize {
        match self.inner.shared.telemetry.get() {
            Some(t) => t.record_to(self.owner(), to.into(), outcome),
            None => 0,
        }
    }

    /// Counts one occurrence of a custom event with a value (1.0 for a
    /// plain count), for guard metrics such as checkouts. Inside a
    /// [`RequestScope`] of this client it also counts once for each
    /// variant the request was served so far, so that the guard can
    /// compare the event between treatment and control. A no-op without
    /// telemetry; non-finite values are dropped (and counted as dropped).
    pub fn track(&self, event: &str, value: f64) {
        if let Some(t) = self.inner.shared.telemetry.get() {
            t.track(self.owner(), event, value);
        }
    }

    /// A new, empty request scope of this client: run a request's work in
    /// it ([`RequestScope::run`]) and the variants it is served are
    /// remembered, for [`Client::record`] and [`Client::track`]. The
    /// `tower` layer (cargo feature `tower`) does this per request.
    pub fn request_scope(&self) -> RequestScope {
        RequestScope::new(self.owner())
    }

    /// This client's identity for request scopes: its shared state's address.
    fn owner(&self) -> usize {
        self.inner.shared.owner()
    }

    /// Sends all telemetry counted so far now (call it before shutting
    /// down: the background flush stops with the last clone). `Ok` at once
    /// without telemetry; on failure the batches stay queued.
    pub async fn flush(&self) -> Result<(), Error> {
        match self.inner.shared.telemetry.get() {
            Some(t) => t.flush().await,
            None => Ok(()),
        }
    }

    /// A boolean flag's value with variant, reason, revision and age.
    pub fn bool_detail(&self, key: &str, ctx: &Context<'_>, default: bool) -> Detail<bool> {
        self.inner.shared.detail(key, ctx, default)
    }

    /// A string flag's value with variant, reason, revision and age.
    pub fn string_detail(&self, key: &str, ctx: &Context<'_>, default: impl Into<String>) -> Detail<String> {
        self.inner.shared.detail(key, ctx, default.into())
    }

    /// A number flag's value with variant, reason, revision and age.
    pub fn number_detail(&self, key: &str, ctx: &Context<'_>, default: f64) -> Detail<f64> {
        self.inner.shared.detail(key, ctx, default)
    }

    /// Any flag's value as JSON with variant, reason, revision and age.
    pub fn json_detail(&self, key: &str, ctx: &Context<'_>, default: Value) -> Detail<Value> {
        self.inner.shared.detail(key, ctx, default)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("status", &self.status()).field("revision", &self.revision()).finish()
    }
}
