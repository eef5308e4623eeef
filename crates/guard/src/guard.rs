//! [`Guard`]: one release plan's sequential tests, fed cumulative counts
//! after every telemetry flush and answering each look with a [`Decision`].
//!
//! The error budget `alpha` is the probability, under "the treatment is no
//! worse than tolerated on every metric and the split is as planned", that
//! the guard ever trips during the whole plan, however often it is looked
//! at. It is split by Bonferroni: `srm_alpha` for the sample-ratio check and
//! `(alpha - srm_alpha) / m` for each of the `m` metrics.

use crate::metric::{MetricSpec, Totals};
use crate::msprt::Evidence;
use crate::srm;

/// A guard's configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct GuardConfig {
    /// The guard metrics, in the order the arms report their [`Totals`].
    pub metrics: Vec<MetricSpec>,
    /// Family-wise probability of a false trip over the whole plan
    /// (default 0.05).
    pub alpha: f64,
    /// The part of `alpha` spent on the sample-ratio check (default 0.001;
    /// 0 turns the check off).
    pub srm_alpha: f64,
    /// Concentration of the sample-ratio check's Dirichlet mixture.
    pub srm_concentration: f64,
}

impl GuardConfig {
    /// The defaults for these metrics: alpha 0.05, of which 0.001 for SRM.
    pub fn new(metrics: Vec<MetricSpec>) -> Self {
        GuardConfig { metrics, alpha: 0.05, srm_alpha: 0.001, srm_concentration: srm::DEFAULT_CONCENTRATION }
    }

    /// Sets `alpha`.
    #[must_use]
    pub fn with_alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// Sets `srm_alpha`.
    #[must_use]
    pub fn with_srm_alpha(mut self, srm_alpha: f64) -> Self {
        self.srm_alpha = srm_alpha;
        self
    }

    fn check(&self) -> Result<(), GuardError> {
        let bad = |why: &str| Err(GuardError::InvalidConfig(why.to_string()));
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return bad("alpha must be in (0, 1)");
        }
        if !(self.srm_alpha >= 0.0 && self.srm_alpha < self.alpha) {
            return bad("srm_alpha must be in [0, alpha)");
        }
        if !(self.srm_concentration > 0.0 && self.srm_concentration.is_finite()) {
            return bad("srm_concentration must be positive");
        }
        for m in &self.metrics {
            let t = m.tolerance;
            if !(m.effect > 0.0 && m.effect.is_finite()) {
                return bad("effect must be positive");
            }
            if !(t.absolute >= 0.0 && t.relative >= 0.0 && t.absolute.is_finite() && t.relative < 1e6) {
                return bad("tolerances must be finite and non-negative");
            }
        }
        Ok(())
    }
}

/// What one arm (control or treatment) reports: cumulative since the
/// current stage began.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Arm {
    /// Units assigned to this arm (the sample-ratio check's counts).
    pub exposures: u64,
    /// One [`Totals`] per configured metric, in the configuration's order.
    pub metrics: Vec<Totals>,
}

impl Arm {
    /// An arm's report.
    pub fn new(exposures: u64, metrics: Vec<Totals>) -> Self {
        Arm { exposures, metrics }
    }
}

/// The answer to one look.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// No metric has enough evidence that the treatment is worse.
    Continue,
    /// A metric shows the treatment worse than tolerated: roll back.
    Trip(Trip),
    /// The assignment counts do not fit the planned split: the comparison
    /// itself cannot be trusted (a bucketing bug, or telemetry lost on one
    /// arm). Stop the plan and ask a human.
    SrmTrip(SrmTrip),
}

/// The statistics behind a metric trip, for the audit entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Trip {
    /// The metric's name.
    pub metric: String,
    /// The pooled z statistic of the excess over the tolerance.
    pub z: f64,
    /// `ln Λ`, the log of the mixture likelihood ratio that tripped.
    pub ln_evidence: f64,
    /// The always-valid p-value `min(1, 1/Λ)`, to compare with this
    /// metric's share of alpha.
    pub p_value: f64,
    /// This metric's share of alpha.
    pub alpha: f64,
    /// Control mean in the current stage (error rate, ms, events/exposure).
    pub control_mean: f64,
    /// Treatment mean in the current stage.
    pub treatment_mean: f64,
    /// Control units in the current stage.
    pub control_n: u64,
    /// Treatment units in the current stage.
    pub treatment_n: u64,
}

