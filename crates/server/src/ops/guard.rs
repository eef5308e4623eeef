//! The release guard, server side (issue 16 §3): is a plan's treatment
//! variant worse than its control? Reads both variants' per-minute SDK
//! telemetry of every stage so far and replays it through
//! [`switchyard_guard::Guard`] (the statistics: `docs/release-guard.md`),
//! one look per minute with data, stage after stage. Answers
//! [`Verdict::Wait`] (the current stage lacks sample), [`Verdict::Continue`]
//! (enough sample and no trip: the plan may advance) or [`Verdict::Trip`]
//! (a metric or the sample ratio: roll back through the kill path, see
//! [`super::guard_trip`]).
//!
//! Stateless: each check replays from the plan's first stage, so any replica
//! can check any plan and a restart loses nothing. A stage counts the whole
//! minutes inside it (telemetry is kept per minute): from the first minute
//! starting at or after its start, to the minute holding its end
//! (excluded); the current stage up to now. The minute a split changed in
//! mixes two splits and would fake a sample-ratio mismatch, so it counts
//! for neither stage.
//!
//! Must not touch: HTTP types, SQL (the telemetry store reads), plan state
//! (the caller owns it).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchyard_guard::{Arm, Direction, Guard, GuardConfig, MetricSpec, Totals};

use super::OpResult;
use crate::error::ApiError;
use crate::store::{DynStore, LATENCY_BOUNDS_MS, VariantCounts};

pub use super::guard_stats::{ArmStats, GuardStats, GuardTrip, TripStats};

/// Requests of the control before the plan needed to measure its p95.
pub const MIN_BASELINE_REQUESTS: u64 = 100;
/// How long before the plan the control's p95 is measured, minutes.
pub const BASELINE_MINUTES: i64 = 60;

/// One guard metric of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum GuardMetric {
    /// The share of requests that failed.
    ErrorRate,
    /// The share of requests slower than `threshold_ms` (by default the
    /// control's p95 in the hour before the plan): a test on the p95 that
    /// needs no quantile estimate.
    LatencyP95 {
        /// Threshold, ms; counted from the latency buckets: a request is
        /// slower when its bucket starts at or above it.
        #[serde(default)]
        threshold_ms: Option<f64>,
    },
    /// The mean latency.
    LatencyMean,
    /// A custom event's rate per exposure (`Client::track` inside request
    /// scopes: counted per variant served), Poisson.
    Event {
        /// Event name.
        event: String,
        /// Fewer is worse (a conversion); otherwise more is worse.
        #[serde(default)]
        lower_is_worse: bool,
    },
}

impl GuardMetric {
    /// Its name in decisions, audit entries and metric labels.
    pub fn name(&self) -> &'static str {
        match self {
            GuardMetric::ErrorRate => "error_rate",
            GuardMetric::LatencyP95 { .. } => "latency_p95",
            GuardMetric::LatencyMean => "latency_mean",
            GuardMetric::Event { .. } => "event",
        }
    }
}

/// One stage of a plan as the guard sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageWindow {
    /// Percent of the traffic on the treatment (the rest is the control);
    /// a stage at 0 or 100 % has nothing to compare and is not guarded.
    pub treatment_percent: f64,
    /// When the split took effect.
    pub started: DateTime<Utc>,
    /// When it ended (`None`: the current stage).
    pub ended: Option<DateTime<Utc>>,
}

/// What the guard needs of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardInput {
    /// The flag's environment (its id in the store).
    pub environment_id: i64,
    /// Flag key.
    pub flag: String,
    /// The control variant's key.
    pub control: String,
    /// The treatment variant's key.
    pub treatment: String,
    /// Guard metrics (none: the sample-ratio check only).
    pub metrics: Vec<GuardMetric>,
    /// Family-wise false-trip probability over the whole plan (0.05).
    pub alpha: f64,
    /// Units per arm in the current stage before it may advance: requests
    /// with an outcome (exposures when no metric is guarded).
    pub min_sample: u64,
    /// The stages so far, in order; the last is the current one.
    pub stages: Vec<StageWindow>,
}

