//! Fleet-wide receipts: every replica knows only the SDK streams connected
//! to it, so a receipt asked of one replica collects the others' parts over
//! Postgres NOTIFY.
//!
//! Owns the fleet's messages, the live set and merging receipts. Must not
//! touch HTTP or the application state; it is built with the store and
//! reads receipts through the hub it is handed.
//!
//! ## Who is alive
//! Each replica's LISTEN connection names itself `switchyard/<replica id>`
//! (`application_name`, set once its `LISTEN` is in place, so a replica is
//! listed only when it can hear queries). The live set is what Postgres
//! itself knows: those names in `pg_stat_activity` for this database. A
//! crashed replica's socket closes with its process, so its backend (and
//! name) disappears at once; a replica shutting down gracefully renames that
//! session (synchronously: peers stop counting it when that returns) and
//! closes it, last, after its streams ended ([`Fleet::leave`]). There
//! are no heartbeats and no time-to-live to wait out.
//!
//! ## A query
//! The asker reads the live set, broadcasts a `query` and waits exactly for
//! those peers' `answer`s (each a [`Sample`]: connected instances, a
//! latency histogram), returning as soon as all have answered. Only a hung
//! peer (listed, yet silent) is waited for up to [`ANSWER_TIMEOUT`]; it is
//! then named in [`Receipt::unanswered`], and the receipt is not complete.
//! On SQLite (single instance) there are no peers and receipts are local.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::delivery::hub::Hub;
use crate::delivery::receipts::{Receipt, Sample};
use crate::delivery::roster::InstanceRow;
use crate::store::DynStore;

/// The NOTIFY channel of fleet messages.
pub const CHANNEL: &str = "switchyard_fleet";

/// `application_name` prefix of replicas' LISTEN connections.
pub const APP_PREFIX: &str = "switchyard/";

/// Stands in `unanswered` when the live replicas could not be read.
pub const UNKNOWN_PEERS: &str = "<live replicas unknown>";

/// How long a query waits for a live peer that does not answer (a hung
/// process; a dead one is not waited for at all).
pub const ANSWER_TIMEOUT: Duration = Duration::from_millis(500);

/// Fleet messages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Msg {
    Query {
        q: String,
        from: String,
        env: i64,
        rev: u64,
    },
    Answer {
        q: String,
        to: String,
        from: String,
        sample: Sample,
    },
    /// Asks every peer for its instance rows of `env`.
    List {
        q: String,
        from: String,
        env: i64,
    },
    /// Part of a peer's rows (chunked to fit NOTIFY); `done` on the last.
    Rows {
        q: String,
        to: String,
        from: String,
        rows: Vec<InstanceRow>,
        done: bool,
    },
}

/// Bytes of rows per `Rows` message (NOTIFY payloads stop at 8,000).
const ROWS_BUDGET: usize = 6_000;

/// One peer's answer to a `List`.
type RowsPart = (String, Vec<InstanceRow>, bool);

/// Every connected SDK instance of one environment, over the replicas.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    /// The rows, one per instance.
    pub rows: Vec<InstanceRow>,
    /// Replicas whose rows are included (this one too).
    pub replicas: usize,
    /// Live replicas that did not answer in time (their instances are missing).
    pub unanswered: Vec<String>,
}

/// This replica's view of the fleet.
pub struct Fleet {
    id: String,
    store: DynStore,
    pending: DashMap<String, mpsc::UnboundedSender<(String, Sample)>>,
    listing: DashMap<String, mpsc::UnboundedSender<RowsPart>>,
    /// Set on graceful shutdown: the listener closes its connection.
    leaving: watch::Sender<bool>,
    /// The listener task (aborted by [`Fleet::abort`]).
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Fleet {
    /// A fleet member with a fresh random id.
    pub fn new(store: DynStore) -> Arc<Fleet> {
        Arc::new(Fleet {
            id: uuid::Uuid::new_v4().simple().to_string(),
            store,
            pending: DashMap::new(),
            listing: DashMap::new(),
            leaving: watch::Sender::new(false),
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// This replica's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The `application_name` of this replica's LISTEN connection.
    pub fn application_name(&self) -> String {
        format!("{APP_PREFIX}{}", self.id)
    }

    /// Keeps a background task of this replica (see [`Fleet::abort`]).
    pub fn adopt(&self, task: JoinHandle<()>) {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).push(task);
    }

    /// Resolves once [`Fleet::leave`] was called.
    pub async fn left(&self) {
        let mut rx = self.leaving.subscribe();
        let _ = rx.wait_for(|leaving| *leaving).await;
    }

    /// Graceful goodbye: the listener closes its connection, which removes
    /// this replica from the live set at once; waits for it (bounded).
    pub async fn leave(&self) {
        self.leaving.send_replace(true);
        let tasks: Vec<_> = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for task in tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task).await.is_err() {
                abort.abort();
            }
        }
    }

    /// Stops the background tasks without a goodbye (a crash, for tests).
    pub fn abort(&self) {
        for task in self.tasks.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            task.abort();
        }
    }

