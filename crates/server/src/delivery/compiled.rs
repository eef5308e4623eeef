//! The compiled-snapshot cache: one [`CompiledSnapshot`] per environment,
//! keyed by the revision it was compiled from, shared by every server-side
//! evaluation (`evaluate-as`, OFREP).
//!
//! Owns compiling a stored snapshot and deciding when a compiled one is
//! still current. Must not touch HTTP types or the application state; it
//! reads the store it is handed per call.
//!
//! Freshness: the caller passes the revision it just read from the store
//! (e.g. [`Environment::revision`]), so a reader sees its own writes and a
//! change made on another replica at once, without waiting for the hub.
//! An entry is used only when its revision equals that one exactly (a
//! database restored to an earlier state is noticed too); otherwise the
//! snapshot is read and compiled again and replaces the entry. On a
//! single-instance store (SQLite) every write goes through this process's
//! hub queue before it returns, so [`CompiledCache::latest`] takes the
//! revision from [`Hub::committed`] without a read; with replicas
//! (Postgres) another replica's write reaches the hub only later, so it
//! reads the store. Loads of
//! one environment are single-flight; the number of environments held is
//! bounded ([`DEFAULT_CAPACITY`]), the least recently used one goes first.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use switchyard_core::CompiledSnapshot;
use tokio::sync::RwLock;

use super::hub::Hub;
use crate::store::{Backend, Environment, Result, Store, StoreError};

/// How many environments' compiled snapshots are held by default.
pub const DEFAULT_CAPACITY: usize = 1024;

/// One environment's slot: the compiled snapshot (if loaded) and when it
/// was last used (for eviction).
#[derive(Default)]
struct Slot {
    compiled: RwLock<Option<Arc<CompiledSnapshot>>>,
    used: AtomicU64,
}

/// The cache. Cheap to share (`Arc<CompiledCache>`).
pub struct CompiledCache {
    slots: Mutex<HashMap<i64, Arc<Slot>>>,
    clock: AtomicU64,
    capacity: usize,
}

impl Default for CompiledCache {
    fn default() -> Self {
        CompiledCache::new(DEFAULT_CAPACITY)
    }
}

impl CompiledCache {
    /// A cache holding at most `capacity` environments (at least one).
    pub fn new(capacity: usize) -> Self {
        CompiledCache { slots: Mutex::new(HashMap::new()), clock: AtomicU64::new(0), capacity: capacity.max(1) }
    }

    /// The compiled snapshot of `env` at its current revision
    /// (`env.revision`, as just read from `store`): from the cache when it
    /// holds that revision, else read from `store`, compiled and cached.
    ///
    /// A stored snapshot that does not compile is
    /// [`StoreError::Corrupt`] (the store validates every write).
    pub async fn current(&self, store: &dyn Store, env: &Environment) -> Result<Arc<CompiledSnapshot>> {
        self.get(store, env.id, env.revision).await
    }

    /// The compiled snapshot of an environment at its current revision, by
    /// id: the revision is the hub's [`Hub::committed`] one on a
    /// single-instance store (read-your-writes without a store read), else
    /// (replicas, or an environment the hub has not seen) read from the store.
    pub async fn latest(&self, store: &dyn Store, hub: &Hub, environment_id: i64) -> Result<Arc<CompiledSnapshot>> {
        let known = hub.committed(environment_id).filter(|_| store.backend() == Backend::Sqlite);
        let revision = match known {
            Some(revision) => revision,
            None => store.environment_by_id(environment_id).await?.revision,
        };
        self.get(store, environment_id, revision).await
    }

    /// [`CompiledCache::current`] by environment id and revision.
    pub async fn get(&self, store: &dyn Store, environment_id: i64, revision: u64) -> Result<Arc<CompiledSnapshot>> {
        let slot = self.slot(environment_id);
        if let Some(hit) = slot.compiled.read().await.as_ref().filter(|c| c.revision() == revision) {
            return Ok(Arc::clone(hit));
        }
        let mut held = slot.compiled.write().await;
        // Another request may have loaded it while this one waited.
        if let Some(hit) = held.as_ref().filter(|c| c.revision() == revision) {
            return Ok(Arc::clone(hit));
        }
        let snapshot = store.snapshot(environment_id).await?;
        let compiled = CompiledSnapshot::compile_owned(snapshot)
            .map_err(|e| StoreError::Corrupt(format!("stored snapshot does not compile: {e}")))?;
        // What the store holds now (its revision may be newer than the one
        // asked for, if a commit landed in between): the entry to keep.
        let compiled = Arc::new(compiled);
        *held = Some(Arc::clone(&compiled));
        Ok(compiled)
    }

    /// How many environments are cached.
    pub fn len(&self) -> usize {
        self.slots.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slot of an environment, created (evicting the least recently
    /// used one when full) on first use.
    fn slot(&self, environment_id: i64) -> Arc<Slot> {
        let now = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(slot) = slots.get(&environment_id) {
            slot.used.store(now, Ordering::Relaxed);
            return Arc::clone(slot);
        }
        if slots.len() >= self.capacity
            && let Some(oldest) = slots.iter().min_by_key(|(_, s)| s.used.load(Ordering::Relaxed)).map(|(id, _)| *id)
        {
            slots.remove(&oldest);
        }
        let slot = Arc::new(Slot { compiled: RwLock::new(None), used: AtomicU64::new(now) });
        slots.insert(environment_id, Arc::clone(&slot));
        slot
    }
}
