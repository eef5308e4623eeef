//! What a guard check reports: the current stage's counts per arm and the
//! always-valid p-values ([`GuardStats`]), and, when it trips, the
//! statistics that tripped it ([`GuardTrip`]) — serialised into the kill's
//! audit entry and summed up in its reason text.
//!
//! Owns these shapes and their text only; the check is [`super::guard`].

use serde::{Deserialize, Serialize};
use switchyard_guard::Decision;

use crate::store::VariantCounts;

/// One arm's counts in the current stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArmStats {
    /// Variant key.
    pub variant: String,
    /// Evaluations that served it (the sample-ratio check's units).
    pub exposures: u64,
    /// Requests with an outcome.
    pub requests: u64,
    /// Of which failed.
    pub errors: u64,
}

impl ArmStats {
    fn of(variant: &str, c: &VariantCounts) -> ArmStats {
        ArmStats { variant: variant.to_string(), exposures: c.evaluations, requests: c.requests, errors: c.errors }
    }
}

/// One metric's always-valid p-value over the plan so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricP {
    /// Metric name.
    pub metric: String,
    /// `min(1, 1/max Λ)`; 1 before any verdict.
    pub p_value: f64,
}

/// The guard's view of a plan after a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardStats {
    /// Index of the stage the counts are from (0 = the first).
    pub stage: usize,
    /// Minutes with data looked at in that stage.
    pub looks: u32,
    /// The control in that stage.
    pub control: ArmStats,
    /// The treatment in that stage.
    pub treatment: ArmStats,
    /// Per metric, over the whole plan.
    pub p_values: Vec<MetricP>,
    /// What the stage lacks before the plan may advance (empty: nothing).
    pub waiting_for: Vec<String>,
}

impl GuardStats {
    /// The stats of stage `stage` after `looks`: each arm as (variant,
    /// counts), each metric as (name, p-value).
    pub fn new<'a>(
        (stage, looks): (usize, u32),
        control: (&str, &VariantCounts),
        treatment: (&str, &VariantCounts),
        p_values: impl IntoIterator<Item = (&'a str, f64)>,
    ) -> GuardStats {
        let p_values = p_values.into_iter().map(|(m, p_value)| MetricP { metric: m.to_string(), p_value }).collect();
        GuardStats {
            stage,
            looks,
            control: ArmStats::of(control.0, control.1),
            treatment: ArmStats::of(treatment.0, treatment.1),
            p_values,
            waiting_for: Vec::new(),
        }
    }
}

/// Why the guard tripped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TripStats {
    /// A metric shows the treatment worse than the control.
    Metric {
        /// Metric name (`error_rate`, `latency_p95`, `latency_mean`).
        metric: String,
        /// Pooled z statistic of the excess.
        z: f64,
        /// `ln Λ`, the evidence that tripped.
        ln_evidence: f64,
        /// Always-valid p-value.
        p_value: f64,
        /// This metric's share of alpha.
        alpha: f64,
        /// Control mean in the stage (error rate, share slower, ms).
        control_mean: f64,
        /// Treatment mean in the stage.
        treatment_mean: f64,
        /// Control requests in the stage.
        control_n: u64,
        /// Treatment requests in the stage.
        treatment_n: u64,
    },
    /// The exposures do not fit the planned split.
    Srm {
        /// Planned treatment share.
        expected_share: f64,
        /// Observed treatment share.
        observed_share: f64,
        /// Control exposures in the stage.
        control: u64,
        /// Treatment exposures in the stage.
        treatment: u64,
        /// `ln BF` over the plan.
        ln_bayes_factor: f64,
        /// Always-valid p-value.
        p_value: f64,
    },
}

impl TripStats {
    /// The trip in a decision (`None` for `Continue`).
    pub fn of(decision: Decision) -> Option<TripStats> {
        Some(match decision {
            Decision::Continue => return None,
            Decision::Trip(t) => TripStats::Metric {
                metric: t.metric,
                z: t.z,
                ln_evidence: t.ln_evidence,
                p_value: t.p_value,
                alpha: t.alpha,
                control_mean: t.control_mean,
                treatment_mean: t.treatment_mean,
                control_n: t.control_n,
                treatment_n: t.treatment_n,
            },
            Decision::SrmTrip(s) => TripStats::Srm {
                expected_share: s.expected_share,
                observed_share: s.observed_share,
                control: s.control,
                treatment: s.treatment,
                ln_bayes_factor: s.ln_bayes_factor,
                p_value: s.p_value,
            },
        })
    }

    /// The label of the trips metric: the metric's name, or `srm`.
    pub fn reason(&self) -> &str {
        match self {
            TripStats::Metric { metric, .. } => metric,
            TripStats::Srm { .. } => "srm",
        }
    }
}

/// A trip with the counts it was decided on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardTrip {
    /// The counts of the stage it tripped in.
    pub stats: GuardStats,
    /// The statistics that tripped.
    pub trip: TripStats,
}

impl GuardTrip {
    /// One line for the kill's reason (the audit entry carries the rest).
    pub fn summary(&self) -> String {
        let (c, t, stage) = (&self.stats.control, &self.stats.treatment, self.stats.stage + 1);
        match &self.trip {
            TripStats::Metric {
                metric, p_value, alpha, control_mean, treatment_mean, control_n, treatment_n, ..
            } => {
                format!(
                    "release guard: {metric} worse on {tv:?} than {cv:?} in stage {stage} \
                     ({treatment_mean:.4} vs {control_mean:.4}, n = {treatment_n} vs {control_n}; \
                     always-valid p = {p_value:.2e} <= {alpha:.4})",
                    tv = t.variant,
                    cv = c.variant,
                )
            }
            TripStats::Srm { expected_share, observed_share, p_value, .. } => format!(
                "release guard: sample ratio mismatch in stage {stage}: {tv:?} got {:.2} % of exposures, \
                 planned {:.2} % ({} vs {}; always-valid p = {p_value:.2e})",
                observed_share * 100.0,
                expected_share * 100.0,
                t.exposures,
                c.exposures,
                tv = t.variant,
            ),
        }
    }
}
