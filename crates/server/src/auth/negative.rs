//! The negative cache: hashes of credentials the store did not know (or
//! knew as revoked, rotated away or disabled), so that a repeated bad API
//! token, SDK key or trigger secret does not query the database again.
//!
//! - **Bounded**: at most `capacity` hashes per kind (`quick_cache`'s
//!   S3-FIFO eviction keeps a hot repeated credential while a flood of
//!   one-off ones passes through), each remembered for at most `ttl`.
//! - **Invalidated on create**: creating (or rotating) a credential of a
//!   kind bumps that kind's generation; entries of an older generation are
//!   ignored, so a lookup that raced the creation cannot leave a stale
//!   entry behind.
//! - **Replicas**: a creation on another replica is not announced here; the
//!   TTL bounds how long such an entry can live. That is enough because a
//!   secret is 32 random bytes chosen by the server *at creation*: no replica
//!   can have seen its hash before it existed, short of a 2^-256 guess.
//!   Revocation only ever turns a good credential bad, which this cache
//!   cannot make worse.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use crate::auth::kind::Kind;

/// When a hash was found unknown, and under which generation of its kind.
#[derive(Debug, Clone, Copy)]
struct Entry {
    at: Instant,
    generation: u64,
}

/// The cache of one credential kind.
struct PerKind {
    /// `None` when the cache is disabled (capacity 0).
    hashes: Option<Cache<String, Entry>>,
    /// Bumped by every creation of a credential of this kind.
    generation: AtomicU64,
}

/// Unknown credential hashes per kind; see the module docs.
pub struct NegativeCache {
    kinds: [PerKind; Kind::CACHED],
    ttl: Duration,
}

impl NegativeCache {
    /// At most `capacity` hashes per kind, each for `ttl`; `0` disables.
    pub fn new(capacity: usize, ttl: Duration) -> NegativeCache {
        let per_kind = || PerKind {
            hashes: (capacity > 0 && !ttl.is_zero()).then(|| Cache::new(capacity)),
            generation: AtomicU64::new(0),
        };
        NegativeCache { kinds: [per_kind(), per_kind(), per_kind()], ttl }
    }

    fn of(&self, kind: Kind) -> Option<&PerKind> {
        self.kinds.get(kind.cache_index()?)
    }

    /// The current generation of `kind`: read it before a store lookup and
    /// hand it to [`NegativeCache::remember`] after.
    pub fn generation(&self, kind: Kind) -> u64 {
        self.of(kind).map_or(0, |k| k.generation.load(Ordering::Acquire))
    }

    /// Whether `hash` is known to be no usable credential of `kind`.
    pub fn contains(&self, kind: Kind, hash: &str) -> bool {
        self.contains_at(kind, hash, Instant::now())
    }

    fn contains_at(&self, kind: Kind, hash: &str, now: Instant) -> bool {
        let Some(per_kind) = self.of(kind) else { return false };
        let Some(hashes) = &per_kind.hashes else { return false };
        match hashes.get(hash) {
            Some(entry)
                if entry.generation == per_kind.generation.load(Ordering::Acquire)
                    && now.saturating_duration_since(entry.at) < self.ttl =>
            {
                true
            }
            Some(_) => {
                hashes.remove(hash);
                false
            }
            None => false,
        }
    }

    /// Remembers `hash` as unknown, if no credential of `kind` was created
    /// since `generation` was read.
    pub fn remember(&self, kind: Kind, hash: &str, generation: u64) {
        self.remember_at(kind, hash, generation, Instant::now());
    }

    fn remember_at(&self, kind: Kind, hash: &str, generation: u64, now: Instant) {
        let Some(per_kind) = self.of(kind) else { return };
        if let Some(hashes) = &per_kind.hashes
            && generation == per_kind.generation.load(Ordering::Acquire)
        {
            hashes.insert(hash.to_string(), Entry { at: now, generation });
        }
    }

    /// A credential of `kind` was created: forget every unknown hash of it.
    pub fn invalidate(&self, kind: Kind) {
        if let Some(per_kind) = self.of(kind) {
            per_kind.generation.fetch_add(1, Ordering::AcqRel);
            if let Some(hashes) = &per_kind.hashes {
                hashes.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_the_ttl_and_per_kind() {
        let cache = NegativeCache::new(100, Duration::from_secs(60));
        let now = Instant::now();
        cache.remember_at(Kind::SdkKey, "h", cache.generation(Kind::SdkKey), now);
        assert!(cache.contains_at(Kind::SdkKey, "h", now + Duration::from_secs(59)));
        assert!(!cache.contains_at(Kind::ApiToken, "h", now));
        assert!(!cache.contains_at(Kind::SdkKey, "h", now + Duration::from_secs(60)));
        // Expired entries are dropped, not resurrected.
        assert!(!cache.contains_at(Kind::SdkKey, "h", now));
    }

    #[test]
    fn a_creation_invalidates_its_kind_and_lookups_that_raced_it() {
        let cache = NegativeCache::new(100, Duration::from_secs(60));
        let before = cache.generation(Kind::Trigger);
        cache.remember(Kind::Trigger, "old", before);
        cache.remember(Kind::ApiToken, "token", cache.generation(Kind::ApiToken));
        cache.invalidate(Kind::Trigger);
        assert!(!cache.contains(Kind::Trigger, "old"));
        assert!(cache.contains(Kind::ApiToken, "token"), "other kinds stay");
        // A lookup that read the generation before the creation.
        cache.remember(Kind::Trigger, "raced", before);
        assert!(!cache.contains(Kind::Trigger, "raced"));
    }

    #[test]
    fn bounded_and_disableable() {
        let cache = NegativeCache::new(50, Duration::from_secs(60));
        for i in 0..10_000 {
            cache.remember(Kind::SdkKey, &format!("h{i}"), 0);
        }
        let kept = (0..10_000).filter(|i| cache.contains(Kind::SdkKey, &format!("h{i}"))).count();
        assert!(kept <= 60, "{kept} kept");
        let off = NegativeCache::new(0, Duration::from_secs(60));
        off.remember(Kind::SdkKey, "h", 0);
        assert!(!off.contains(Kind::SdkKey, "h"));
        assert!(!off.contains(Kind::Session, "h"));
    }
}
