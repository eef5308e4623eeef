//! SDK telemetry (issue 16 part 1): the aggregates as the store adds and
//! reads them, per (environment, flag, variant, minute). What a batch means
//! (validation, merging, which minute) is decided by
//! `crate::ops::telemetry`; these are only its shapes.

/// Number of latency buckets: 14 upper bounds, then one for slower.
pub const LATENCY_BUCKETS: usize = switchyard_core::protocol::telemetry::LATENCY_BUCKETS;

/// Upper bounds (inclusive, ms) of the first 14 latency buckets, as the SDK
/// counts them (the protocol's `LATENCY_BUCKETS_MS`).
pub const LATENCY_BOUNDS_MS: [f64; LATENCY_BUCKETS - 1] = switchyard_core::protocol::telemetry::LATENCY_BUCKETS_MS;

/// Counts of one (flag, variant) in one minute, to add or as read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VariantCounts {
    /// Evaluations that served the variant.
    pub evaluations: u64,
    /// Requests recorded against it.
    pub requests: u64,
    /// Of which failed.
    pub errors: u64,
    /// Sum of request latencies, ms.
    pub latency_ms_sum: f64,
    /// Sum of squared request latencies, ms².
    pub latency_ms_sum_sq: f64,
    /// Requests per latency bucket ([`LATENCY_BOUNDS_MS`], then slower).
    pub buckets: [u64; LATENCY_BUCKETS],
}

impl VariantCounts {
    /// Adds `other` to `self` (saturating).
    pub fn add(&mut self, other: &VariantCounts) {
        self.evaluations = self.evaluations.saturating_add(other.evaluations);
        self.requests = self.requests.saturating_add(other.requests);
        self.errors = self.errors.saturating_add(other.errors);
        self.latency_ms_sum += other.latency_ms_sum;
        self.latency_ms_sum_sq += other.latency_ms_sum_sq;
        for (b, o) in self.buckets.iter_mut().zip(other.buckets) {
            *b = b.saturating_add(o);
        }
    }
}

/// One validated, merged batch to add to the aggregates of one environment.
#[derive(Debug, Clone, Default)]
pub struct TelemetryRecord {
    /// Minutes since the Unix epoch the batch is counted in.
    pub minute: i64,
    /// The reporting SDK (`switchyard-rust/0.1.0`).
    pub sdk: String,
    /// The reporting instance.
    pub instance: String,
    /// The service the instance runs in, as its request named it
    /// (`X-Switchyard-Service`); `None` when it did not.
    pub service: Option<String>,
    /// Counts per (flag, variant), one entry per key.
    pub variants: Vec<(String, String, VariantCounts)>,
    /// Evaluations that served the caller's default.
    pub unattributed: u64,
    /// Custom events: (name, count, value sum), one entry per name.
    pub events: Vec<(String, u64, f64)>,
    /// Custom events per (flag, variant) served, one entry per key.
    pub variant_events: Vec<VariantEvents>,
    /// Items the instance reports it dropped.
    pub dropped: u64,
}

/// One step of a per-variant series, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRow {
    /// The variant.
    pub variant: String,
    /// Index of the step (0 = the step starting at `from`).
    pub step: i64,
    /// The counts summed over the step's minutes.
    pub counts: VariantCounts,
}

/// One custom event's occurrences in requests served one variant of one
/// flag: added per minute by a batch, or read summed over a range.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VariantEvents {
    /// Flag key.
    pub flag: String,
    /// Variant key.
    pub variant: String,
    /// Event name.
    pub event: String,
    /// Occurrences.
    pub count: u64,
    /// Sum of their values.
    pub value_sum: f64,
}
