//! Helpers for the end-to-end tests (see `tests/` in this package): the
//! real server (each in its own tokio runtime, like its own process), the
//! real SDK and a real database (SQLite and Postgres), over real loopback
//! sockets. Nothing is mocked; nothing sleeps to wait for a server: every
//! wait polls a condition against a deadline ([`eventually`]).
//!
//! - [`Server`]: start (optionally on a given address or with a given
//!   configuration), stop gracefully, crash (drop its runtime: every socket
//!   closes at once).
//! - [`Admin`]: the typed admin client (`switchyard_server::client`) bound to one
//!   token, with the statuses the tests assert on.
//! - [`seed`]: project `shop`, environment `production`, flags, an SDK key.
//! - [`sdk`]: an SDK client tuned for tests (short reconnection backoff).
//! - [`assert_converged`] / [`wait_converged`]: SDK state == server snapshot.
//! - [`RevisionWatch`]: checks a client's `subscribe()` stream: revisions
//!   never go backwards or repeat.
//! - [`StallProxy`]: a TCP proxy whose server→client direction can be
//!   paused, to make a consumer slow (small socket buffers on its side).
//! - [`HostileProxy`] (module `hostile`): an HTTP proxy that cuts, stalls,
//!   splits, pollutes, floods or replays SDK streams, or refuses SDK
//!   requests with a status.
//! - [`RawStream`]: a raw SSE reader over reqwest.
//! - [`PgCluster`] (module `cluster`): a private Postgres cluster for one
//!   test, to stop and start for real (same data directory and port).
//! - [`BackgroundPanics`]: counts panics on runtime worker threads (a
//!   panicking spawned task does not fail a test by itself).

use std::time::Duration;

pub use switchyard_server::config::ServeConfig;
pub use switchyard_server::testing::{TestDb, pg_admin_url};

mod admin;
mod cluster;
mod converge;
mod hostile;
mod process;
mod proxy;
mod raw;
mod server;
mod watch;

pub use admin::{Admin, FlagSpec, Seeded, seed};
pub use cluster::PgCluster;
pub use converge::{
    assert_converged, differences, eventually, eventually_within, probe_contexts, sdk, sdk_builder, server_snapshot,
    wait_converged,
};
pub use hostile::{HostileProxy, Hostility};
pub use process::{BackgroundPanics, pg_name, terminate_backends};
pub use proxy::StallProxy;
pub use raw::{RawEnd, RawEvent, RawStream};
pub use server::Server;
pub use watch::{RevisionWatch, WatchReport};

/// The project every test uses.
pub const PROJECT: &str = "shop";
/// The environment every test uses.
pub const ENV: &str = "production";
/// `/api/v1/projects/shop/environments/production`.
pub const ENV_PATH: &str = "/api/v1/projects/shop/environments/production";

/// Generous bound for anything a test waits for (a loaded 2-core machine
/// running several test binaries).
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The configuration path of a flag in the test environment.
pub fn flag_path(flag: &str) -> String {
    format!("{ENV_PATH}/flags/{flag}")
}
