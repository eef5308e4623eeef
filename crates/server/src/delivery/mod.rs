//! Delivery: getting committed flag state to its readers.
//!
//! Owns the caches and channels between the store and those who read
//! flag state (SSE streams, snapshot and evaluation endpoints). Must not
//! touch HTTP types, authorization or the application state: callers pass
//! narrow handles (the store, metrics) at construction or per call.
//!
//! ## Layout
//! - [`hub`]: serialises each committed change once and fans it out
//!   (queue: [`hub::ChangeQueue`], the store's change sink).
//! - [`channel`]: one environment's broadcast channel, revision and streams.
//! - [`frames`]: the SSE bytes (events, heartbeats, hints).
//! - [`snapshots`]: the serialised snapshot per environment and revision.
//! - [`stream`]: an SSE stream's life (first frames, live frames, its end).
//! - [`acks`]: SDK acknowledgements, recorded here or forwarded.
//! - [`receipts`]: which SDK instances applied which revision (kill receipts).
//! - [`roster`]: the fleet view's rows (identity, transport, lag) and polling instances.
//! - [`histogram`]: compact latency histograms (receipt medians within 1.5 %).
//! - [`fleet`]: fleet-wide receipts across replicas (live set from `pg_stat_activity`).
//! - [`listener`]: Postgres LISTEN/NOTIFY fan-out across replicas.
//! - [`compiled`]: the compiled-snapshot cache, one entry per environment
//!   keyed by revision (server-side evaluation: `evaluate-as`, OFREP).

pub mod acks;
pub mod channel;
pub mod compiled;
pub mod fleet;
pub mod frames;
pub mod histogram;
pub mod hub;
pub mod listener;
pub mod receipts;
pub mod roster;
pub mod snapshots;
pub mod stream;
