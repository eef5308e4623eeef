//! # switchyard-core
//!
//! The flag model, the wire types and the evaluation engine shared by the
//! Switchyard server and every SDK. Pure Rust: no IO, no async.
//!
//! ## Layout
//! - [`model`]: serde wire types (flags, segments, snapshots, change events).
#![deny(missing_docs)]

pub mod model;

pub use model::*;
