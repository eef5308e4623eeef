//! Outgoing notifications: project webhooks told about kills, restores,
//! panics and (when subscribed) every other change, through a durable
//! outbox.
//!
//! ## Layout
//! - [`guard`]: where webhooks may deliver (the SSRF guard).
//! - [`send`]: one signed delivery attempt.
//! - [`worker`]: the per-replica delivery worker over the store's outbox.
//!
//! ## How an event travels
//! 1. The write transaction that kills, restores, panics or changes a flag
//!    appends one `webhook_deliveries` row per subscribed webhook *before it
//!    commits* (see [`crate::store::outbox`]): a change that rolls back
//!    announces nothing, one that commits cannot be lost by a crash.
//! 2. After the commit the store wakes this replica's [`worker::Worker`],
//!    which claims the due rows (Postgres: `FOR UPDATE SKIP LOCKED`, leasing
//!    each row; other replicas skip it) and sends them at once, so a kill
//!    notification leaves within milliseconds. A slow poll is the backstop
//!    (rows another replica wrote and could not send).
//! 3. Each attempt POSTs the stored body (`{id, event, action, project,
//!    environment, flags, segments, actor, reason, incident, revision, at}`)
//!    byte for byte with `X-Switchyard-Signature: sha256=<hex HMAC-SHA256 of
//!    the body with the webhook's secret>`, `X-Switchyard-Timestamp: <unix
//!    seconds of the attempt>`, `X-Switchyard-Event: <event type>` and
//!    `X-Switchyard-Delivery: <id>` (the same on every attempt and for every
//!    webhook: receivers dedupe on it).
//! 4. Any 2xx is delivered. Connection errors, timeouts, 408, 429 and 5xx
//!    are retried with exponential backoff and jitter (`Retry-After`
//!    honoured up to the ceiling) until [`WorkerOptions::max_attempts`] or
//!    [`WorkerOptions::max_age`]; other answers (redirects included, never
//!    followed) and refused destinations are final: the row is marked dead.
//! 5. Every attempt re-checks the destination with the [`guard`] (after DNS
//!    resolution) and connects only to the checked addresses.
//!
//! Delivery is at least once: a replica that dies between sending and
//! recording leaves the row to be sent again when its lease expires.

pub mod guard;
pub mod send;
pub mod worker;

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub use crate::store::{Delivery, DeliveryActor};
use guard::AddressPolicy;
pub use send::{Attempt, send};
pub use worker::Worker;

/// Delivery tuning.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Which addresses may be delivered to.
    pub policy: AddressPolicy,
    /// Attempts per delivery, the first included (default 8).
    pub max_attempts: u32,
    /// Delay before the first retry; each further retry waits 4× longer (default 1 s).
    pub base_delay: Duration,
    /// Longest wait between attempts (default 10 min).
    pub max_delay: Duration,
    /// An event older than this is not sent any more (default 24 h).
    pub max_age: Duration,
    /// Timeout of one attempt, connect included (default 10 s).
    pub timeout: Duration,
    /// How long a claimed row is reserved for its attempt (default 30 s; must
    /// exceed `timeout`).
    pub lease: Duration,
    /// Backstop poll of the outbox (default 10 s).
    pub poll: Duration,
    /// Finished deliveries are kept this long in the history (default 7 days).
    pub retention: Duration,
}

impl WorkerOptions {
    /// The options `switchyard serve` was given.
    pub fn from_config(config: &crate::config::ServeConfig) -> Self {
        WorkerOptions {
            policy: guard::AddressPolicy { allow_private: config.webhook_allow_private },
            max_attempts: config.webhook_max_attempts,
            base_delay: config.webhook_retry_base,
            max_age: config.webhook_max_age,
            ..Default::default()
        }
    }
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            policy: AddressPolicy::default(),
            max_attempts: 8,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(600),
            max_age: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(10),
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(10),
            retention: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl WorkerOptions {
    /// The delay after failed attempt `attempt` (1-based), before jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 4u32.saturating_pow(attempt.saturating_sub(1));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The wait before the next attempt: the backoff plus up to 25 % jitter
    /// (so receivers that come back are not hit by every retry at once), or
    /// the receiver's `Retry-After` if longer, never above `max_delay`.
    pub fn retry_wait(&self, attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        let backoff = self.backoff(attempt);
        let jittered = backoff + backoff.mul_f64(jitter.clamp(0.0, 1.0) * 0.25);
        retry_after.unwrap_or_default().max(jittered).min(self.max_delay)
    }
}

/// `sha256=<hex>`: the HMAC-SHA256 of `body` keyed with `secret`, as sent
/// in `X-Switchyard-Signature`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        let o = WorkerOptions { max_delay: Duration::from_secs(64), ..WorkerOptions::default() };
        let delays: Vec<u64> = (1..=6).map(|a| o.backoff(a).as_secs()).collect();
        assert_eq!(delays, vec![1, 4, 16, 64, 64, 64]);
    }

    #[test]
    fn retry_wait_adds_bounded_jitter_and_honours_retry_after() {
        let o = WorkerOptions { max_delay: Duration::from_secs(64), ..WorkerOptions::default() };
        assert_eq!(o.retry_wait(2, None, 0.0), Duration::from_secs(4));
        assert_eq!(o.retry_wait(2, None, 1.0), Duration::from_secs(5));
        assert_eq!(o.retry_wait(1, Some(Duration::from_secs(30)), 0.5), Duration::from_secs(30));
        assert_eq!(o.retry_wait(1, Some(Duration::from_secs(3600)), 0.0), Duration::from_secs(64));
        assert_eq!(o.retry_wait(9, None, 1.0), Duration::from_secs(64));
    }
}
