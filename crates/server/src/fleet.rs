//! Fleet-wide receipts: every replica knows only the SDK streams connected
//! to it, so a receipt asked of one replica collects the others' parts over
//! Postgres NOTIFY.
//!
//! Replicas announce themselves every [`HELLO_EVERY`]; a receipt query
//! (`query`) is answered by every live peer with its [`Sample`] (connected
//! instances and apply latencies). On SQLite (single instance) there are no
//! peers and receipts are local.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::hub::Hub;
use crate::receipts::{Receipt, Sample};
use crate::store::DynStore;

/// The NOTIFY channel of fleet messages.
pub const CHANNEL: &str = "switchyard_fleet";

/// How often a replica announces itself.
pub const HELLO_EVERY: Duration = Duration::from_secs(2);

/// A peer not heard from for this long is considered gone.
const PEER_TTL: Duration = Duration::from_secs(7);

/// How long a query waits for peers' answers.
const ANSWER_TIMEOUT: Duration = Duration::from_millis(300);

/// At most this many latencies per answer (NOTIFY payloads are < 8 KB).
const MAX_SAMPLES: usize = 400;

/// Fleet messages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Msg {
    Hello { replica: String },
    Query { q: String, from: String, env: i64, rev: u64 },
    Answer { q: String, to: String, sample: Sample },
}

/// This replica's view of the fleet.
pub struct Fleet {
    id: String,
    store: DynStore,
    peers: DashMap<String, Instant>,
    pending: DashMap<String, mpsc::UnboundedSender<Sample>>,
}

impl Fleet {
    /// A fleet member with a fresh random id.
    pub fn new(store: DynStore) -> Arc<Fleet> {
        Arc::new(Fleet {
            id: uuid::Uuid::new_v4().simple().to_string(),
            store,
            peers: DashMap::new(),
            pending: DashMap::new(),
        })
    }

    async fn send(&self, msg: &Msg) {
        if let Ok(payload) = serde_json::to_string(msg)
            && let Err(err) = self.store.notify_peers(CHANNEL, &payload).await
        {
            tracing::debug!(error = %err, "fleet notify failed");
        }
    }

    /// Announces this replica forever (Postgres only).
    pub async fn hello_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(HELLO_EVERY);
        loop {
            tick.tick().await;
            self.send(&Msg::Hello { replica: self.id.clone() }).await;
        }
    }

    /// Handles a message from [`CHANNEL`] (called by the listener).
    pub async fn on_message(&self, hub: &Hub, payload: &str) {
        let Ok(msg) = serde_json::from_str::<Msg>(payload) else {
            tracing::warn!("malformed fleet message");
            return;
        };
        match msg {
            Msg::Hello { replica } if replica != self.id => {
                self.peers.insert(replica, Instant::now());
            }
            Msg::Query { q, from, env, rev } if from != self.id => {
                let mut sample = hub.channel(env).receipts.sample(rev);
                thin(&mut sample.latencies_ms);
                self.send(&Msg::Answer { q, to: from, sample }).await;
            }
            Msg::Answer { q, to, sample } if to == self.id => {
                if let Some(tx) = self.pending.get(&q) {
                    let _ = tx.send(sample);
                }
            }
            _ => {}
        }
    }

    fn live_peers(&self) -> usize {
        self.peers.retain(|_, seen| seen.elapsed() < PEER_TTL);
        self.peers.len()
    }

    /// The other replicas' samples for `rev` (empty without peers).
    async fn remote(&self, env: i64, rev: u64) -> Vec<Sample> {
        let expected = self.live_peers();
        if expected == 0 {
            return Vec::new();
        }
        let q = uuid::Uuid::new_v4().simple().to_string();
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.pending.insert(q.clone(), tx);
        self.send(&Msg::Query { q: q.clone(), from: self.id.clone(), env, rev }).await;
        let mut samples = Vec::with_capacity(expected);
        let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
        while samples.len() < expected {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(sample)) => samples.push(sample),
                _ => break,
            }
        }
        self.pending.remove(&q);
        samples
    }

    /// The fleet-wide receipt of `rev` now.
    pub async fn receipt(&self, hub: &Hub, env: i64, rev: u64) -> Receipt {
        let local = hub.channel(env).receipts.sample(rev);
        Receipt::merge(rev, std::iter::once(local).chain(self.remote(env, rev).await))
    }

    /// Waits until every SDK instance connected to any replica applied
    /// `rev`, or `timeout`.
    pub async fn wait(&self, hub: &Hub, env: i64, rev: u64, timeout: Duration) -> Receipt {
        let channel = hub.channel(env);
        if self.live_peers() == 0 {
            // Alone (SQLite, or a single Postgres replica): local acks decide.
            return channel.receipts.wait(rev, timeout).await;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = channel.receipts.changed();
            let receipt = self.receipt(hub, env, rev).await;
            if receipt.complete() || tokio::time::Instant::now() >= deadline {
                return receipt;
            }
            // Local acks wake us at once; remote ones are polled.
            let poll = tokio::time::Instant::now() + Duration::from_millis(25);
            let _ = tokio::time::timeout_at(deadline.min(poll), changed).await;
        }
    }
}

/// Keeps at most [`MAX_SAMPLES`] latencies, evenly spread over the sorted
/// list (so merged percentiles stay close), always keeping the maximum.
fn thin(latencies: &mut Vec<f64>) {
    if latencies.len() <= MAX_SAMPLES {
        return;
    }
    latencies.sort_by(f64::total_cmp);
    let n = latencies.len();
    let thinned: Vec<f64> = (0..MAX_SAMPLES).map(|i| latencies[i * (n - 1) / (MAX_SAMPLES - 1)]).collect();
    *latencies = thinned;
}

#[cfg(test)]
mod tests {
    #[test]
    fn thinning_keeps_range() {
        let mut v: Vec<f64> = (0..10_000).map(f64::from).collect();
        super::thin(&mut v);
        assert_eq!(v.len(), super::MAX_SAMPLES);
        assert_eq!((v[0], *v.last().unwrap()), (0.0, 9_999.0));
    }
}
