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

// Mirrors of `ops/blast.rs`.

/// What killing a set of flags in one environment would reach.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BlastRadius {
    /// The project's key.
    pub project: String,
    /// The environment's key.
    pub environment: String,
    /// The environment's revision now.
    pub revision: u64,
    /// Minutes of telemetry looked at.
    pub window_minutes: i64,
    /// SDK instances connected to the environment (every one receives a kill).
    pub connected: usize,
    /// Of those, instances that evaluated at least one of the flags in the window.
    pub evaluating: usize,
    /// Of those connected, instances that sent no telemetry in the window
    /// (telemetry off, or just started): whether they evaluate is unknown.
    pub without_telemetry: usize,
    /// Per service, over all the flags (most evaluating instances first).
    pub services: Vec<ServiceReach>,
    /// Per flag, in the order asked.
    pub flags: Vec<FlagReach>,
    /// Replicas whose connected instances were counted.
    pub replicas: usize,
    /// Live replicas that did not answer in time: their instances are
    /// missing, so the counts are low while this is not empty.
    pub unanswered: Vec<String>,
}

/// One flag's reach.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FlagReach {
    /// The flag's key.
    pub flag: String,
    /// Already killed: killing it again changes nothing.
    pub killed: bool,
    /// The variant every SDK would serve once it is killed (its off variant).
    pub serves: String,
    /// Flags of the environment that name it as a prerequisite: a killed
    /// prerequisite is never met, so those serve their off variant too.
    pub dependents: Vec<String>,
    /// Evaluations in the window, all instances (connected or not).
    pub evaluations: u64,
    /// Evaluations per minute over the window.
    pub per_minute: f64,
    /// What it served in the window: evaluations per variant.
    pub variants: Vec<VariantShare>,
    /// Connected instances evaluating it.
    pub evaluating: usize,
    /// Per service (most evaluating instances first).
    pub services: Vec<ServiceReach>,
}

/// A variant's share of the evaluations in the window.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VariantShare {
    /// The variant's key.
    pub variant: String,
    /// Evaluations that served it.
    pub evaluations: u64,
}

/// One service's reach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ServiceReach {
    /// The service (`None`: instances that named none).
    pub service: Option<String>,
    /// Its connected instances.
    pub connected: usize,
    /// Of which evaluating the flag(s).
    pub evaluating: usize,
    /// Its evaluations of the flag(s) in the window.
    pub evaluations: u64,
    /// Evaluations per minute over the window.
    pub per_minute: f64,
}
