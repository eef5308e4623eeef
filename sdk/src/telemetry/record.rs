//! The outcome API's types and aggregates: request outcomes per (flag,
//! variant), custom events per name and per (flag, variant, name), bounded
//! in distinct keys.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::RequestScope;
use super::batch::{EventCount, LATENCY_BUCKETS_MS, OutcomeCount, VariantEventCount};

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

/// What [`crate::Client::record`] attributes an outcome to: one exposure,
/// the variant of a flag served in the current request scope, or every
/// variant a scope was served. Made by `From`: pass an [`Exposure`], a
/// flag key or a `&RequestScope`.
///
/// ```
/// use switchyard::telemetry::{Attribution, Exposure};
/// assert!(matches!(Attribution::from("new-checkout"), Attribution::Flag("new-checkout")));
/// assert!(matches!(Attribution::from(Exposure::new("f", "on")), Attribution::Exposure(_)));
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Attribution<'a> {
    /// This variant of this flag.
    Exposure(Exposure<'a>),
    /// The variant(s) of this flag served in the calling task's current
    /// [`RequestScope`] (nothing outside a scope, or if the scope did not
    /// evaluate the flag).
    Flag(&'a str),
    /// Every variant this scope was served.
    Scope(&'a RequestScope),
}

impl<'a> From<Exposure<'a>> for Attribution<'a> {
    fn from(e: Exposure<'a>) -> Self {
        Attribution::Exposure(e)
    }
}

impl<'a> From<&'a str> for Attribution<'a> {
    fn from(flag: &'a str) -> Self {
        Attribution::Flag(flag)
    }
}

impl<'a> From<&'a String> for Attribution<'a> {
    fn from(flag: &'a String) -> Self {
        Attribution::Flag(flag)
    }
}

impl<'a> From<&'a RequestScope> for Attribution<'a> {
    fn from(scope: &'a RequestScope) -> Self {
        Attribution::Scope(scope)
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
    /// (Flag, variant) -> event -> aggregate: events tracked in scopes.
    variant_events: HashMap<(Arc<str>, Arc<str>), HashMap<String, EventAgg>>,
    /// Distinct (flag, variant, event) keys in `variant_events`.
    variant_event_keys: usize,
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

    /// Adds an event tracked in a request served `variant` of `flag`;
    /// `false` when `max_keys` distinct keys are held (the value was
    /// checked by [`Aggregates::track`]).
    pub(crate) fn track_variant(
        &mut self,
        (flag, variant): &(Arc<str>, Arc<str>),
        event: &str,
        value: f64,
        max_keys: usize,
    ) -> bool {
        let key = (flag.clone(), variant.clone());
        let known = self.variant_events.get(&key).is_some_and(|e| e.contains_key(event));
        if !known {
            if self.variant_event_keys >= max_keys {
                return false;
            }
            self.variant_event_keys += 1;
        }
        let agg = self.variant_events.entry(key).or_default().entry(event.to_owned()).or_default();
        agg.count += 1;
        agg.sum += value;
        true
    }

    /// The wire form of the scoped events, sorted by key.
    fn variant_events_wire(
        variant_events: HashMap<(Arc<str>, Arc<str>), HashMap<String, EventAgg>>,
    ) -> Vec<VariantEventCount> {
        let mut out: Vec<VariantEventCount> = variant_events
            .into_iter()
            .flat_map(|((flag, variant), events)| {
                events.into_iter().map(move |(event, a)| VariantEventCount {
                    flag: flag.to_string(),
                    variant: variant.to_string(),
                    event,
                    count: a.count,
                    value_sum: a.sum,
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.flag, &a.variant, &a.event).cmp(&(&b.flag, &b.variant, &b.event)));
        out
    }

    /// The wire form, sorted by key: outcomes, events, scoped events.
    pub(crate) fn into_wire(self) -> (Vec<OutcomeCount>, Vec<EventCount>, Vec<VariantEventCount>) {
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
        (outcomes, events, Self::variant_events_wire(self.variant_events))
    }
}