/// The statistics behind a sample-ratio trip.
#[derive(Clone, Debug, PartialEq)]
pub struct SrmTrip {
    /// The planned share of the treatment in the current stage.
    pub expected_share: f64,
    /// The observed share.
    pub observed_share: f64,
    /// Control exposures in the current stage.
    pub control: u64,
    /// Treatment exposures in the current stage.
    pub treatment: u64,
    /// `ln BF` over the plan so far.
    pub ln_bayes_factor: f64,
    /// The always-valid p-value `min(1, 1/BF)`.
    pub p_value: f64,
}

/// Input a guard cannot use.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum GuardError {
    /// The configuration is out of range (the reason says which part).
    InvalidConfig(String),
    /// A treatment share outside (0, 1).
    InvalidShare(f64),
    /// An arm reported a different number of metrics than configured.
    MetricCount {
        /// Configured metrics.
        expected: usize,
        /// Reported totals.
        got: usize,
    },
    /// Cumulative counts went down, or a total is not finite or impossible
    /// (more failures than trials).
    InvalidTotals(String),
}

impl std::fmt::Display for GuardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuardError::InvalidConfig(why) => write!(f, "invalid guard configuration: {why}"),
            GuardError::InvalidShare(s) => write!(f, "treatment share {s} is not in (0, 1)"),
            GuardError::MetricCount { expected, got } => {
                write!(f, "expected totals for {expected} metrics, got {got}")
            }
            GuardError::InvalidTotals(what) => write!(f, "invalid totals: {what}"),
        }
    }
}

impl std::error::Error for GuardError {}

/// One plan's guard. Feed it with [`Guard::observe`] after every flush;
/// call [`Guard::next_stage`] when the plan changes its split. Once it has
/// tripped it keeps answering with the same decision.
#[derive(Clone, Debug)]
pub struct Guard {
    config: GuardConfig,
    share: f64,
    /// Per metric: evidence of the stages already finished.
    finished: Vec<Evidence>,
    /// Per metric: evidence of the current stage at the last look.
    current: Vec<Evidence>,
    /// Per metric: the mixture scale at the last look with data.
    tau: Vec<f64>,
    /// Per metric: the largest `ln Λ` seen (the running max is what makes
    /// the p-value always valid).
    max_ln: Vec<f64>,
    srm_finished: f64,
    srm_current: f64,
    srm_max: f64,
    last: (Arm, Arm),
    latched: Option<Decision>,
}

