//! Delivery: getting committed flag state to its readers.
//!
//! Owns the caches and channels between the store and those who read
//! flag state (SSE streams, snapshot and evaluation endpoints). Must not
//! touch HTTP types, authorization or the application state: callers pass
//! narrow handles (the store, metrics) at construction or per call.
//!
//! ## Layout
//! - [`hub`]: serialises each committed change once and fans it out.
//! - [`receipts`]: which SDK instances applied which revision (kill receipts).
//! - [`histogram`]: compact latency histograms (receipt medians within 1.5 %).
//! - [`fleet`]: fleet-wide receipts across replicas (live set from `pg_stat_activity`).
//! - [`listener`]: Postgres LISTEN/NOTIFY fan-out across replicas.
//! - [`compiled`]: the compiled-snapshot cache, one entry per environment
//!   keyed by revision (server-side evaluation: `evaluate-as`, OFREP).

pub mod compiled;
pub mod fleet;
pub mod histogram;
pub mod hub;
pub mod listener;
pub mod receipts;
