//! Schemas of drills (mirrors: see [`super`]).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::receipts::Receipt;

// Mirrors of `ops/drill.rs`.

/// A drill of one flag.
#[derive(Debug, Default, Deserialize, ToSchema)]
// A mistyped field (`forced`) is refused, not silently dropped.
#[serde(deny_unknown_fields)]
pub struct DrillRequest {
    /// Drill even in a production-like environment.
    #[serde(default)]
    pub force: bool,
    /// Incident id of the drill (default `DRILL-<UTC time>`).
    #[serde(default)]
    pub incident: Option<String>,
}

/// One step of a drill (the kill, or the restore).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DrillStep {
    /// The revision it wrote.
    pub revision: u64,
    /// Its delivery receipt, when every connected SDK applied it or the wait ran out.
    pub receipt: Receipt,
    /// Whether every connected SDK instance (on every replica) applied it.
    pub complete: bool,
    /// From the step's start to its receipt, ms, on the server's clock
    /// (the write, the fan-out and the slowest acknowledgement).
    pub elapsed_ms: f64,
}

/// What a drill did and how fast the fleet followed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DrillReport {
    /// Project key.
    pub project: String,
    /// Environment key.
    pub environment: String,
    /// Flag key.
    pub flag: String,
    /// The drill's incident id (its timeline: `GET …/incidents/{incident}`).
    pub incident: String,
    /// The kill.
    pub kill: DrillStep,
    /// The restore.
    pub restore: DrillStep,
}
