//! Storage: the [`Store`] contract (one trait per area, see [`traits`]), two
//! sqlx backends (Postgres for production, embedded SQLite as the
//! zero-set-up default).
//!
//! Every write method is one transaction that (1) locks the environment
//! rows it touches, (2) checks the expected version (optimistic concurrency),
//! (3) writes the new state, (4) appends exactly one audit event per changed
//! object, (5) bumps the revision of every environment whose SDK-visible
//! state changed and appends the [`ChangeEvent`] to the change log, then
//! commits and hands each [`EnvChange`] to the [`ChangeSink`]. Nothing ever
//! updates or deletes an audit row.
//!
//! ## Layout
//! - [`traits`]: the contract, one trait per area, and the umbrella [`Store`].
//! - [`types`]: domain types shared by the store and the HTTP layer, by area.
//! - [`outbox`]: the durable webhook outbox (deliveries, their history).
//! - [`revert`]: undo one change, restore one version: requests and diffs.
//! - `sql`: the shared SQL implementation, instantiated for both backends.
//!
//! Must not touch HTTP, the hub or anything above the store: it reports
//! committed changes only through the [`ChangeSink`].

pub mod outbox;
pub mod revert;
pub mod traits;
pub mod types;

mod sql;

use std::sync::Arc;

pub use outbox::*;
pub use revert::*;
pub use traits::*;
pub use types::*;

pub use sql::{NOTIFY_CHANNEL, PgStore, SqliteStore, StoreOptions, connect, connect_with};

/// Receives every committed change, after commit, in revision order per
/// environment. The broadcaster implements it.
pub trait ChangeSink: Send + Sync + 'static {
    /// Called once per environment whose revision a commit bumped.
    fn publish(&self, change: EnvChange);

    /// Whether the write beginning now is urgent: its caller waits for the
    /// delivery receipt (the hub's `urgent` scope). The store marks the
    /// change's notification so, so that other replicas do not hold its
    /// acknowledgements either.
    fn urgent(&self) -> bool {
        false
    }
}

/// A sink that drops everything (tools and tests that do not stream).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl ChangeSink for NullSink {
    fn publish(&self, _change: EnvChange) {}
}

/// Shared handle to a store.
pub type DynStore = Arc<dyn Store>;
