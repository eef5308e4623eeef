//! Credential lookups that a flood of bad credentials cannot turn into
//! database load, and the answer to a failed authentication.
//!
//! Every store lookup of an API token, SDK key or trigger secret goes
//! through [`Guard::lookup`]: a hash in the [`NegativeCache`] answers
//! "unknown" without a query; anything else is counted
//! (`switchyard_credential_lookups_total{kind}`) and asked of the store. A
//! failure goes through [`Guard::failed`], which takes from the address's
//! and the credential's failure budgets ([`FailureLimiter`]) and answers
//! 429 with `Retry-After` once either is spent. Successes take nothing.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::auth::failures::FailureLimiter;
pub use crate::auth::kind::Kind;
use crate::auth::negative::NegativeCache;
use crate::config::ServeConfig;
use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;

/// The peer address of a request, if the server recorded one (it always
/// does when serving; `None` for an in-process `oneshot`).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer::of(parts))
    }
}

impl Peer {
    /// The peer address recorded in `parts`.
    pub fn of(parts: &Parts) -> Peer {
        Peer(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0))
    }
}

/// The negative cache, the failure limits and their metrics.
pub struct Guard {
    negative: NegativeCache,
    failures: FailureLimiter,
    trusted_proxies: Vec<IpAddr>,
    metrics: Arc<Metrics>,
}

impl Guard {
    /// From the server options.
    pub fn new(config: &ServeConfig, metrics: Arc<Metrics>) -> Guard {
        Guard {
            negative: NegativeCache::new(config.negative_cache_size, config.negative_cache_ttl),
            failures: FailureLimiter::new(
                config.auth_failure_rate_per_minute,
                config.credential_failure_rate_per_minute,
            ),
            trusted_proxies: config.trusted_proxies.clone(),
            metrics,
        }
    }

    /// The client address (`X-Forwarded-For` only from a trusted proxy).
    pub fn client(&self, peer: Peer, headers: &HeaderMap) -> Option<IpAddr> {
        crate::auth::ratelimit::client_address(peer.0, headers, &self.trusted_proxies)
    }

    /// The usable credential of `kind` whose secret hashes to `hash`:
    /// `None` from the negative cache without a query, or from the store
    /// (then remembered as unknown) when it is unknown or not `usable`.
    pub async fn lookup<T, Fut>(
        &self,
        kind: Kind,
        hash: &str,
        fetch: impl FnOnce() -> Fut,
        usable: impl FnOnce(&T) -> bool,
    ) -> ApiResult<Option<T>>
    where
        Fut: Future<Output = crate::store::Result<Option<T>>>,
    {
        if self.negative.contains(kind, hash) {
            self.metrics.negative_cache_hits.get_or_create(&kind_labels(kind)).inc();
            return Ok(None);
        }
        let generation = self.negative.generation(kind);
        self.metrics.credential_lookup(kind.label());
        let found = fetch().await?.filter(usable);
        if found.is_none() {
            self.negative.remember(kind, hash, generation);
        }
        Ok(found)
    }

    /// A credential of `kind` was created (or rotated in): forget the
    /// unknown hashes of that kind.
    pub fn created(&self, kind: Kind) {
        self.negative.invalidate(kind);
    }

    /// The answer to a failed authentication with the credential hashing to
    /// `hash` from `client`: `rejection` (401, or 404 for a trigger), or 429
    /// with `Retry-After` once the address's or credential's budget is spent
    /// (with `WWW-Authenticate: Bearer error="invalid_token"` for bearer
    /// credentials, so that clients still know the credential is bad).
    pub fn failed(&self, kind: Kind, client: Option<IpAddr>, hash: &str, rejection: ApiError) -> ApiError {
        self.metrics.auth_failures.get_or_create(&kind_labels(kind)).inc();
        let fingerprint = hash.get(..8).unwrap_or(hash);
        let credential = hash.get(..32).and_then(|h| u128::from_str_radix(h, 16).ok()).unwrap_or_default();
        match self.failures.fail(client, credential) {
            Ok(()) => {
                tracing::debug!(kind = kind.label(), client = ?client, credential = fingerprint, "authentication failed");
                rejection
            }
            Err(limited) => {
                self.metrics.auth_rate_limited.get_or_create(&kind_labels(kind)).inc();
                if self.failures.should_warn(client) {
                    tracing::warn!(
                        kind = kind.label(),
                        client = ?client,
                        credential = fingerprint,
                        limit = limited.scope.label(),
                        "failed authentications over the limit: answering 429 (logged once a minute per address)"
                    );
                }
                let retry_after = limited.wait.as_secs_f64().ceil().max(1.0) as u64;
                match kind {
                    // Not a bearer credential: alerting tools only need to wait.
                    Kind::Trigger => ApiError::TooManyRequests { retry_after },
                    _ => ApiError::AuthFailuresLimited { retry_after },
                }
            }
        }
    }
}

fn kind_labels(kind: Kind) -> crate::metrics::KindLabels {
    crate::metrics::KindLabels { kind: kind.label().to_string() }
}