    async fn send(&self, msg: &Msg) {
        if let Ok(payload) = serde_json::to_string(msg)
            && let Err(err) = self.store.notify_peers(CHANNEL, &payload).await
        {
            tracing::debug!(error = %err, "fleet notify failed");
        }
    }

    /// Handles a message from [`CHANNEL`] (called by the listener).
    pub async fn on_message(&self, hub: &Hub, payload: &str) {
        let Ok(msg) = serde_json::from_str::<Msg>(payload) else {
            tracing::warn!("malformed fleet message");
            return;
        };
        match msg {
            Msg::Query { q, from, env, rev } if from != self.id => {
                let sample = hub.channel(env).receipts.sample(rev);
                self.send(&Msg::Answer { q, to: from, from: self.id.clone(), sample }).await;
            }
            Msg::Answer { q, to, from, sample } if to == self.id => {
                if let Some(tx) = self.pending.get(&q) {
                    let _ = tx.send((from, sample));
                }
            }
            Msg::List { q, from, env } if from != self.id => self.send_rows(hub, q, from, env).await,
            Msg::Rows { q, to, from, rows, done } if to == self.id => {
                if let Some(tx) = self.listing.get(&q) {
                    let _ = tx.send((from, rows, done));
                }
            }
            _ => {}
        }
    }

    /// The other live replicas, as Postgres sees them now (none on SQLite);
    /// `None` when they could not be read (the receipt is then incomplete:
    /// never "complete" while other replicas' SDKs may be uncounted).
    pub async fn peers(&self) -> Option<HashSet<String>> {
        match self.store.live_replicas(APP_PREFIX).await {
            Ok(names) => Some(
                names
                    .into_iter()
                    .filter_map(|n| n.strip_prefix(APP_PREFIX).map(str::to_string))
                    .filter(|id| *id != self.id)
                    .collect(),
            ),
            Err(err) => {
                tracing::warn!(error = %err, "reading the live replicas failed; the receipt stays incomplete");
                None
            }
        }
    }

