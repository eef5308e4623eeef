//! # switchyard
//!
//! The Switchyard SDK (work in progress): re-exports the core engine so that
//! applications can already evaluate a snapshot locally.
#![deny(missing_docs)]

pub use switchyard_core as core;
