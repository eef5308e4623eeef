//! The serialised-snapshot cache: each environment's snapshot as the JSON
//! bytes `GET /sdk/v1/snapshot` and a new stream's first event send,
//! serialised once per revision.
//!
//! Owns reading and serialising snapshots for SDKs; the revision that is
//! current is the caller's (the [`super::hub`]'s broadcast revision). Must
//! not touch HTTP or the application state; it holds the store it was
//! built with.

use bytes::Bytes;
use dashmap::DashMap;

use crate::store::{DynStore, Result, StoreError};

/// The cache.
pub struct SnapshotCache {
    store: DynStore,
    /// The last serialised snapshot per environment: (revision, JSON).
    entries: DashMap<i64, (u64, Bytes)>,
}

impl SnapshotCache {
    /// An empty cache reading from `store`.
    pub fn new(store: DynStore) -> SnapshotCache {
        SnapshotCache { store, entries: DashMap::new() }
    }

    /// The snapshot, read from the store unless the cached one is at
    /// `current` and not older than `client`: a client ahead of this
    /// replica's view (it came from a replica that heard of a commit first,
    /// or the database was restored to an earlier state) gets what the
    /// store holds now.
    pub async fn json_after(&self, environment_id: i64, current: u64, client: u64) -> Result<(u64, Bytes)> {
        if let Some(hit) = self.entries.get(&environment_id)
            && hit.0 == current
            && hit.0 >= client
        {
            return Ok(hit.clone());
        }
        let snapshot = self.store.snapshot(environment_id).await?;
        let json = Bytes::from(serde_json::to_vec(&snapshot).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        let entry = (snapshot.revision, json);
        if snapshot.revision >= current {
            self.entries.insert(environment_id, entry.clone());
        }
        Ok(entry)
    }
}
