//! The telemetry batch on the wire: `POST /sdk/v1/telemetry`, JSON,
//! authenticated by the SDK key like every `/sdk/v1` request. The SDK
//! builds it, the server validates and merges it (`ops::telemetry`); its
//! answers are specified in `docs/protocol.md` ("POST /sdk/v1/telemetry").
//! Unknown fields are ignored, as everywhere in the SDK protocol: an SDK
//! newer than the server may send a field the server does not know yet,
//! and refusing it would lose the whole batch on every older server. (The
//! admin API refuses unknown fields instead: a person's typo must not pass.)

use serde::{Deserialize, Serialize};

/// Upper bounds (inclusive, milliseconds) of the latency histogram buckets;
/// one more bucket counts everything slower. Fixed, so that the server can
/// add histograms from every SDK and read the share of requests over any
/// boundary (the guard's p95-exceedance metric).
pub const LATENCY_BUCKETS_MS: [f64; 14] =
    [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 300.0, 500.0, 1_000.0, 2_000.0, 5_000.0, 10_000.0];

/// Buckets of a latency histogram: [`LATENCY_BUCKETS_MS`] and one for slower.
pub const LATENCY_BUCKETS: usize = LATENCY_BUCKETS_MS.len() + 1;

/// One flush of one SDK instance: counts since its previous batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TelemetryBatch {
    /// The SDK and its version (`switchyard-rust/0.1.0`).
    pub sdk: String,
    /// The instance id (as `X-Switchyard-Instance` on the stream), 1 to 64 characters.
    pub instance: String,
    /// Start of the window, ms since the Unix epoch.
    pub start_ms: u64,
    /// End of the window (not before `start_ms`, at most an hour later).
    pub end_ms: u64,
    /// Evaluations per (flag, variant).
    #[serde(default)]
    pub evaluations: Vec<EvaluationCount>,
    /// Evaluations that served the caller's default.
    #[serde(default)]
    pub unattributed: u64,
    /// Request outcomes per (flag, variant).
    #[serde(default)]
    pub outcomes: Vec<OutcomeCount>,
    /// Custom events.
    #[serde(default)]
    pub events: Vec<EventCount>,
    /// Custom events tracked while serving requests, per (flag, variant)
    /// the request was served (the same occurrences as in `events`,
    /// attributed; optional; left out when empty, so that servers from
    /// before it still take the batch).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variant_events: Vec<VariantEventCount>,
    /// Items the instance discarded since its last accepted batch.
    #[serde(default)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationCount {
    /// Flag key.
    pub flag: String,
    /// Variant key.
    pub variant: String,
    /// Evaluations in the window.
    pub count: u64,
}

/// Outcomes of the requests served one variant of one flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeCount {
    /// Flag key.
    pub flag: String,
    /// Variant key.
    pub variant: String,
    /// Requests recorded.
    pub requests: u64,
    /// Of which failed (at most `requests`).
    pub errors: u64,
    /// Sum of latencies, ms.
    pub latency_ms_sum: f64,
    /// Sum of squared latencies, ms².
    pub latency_ms_sum_sq: f64,
    /// Requests per latency bucket: 15 numbers adding up to `requests`
    /// (bounds 1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 1000, 2000, 5000,
    /// 10000 ms, then slower).
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

/// One custom event's occurrences in requests served one variant of one flag.
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