/// The answer to one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// No trip, but the current stage lacks sample (`stats.waiting_for` says which).
    Wait(GuardStats),
    /// No trip and enough sample: the plan may advance.
    Continue(GuardStats),
    /// Roll back.
    Trip(GuardTrip),
}

/// Checks `input` against the telemetry up to `now`.
#[tracing::instrument(name = "guard.check", skip_all, fields(env_id = input.environment_id, flag = %input.flag))]
pub async fn check(store: &DynStore, input: &GuardInput, now: DateTime<Utc>) -> OpResult<Verdict> {
    let first = input.stages.first().ok_or_else(|| ApiError::invalid("stages", "empty", "no stage started"))?;
    if input.control == input.treatment {
        return Err(ApiError::invalid("treatment", "invalid", "the treatment must differ from the control"));
    }
    let thresholds = thresholds(store, input, first.started).await?;
    let specs: Vec<MetricSpec> = input.metrics.iter().map(spec).collect();
    let config = GuardConfig::new(specs).with_alpha(input.alpha);
    let mut guard: Option<Guard> = None;
    let mut last = (VariantCounts::default(), VariantCounts::default(), 0u32);
    let current = input.stages.len() - 1;
    for (index, stage) in input.stages.iter().enumerate() {
        let share = stage.treatment_percent / 100.0;
        last = (VariantCounts::default(), VariantCounts::default(), 0);
        if !(share > 0.0 && share < 1.0) {
            continue;
        }
        let g = match guard.as_mut() {
            Some(g) => g.next_stage(share).map(|()| g),
            None => Guard::new(config.clone(), share).map(|g| guard.insert(g)),
        }
        .map_err(|e| ApiError::invalid("alpha", "invalid", e.to_string()))?;
        let minutes = read_stage(store, input, stage, now).await?;
        let (mut control, mut treatment) = (VariantCounts::default(), VariantCounts::default());
        let mut events = [0u64; 2];
        let mut looks = 0u32;
        for m in minutes.values() {
            control.add(&m.control);
            treatment.add(&m.treatment);
            events = [events[0].saturating_add(m.events[0]), events[1].saturating_add(m.events[1])];
            looks += 1;
            let (c, t) = ((&control, events[0]), (&treatment, events[1]));
            let decision = g
                .observe(&arm(c, &input.metrics, &thresholds), &arm(t, &input.metrics, &thresholds))
                .map_err(|e| ApiError::Internal(format!("guard input: {e}")))?;
            if let Some(trip) = TripStats::of(decision) {
                let stats = stats_of(input, (index, looks), (&control, &treatment), g.p_values());
                return Ok(Verdict::Trip(GuardTrip { stats, trip }));
            }
        }
        last = (control, treatment, looks);
    }
    let p_values = guard.as_ref().map(Guard::p_values).unwrap_or_default();
    let (control, treatment, looks) = last;
    let mut stats = stats_of(input, (current, looks), (&control, &treatment), p_values);
    stats.waiting_for = waiting_for(input, &thresholds, &control, &treatment, guard.is_some());
    Ok(if stats.waiting_for.is_empty() { Verdict::Continue(stats) } else { Verdict::Wait(stats) })
}

fn stats_of(input: &GuardInput, at: (usize, u32), arms: (&VariantCounts, &VariantCounts), p: Vec<f64>) -> GuardStats {
    let names = input.metrics.iter().map(GuardMetric::name).zip(p);
    GuardStats::new(at, (&input.control, arms.0), (&input.treatment, arms.1), names)
}