impl Guard {
    /// A guard for a plan whose first stage sends `treatment_share` of the
    /// traffic to the treatment (the rest is the control).
    pub fn new(config: GuardConfig, treatment_share: f64) -> Result<Self, GuardError> {
        config.check()?;
        check_share(treatment_share)?;
        let m = config.metrics.len();
        let empty = Arm::new(0, vec![Totals::default(); m]);
        Ok(Guard {
            finished: vec![Evidence::default(); m],
            current: vec![Evidence::default(); m],
            tau: vec![0.0; m],
            max_ln: vec![f64::NEG_INFINITY; m],
            srm_finished: 0.0,
            srm_current: 0.0,
            srm_max: f64::NEG_INFINITY,
            last: (empty.clone(), empty),
            latched: None,
            share: treatment_share,
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &GuardConfig {
        &self.config
    }

    /// Ends the current stage (its evidence is kept) and starts one with a
    /// new split; the next looks report counts since this call.
    pub fn next_stage(&mut self, treatment_share: f64) -> Result<(), GuardError> {
        check_share(treatment_share)?;
        for (f, c) in self.finished.iter_mut().zip(&mut self.current) {
            *f = f.plus(std::mem::take(c));
        }
        self.srm_finished += std::mem::take(&mut self.srm_current);
        let m = self.config.metrics.len();
        let empty = Arm::new(0, vec![Totals::default(); m]);
        self.last = (empty.clone(), empty);
        self.share = treatment_share;
        Ok(())
    }

    /// The always-valid p-value of each metric so far (1 before any data),
    /// for status pages.
    pub fn p_values(&self) -> Vec<f64> {
        self.max_ln.iter().map(|&ln| (-ln).exp().min(1.0)).collect()
    }

    /// One look at the cumulative counts of the current stage.
    pub fn observe(&mut self, control: &Arm, treatment: &Arm) -> Result<Decision, GuardError> {
        self.check_arms(control, treatment)?;
        if let Some(d) = &self.latched {
            return Ok(d.clone());
        }
        self.last = (control.clone(), treatment.clone());
        let decision = self.srm_look(control, treatment).or_else(|| self.metric_looks(control, treatment));
        self.latched = decision.clone();
        Ok(decision.unwrap_or(Decision::Continue))
    }

    fn srm_look(&mut self, control: &Arm, treatment: &Arm) -> Option<Decision> {
        if self.config.srm_alpha <= 0.0 {
            return None;
        }
        let counts = [treatment.exposures, control.exposures];
        let probs = [self.share, 1.0 - self.share];
        self.srm_current = srm::ln_bayes_factor(&counts, &probs, self.config.srm_concentration);
        let ln = self.srm_finished + self.srm_current;
        self.srm_max = self.srm_max.max(ln);
        if ln < -self.config.srm_alpha.ln() {
            return None;
        }
        let total = (treatment.exposures + control.exposures).max(1) as f64;
        Some(Decision::SrmTrip(SrmTrip {
            expected_share: self.share,
            observed_share: treatment.exposures as f64 / total,
            control: control.exposures,
            treatment: treatment.exposures,
            ln_bayes_factor: ln,
            p_value: (-ln).exp().min(1.0),
        }))
    }

    fn metric_looks(&mut self, control: &Arm, treatment: &Arm) -> Option<Decision> {
        let share = (self.config.alpha - self.config.srm_alpha) / self.config.metrics.len() as f64;
        let threshold = -share.ln();
        let mut worst: Option<Trip> = None;
        for (i, spec) in self.config.metrics.iter().enumerate() {
            let (c, t) = (&control.metrics[i], &treatment.metrics[i]);
            if let Some(contrast) = spec.contrast(c, t) {
                self.current[i] = Evidence::of(contrast.excess, contrast.variance);
                self.tau[i] = contrast.tau;
            }
            let evidence = self.finished[i].plus(self.current[i]);
            let ln = evidence.ln_mixture_ratio(self.tau[i]);
            self.max_ln[i] = self.max_ln[i].max(ln);
            if ln >= threshold && worst.as_ref().is_none_or(|w| ln > w.ln_evidence) {
                worst = Some(Trip {
                    metric: spec.name.clone(),
                    z: evidence.z(),
                    ln_evidence: ln,
                    p_value: (-ln).exp().min(1.0),
                    alpha: share,
                    control_mean: c.mean(),
                    treatment_mean: t.mean(),
                    control_n: c.n,
                    treatment_n: t.n,
                });
            }
        }
        worst.map(Decision::Trip)
    }

    fn check_arms(&self, control: &Arm, treatment: &Arm) -> Result<(), GuardError> {
        let m = self.config.metrics.len();
        for (arm, last) in [(control, &self.last.0), (treatment, &self.last.1)] {
            if arm.metrics.len() != m {
                return Err(GuardError::MetricCount { expected: m, got: arm.metrics.len() });
            }
            if arm.exposures < last.exposures {
                return Err(GuardError::InvalidTotals("exposures went down".into()));
            }
            for ((now, before), spec) in arm.metrics.iter().zip(&last.metrics).zip(&self.config.metrics) {
                let impossible = spec.kind == crate::Kind::Bernoulli && now.sum > now.n as f64;
                if !now.follows(before) || impossible {
                    return Err(GuardError::InvalidTotals(format!("metric {:?}", spec.name)));
                }
            }
        }
        Ok(())
    }
}

fn check_share(share: f64) -> Result<(), GuardError> {
    if share > 0.0 && share < 1.0 { Ok(()) } else { Err(GuardError::InvalidShare(share)) }
}