    /// The live peers' samples for `rev`, and the peers that did not answer.
    async fn remote(&self, env: i64, rev: u64) -> (Vec<Sample>, Vec<String>) {
        let Some(mut waiting) = self.peers().await else {
            return (Vec::new(), vec![UNKNOWN_PEERS.to_string()]);
        };
        if waiting.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let q = uuid::Uuid::new_v4().simple().to_string();
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.pending.insert(q.clone(), tx);
        self.send(&Msg::Query { q: q.clone(), from: self.id.clone(), env, rev }).await;
        let mut samples = Vec::with_capacity(waiting.len());
        let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
        while !waiting.is_empty() {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                // A replica that came up after the live set was read
                // counts too; it is just not waited for.
                Ok(Some((from, sample))) => {
                    waiting.remove(&from);
                    samples.push(sample);
                }
                _ => break,
            }
        }
        self.pending.remove(&q);
        let mut unanswered: Vec<String> = waiting.into_iter().collect();
        unanswered.sort();
        (samples, unanswered)
    }

    /// This replica's rows of `env`.
    pub fn local_rows(&self, hub: &Hub, env: i64) -> Vec<InstanceRow> {
        let channel = hub.channel(env);
        channel.receipts.roster(&self.id, channel.revision())
    }

    /// Answers a `List` with this replica's rows, in parts that fit NOTIFY.
    async fn send_rows(&self, hub: &Hub, q: String, to: String, env: i64) {
        let mut rows = self.local_rows(hub, env);
        loop {
            let (mut part, mut bytes) = (Vec::new(), 0);
            while let Some(row) = rows.pop() {
                bytes += serde_json::to_string(&row).map_or(0, |j| j.len() + 1);
                part.push(row);
                if bytes >= ROWS_BUDGET {
                    break;
                }
            }
            let done = rows.is_empty();
            let msg = Msg::Rows { q: q.clone(), to: to.clone(), from: self.id.clone(), rows: part, done };
            self.send(&msg).await;
            if done {
                return;
            }
        }
    }

    /// Every SDK instance connected to any live replica for `env`, with
    /// the replicas that did not answer within [`ANSWER_TIMEOUT`].
    pub async fn roster(&self, hub: &Hub, env: i64) -> Roster {
        let mut roster = Roster { rows: self.local_rows(hub, env), replicas: 1, unanswered: Vec::new() };
        let Some(mut waiting) = self.peers().await else {
            roster.unanswered.push(UNKNOWN_PEERS.to_string());
            return roster;
        };
        if waiting.is_empty() {
            return roster;
        }
        let q = uuid::Uuid::new_v4().simple().to_string();
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.listing.insert(q.clone(), tx);
        self.send(&Msg::List { q: q.clone(), from: self.id.clone(), env }).await;
        let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
        while !waiting.is_empty() {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((from, rows, done))) => {
                    roster.rows.extend(rows);
                    if done && waiting.remove(&from) {
                        roster.replicas += 1;
                    }
                }
                _ => break,
            }
        }
        self.listing.remove(&q);
        roster.unanswered = waiting.into_iter().collect();
        roster.unanswered.sort();
        roster
    }

    /// The fleet-wide receipt of `rev` now.
    #[tracing::instrument(name = "receipt", level = "debug", skip_all,
        fields(env = env, revision = rev, connected, applied, pending, complete))]
    pub async fn receipt(&self, hub: &Hub, env: i64, rev: u64) -> Receipt {
        let local = hub.channel(env).receipts.sample(rev);
        let (samples, unanswered) = self.remote(env, rev).await;
        let receipt = Receipt { unanswered, ..Receipt::merge(rev, std::iter::once(local).chain(samples)) };
        record(&receipt);
        receipt
    }

    /// Waits until every SDK instance connected to any replica applied
    /// `rev`, or `timeout`; peers are asked every 25 ms.
    pub async fn wait(&self, hub: &Hub, env: i64, rev: u64, timeout: Duration) -> Receipt {
        self.wait_polling(hub, env, rev, timeout, Duration::from_millis(25)).await
    }

    /// [`Fleet::wait`], asking peers every `poll` (a background recorder,
    /// which nobody waits on, asks less often: latencies come from the acks'
    /// own times, not from when they were collected).
    #[tracing::instrument(name = "receipts.wait", skip_all,
        fields(env = env, revision = rev, connected, applied, pending, complete))]
    pub async fn wait_polling(&self, hub: &Hub, env: i64, rev: u64, timeout: Duration, poll: Duration) -> Receipt {
        let channel = hub.channel(env);
        if self.peers().await.is_some_and(|peers| peers.is_empty()) {
            // Alone (SQLite, or a single Postgres replica): local acks decide.
            let receipt = channel.receipts.wait(rev, timeout).await;
            record(&receipt);
            return receipt;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let _watching = channel.receipts.watch();
        loop {
            let changed = channel.receipts.changed();
            let receipt = self.receipt(hub, env, rev).await;
            if receipt.complete() || tokio::time::Instant::now() >= deadline {
                record(&receipt);
                return receipt;
            }
            // Local acks wake us at once; remote ones are polled.
            let next = tokio::time::Instant::now() + poll;
            let _ = tokio::time::timeout_at(deadline.min(next), changed).await;
        }
    }
}

/// Records a receipt's counts on the current span (`receipt`, `receipts.wait`).
fn record(receipt: &Receipt) {
    let span = tracing::Span::current();
    span.record("connected", receipt.connected as u64);
    span.record("applied", receipt.applied as u64);
    span.record("pending", receipt.pending as u64);
    span.record("complete", receipt.complete());
}
