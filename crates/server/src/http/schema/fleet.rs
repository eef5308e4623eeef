//! Schemas of the fleet view (mirrors: see [`super`]).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// Mirrors of `delivery/roster.rs`.

/// What an SDK instance says about itself when it connects or polls
/// (`X-Switchyard-Service`, `X-Switchyard-Service-Version`,
/// `X-Switchyard-Sdk`); invalid values count as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Identity {
    /// The service it runs in (`checkout`).
    pub service: Option<String>,
    /// That service's version (`1.4.2`).
    pub service_version: Option<String>,
    /// The SDK and its version (`switchyard-rust/0.1.0`).
    pub sdk: Option<String>,
}

/// How an instance gets its flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// An open SDK stream (`GET /sdk/v1/stream`).
    Sse,
    /// Snapshot polls only (`GET /sdk/v1/snapshot`), seen within the
    /// last [`POLL_WINDOW_MS`](crate::delivery::roster::POLL_WINDOW_MS).
    Poll,
    /// An OFREP provider with an open refetch stream.
    Ofrep,
}

/// One connected SDK instance, as the replica it talks to sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InstanceRow {
    /// The instance id (`X-Switchyard-Instance`; `ofrep-…` for OFREP streams).
    pub instance: String,
    /// Who it says it is.
    #[serde(flatten)]
    pub identity: Identity,
    /// How it gets its flags.
    pub transport: Transport,
    /// The replica it is connected to (its fleet id).
    pub replica: String,
    /// The revision it applied (acknowledged, resumed at, or was served
    /// by its last poll); 0 when it has not said yet.
    pub revision: u64,
    /// Revisions it is behind the environment (filled by the asker, which
    /// reads the environment's current revision).
    #[serde(default)]
    pub lag_revisions: u64,
    /// How long ago the first revision it lacks was broadcast, ms; 0 when
    /// it is current, `None` when that broadcast was before this replica
    /// started.
    pub lag_ms: Option<u64>,
    /// When its stream opened (or it first polled), ms since the epoch.
    pub connected_at_ms: i64,
    /// Its last request (stream opened, ack, poll, refetch), ms since the epoch.
    pub last_seen_ms: i64,
}

// Mirrors of `ops/fleet.rs`.

/// The SDK instances of one environment, over every live replica.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct FleetView {
    /// The project's key.
    pub project: String,
    /// The environment's key.
    pub environment: String,
    /// The environment's current revision (lags are counted against it).
    pub revision: u64,
    /// Replicas whose instances are listed.
    pub replicas: usize,
    /// Live replicas that did not answer in time: their instances are
    /// missing, so the list is incomplete while this is not empty.
    pub unanswered: Vec<String>,
    /// One row per instance, most behind first, then by service and id.
    pub instances: Vec<InstanceRow>,
}
