//! The shared application state: cheap handles only.

use std::ops::Deref;
use std::sync::Arc;

use crate::auth::jwt::JwtKeys;
use crate::config::ServeConfig;
use crate::delivery::hub::Hub;
use crate::store::DynStore;

/// Handles shared by every request.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// What [`AppState`] dereferences to.
pub struct Inner {
    /// The database.
    pub store: DynStore,
    /// Session token keys.
    pub jwt: JwtKeys,
    /// The change broadcaster and SSE connection registry.
    pub hub: Arc<Hub>,
    /// Compiled snapshots per environment and revision (server-side evaluation).
    pub compiled: Arc<crate::delivery::compiled::CompiledCache>,
    /// The configuration.
    pub config: ServeConfig,
    /// Login attempts per client address.
    pub login_limiter: crate::auth::ratelimit::PeerLimiter,
    /// Authenticated SDK keys and revocation signals of their streams.
    pub sdk_keys: crate::auth::sdk_keys::SdkKeys,
    /// Negative cache of unknown credentials and failed-authentication limits.
    pub credentials: crate::auth::credentials::Guard,
    /// Password change attempts per user.
    pub password_limiter: crate::auth::ratelimit::UserLimiter,
    /// OFREP: the request limit.
    pub ofrep: crate::ofrep::Ofrep,
    /// SDK telemetry batches per SDK key and client address.
    pub telemetry_limiter: crate::auth::ratelimit::SdkKeyLimiter,
    /// Fleet-wide receipts.
    pub fleet: Arc<crate::delivery::fleet::Fleet>,
    /// Prometheus metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Health of the Postgres change listener (always "not ready" on SQLite, where it does not run).
    pub listener: Arc<crate::delivery::listener::ListenerHealth>,
    /// This replica's webhook delivery worker (stopped on shutdown).
    pub webhooks: Arc<crate::webhooks::Worker>,
    /// Background work that must finish before the process exits (kill
    /// receipts being awaited); shutdown waits for it.
    pub background: tokio_util::task::TaskTracker,
    /// Cancelled when shutdown begins (before streams close), so that
    /// background work records what it has while SDKs are still connected.
    pub stopping: tokio_util::sync::CancellationToken,
}

impl AppState {
    /// Wraps the handles.
    pub fn new(inner: Inner) -> Self {
        AppState(Arc::new(inner))
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
