//! Per-client rate limits (login), keyed by the peer address (failed
//! authentication has its own, in [`crate::auth::failures`]), and per-user
//! limits (password changes). A spoofed
//! `X-Forwarded-For` is ignored unless the peer is a configured trusted
//! proxy (PITFALLS: `SmartIpKeyExtractor` lets any client reset its own
//! quota).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::HeaderMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The client address of a request: the peer, or — only when the peer is
/// one of `trusted_proxies` — the right-most `X-Forwarded-For` entry that
/// is not itself a trusted proxy.
pub fn client_address(peer: Option<SocketAddr>, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?.ip();
    if !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let forwarded = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    let hops: Vec<IpAddr> = forwarded.flat_map(|v| v.split(',')).filter_map(|h| h.trim().parse().ok()).collect();
    Some(hops.into_iter().rev().find(|ip| !trusted_proxies.contains(ip)).unwrap_or(peer))
}

/// A keyed limiter over client addresses.
pub struct PeerLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    trusted_proxies: Vec<IpAddr>,
}

impl PeerLimiter {
    /// `per_minute` requests per client per minute (burst of the same size).
    pub fn new(per_minute: u32, trusted_proxies: Vec<IpAddr>) -> PeerLimiter {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        PeerLimiter { limiter: RateLimiter::keyed(Quota::per_minute(n)), trusted_proxies }
    }

    /// The client address: the peer, or — only when the peer is a trusted
    /// proxy — the right-most `X-Forwarded-For` entry that is not itself a
    /// trusted proxy.
    pub fn client(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        client_address(peer, headers, &self.trusted_proxies)
    }

    /// Takes one request for `client`, or says how long to wait.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&client).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// A keyed limiter over user names (password changes: a stolen session
/// must not be a free oracle for the user's current password).
pub struct UserLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl UserLimiter {
    /// `per_minute` attempts per user per minute (burst of the same size).
    pub fn new(per_minute: u32) -> UserLimiter {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        UserLimiter { limiter: RateLimiter::keyed(Quota::per_minute(n)) }
    }

    /// Takes one attempt for `user`, or says how long to wait.
    pub fn check(&self, user: &str) -> Result<(), Duration> {
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
        }
        let user = user.to_string();
        self.limiter.check_key(&user).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// A keyed limiter over (SDK key, client address): OFREP evaluations and
/// SDK telemetry batches. Never used on a kill, panic or trigger path.
pub struct SdkKeyLimiter {
    /// `None`: unlimited.
    limiter: Option<DefaultKeyedRateLimiter<(i64, Option<IpAddr>)>>,
}

impl SdkKeyLimiter {
    /// `per_minute` requests per SDK key and client address (burst of the
    /// same size); `0`: unlimited.
    pub fn new(per_minute: u32) -> SdkKeyLimiter {
        SdkKeyLimiter { limiter: NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n))) }
    }

    /// Takes one request of `key` from `client`, or says how long to wait.
    pub fn check(&self, key: i64, client: Option<IpAddr>) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        limiter.check_key(&(key, client)).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let proxy: SocketAddr = "10.0.0.1:443".parse().unwrap();
        let limiter = PeerLimiter::new(5, vec![proxy.ip()]);
        let direct: SocketAddr = "192.0.2.7:5000".parse().unwrap();
        assert_eq!(limiter.client(Some(direct), &xff("1.2.3.4")), Some(direct.ip()));
        assert_eq!(limiter.client(Some(proxy), &xff("1.2.3.4, 198.51.100.9")), Some("198.51.100.9".parse().unwrap()));
    }

    #[test]
    fn limits_per_client() {
        let limiter = PeerLimiter::new(3, vec![]);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check(a).is_ok());
        }
        assert!(limiter.check(a).is_err());
        assert!(limiter.check(b).is_ok());
    }
}
