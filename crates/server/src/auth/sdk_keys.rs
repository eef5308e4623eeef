//! The cache of authenticated SDK keys and the revocation signals of keys
//! with open streams (authentication itself: [`crate::http::guard`]).
//!
//! Owns which SDK keys are trusted without asking the store, and telling
//! open streams that their key was revoked. Must not touch delivery (the
//! stream only holds the [`watch::Receiver`] it is handed) nor HTTP
//! handlers.

use std::time::{Duration, Instant};

use dashmap::DashMap;
use tokio::sync::watch;

use crate::store::SdkKey;

/// How long an authenticated SDK key is trusted without asking the store.
pub const SDK_KEY_TTL: Duration = Duration::from_secs(30);

/// How long past [`SDK_KEY_TTL`] an entry is still used by other requests
/// while one request reads the key from the store again.
pub const REFRESH_GRACE: Duration = Duration::from_secs(5);

/// At most this many keys are cached (the cache is cleared beyond).
const MAX_CACHED: usize = 100_000;

/// Authenticated SDK keys and revocation signals.
#[derive(Default)]
pub struct SdkKeys {
    /// Authenticated SDK keys by secret hash, with when they were checked
    /// (saves a query per request; entries expire so that a revocation on
    /// another replica takes effect within [`SDK_KEY_TTL`]).
    /// The flag: a request is reading the expired entry from the store.
    cached: DashMap<String, (SdkKey, Instant, bool)>,
    /// Revocation signals of SDK keys with open streams.
    revoked: DashMap<i64, watch::Sender<bool>>,
}

impl SdkKeys {
    /// A cached, still-valid SDK key for a secret hash.
    ///
    /// When the entry has just expired, the first caller gets `None` (it
    /// asks the store and [`SdkKeys::remember`]s or [`SdkKeys::forget`]s
    /// the key); until it has, for at most [`REFRESH_GRACE`], the others
    /// keep the entry: 10,000 SDKs acknowledging at once must not become
    /// 10,000 store reads every [`SDK_KEY_TTL`].
    pub fn cached(&self, hash: &str) -> Option<SdkKey> {
        {
            let entry = self.cached.get(hash)?;
            let age = entry.1.elapsed();
            if age < SDK_KEY_TTL {
                return Some(entry.0.clone());
            }
            if age >= SDK_KEY_TTL + REFRESH_GRACE {
                return None;
            }
        }
        let mut entry = self.cached.get_mut(hash)?;
        if entry.2 {
            return Some(entry.0.clone());
        }
        entry.2 = true;
        None
    }

    /// Forgets a key the store no longer accepts.
    pub fn forget(&self, hash: &str) {
        self.cached.remove(hash);
    }

    /// Remembers an authenticated SDK key.
    pub fn remember(&self, hash: String, key: SdkKey) {
        if self.cached.len() > MAX_CACHED {
            self.cached.clear();
        }
        self.cached.insert(hash, (key, Instant::now(), false));
    }

    /// Forgets a revoked key and closes its open streams.
    pub fn revoke(&self, key_id: i64) {
        self.cached.retain(|_, k| k.0.id != key_id);
        if let Some((_, tx)) = self.revoked.remove(&key_id) {
            let _ = tx.send(true);
        }
    }

    /// A receiver that turns `true` when the key is revoked.
    pub fn revocation(&self, key_id: i64) -> watch::Receiver<bool> {
        self.revoked.entry(key_id).or_insert_with(|| watch::channel(false).0).subscribe()
    }
}
