//! Schemas of SDK telemetry in and out (mirrors: see [`super`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// Mirrors of `ops/telemetry_series.rs`.

/// One flag's telemetry in one environment.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct FlagTelemetry {
    /// Environment key.
    pub environment: String,
    /// Flag key.
    pub flag: String,
    /// Start of the first step.
    pub from: DateTime<Utc>,
    /// End of the last step.
    pub to: DateTime<Utc>,
    /// Step, seconds.
    pub step_seconds: i64,
    /// One series per variant seen, by variant key.
    pub variants: Vec<VariantSeries>,
    /// All variants over the whole range.
    pub totals: Stats,
}

/// One variant's series.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct VariantSeries {
    /// Variant key.
    pub variant: String,
    /// One point per step, every step of the range (zeros where none).
    pub points: Vec<Point>,
    /// This variant over the whole range.
    pub totals: Stats,
    /// Custom events tracked while serving requests that were served this
    /// variant (`Client::track` in a request scope), over the whole range,
    /// by name.
    pub events: Vec<EventTotals>,
}

/// One custom event over a range, in requests served one variant.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ToSchema)]
pub struct EventTotals {
    /// Event name.
    pub event: String,
    /// Occurrences.
    pub count: u64,
    /// Sum of their values.
    pub value_sum: f64,
    /// `value_sum / count`; `null` without occurrences.
    pub value_mean: Option<f64>,
}

/// One step of a series.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct Point {
    /// Start of the step.
    pub at: DateTime<Utc>,
    /// The step's figures.
    #[serde(flatten)]
    pub stats: Stats,
}

/// Figures over a span of time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize, ToSchema)]
pub struct Stats {
    /// Evaluations that served the variant.
    pub evaluations: u64,
    /// Requests recorded (`Client::record`).
    pub requests: u64,
    /// Of which failed.
    pub errors: u64,
    /// `errors / requests`; `null` without requests.
    pub error_rate: Option<f64>,
    /// Mean latency, ms; `null` without requests.
    pub latency_mean_ms: Option<f64>,
    /// Upper bound of the latency bucket holding the 95th percentile, ms
    /// (bounds 1, 2, 5, …, 10000; `10000` also stands for slower); `null`
    /// without requests.
    pub latency_p95_ms: Option<f64>,
}

// Mirrors of `switchyard_core::protocol::telemetry` (handlers name these).

/// One flush of one SDK instance: counts since its previous batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
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

/// Evaluations of one variant of one flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EvaluationCount {
    /// Flag key.
    pub flag: String,
    /// Variant key.
    pub variant: String,
    /// Evaluations in the window.
    pub count: u64,
}

/// Outcomes of the requests served one variant of one flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventCount {
    /// Event name.
    pub event: String,
    /// Occurrences in the window.
    pub count: u64,
    /// Sum of their values.
    pub value_sum: f64,
}

/// One custom event's occurrences in requests served one variant of one flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
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
