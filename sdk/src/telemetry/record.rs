//! The outcome API's types and aggregates: request outcomes per (flag,
//! variant) and custom events per name, bounded in distinct keys.

use std::collections::HashMap;
use std::time::Duration;

use super::batch::{EventCount, LATENCY_BUCKETS_MS, OutcomeCount};

/// Which variant of which flag a request was served: the unit outcomes are
/// attributed to.
///
/// ```
/// use switchyard::telemetry::Exposure;
/// let exposure = Exposure::new("new-checkout", "on");
/// assert_eq!((exposure.flag, exposure.variant), ("new-checkout", "on"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exposure<'a> {
    /// Flag key.
    pub flag: &'a str,
    /// Variant key (as in [`crate::Detail::variant`]).
    pub variant: &'a str,
}

impl<'a> Exposure<'a> {
    /// The exposure of `flag`'s `variant`.
    pub fn new(flag: &'a str, variant: &'a str) -> Self {
        Exposure { flag, variant }
    }

    /// The exposure a detail reports for `flag`, `None` when it served the
    /// caller's default (no variant).
    pub fn of<T>(flag: &'a str, detail: &'a crate::Detail<T>) -> Option<Self> {
        detail.variant.as_deref().map(|variant| Exposure { flag, variant })
    }
}

/// How one request went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Whether it failed (5xx, an exception, a timeout: the caller decides).
    pub error: bool,
    /// How long it took.
    pub latency: Duration,
}

impl Outcome {
    /// A request that succeeded in `latency`.
    pub fn ok(latency: Duration) -> Self {
        Outcome { error: false, latency }
    }

    /// A request that failed after `latency`.
    pub fn failed(latency: Duration) -> Self {
        Outcome { error: true, latency }
    }
}

#[derive(Debug, Clone, Default)]
struct OutcomeAgg {
    requests: u64,
    errors: u64,
    sum: f64,
    sum_sq: f64,
    buckets: [u64; LATENCY_BUCKETS_MS.len() + 1],
}

#[derive(Debug, Clone, Default)]
struct EventAgg {
    count: u64,
    sum: f64,
}

/// One window's outcomes and events.
#[derive(Debug, Default)]
pub(crate) struct Aggregates {
    /// Flag -> variant -> aggregate (two levels, so that a known key is
    /// found by borrowed strings, without allocating).
    outcomes: HashMap<String, HashMap<String, OutcomeAgg>>,
    /// Distinct (flag, variant) keys in `outcomes`.
    outcome_keys: usize,
    events: HashMap<String, EventAgg>,
}

impl Aggregates {
    /// Adds an outcome; `false` (not recorded) when `max_keys` distinct
    /// exposures are already held.
    pub(crate) fn record(&mut self, e: Exposure<'_>, o: Outcome, max_keys: usize) -> bool {
        let known = self.outcomes.get(e.flag).is_some_and(|v| v.contains_key(e.variant));
        if !known {
            if self.outcome_keys >= max_keys {
                return false;
            }
            self.outcome_keys += 1;
            let variants = self.outcomes.entry(e.flag.to_owned()).or_default();
            variants.insert(e.variant.to_owned(), OutcomeAgg::default());
        }
        let Some(agg) = self.outcomes.get_mut(e.flag).and_then(|v| v.get_mut(e.variant)) else {
            return false;
        };
        let ms = o.latency.as_secs_f64() * 1e3;
        agg.requests += 1;
        agg.errors += u64::from(o.error);
        agg.sum += ms;
        agg.sum_sq += ms * ms;
        let bucket = LATENCY_BUCKETS_MS.iter().position(|&b| ms <= b).unwrap_or(LATENCY_BUCKETS_MS.len());
        agg.buckets[bucket] += 1;
        true
    }

    /// Adds an event; `false` when `max_keys` distinct names are held or
    /// the value is not finite.
    pub(crate) fn track(&mut self, event: &str, value: f64, max_keys: usize) -> bool {
        if !value.is_finite() {
            return false;
        }
        if !self.events.contains_key(event) {
            if self.events.len() >= max_keys {
                return false;
            }
            self.events.insert(event.to_owned(), EventAgg::default());
        }
        let Some(agg) = self.events.get_mut(event) else { return false };
        agg.count += 1;
        agg.sum += value;
        true
    }

    /// The wire form, sorted by key.
    pub(crate) fn into_wire(self) -> (Vec<OutcomeCount>, Vec<EventCount>) {
        let mut outcomes: Vec<OutcomeCount> = self
            .outcomes
            .into_iter()
            .flat_map(|(flag, variants)| variants.into_iter().map(move |(variant, a)| (flag.clone(), variant, a)))
            .map(|(flag, variant, a)| OutcomeCount {
                flag,
                variant,
                requests: a.requests,
                errors: a.errors,
                latency_ms_sum: a.sum,
                latency_ms_sum_sq: a.sum_sq,
                latency_ms_buckets: a.buckets.to_vec(),
            })
            .collect();
        outcomes.sort_by(|a, b| (&a.flag, &a.variant).cmp(&(&b.flag, &b.variant)));
        let mut events: Vec<EventCount> =
            self.events.into_iter().map(|(event, a)| EventCount { event, count: a.count, value_sum: a.sum }).collect();
        events.sort_by(|a, b| a.event.cmp(&b.event));
        (outcomes, events)
    }
}
