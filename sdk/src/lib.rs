//! # switchyard
//!
//! The Rust SDK for Switchyard feature flags. A [`Client`] holds the
//! environment's flags in memory as a compiled snapshot, keeps it current
//! over the server's SSE stream (falling back to polling), and evaluates
//! flags locally with `switchyard-core`, the same engine the server uses:
//! no network call per check, no blocking, no panics.
//!
//! ```no_run
//! use std::time::Duration;
//! use switchyard::{Client, Context};
//!
//! # async fn run() -> Result<(), switchyard::Error> {
//! let client = Client::builder("sdk-key").base_url("http://localhost:8080").build()?;
//! client.wait_until_ready(Duration::from_secs(5)).await?;
//!
//! let ctx = Context::new("user-123").with("plan", "pro").with("country", "SE");
//! let on: bool = client.bool_value("new-checkout", &ctx, false);
//! let banner = client.string_detail("banner", &ctx, "hi"); // value + variant + reason
//! let mut changes = client.subscribe(); // Stream of flag changes
//! # let _ = (on, banner, changes);
//! # Ok(())
//! # }
//! ```
//!
//! Offline ([`Client::from_snapshot`], [`Client::from_file`]) clients need
//! no server and no runtime: use them in tests and air-gapped deployments.
//!
//! # Layout
//! - [`client`](Client): the handle; getters, status, subscriptions.
//! - `builder`: [`ClientBuilder`], every option, validated once in `build()`.
//! - `detail`: [`Detail`], [`Reason`] and the typed evaluation, including
//!   staleness and per-flag fail-safe variants.
//! - `status`: [`Status`] and [`StatusStream`].
//! - `updates`: [`Updates`], [`Update`], [`FlagChange`] and the snapshot diff.
//! - `state`: what evaluation reads (an `ArcSwapOption<CompiledSnapshot>`
//!   and a lock-free freshness clock) and the sync task writes.
//! - `sync`: the background task: SSE parsing, HTTP, backoff, polling,
//!   acknowledgements.
//! - `persist`: the persisted snapshot file (atomic writes).
//! - [`telemetry`]: evaluation counters, request outcomes and custom
//!   events, flushed in batches for guarded releases
//!   ([`ClientBuilder::telemetry`], [`Client::record`], [`Client::track`],
//!   [`Client::request_scope`]).
//! - `openfeature` (cargo feature `openfeature`): an OpenFeature provider,
//!   `openfeature::SwitchyardProvider`.
//! - `tower` (cargo feature `tower`): `tower::TelemetryLayer`, recording
//!   each HTTP request's outcome against the variants it was served.
#![deny(missing_docs)]

mod builder;
mod client;
mod detail;
mod error;
#[cfg(feature = "openfeature")]
pub mod openfeature;
mod persist;
mod state;
mod status;
mod sync;
pub mod telemetry;
#[cfg(feature = "tower")]
pub mod tower;
mod updates;

pub use builder::ClientBuilder;
pub use client::Client;
pub use detail::{Detail, Reason};
pub use error::Error;
pub use status::{Status, StatusStream};
pub use switchyard_core as core;
pub use switchyard_core::{
    AttrValue, ChangeEvent, CompiledSnapshot, Context, ErrorKind, FlagKind, PrerequisiteCause, Snapshot,
};
pub use updates::{FlagChange, Update, Updates};
