//! The SDK area of the store: SDK keys, snapshots, the change log.
//!
//! Declares the contract only (implemented once per backend in `sql`); owns
//! no data and must not touch HTTP.

use async_trait::async_trait;

use crate::store::{Actor, ChangeEvent, NewSdkKey, Result, SdkKey, Snapshot};

/// SDK keys: one environment each, stored as the hash of their secret.
#[async_trait]
pub trait SdkKeyStore: Send + Sync + 'static {
    /// Stores an SDK key for one environment (the caller hashed the secret).
    async fn create_sdk_key(&self, actor: &Actor, project: &str, env: &str, key: NewSdkKey) -> Result<SdkKey>;
    /// Lists an environment's SDK keys (prefix only).
    async fn list_sdk_keys(&self, project: &str, env: &str) -> Result<Vec<SdkKey>>;
    /// Revokes an SDK key (idempotent).
    async fn revoke_sdk_key(&self, actor: &Actor, project: &str, env: &str, id: i64) -> Result<SdkKey>;
    /// Finds an SDK key by the hash of its secret (revoked ones included;
    /// none for a key of an archived project: it authenticates nothing).
    async fn sdk_key_by_hash(&self, hash: &str) -> Result<Option<SdkKey>>;
}

/// What SDKs read: snapshots, the change log, revisions.
#[async_trait]
pub trait ChangeStore: Send + Sync + 'static {
    /// The full snapshot of an environment, consistent at one revision.
    async fn snapshot(&self, environment_id: i64) -> Result<Snapshot>;
    /// Change events with revision > `after`, ascending, at most `limit`.
    /// `None` when the change log no longer reaches back to `after + 1`.
    async fn changes_since(&self, environment_id: i64, after: u64, limit: u32) -> Result<Option<Vec<ChangeEvent>>>;
    /// Current revision of every environment (id → revision), for resync.
    async fn revisions(&self) -> Result<Vec<(i64, u64)>>;
}
