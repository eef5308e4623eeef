//! The telemetry batch on the wire: `POST /sdk/v1/telemetry`. The types are
//! `switchyard_core::protocol::telemetry`, shared with the server (which
//! validates and merges them), so the two cannot drift.

pub use switchyard_core::protocol::telemetry::{
    EvaluationCount, EventCount, LATENCY_BUCKETS_MS, OutcomeCount, TelemetryBatch, VariantEventCount,
};