/// The metric the crate tests (its defaults: effect 0.5, 1,000 samples).
fn spec(metric: &GuardMetric) -> MetricSpec {
    match metric {
        GuardMetric::ErrorRate => MetricSpec::error_rate("error_rate"),
        GuardMetric::LatencyP95 { .. } => MetricSpec::latency_exceedance("latency_p95"),
        GuardMetric::LatencyMean => MetricSpec::latency_mean("latency_mean"),
        GuardMetric::Event { lower_is_worse, .. } => {
            let direction = if *lower_is_worse { Direction::LowerIsWorse } else { Direction::HigherIsWorse };
            MetricSpec::event_rate("event", direction)
        }
    }
}

/// Per metric, the latency threshold (for `latency_p95`): given, or the
/// control's p95 bucket bound in the hour before the plan (`None` without
/// [`MIN_BASELINE_REQUESTS`] there: that metric gives no verdict).
async fn thresholds(store: &DynStore, input: &GuardInput, start: DateTime<Utc>) -> OpResult<Vec<Option<f64>>> {
    let mut baseline: Option<Option<f64>> = None;
    let mut out = Vec::with_capacity(input.metrics.len());
    for metric in &input.metrics {
        out.push(match metric {
            GuardMetric::LatencyP95 { threshold_ms: Some(ms) } if ms.is_finite() && *ms >= 0.0 => Some(*ms),
            GuardMetric::LatencyP95 { threshold_ms: Some(_) } => {
                return Err(ApiError::invalid("metrics", "invalid", "threshold_ms: a finite number of ms"));
            }
            GuardMetric::LatencyP95 { threshold_ms: None } => match baseline {
                Some(b) => b,
                None => *baseline.insert(control_p95(store, input, start).await?),
            },
            _ => None,
        });
    }
    Ok(out)
}

async fn control_p95(store: &DynStore, input: &GuardInput, start: DateTime<Utc>) -> OpResult<Option<f64>> {
    let to = start.timestamp().div_euclid(60);
    let from = to - BASELINE_MINUTES;
    let rows = store.telemetry_series(input.environment_id, &input.flag, from, to, BASELINE_MINUTES).await?;
    let mut total = VariantCounts::default();
    rows.iter().filter(|r| r.variant == input.control).for_each(|r| total.add(&r.counts));
    if total.requests < MIN_BASELINE_REQUESTS {
        return Ok(None);
    }
    Ok(Some(super::telemetry_series::Stats::of(&total).latency_p95_ms.unwrap_or(f64::INFINITY)))
}

/// One minute of a stage: each arm's counts and its custom events (of the
/// guarded event; control, treatment).
#[derive(Debug, Default)]
struct Minute {
    control: VariantCounts,
    treatment: VariantCounts,
    events: [u64; 2],
}

/// The stage's minutes with data.
async fn read_stage(
    store: &DynStore,
    input: &GuardInput,
    stage: &StageWindow,
    now: DateTime<Utc>,
) -> OpResult<BTreeMap<i64, Minute>> {
    let from = (stage.started.timestamp() + 59).div_euclid(60);
    let to = match stage.ended {
        Some(end) => end.timestamp().div_euclid(60),
        None => now.timestamp().div_euclid(60) + 1,
    };
    let mut minutes: BTreeMap<i64, Minute> = BTreeMap::new();
    if to <= from {
        return Ok(minutes);
    }
    for row in store.telemetry_series(input.environment_id, &input.flag, from, to, 1).await? {
        let slot = minutes.entry(row.step).or_default();
        if row.variant == input.control {
            slot.control.add(&row.counts);
        } else if row.variant == input.treatment {
            slot.treatment.add(&row.counts);
        }
    }
    let guarded = input.metrics.iter().find_map(|m| match m {
        GuardMetric::Event { event, .. } => Some(event.as_str()),
        _ => None,
    });
    if let Some(event) = guarded {
        for (minute, e) in store.telemetry_event_minutes(input.environment_id, &input.flag, event, from, to).await? {
            // Events count only in minutes with evaluations (their exposures).
            if let Some(slot) = minutes.get_mut(&(minute - from)) {
                let side = if e.variant == input.control {
                    0
                } else if e.variant == input.treatment {
                    1
                } else {
                    continue;
                };
                slot.events[side] = slot.events[side].saturating_add(e.count);
            }
        }
    }
    Ok(minutes)
}

