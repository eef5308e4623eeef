//! Guard metrics: what is measured on each arm, and when the treatment
//! counts as worse than the control.
//!
//! Every metric reduces to a mean per unit: an error *rate* is the mean of a
//! 0/1 outcome per request (Bernoulli), a latency is the mean of a duration,
//! a custom event *rate* is events per exposure (Poisson). The guard only
//! needs each arm's cumulative [`Totals`] (count, sum and, for means, sum of
//! squares), which is exactly what SDK telemetry aggregates per minute.

/// How a metric's values are distributed, which fixes how its variance is
/// estimated from the [`Totals`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A 0/1 outcome per unit (a failed request): variance `p(1 - p)`.
    Bernoulli,
    /// Counts of events per exposure (a custom event): variance = mean.
    Poisson,
    /// A real value per unit (a latency): variance from the sum of squares.
    Mean,
}

/// Which way is worse for the treatment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Errors, latency: the treatment is worse when its mean is higher.
    HigherIsWorse,
    /// Conversions, successful checkouts: worse when its mean is lower.
    LowerIsWorse,
}

/// How much worse the treatment may be before the guard should trip. The
/// null hypothesis is "worse by at most this much": with `HigherIsWorse`,
/// `μ_T ≤ (1 + relative)·μ_C + absolute`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Allowed excess in the metric's own unit (e.g. 0.001 = 0.1 percentage
    /// point of error rate, or 5.0 = 5 ms of latency).
    pub absolute: f64,
    /// Allowed excess as a fraction of the control's mean (0.1 = 10 %).
    pub relative: f64,
}

impl Tolerance {
    /// No tolerance: any evidence that the treatment is worse trips.
    pub const NONE: Tolerance = Tolerance { absolute: 0.0, relative: 0.0 };
}

/// One guard metric.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSpec {
    /// Name shown in decisions and audit entries ("errors", "latency_ms").
    pub name: String,
    /// Distribution family (fixes the variance estimate).
    pub kind: Kind,
    /// Which way is worse.
    pub direction: Direction,
    /// How much worse is still acceptable.
    pub tolerance: Tolerance,
    /// Scale of the mixing distribution, as a fraction of the metric's
    /// level (pooled over both arms): the size of effect the test is most sensitive to (0.5 = the
    /// treatment 50 % worse). Any value is valid; a good one detects the
    /// effects that matter sooner. Default 0.5.
    pub effect: f64,
    /// Looks before both arms have this many units give no verdict for
    /// this metric (the variance estimate needs data). Default 1,000.
    pub min_samples: u64,
}

impl MetricSpec {
    /// A metric with the defaults (no tolerance, effect 0.5, 1,000 samples).
    pub fn new(name: impl Into<String>, kind: Kind, direction: Direction) -> Self {
        MetricSpec { name: name.into(), kind, direction, tolerance: Tolerance::NONE, effect: 0.5, min_samples: 1_000 }
    }

    /// An error rate (Bernoulli, higher is worse).
    pub fn error_rate(name: impl Into<String>) -> Self {
        Self::new(name, Kind::Bernoulli, Direction::HigherIsWorse)
    }

    /// A mean latency (higher is worse).
    pub fn latency_mean(name: impl Into<String>) -> Self {
        Self::new(name, Kind::Mean, Direction::HigherIsWorse)
    }

    /// The share of requests slower than a fixed threshold, typically the
    /// control's p95 measured before the plan started (Bernoulli, higher is
    /// worse): a test on the p95 that needs no quantile estimate.
    pub fn latency_exceedance(name: impl Into<String>) -> Self {
        Self::new(name, Kind::Bernoulli, Direction::HigherIsWorse)
    }

    /// A custom event counted per exposure (Poisson).
    pub fn event_rate(name: impl Into<String>, direction: Direction) -> Self {
        Self::new(name, Kind::Poisson, direction)
    }

