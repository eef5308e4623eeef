//! [`Error`]: the one error type of the SDK.
//!
//! Evaluation never fails (it serves defaults), so errors only come from
//! building a client, loading a snapshot file and waiting for readiness.
//!
//! Owns: the SDK's error enum. Must not touch: sync failures, which are
//! reported through `Status`, not returned.

use std::path::PathBuf;
use std::time::Duration;

use switchyard_core::ValidationErrors;

use crate::status::Status;

/// What can go wrong when building a client, loading flags from a file or
/// waiting for the first snapshot.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// [`crate::Client::wait_until_ready`] gave up. The client keeps
    /// syncing in the background and serves defaults (or persisted flags)
    /// meanwhile.
    #[error("no flags after waiting {waited:?} (status: {status})")]
    Timeout {
        /// How long it waited.
        waited: Duration,
        /// The status when it gave up (why it is not ready).
        status: Status,
    },
    /// The server rejected the SDK key (401/403): unknown or revoked.
    #[error("the Switchyard server rejected the SDK key (unknown or revoked)")]
    Unauthorized,
    /// A builder option has an invalid value.
    #[error("invalid option `{option}`: {reason}")]
    InvalidConfig {
        /// The builder method, e.g. `base_url`.
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// [`crate::ClientBuilder::build`] was called outside a tokio runtime
    /// (it spawns the background sync onto the current one).
    #[error("Client::builder(..).build() must be called within a tokio runtime")]
    NoRuntime,
    /// The HTTP client could not be built (e.g. the TLS backend failed).
    #[error("could not build the HTTP client: {0}")]
    Http(#[source] reqwest::Error),
    /// A snapshot file could not be read.
    #[error("could not read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// A snapshot file is not valid snapshot JSON.
    #[error("{path} is not a Switchyard snapshot: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// [`crate::Client::flush`] could not deliver the telemetry; the
    /// batches stay queued (bounded) and are retried at the next flush.
    #[error("telemetry not sent ({pending} batches queued): {reason}")]
    TelemetryNotSent {
        /// Why the last attempt failed.
        reason: String,
        /// Batches waiting.
        pending: usize,
    },
    /// A snapshot did not validate (every problem is listed with its path).
    #[error("invalid snapshot: {0}")]
    InvalidSnapshot(#[from] ValidationErrors),
}
