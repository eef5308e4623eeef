//! SDK telemetry out: one flag's per-variant series in one environment
//! (evaluations, requests, errors, error rate, latency p95 from the
//! histogram buckets) and totals, for the UI and the release guard.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::error::ApiError;
use crate::ops::OpResult;
use crate::store::{DynStore, LATENCY_BOUNDS_MS, VariantCounts, VariantEvents};

/// Most points per series.
pub const MAX_POINTS: i64 = 1_440;

/// What to read: `[from, to)` in steps of `step_seconds` (a multiple of 60).
#[derive(Debug, Clone, Copy)]
pub struct SeriesQuery {
    /// Start (inclusive; rounded down to the minute).
    pub from: DateTime<Utc>,
    /// End (exclusive; rounded up to the minute).
    pub to: DateTime<Utc>,
    /// Step, seconds.
    pub step_seconds: i64,
}

/// One flag's telemetry in one environment.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Point {
    /// Start of the step.
    pub at: DateTime<Utc>,
    /// The step's figures.
    #[serde(flatten)]
    pub stats: Stats,
}

/// Figures over a span of time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
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

impl Stats {
    /// The figures of summed counts.
    pub fn of(c: &VariantCounts) -> Stats {
        let requests = c.requests as f64;
        let any = c.requests > 0;
        Stats {
            evaluations: c.evaluations,
            requests: c.requests,
            errors: c.errors,
            error_rate: any.then(|| c.errors as f64 / requests),
            latency_mean_ms: any.then(|| c.latency_ms_sum / requests),
            latency_p95_ms: any.then(|| p95_bound(&c.buckets, c.requests)),
        }
    }
}

/// The upper bound of the bucket where the cumulative count reaches 95 %.
fn p95_bound(buckets: &[u64], requests: u64) -> f64 {
    // ceil(0.95 × n) in integers: the rank of the 95th percentile.
    let rank = (requests.saturating_mul(95)).div_ceil(100).max(1);
    let mut seen = 0u64;
    for (i, b) in buckets.iter().enumerate() {
        seen = seen.saturating_add(*b);
        if seen >= rank {
            return LATENCY_BOUNDS_MS.get(i).copied().unwrap_or(LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.len() - 1]);
        }
    }
    LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.len() - 1]
}

/// Reads `flag`'s series in `env` of `project` (404 for an unknown project,
/// environment or flag; 400 `invalid_range` / `too_many_points`).
#[tracing::instrument(skip(store, q), fields(project, env, flag))]
pub async fn series(store: &DynStore, project: &str, env: &str, flag: &str, q: SeriesQuery) -> OpResult<FlagTelemetry> {
    let environment = store.get_environment(project, env).await?;
    store.get_flag(project, flag).await?;
    if q.step_seconds < 60 || q.step_seconds % 60 != 0 {
        return Err(ApiError::bad_query(
            "step",
            "invalid_step",
            "step: a whole number of minutes, in seconds (60, 300, …)",
        ));
    }
    let step = q.step_seconds / 60;
    let from = q.from.timestamp().div_euclid(60);
    let to = (q.to.timestamp() + 59).div_euclid(60);
    if to <= from {
        return Err(ApiError::bad_query("from", "invalid_range", "from must be before to"));
    }
    let steps = (to - from + step - 1) / step;
    if steps > MAX_POINTS {
        return Err(ApiError::bad_query("step", "too_many_points", format!("at most {MAX_POINTS} steps: widen step")));
    }
    let rows = store.telemetry_series(environment.id, flag, from, from + steps * step, step).await?;
    let at = |i: i64| minute_time(from + i * step);
    let mut variants: Vec<(String, Vec<VariantCounts>)> = Vec::new();
    for row in rows {
        if variants.last().is_none_or(|(v, _)| *v != row.variant) {
            variants.push((row.variant.clone(), vec![VariantCounts::default(); steps as usize]));
        }
        if let (Some((_, points)), Ok(i)) = (variants.last_mut(), usize::try_from(row.step))
            && let Some(slot) = points.get_mut(i)
        {
            slot.add(&row.counts);
        }
    }
    let mut events = store.telemetry_variant_events(environment.id, flag, from, from + steps * step).await?;
    for e in &events {
        if !variants.iter().any(|(v, _)| *v == e.variant) {
            variants.push((e.variant.clone(), vec![VariantCounts::default(); steps as usize]));
        }
    }
    variants.sort_by(|a, b| a.0.cmp(&b.0));
    let mut all = VariantCounts::default();
    let variants = variants
        .into_iter()
        .map(|(variant, counts)| {
            let mut total = VariantCounts::default();
            counts.iter().for_each(|c| total.add(c));
            all.add(&total);
            let points = counts.iter().enumerate().map(|(i, c)| Point { at: at(i as i64), stats: Stats::of(c) });
            let mine = take_events(&mut events, &variant);
            VariantSeries { variant, points: points.collect(), totals: Stats::of(&total), events: mine }
        })
        .collect();
    Ok(FlagTelemetry {
        environment: environment.key,
        flag: flag.to_string(),
        from: minute_time(from),
        to: minute_time(from + steps * step),
        step_seconds: q.step_seconds,
        variants,
        totals: Stats::of(&all),
    })
}

/// Takes `variant`'s events out of `events`, as totals.
fn take_events(events: &mut Vec<VariantEvents>, variant: &str) -> Vec<EventTotals> {
    let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(events).into_iter().partition(|e| e.variant == variant);
    *events = rest;
    mine.into_iter()
        .map(|e| EventTotals {
            value_mean: (e.count > 0).then(|| e.value_sum / e.count as f64),
            event: e.event,
            count: e.count,
            value_sum: e.value_sum,
        })
        .collect()
}

fn minute_time(minute: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + Duration::minutes(minute)
}

/// How often the retention prune runs.
pub const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Deletes telemetry older than `retention_days` now, then every
/// [`PRUNE_EVERY`], until `stop` is cancelled (shutdown).
pub async fn prune_loop(store: DynStore, retention_days: u32, stop: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(PRUNE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let before = Utc::now() - Duration::days(i64::from(retention_days));
        match store.prune_telemetry(before).await {
            Ok(gone) if gone > 0 => tracing::info!(gone, %before, "telemetry older than the retention pruned"),
            Ok(_) => {}
            Err(err) => tracing::warn!(%err, "telemetry prune failed; retried at the next interval"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::p95_bound;

    #[test]
    fn p95_is_the_bound_of_the_bucket_reaching_95_percent() {
        let mut b = [0u64; 15];
        b[2] = 95;
        b[6] = 5;
        assert_eq!(p95_bound(&b, 100), 5.0);
        b[2] = 94;
        b[6] = 6;
        assert_eq!(p95_bound(&b, 100), 100.0);
        let mut slow = [0u64; 15];
        slow[14] = 1;
        assert_eq!(p95_bound(&slow, 1), 10_000.0);
    }
}
