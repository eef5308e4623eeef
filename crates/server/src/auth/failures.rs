//! Limits on *failed* authentication, per client address and per
//! credential (`governor` keyed limiters). Only failures take from a
//! budget: a valid credential is never refused by these limits, even from
//! an address that is flooding bad ones (a NAT, an office, a CI runner
//! shared with the responder).
//!
//! Keys live in memory only while their budget is not full again (a few
//! seconds at the defaults), so memory is bounded by the failure rate; a
//! sweep of replenished keys runs every [`SWEEP_EVERY`] failures.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Failures between two sweeps of replenished keys.
pub const SWEEP_EVERY: u64 = 4096;

/// Which budget ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The client address's.
    Address,
    /// The credential's (the same bad secret from any address).
    Credential,
}

impl Scope {
    /// `address` or `credential` (logs).
    pub fn label(self) -> &'static str {
        match self {
            Scope::Address => "address",
            Scope::Credential => "credential",
        }
    }
}

/// A failure over its limit: which budget, and how long until it has room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// The exhausted budget (the address's when both are).
    pub scope: Scope,
    /// Until the next failure would be allowed.
    pub wait: Duration,
}

/// Failure budgets per address and per credential.
pub struct FailureLimiter {
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    by_credential: DefaultKeyedRateLimiter<u128>,
    /// One "limited" warning per address per minute in the log.
    warnings: DefaultKeyedRateLimiter<IpAddr>,
    failures: AtomicU64,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

fn take<K: std::hash::Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Option<Duration> {
    limiter.check_key(key).err().map(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}

impl FailureLimiter {
    /// `per_address` failures per client address and `per_credential` per
    /// credential per minute (bursts of the same sizes).
    pub fn new(per_address: u32, per_credential: u32) -> FailureLimiter {
        FailureLimiter {
            by_address: RateLimiter::keyed(per_minute(per_address)),
            by_credential: RateLimiter::keyed(per_minute(per_credential)),
            warnings: RateLimiter::keyed(per_minute(1)),
            failures: AtomicU64::new(0),
        }
    }

    /// Counts one failure of `credential` (the first 128 bits of its hash)
    /// from `client`; `Err` when either budget is already spent.
    pub fn fail(&self, client: Option<IpAddr>, credential: u128) -> Result<(), Limited> {
        if self.failures.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.by_address.retain_recent();
            self.by_credential.retain_recent();
            self.warnings.retain_recent();
        }
        let address = client.and_then(|ip| take(&self.by_address, &ip));
        let credential = take(&self.by_credential, &credential);
        match (address, credential) {
            (None, None) => Ok(()),
            (Some(a), c) => Err(Limited { scope: Scope::Address, wait: a.max(c.unwrap_or_default()) }),
            (None, Some(c)) => Err(Limited { scope: Scope::Credential, wait: c }),
        }
    }

    /// Whether to log that `client` is limited (at most once a minute each).
    pub fn should_warn(&self, client: Option<IpAddr>) -> bool {
        let key = client.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        self.warnings.check_key(&key).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_and_credential_budgets_are_separate() {
        let limiter = FailureLimiter::new(4, 2);
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        assert!(limiter.fail(Some(a), 1).is_ok());
        assert!(limiter.fail(Some(b), 1).is_ok());
        let limited = limiter.fail(Some(a), 1).unwrap_err();
        assert_eq!(limited.scope, Scope::Credential);
        assert!(limited.wait > Duration::ZERO && limited.wait <= Duration::from_secs(30));
        // Fresh credentials from `a`: two more fit in its budget of four.
        assert!(limiter.fail(Some(a), 2).is_ok());
        assert!(limiter.fail(Some(a), 3).is_ok());
        assert_eq!(limiter.fail(Some(a), 4).unwrap_err().scope, Scope::Address);
        assert!(limiter.fail(Some(b), 5).is_ok(), "another address is unaffected");
    }

    #[test]
    fn warns_once_a_minute_per_address() {
        let limiter = FailureLimiter::new(1, 1);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(limiter.should_warn(Some(a)));
        assert!(!limiter.should_warn(Some(a)));
        assert!(limiter.should_warn(None));
    }
}
