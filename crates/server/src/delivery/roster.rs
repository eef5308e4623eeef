//! The fleet view's rows: who each connected SDK instance says it is, how
//! it gets its flags (SSE stream, snapshot polls, OFREP refetch stream) and
//! which revision it holds.
//!
//! Owns the row shape, an instance's [`Identity`] and the per-environment
//! record of polling instances (which hold no connection to count). Must
//! not touch the store, HTTP or other replicas: [`super::receipts`] keeps
//! the streaming instances, [`super::fleet`] merges the replicas' rows.

use dashmap::DashMap;
use serde::{Deserialize, Serialize};

/// A poll-only instance is listed this long after its last poll (the
/// SDK's default polling interval is 30 s).
pub const POLL_WINDOW_MS: i64 = 120_000;

/// Most polling instances remembered per environment per replica (more
/// are not listed: bounded memory whatever the clients send).
pub const MAX_POLLERS: usize = 10_000;

/// What an SDK instance says about itself when it connects or polls
/// (`X-Switchyard-Service`, `X-Switchyard-Service-Version`,
/// `X-Switchyard-Sdk`); invalid values count as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The service it runs in (`checkout`).
    pub service: Option<String>,
    /// That service's version (`1.4.2`).
    pub service_version: Option<String>,
    /// The SDK and its version (`switchyard-rust/0.1.0`).
    pub sdk: Option<String>,
}

/// How an instance gets its flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// An open SDK stream (`GET /sdk/v1/stream`).
    Sse,
    /// Snapshot polls only (`GET /sdk/v1/snapshot`), seen within the
    /// last [`POLL_WINDOW_MS`](crate::delivery::roster::POLL_WINDOW_MS).
    Poll,
    /// An OFREP provider with an open refetch stream.
    Ofrep,
}

/// One connected SDK instance, as the replica it talks to sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceRow {
    /// The instance id (`X-Switchyard-Instance`; `ofrep-…` for OFREP streams).
    pub instance: String,
    /// Who it says it is.
    #[serde(flatten)]
    pub identity: Identity,
    /// How it gets its flags.
    pub transport: Transport,
    /// The replica it is connected to (its fleet id).
    pub replica: String,
    /// The revision it applied (acknowledged, resumed at, or was served
    /// by its last poll); 0 when it has not said yet.
    pub revision: u64,
    /// Revisions it is behind the environment (filled by the asker, which
    /// reads the environment's current revision).
    #[serde(default)]
    pub lag_revisions: u64,
    /// How long ago the first revision it lacks was broadcast, ms; 0 when
    /// it is current, `None` when that broadcast was before this replica
    /// started.
    pub lag_ms: Option<u64>,
    /// When its stream opened (or it first polled), ms since the epoch.
    pub connected_at_ms: i64,
    /// Its last request (stream opened, ack, poll, refetch), ms since the epoch.
    pub last_seen_ms: i64,
}

/// The wall clock, ms since the epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// An instance known only by its polls.
#[derive(Debug, Clone)]
struct Poller {
    identity: Identity,
    revision: u64,
    first_ms: i64,
    last_ms: i64,
}

/// Polling instances of one environment on this replica.
#[derive(Default)]
pub struct Pollers {
    by_id: DashMap<String, Poller>,
}

impl Pollers {
    /// `instance` polled and now holds `revision`.
    pub fn polled(&self, instance: &str, identity: Identity, revision: u64) {
        let now = now_ms();
        if let Some(mut p) = self.by_id.get_mut(instance) {
            p.identity = identity;
            p.revision = revision;
            p.last_ms = now;
            return;
        }
        if self.by_id.len() >= MAX_POLLERS {
            self.by_id.retain(|_, p| now - p.last_ms <= POLL_WINDOW_MS);
            if self.by_id.len() >= MAX_POLLERS {
                return;
            }
        }
        let poller = Poller { identity, revision, first_ms: now, last_ms: now };
        self.by_id.insert(instance.to_string(), poller);
    }

    /// Rows of the instances that polled within [`POLL_WINDOW_MS`], except
    /// those `streaming` says have a stream (a streaming SDK polls too
    /// while its stream is unconfirmed); `lag_ms` from `lag`.
    pub fn rows(
        &self,
        replica: &str,
        streaming: impl Fn(&str) -> bool,
        lag: impl Fn(u64) -> Option<u64>,
    ) -> Vec<InstanceRow> {
        let now = now_ms();
        self.by_id.retain(|_, p| now - p.last_ms <= POLL_WINDOW_MS);
        self.by_id
            .iter()
            .filter(|e| !streaming(e.key()))
            .map(|e| InstanceRow {
                instance: e.key().clone(),
                identity: e.identity.clone(),
                transport: Transport::Poll,
                replica: replica.to_string(),
                revision: e.revision,
                lag_revisions: 0,
                lag_ms: lag(e.revision),
                connected_at_ms: e.first_ms,
                last_seen_ms: e.last_ms,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pollers_list_recent_non_streaming_instances() {
        let p = Pollers::default();
        p.polled("a", Identity { service: Some("checkout".into()), ..Identity::default() }, 3);
        p.polled("b", Identity::default(), 4);
        p.polled("a", Identity::default(), 5);
        let rows = p.rows("r1", |id| id == "b", |_| Some(0));
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].instance.as_str(), rows[0].revision, rows[0].transport), ("a", 5, Transport::Poll));
        assert_eq!(rows[0].replica, "r1");
    }
}
