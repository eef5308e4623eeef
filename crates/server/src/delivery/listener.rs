//! Cross-replica fan-out on Postgres: every write transaction queues
//! `pg_notify('switchyard_changes', '<environment id>:<revision>')`; every
//! replica LISTENs and hands the revision to its hub, which reads the
//! missing change-log rows and broadcasts them (its own writes are already
//! broadcast and are dropped as duplicates). After losing the listening
//! connection it reconnects and resyncs every environment; a slow poll is
//! the backstop for anything a notification could not carry.
//!
//! Owns the LISTEN connection and what arrives on it. Must not touch HTTP
//! or the application state: it is handed the store, hub, fleet and its
//! health flag.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};

use crate::delivery::hub::Hub;
use crate::store::DynStore;

/// The notification channel of committed revisions.
pub const CHANNEL: &str = crate::store::NOTIFY_CHANNEL;

/// The channel on which replicas forward SDK acknowledgements.
pub const ACK_CHANNEL: &str = "switchyard_acks";

/// A forwarded acknowledgement (JSON on [`ACK_CHANNEL`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AckNotice {
    /// Environment id.
    pub environment_id: i64,
    /// SDK instance.
    pub instance: String,
    /// Applied revision.
    pub revision: u64,
    /// How long the SDK held the ack (ms).
    pub held_ms: f64,
}

/// Records a forwarded ack if this replica holds the instance's stream.
fn apply_ack(hub: &Hub, payload: &str) {
    match serde_json::from_str::<AckNotice>(payload) {
        // The replica that took the ack checked its revision exists.
        Ok(ack) => {
            hub.record_ack(ack.environment_id, &ack.instance, ack.revision, ack.held_ms);
        }
        Err(err) => tracing::warn!(error = %err, "malformed forwarded ack"),
    }
}

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

/// A change notification: `"<environment id>:<revision>[:<origin>[:u]]"`.
#[derive(Debug, PartialEq, Eq)]
pub struct Payload<'a> {
    /// The environment.
    pub env: i64,
    /// The revision committed.
    pub revision: u64,
    /// The committing store (see
    /// [`crate::store::ClusterStore::change_origin`]; replicas before it
    /// sent none).
    pub origin: Option<&'a str>,
    /// `:u`: its writer waits for the receipt (see
    /// [`crate::delivery::hub::urgent`]); older replicas never mark it.
    pub urgent: bool,
}

/// Parses a change notification (see [`Payload`]).
pub fn parse_payload(payload: &str) -> Option<Payload<'_>> {
    let mut parts = payload.splitn(4, ':');
    let env = parts.next()?.trim().parse().ok()?;
    let revision = parts.next()?.trim().parse().ok()?;
    let origin = parts.next();
    let urgent = parts.next() == Some("u");
    Some(Payload { env, revision, origin, urgent })
}

/// Hands every environment's current revision to the hub (it fetches what
/// it has not broadcast yet).
async fn resync(store: &DynStore, hub: &Hub) {
    match store.revisions().await {
        Ok(revisions) => {
            for (env, revision) in revisions {
                if revision > hub.channel(env).revision() {
                    hub.notify_revision(env, revision, false);
                }
            }
        }
        Err(err) => tracing::warn!(error = %err, "resync: reading revisions failed"),
    }
}

/// A one-connection pool of our own, so that leaving can close the
/// connection at once (`PgPool::close`), and a listener on it.
async fn connect(url: &str) -> sqlx::Result<(PgPool, PgListener)> {
    let pool = PgPoolOptions::new().max_connections(1).max_lifetime(None).idle_timeout(None).connect(url).await?;
    let listener = PgListener::connect_with(&pool).await?;
    Ok((pool, listener))
}

/// Listens on every channel, then names the connection after this replica:
/// from then on it counts in the fleet's live set (see [`crate::delivery::fleet`]).
async fn listen(listener: &mut PgListener, fleet: &crate::delivery::fleet::Fleet) -> sqlx::Result<()> {
    listener.listen_all([CHANNEL, ACK_CHANNEL, crate::delivery::fleet::CHANNEL]).await?;
    sqlx::query("SELECT set_config('application_name', $1, false)")
        .bind(fleet.application_name())
        .execute(&mut *listener)
        .await?;
    Ok(())
}

/// Runs until the fleet leaves: listen, resync on (re)connect, poll as a
/// backstop.
pub async fn run(
    url: String,
    store: DynStore,
    hub: Arc<Hub>,
    fleet: Arc<crate::delivery::fleet::Fleet>,
    health: Arc<ListenerHealth>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let (pool, mut listener) = match connect(&url).await {
            Ok((pool, mut l)) => match listen(&mut l, &fleet).await {
                Ok(()) => (pool, l),
                Err(err) => {
                    tracing::warn!(error = %err, "LISTEN failed");
                    pool.close().await;
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
                    Ok(Some(n)) if n.channel() == ACK_CHANNEL => apply_ack(&hub, n.payload()),
                    Ok(Some(n)) if n.channel() == crate::delivery::fleet::CHANNEL => {
                        // Answering sends a NOTIFY through the pool: never
                        // let that hold up the change notifications behind it.
                        let (fleet, hub, payload) = (Arc::clone(&fleet), Arc::clone(&hub), n.payload().to_string());
                        tokio::spawn(async move { fleet.on_message(&hub, &payload).await });
                    }
                    Ok(Some(n)) => match parse_payload(n.payload()) {
                        // Our own commit: the store's sink delivers it.
                        Some(Payload { origin: Some(origin), .. }) if origin == store.change_origin() => {}
                        Some(p) => hub.notify_revision(p.env, p.revision, p.urgent),
                        None => tracing::warn!(payload = n.payload(), "malformed change notification"),
                    },
                    // Connection lost: notifications may have been missed.
                    Ok(None) | Err(_) => {
                        health.connected.store(false, Ordering::Release);
                        tracing::warn!("change listener lost its connection; reconnecting");
                        drop(listener);
                        pool.close().await;
                        break;
                    }
                },
                _ = poll.tick() => resync(&store, &hub).await,
                // Graceful shutdown: the goodbye. Dropping the name first is
                // synchronous (peers stop counting this replica as soon as it
                // returns); closing the connection then cannot race with them.
                () = fleet.left() => {
                    health.connected.store(false, Ordering::Release);
                    let _ = sqlx::query("SELECT set_config('application_name', 'switchyard-leaving', false)")
                        .execute(&mut listener)
                        .await;
                    drop(listener);
                    pool.close().await;
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn payloads() {
        use super::{Payload, parse_payload};
        let p = |env, revision, origin, urgent| Some(Payload { env, revision, origin, urgent });
        assert_eq!(parse_payload("12:345"), p(12, 345, None, false));
        assert_eq!(parse_payload("12:345:a1b2"), p(12, 345, Some("a1b2"), false));
        assert_eq!(parse_payload("12:345:a1b2:u"), p(12, 345, Some("a1b2"), true));
        assert_eq!(super::parse_payload("x:1"), None);
        assert_eq!(super::parse_payload("12"), None);
    }
}