    /// Sets the tolerance.
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Tolerance) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Sets the effect the test is tuned for (fraction of the control mean).
    #[must_use]
    pub fn with_effect(mut self, effect: f64) -> Self {
        self.effect = effect;
        self
    }

    /// Sets the minimum number of units per arm before a verdict.
    #[must_use]
    pub fn with_min_samples(mut self, min_samples: u64) -> Self {
        self.min_samples = min_samples;
        self
    }

    /// The coefficient `c` in the null `μ_T ≤ c·μ_C + absolute` (for
    /// `HigherIsWorse`) or `μ_T ≥ c·μ_C - absolute` (for `LowerIsWorse`).
    fn control_factor(&self) -> f64 {
        match self.direction {
            Direction::HigherIsWorse => 1.0 + self.tolerance.relative,
            Direction::LowerIsWorse => 1.0 - self.tolerance.relative,
        }
    }

    /// The estimated excess `θ̂` (positive = worse than tolerated), its
    /// variance, and the mixture scale, or `None` while either arm has fewer
    /// than `min_samples` units.
    pub(crate) fn contrast(&self, control: &Totals, treatment: &Totals) -> Option<Contrast> {
        if control.n < self.min_samples.max(2) || treatment.n < self.min_samples.max(2) {
            return None;
        }
        let c = self.control_factor();
        let (mc, mt) = (control.mean(), treatment.mean());
        let excess = match self.direction {
            Direction::HigherIsWorse => mt - c * mc - self.tolerance.absolute,
            Direction::LowerIsWorse => c * mc - mt - self.tolerance.absolute,
        };
        let variance =
            self.variance(treatment) / treatment.n as f64 + c * c * self.variance(control) / control.n as f64;
        // The mixing scale is relative to the metric's level, so that one
        // default suits a 0.1 % error rate and a 300 ms latency alike. The
        // level is pooled over both arms: under the null it estimates the
        // common level whichever arm is which, and a control that has not
        // failed yet does not shrink the scale to nothing.
        let tau = self.effect * self.level(control, treatment);
        Some(Contrast { excess, variance: variance.max(f64::MIN_POSITIVE), tau })
    }

    /// Per-unit variance of one arm, kept away from zero: with no errors yet
    /// a plug-in `p(1 - p)` would be 0 and any single error infinitely
    /// significant, so half an event is added (as in the Agresti–Coull and
    /// Jeffreys intervals).
    fn variance(&self, t: &Totals) -> f64 {
        let n = t.n as f64;
        match self.kind {
            Kind::Bernoulli => {
                let p = (t.sum + 0.5) / (n + 1.0);
                p * (1.0 - p)
            }
            Kind::Poisson => (t.sum + 0.5) / n,
            Kind::Mean => {
                let mean = t.sum / n;
                let var = (t.sum_sq - mean * t.sum) / (n - 1.0);
                // A constant metric still has some noise at the unit of
                // its resolution: floor at 1e-6 of the squared mean.
                var.max(1e-6 * mean * mean).max(f64::MIN_POSITIVE)
            }
        }
    }

    /// The pooled level of both arms, as used to scale the mixture.
    fn level(&self, control: &Totals, treatment: &Totals) -> f64 {
        let n = (control.n + treatment.n) as f64;
        let sum = control.sum + treatment.sum;
        let level = match self.kind {
            Kind::Bernoulli | Kind::Poisson => (sum + 0.5) / (n + 1.0),
            Kind::Mean => (sum / n).abs(),
        };
        level.max(f64::MIN_POSITIVE)
    }
}

/// The excess of the treatment over the tolerated level, with its variance.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Contrast {
    pub excess: f64,
    pub variance: f64,
    pub tau: f64,
}

/// Cumulative totals of one metric on one arm, since the stage began.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Totals {
    /// Units observed (requests with an outcome, exposures).
    pub n: u64,
    /// Sum of the values (errors, events, milliseconds).
    pub sum: f64,
    /// Sum of the squared values (used by [`Kind::Mean`] only).
    pub sum_sq: f64,
}

impl Totals {
    /// `failures` out of `trials` (an error rate).
    pub fn bernoulli(trials: u64, failures: u64) -> Self {
        let f = failures as f64;
        Totals { n: trials, sum: f, sum_sq: f }
    }

    /// `events` over `exposures` (a custom event rate).
    pub fn poisson(exposures: u64, events: u64) -> Self {
        Totals { n: exposures, sum: events as f64, sum_sq: 0.0 }
    }

    /// `n` values with their sum and sum of squares (a latency).
    pub fn moments(n: u64, sum: f64, sum_sq: f64) -> Self {
        Totals { n, sum, sum_sq }
    }

    /// The observed mean (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.n == 0 { 0.0 } else { self.sum / self.n as f64 }
    }

    /// Whether the totals are finite and `self` does not go back from
    /// `earlier` (cumulative counts only grow).
    pub(crate) fn follows(&self, earlier: &Totals) -> bool {
        self.sum.is_finite() && self.sum_sq.is_finite() && self.sum >= 0.0 && self.n >= earlier.n
    }
}