/// An arm's cumulative report: exposures = evaluations; per metric its
/// totals (`events`: the guarded custom event's count).
fn arm((c, events): (&VariantCounts, u64), metrics: &[GuardMetric], thresholds: &[Option<f64>]) -> Arm {
    let totals = metrics.iter().zip(thresholds).map(|(metric, threshold)| match (metric, threshold) {
        (GuardMetric::ErrorRate, _) => Totals::bernoulli(c.requests, c.errors),
        (GuardMetric::LatencyP95 { .. }, Some(ms)) => Totals::bernoulli(c.requests, slower_than(c, *ms)),
        (GuardMetric::LatencyP95 { .. }, None) => Totals::default(),
        (GuardMetric::LatencyMean, _) => Totals::moments(c.requests, c.latency_ms_sum, c.latency_ms_sum_sq),
        (GuardMetric::Event { .. }, _) => Totals::poisson(c.evaluations, events),
    });
    Arm::new(c.evaluations, totals.collect())
}

/// Requests in the buckets that start at or above `ms` (surely slower).
fn slower_than(c: &VariantCounts, ms: f64) -> u64 {
    let lower = |i: usize| if i == 0 { 0.0 } else { LATENCY_BOUNDS_MS[i - 1] };
    c.buckets.iter().enumerate().filter(|(i, _)| lower(*i) >= ms).map(|(_, n)| *n).sum()
}

/// What the current stage still lacks before it may advance (empty: nothing).
fn waiting_for(
    input: &GuardInput,
    thresholds: &[Option<f64>],
    control: &VariantCounts,
    treatment: &VariantCounts,
    guarded: bool,
) -> Vec<String> {
    if !guarded || !input.stages.last().is_some_and(|s| s.treatment_percent > 0.0 && s.treatment_percent < 100.0) {
        return Vec::new();
    }
    let mut lacking = Vec::new();
    let (units, unit) = match input.metrics.is_empty() {
        true => (control.evaluations.min(treatment.evaluations), "exposures"),
        false => (control.requests.min(treatment.requests), "requests"),
    };
    if units < input.min_sample {
        lacking.push(format!("{} {unit} per variant", input.min_sample));
    }
    let needed = MetricSpec::error_rate("").min_samples;
    for (metric, threshold) in input.metrics.iter().zip(thresholds) {
        let (have, unit) = match metric {
            GuardMetric::Event { .. } => (control.evaluations.min(treatment.evaluations), "exposures"),
            _ => (control.requests.min(treatment.requests), "requests"),
        };
        if matches!(metric, GuardMetric::LatencyP95 { .. }) && threshold.is_none() {
            lacking.push(format!("latency_p95: {MIN_BASELINE_REQUESTS} control requests before the plan"));
        } else if have < needed {
            lacking.push(format!("{}: {needed} {unit} per variant", metric.name()));
        }
    }
    lacking
}

#[cfg(test)]
mod tests {
    use super::{VariantCounts, slower_than};

    #[test]
    fn slower_counts_only_buckets_starting_at_or_above_the_threshold() {
        let mut c = VariantCounts::default();
        c.buckets[7] = 10; // (100, 200] ms
        c.buckets[8] = 4; // (200, 300] ms
        c.buckets[14] = 1; // > 10 s
        assert_eq!(slower_than(&c, 200.0), 5);
        assert_eq!(slower_than(&c, 250.0), 1, "a bucket straddling the threshold is not surely slower");
        assert_eq!(slower_than(&c, 100.0), 15);
    }
}
