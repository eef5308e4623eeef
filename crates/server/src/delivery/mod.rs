//! Delivery: getting committed flag state to its readers.
//!
//! Owns the caches and channels between the store and those who read
//! flag state (SSE streams, snapshot and evaluation endpoints). Must not
//! touch HTTP types, authorization or the application state: callers pass
//! narrow handles (the store, metrics) at construction or per call.
//!
//! ## Layout
//! - [`compiled`]: the compiled-snapshot cache, one entry per environment
//!   keyed by revision (server-side evaluation: `evaluate-as`, OFREP).

pub mod compiled;
