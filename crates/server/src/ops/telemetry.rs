//! SDK telemetry in (`POST /sdk/v1/telemetry`): the batch an SDK sends
//! (`switchyard_core::protocol::telemetry`, the wire contract of
//! `docs/protocol.md`, "Telemetry"), its validation
//! and its merge into one [`TelemetryRecord`] added to the environment's
//! per-minute aggregates. Unknown flag keys are counted like any other (an
//! SDK may hold a flag the server has since deleted). See
//! [`crate::ops::telemetry_series`] for the read side.

use std::collections::HashMap;

use crate::error::ApiError;
use crate::ops::OpResult;
use crate::state::AppState;
use crate::store::{LATENCY_BUCKETS, TelemetryRecord, VariantCounts, VariantEvents};

/// Most items (evaluation, outcome and event entries together) per batch
/// (the SDK keeps at most 10,000 distinct keys per window); above: 413.
pub const MAX_ITEMS: usize = 10_000;
/// Largest count one batch may carry in any field (2^40, a trillion: far
/// beyond a 10 s window), so that sums never overflow the database.
pub const MAX_COUNT: u64 = 1 << 40;
/// Largest latency sum (ms, and ms² for the sum of squares) per entry.
pub const MAX_SUM: f64 = 1e18;
/// Longest window one batch may cover.
pub const MAX_WINDOW_MS: u64 = 3_600_000;
/// How far in the future a window may end (clock skew).
pub const MAX_SKEW_MS: u64 = 300_000;
/// Longest flag key, variant key, event name, SDK name or instance id.
pub const MAX_KEY_LEN: usize = 256;

pub use switchyard_core::protocol::telemetry::{
    EvaluationCount, EventCount, OutcomeCount, TelemetryBatch, VariantEventCount,
};

/// Validates `batch`, merges it into one record and adds it to environment
/// `environment_id`'s aggregates (one transaction), its evaluations
/// attributed to its instance and `service` (the one its request named, if
/// any). Refusals change nothing.
#[tracing::instrument(skip_all, fields(environment_id, instance = %batch.instance))]
pub async fn ingest(
    state: &AppState,
    (environment_id, service): (i64, Option<String>),
    batch: TelemetryBatch,
    now_ms: u64,
) -> OpResult<()> {
    let metrics = &state.metrics;
    let merged = validate(&batch, now_ms, state.config.telemetry_retention_days).and_then(|()| merge(batch, service));
    let record = match merged {
        Ok(record) => record,
        Err(refusal) => {
            metrics.telemetry_batches_refused.inc();
            return Err(refusal);
        }
    };
    let evaluations: u64 = record.variants.iter().map(|(_, _, c)| c.evaluations).sum();
    state.store.record_telemetry(environment_id, &record).await?;
    metrics.telemetry_batches_accepted.inc();
    metrics.telemetry_evaluations.inc_by(evaluations.saturating_add(record.unattributed));
    Ok(())
}

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request(code, message)
}

/// The refusals, each a 400 with a stable code (413 for too many items).
fn validate(batch: &TelemetryBatch, now_ms: u64, retention_days: u32) -> OpResult<()> {
    let items = batch.evaluations.len() + batch.outcomes.len() + batch.events.len() + batch.variant_events.len();
    if items > MAX_ITEMS {
        return Err(ApiError::PayloadTooLarge);
    }
    key("sdk", &batch.sdk)?;
    key("instance", &batch.instance)?;
    if batch.instance.chars().count() > 64 {
        return Err(bad("invalid_instance", "instance: an instance id of 1 to 64 characters is required"));
    }
    window(batch, now_ms, retention_days)?;
    count("unattributed", batch.unattributed)?;
    count("dropped", batch.dropped)?;
    for (i, e) in batch.evaluations.iter().enumerate() {
        key(&format!("evaluations[{i}].flag"), &e.flag)?;
        key(&format!("evaluations[{i}].variant"), &e.variant)?;
        count(&format!("evaluations[{i}].count"), e.count)?;
    }
    for (i, o) in batch.outcomes.iter().enumerate() {
        outcome(i, o)?;
    }
    for (i, e) in batch.events.iter().enumerate() {
        event(&format!("events[{i}]"), &e.event, e.count, e.value_sum)?;
    }
    for (i, e) in batch.variant_events.iter().enumerate() {
        key(&format!("variant_events[{i}].flag"), &e.flag)?;
        key(&format!("variant_events[{i}].variant"), &e.variant)?;
        event(&format!("variant_events[{i}]"), &e.event, e.count, e.value_sum)?;
    }
    Ok(())
}

/// An event entry's name, count and value sum (`path` names the entry).
fn event(path: &str, name: &str, n: u64, value_sum: f64) -> OpResult<()> {
    key(&format!("{path}.event"), name)?;
    count(&format!("{path}.count"), n)?;
    if !value_sum.is_finite() || value_sum.abs() > MAX_SUM {
        return Err(bad("out_of_range", format!("{path}.value_sum: a finite number of at most 1e18")));
    }
    Ok(())
}

