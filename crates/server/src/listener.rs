//! Cross-replica fan-out on Postgres: every write transaction queues
//! `pg_notify('switchyard_changes', '<environment id>:<revision>')`; every
//! replica LISTENs and hands the revision to its hub, which reads the
//! missing change-log rows and broadcasts them (its own writes are already
//! broadcast and are dropped as duplicates). After losing the listening
//! connection it reconnects and resyncs every environment; a slow poll is
//! the backstop for anything a notification could not carry.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::postgres::PgListener;

use crate::hub::Hub;
use crate::store::DynStore;

/// The notification channel.
pub const CHANNEL: &str = "switchyard_changes";

/// Interval of the backstop poll.
pub const POLL_EVERY: Duration = Duration::from_secs(5);

/// Whether the listener is connected and caught up (readiness).
#[derive(Debug, Default)]
pub struct ListenerHealth {
    connected: AtomicBool,
}

impl ListenerHealth {
    /// Connected and resynced.
    pub fn is_ready(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }
}

/// Parses `"<environment id>:<revision>"`.
pub fn parse_payload(payload: &str) -> Option<(i64, u64)> {
    let (env, rev) = payload.split_once(':')?;
    Some((env.trim().parse().ok()?, rev.trim().parse().ok()?))
}

/// Hands every environment's current revision to the hub (it fetches what
/// it has not broadcast yet).
async fn resync(store: &DynStore, hub: &Hub) {
    match store.revisions().await {
        Ok(revisions) => {
            for (env, revision) in revisions {
                if revision > hub.channel(env).revision() {
                    hub.notify_revision(env, revision);
                }
            }
        }
        Err(err) => tracing::warn!(error = %err, "resync: reading revisions failed"),
    }
}

/// Runs forever: listen, resync on (re)connect, poll as a backstop.
pub async fn run(url: String, store: DynStore, hub: Arc<Hub>, health: Arc<ListenerHealth>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let mut listener = match PgListener::connect(&url).await {
            Ok(mut l) => match l.listen(CHANNEL).await {
                Ok(()) => l,
                Err(err) => {
                    tracing::warn!(error = %err, "LISTEN failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            },
            Err(err) => {
                health.connected.store(false, Ordering::Release);
                tracing::warn!(error = %err, "connecting the change listener failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        // Anything committed while we were not listening.
        resync(&store, &hub).await;
        health.connected.store(true, Ordering::Release);
        backoff = Duration::from_millis(100);
        let mut poll = tokio::time::interval(POLL_EVERY);
        poll.tick().await;
        loop {
            tokio::select! {
                msg = listener.try_recv() => match msg {
                    Ok(Some(n)) => match parse_payload(n.payload()) {
                        Some((env, revision)) => hub.notify_revision(env, revision),
                        None => tracing::warn!(payload = n.payload(), "malformed change notification"),
                    },
                    // Connection lost: notifications may have been missed.
                    Ok(None) | Err(_) => {
                        health.connected.store(false, Ordering::Release);
                        tracing::warn!("change listener lost its connection; reconnecting");
                        break;
                    }
                },
                _ = poll.tick() => resync(&store, &hub).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn payloads() {
        assert_eq!(super::parse_payload("12:345"), Some((12, 345)));
        assert_eq!(super::parse_payload("x:1"), None);
        assert_eq!(super::parse_payload("12"), None);
    }
}
