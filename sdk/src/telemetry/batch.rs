//! The telemetry batch on the wire: `POST /sdk/v1/telemetry`, JSON,
//! authenticated by the SDK key like every `/sdk/v1` request.
//!
//! The server's endpoint and its answers are specified in `docs/protocol.md`
//! ("POST /sdk/v1/telemetry"). The server keeps a copy of these shapes with
//! its OpenAPI schema (`ops::telemetry`), which core cannot carry; the
//! server's tests send batches made by this SDK, so the two cannot drift
//! unnoticed.

use serde::{Deserialize, Serialize};

/// Upper bounds (inclusive, milliseconds) of the latency histogram buckets;
/// one more bucket counts everything slower. Fixed, so that the server can
/// add histograms from every SDK and read the share of requests over any
/// boundary (the guard's p95-exceedance metric).
pub const LATENCY_BUCKETS_MS: [f64; 14] =
    [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 300.0, 500.0, 1_000.0, 2_000.0, 5_000.0, 10_000.0];

/// One flush of one SDK instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TelemetryBatch {
    /// `switchyard-rust/<version>`.
    pub sdk: String,
    /// The instance id the SDK also sends on the stream.
    pub instance: String,
    /// Start of the window covered, milliseconds since the Unix epoch.
    pub start_ms: u64,
    /// End of the window covered, milliseconds since the Unix epoch.
    pub end_ms: u64,
    /// Evaluations per (flag, variant).
    pub evaluations: Vec<EvaluationCount>,
    /// Evaluations not attributed to a variant: the caller's default was
    /// served (unknown flag, wrong type, no flags yet), or a snapshot was
    /// being swapped at that instant.
    pub unattributed: u64,
    /// Request outcomes per (flag, variant) (`Client::record`).
    pub outcomes: Vec<OutcomeCount>,
    /// Custom events (`Client::track`).
    pub events: Vec<EventCount>,
    /// Custom events tracked inside request scopes, per (flag, variant)
    /// the request was served (an event counts once in `events` and once
    /// per variant here). Left out when empty, so that servers from before
    /// it still take the batch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variant_events: Vec<VariantEventCount>,
    /// Items (evaluations, outcomes, events) this instance discarded since
    /// its last accepted batch: the buffer was full while the server could
    /// not be reached, or too many distinct keys were recorded.
    pub dropped: u64,
}

impl TelemetryBatch {
    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.evaluations.is_empty()
            && self.outcomes.is_empty()
            && self.events.is_empty()
            && self.variant_events.is_empty()
            && self.unattributed == 0
            && self.dropped == 0
    }

    /// Number of items (evaluations, outcomes, events) in the batch (an
    /// event's attributions in `variant_events` are not items of their own).
    pub fn items(&self) -> u64 {
        let e: u64 = self.evaluations.iter().map(|e| e.count).sum();
        let o: u64 = self.outcomes.iter().map(|o| o.requests).sum();
        let v: u64 = self.events.iter().map(|e| e.count).sum();
        e + o + v + self.unattributed
    }
}

/// Evaluations of one variant of one flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluationCount {
    /// Flag key.
    pub flag: String,
    /// Variant key.
    pub variant: String,
    /// Evaluations in the window.
    pub count: u64,
}

/// Outcomes of the requests that were served one variant of one flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeCount {
    /// Flag key.
    pub flag: String,
    /// Variant key.
    pub variant: String,
    /// Requests recorded.
    pub requests: u64,
    /// Of which failed.
    pub errors: u64,
    /// Sum of latencies, milliseconds.
    pub latency_ms_sum: f64,
    /// Sum of squared latencies, ms² (for the variance of the mean).
    pub latency_ms_sum_sq: f64,
    /// Requests per latency bucket ([`LATENCY_BUCKETS_MS`], then one
    /// bucket for slower).
    pub latency_ms_buckets: Vec<u64>,
}

/// One custom event's occurrences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventCount {
    /// Event name.
    pub event: String,
    /// Occurrences in the window.
    pub count: u64,
    /// Sum of their values.
    pub value_sum: f64,
}

/// One custom event's occurrences in requests served one variant of one
/// flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantEventCount {
    /// Flag key.
    pub flag: String,
    /// Variant key.
    pub variant: String,
    /// Event name.
    pub event: String,
    /// Occurrences in the window.
    pub count: u64,
    /// Sum of their values.
    pub value_sum: f64,
}