/// The window: ordered, at most an hour, not in the future, not older than
/// the retention (it would be pruned at once).
fn window(batch: &TelemetryBatch, now_ms: u64, retention_days: u32) -> OpResult<()> {
    if batch.end_ms < batch.start_ms || batch.end_ms - batch.start_ms > MAX_WINDOW_MS {
        return Err(bad("invalid_window", "start_ms..end_ms: a window of at most one hour, end not before start"));
    }
    if batch.end_ms > now_ms.saturating_add(MAX_SKEW_MS) {
        return Err(bad("window_in_future", "end_ms: the window ends more than 5 minutes from now"));
    }
    let retention_ms = u64::from(retention_days) * 86_400_000;
    if batch.end_ms < now_ms.saturating_sub(retention_ms) {
        return Err(bad("window_too_old", "end_ms: the window ended before the telemetry retention"));
    }
    Ok(())
}

fn outcome(i: usize, o: &OutcomeCount) -> OpResult<()> {
    key(&format!("outcomes[{i}].flag"), &o.flag)?;
    key(&format!("outcomes[{i}].variant"), &o.variant)?;
    count(&format!("outcomes[{i}].requests"), o.requests)?;
    if o.errors > o.requests {
        return Err(bad("invalid_outcome", format!("outcomes[{i}].errors: more errors than requests")));
    }
    for (name, sum) in [("latency_ms_sum", o.latency_ms_sum), ("latency_ms_sum_sq", o.latency_ms_sum_sq)] {
        if !sum.is_finite() || !(0.0..=MAX_SUM).contains(&sum) {
            return Err(bad("out_of_range", format!("outcomes[{i}].{name}: a finite number from 0 to 1e18")));
        }
    }
    if o.latency_ms_buckets.len() != LATENCY_BUCKETS {
        return Err(bad("invalid_outcome", format!("outcomes[{i}].latency_ms_buckets: exactly 15 buckets")));
    }
    let total = o.latency_ms_buckets.iter().try_fold(0u64, |acc, b| acc.checked_add(*b));
    if total != Some(o.requests) {
        return Err(bad("invalid_outcome", format!("outcomes[{i}].latency_ms_buckets: must add up to requests")));
    }
    Ok(())
}

/// A key: 1 to [`MAX_KEY_LEN`] characters (the text policy ran on the body).
fn key(path: &str, value: &str) -> OpResult<()> {
    if value.is_empty() || value.chars().count() > MAX_KEY_LEN {
        return Err(bad("invalid_key", format!("{path}: 1 to {MAX_KEY_LEN} characters")));
    }
    Ok(())
}

fn count(path: &str, value: u64) -> OpResult<()> {
    if value > MAX_COUNT {
        return Err(bad("out_of_range", format!("{path}: at most {MAX_COUNT}")));
    }
    Ok(())
}

/// One entry per (flag, variant) and per event name (duplicates add up).
fn merge(batch: TelemetryBatch, service: Option<String>) -> OpResult<TelemetryRecord> {
    let mut variants: HashMap<(String, String), VariantCounts> = HashMap::new();
    for e in batch.evaluations {
        let c = variants.entry((e.flag, e.variant)).or_default();
        c.evaluations = c.evaluations.saturating_add(e.count);
    }
    for o in batch.outcomes {
        let mut buckets = [0u64; LATENCY_BUCKETS];
        buckets.copy_from_slice(&o.latency_ms_buckets);
        let counts = VariantCounts {
            evaluations: 0,
            requests: o.requests,
            errors: o.errors,
            latency_ms_sum: o.latency_ms_sum,
            latency_ms_sum_sq: o.latency_ms_sum_sq,
            buckets,
        };
        variants.entry((o.flag, o.variant)).or_default().add(&counts);
    }
    let mut events: HashMap<String, (u64, f64)> = HashMap::new();
    for e in batch.events {
        let entry = events.entry(e.event).or_default();
        entry.0 = entry.0.saturating_add(e.count);
        entry.1 += e.value_sum;
    }
    let mut variant_events: HashMap<(String, String, String), (u64, f64)> = HashMap::new();
    for e in batch.variant_events {
        let entry = variant_events.entry((e.flag, e.variant, e.event)).or_default();
        entry.0 = entry.0.saturating_add(e.count);
        entry.1 += e.value_sum;
    }
    let mut variants: Vec<_> = variants.into_iter().map(|((f, v), c)| (f, v, c)).collect();
    // A fixed order: concurrent batches lock rows in the same order.
    variants.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let mut events: Vec<_> = events.into_iter().map(|(e, (n, s))| (e, n, s)).collect();
    events.sort_by(|a, b| a.0.cmp(&b.0));
    let mut variant_events: Vec<_> = variant_events
        .into_iter()
        .map(|((flag, variant, event), (count, value_sum))| VariantEvents { flag, variant, event, count, value_sum })
        .collect();
    variant_events.sort_by(|a, b| (&a.flag, &a.variant, &a.event).cmp(&(&b.flag, &b.variant, &b.event)));
    Ok(TelemetryRecord {
        minute: i64::try_from(batch.start_ms / 60_000).unwrap_or(i64::MAX),
        sdk: batch.sdk,
        instance: batch.instance,
        service,
        variants,
        unattributed: batch.unattributed,
        events,
        variant_events,
        dropped: batch.dropped,
    })
}
