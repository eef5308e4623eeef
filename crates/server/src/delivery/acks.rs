//! SDK acknowledgements: an SDK instance reports the revision it applied;
//! the replica holding its stream records it, any other forwards it.
//!
//! Owns checking and routing an ack. Must not touch HTTP types or the
//! application state (the handler validates the body's shape and maps
//! [`AckError`]).

use super::hub::Hub;
use super::listener::{ACK_CHANNEL, AckNotice};
use crate::store::{Store, StoreError};

/// Why an ack was refused.
#[derive(Debug)]
pub enum AckError {
    /// The revision does not exist (yet): it cannot have been applied.
    UnknownRevision {
        /// The environment's current revision.
        current: u64,
    },
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for AckError {
    fn from(err: StoreError) -> Self {
        AckError::Store(err)
    }
}

/// Records `ack` here if its instance streams from this replica, else
/// forwards it to the replica that holds the stream (Postgres NOTIFY).
#[tracing::instrument(name = "ack", level = "debug", skip_all,
    fields(env = ack.environment_id, revision = ack.revision, forwarded))]
pub async fn accept(hub: &Hub, store: &dyn Store, ack: AckNotice) -> Result<(), AckError> {
    // A revision that does not exist yet cannot have been applied: a buggy
    // or forged ack must not make a receipt say "applied". (This replica
    // may not have heard of a commit made on another one yet: the store
    // decides then.) Checked here, before a forward, for both paths.
    if ack.revision > hub.channel(ack.environment_id).revision() {
        let current = store.environment_by_id(ack.environment_id).await?.revision;
        if ack.revision > current {
            return Err(AckError::UnknownRevision { current });
        }
    }
    let local = hub.record_ack(ack.environment_id, &ack.instance, ack.revision, ack.held_ms);
    tracing::Span::current().record("forwarded", !local);
    if !local {
        // Behind a load balancer the ack may reach another replica than the
        // stream: hand it to the one that holds the stream.
        if let Ok(payload) = serde_json::to_string(&ack) {
            store.notify_peers(ACK_CHANNEL, &payload).await?;
        }
    }
    Ok(())
}
