//! Jittered exponential backoff and `Retry-After` parsing.
//!
//! Delays double from the initial one up to the maximum; each is drawn
//! uniformly from `[d/2, d]` ("equal jitter"): spread enough that clients
//! cut off together (a server restart) do not return together, and never
//! near zero, so a broken peer can never cause a tight loop.
//!
//! Owns: delay arithmetic. Must not touch: when to retry or what failed
//! (`mod`).

use std::time::{Duration, SystemTime};

use rand::Rng;

/// Exponential backoff state.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    /// Failed attempts since the last reset.
    attempt: u32,
}

impl Backoff {
    /// Starts at `initial`, doubling up to `max` (`max >= initial`).
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        Backoff { initial, max: max.max(initial), attempt: 0 }
    }

    /// The delay before the next attempt (and counts this attempt).
    pub(crate) fn next_delay(&mut self) -> Duration {
        let doubling = 2u32.saturating_pow(self.attempt.min(20));
        let base = self.initial.saturating_mul(doubling).min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        jitter(base)
    }

    /// Back to the initial delay (after a connection that proved healthy).
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Raises the initial delay to at least `floor` (the server's `retry:`
    /// hint), never above the maximum.
    pub(crate) fn set_floor(&mut self, floor: Duration) {
        self.initial = self.initial.max(floor).min(self.max);
    }
}

/// A uniformly random duration in `[d/2, d]`.
pub(crate) fn jitter(d: Duration) -> Duration {
    let half = d / 2;
    let spread = u64::try_from((d - half).as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(rand::thread_rng().gen_range(0..=spread))
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_up_to_the_max_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        for expected_base in [100u64, 200, 400, 800, 1000, 1000, 1000] {
            let d = b.next_delay();
            let base = Duration::from_millis(expected_base);
            assert!(d >= base / 2 && d <= base, "{d:?} not within [{:?}, {base:?}]", base / 2);
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn never_overflows_after_many_attempts() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        for _ in 0..1000 {
            assert!(b.next_delay() <= Duration::from_secs(60));
        }
    }

    #[test]
    fn floor_raises_the_initial_delay_within_the_max() {
        let mut b = Backoff::new(Duration::from_millis(10), Duration::from_secs(2));
        b.set_floor(Duration::from_secs(1));
        let d = b.next_delay();
        assert!(d >= Duration::from_millis(500) && d <= Duration::from_secs(1), "{d:?}");
        b.set_floor(Duration::from_secs(10));
        b.reset();
        assert!(b.next_delay() <= Duration::from_secs(2));
    }

    #[test]
    fn jitter_spreads_over_the_upper_half() {
        let d = Duration::from_millis(1000);
        let samples: Vec<Duration> = (0..200).map(|_| jitter(d)).collect();
        assert!(samples.iter().all(|s| *s >= d / 2 && *s <= d));
        assert!(samples.iter().any(|s| *s < Duration::from_millis(700)));
        assert!(samples.iter().any(|s| *s > Duration::from_millis(800)));
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn parses_retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }
}
