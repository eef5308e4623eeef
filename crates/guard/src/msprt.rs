//! The one-sided mixture sequential probability ratio test (mSPRT) of
//! Johari, Pekelis and Walsh, "Always valid inference" (2017/2022), for a
//! difference of means, in score/information form.
//!
//! With an estimate `θ̂` of the excess and its variance `V`, the score is
//! `S = θ̂/V` and the information `I = 1/V`; under the normal approximation
//! `S ~ N(θ·I, I)`. The likelihood ratio of `θ` against `θ = 0` is
//! `exp(θS - θ²I/2)`; mixing it over a half-normal `θ ~ |N(0, τ²)|` gives
//!
//! ```text
//! Λ = 2 / √(1 + τ²I) · exp(S²τ² / (2(1 + τ²I))) · Φ(Sτ / √(1 + τ²I))
//! ```
//!
//! which is a non-negative supermartingale with mean ≤ 1 under any `θ ≤ 0`
//! (each component is one for `θ = 0` and shrinks for `θ < 0`). By Ville's
//! inequality `P(sup Λ ≥ 1/α) ≤ α`: the test may be looked at after every
//! batch and stopped at any time, and `min(1, 1/sup Λ)` is an always-valid
//! p-value.
//!
//! A single `τ` is sensitive to effects near its size and slow on much
//! larger ones (a treatment failing half its requests against a control
//! that almost never fails). [`Evidence::ln_mixture_ratio`] therefore mixes
//! three scales, `τ`, `10τ` and `100τ`, with weights 0.8, 0.1 and 0.1: a
//! weighted average of supermartingales is one, so validity is untouched, and
//! the price near `τ` is `ln 1.25` of evidence. Scores and informations of independent stages add, which keeps
//! the test valid when a release plan changes its split between stages.

/// Accumulated score and information of one contrast.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Evidence {
    /// Sum of `θ̂/V` over the strata (stages).
    pub score: f64,
    /// Sum of `1/V` over the strata.
    pub information: f64,
}

impl Evidence {
    /// The evidence of one stratum with excess estimate `excess` and
    /// variance `variance` (> 0).
    pub fn of(excess: f64, variance: f64) -> Self {
        Evidence { score: excess / variance, information: 1.0 / variance }
    }

    /// The evidence of two independent strata.
    #[must_use]
    pub fn plus(self, other: Evidence) -> Self {
        Evidence { score: self.score + other.score, information: self.information + other.information }
    }

    /// The pooled z statistic `S/√I` (the inverse-variance-weighted excess
    /// over its standard error); 0 with no information.
    pub fn z(&self) -> f64 {
        if self.information > 0.0 { self.score / self.information.sqrt() } else { 0.0 }
    }

    /// `ln Λ` for the half-normal mixture of scale `tau` (> 0): the log of
    /// the evidence that the excess is positive.
    pub fn ln_likelihood_ratio(&self, tau: f64) -> f64 {
        if self.information <= 0.0 || tau <= 0.0 || !tau.is_finite() {
            return 0.0;
        }
        let t2i = tau * tau * self.information;
        let shrink = 1.0 + t2i;
        std::f64::consts::LN_2 - 0.5 * shrink.ln()
            + self.score * self.score * tau * tau / (2.0 * shrink)
            + crate::special::ln_norm_cdf(self.score * tau / shrink.sqrt())
    }
}

/// The scales mixed by [`Evidence::ln_mixture_ratio`], as (weight, factor
/// of the base scale). The weights sum to 1.
pub const SCALES: [(f64, f64); 3] = [(0.8, 1.0), (0.1, 10.0), (0.1, 100.0)];

impl Evidence {
    /// `ln` of the [`SCALES`]-weighted average of the likelihood ratios at
    /// `base_tau` times each factor.
    pub fn ln_mixture_ratio(&self, base_tau: f64) -> f64 {
        let terms = SCALES.map(|(w, k)| w.ln() + self.ln_likelihood_ratio(base_tau * k));
        let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !top.is_finite() {
            return top;
        }
        top + terms.iter().map(|t| (t - top).exp()).sum::<f64>().ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_data_is_no_evidence() {
        assert_eq!(Evidence::default().ln_likelihood_ratio(1.0), 0.0);
        assert!(Evidence::default().ln_mixture_ratio(1.0).abs() < 1e-12);
    }

    #[test]
    fn the_wide_scales_catch_a_huge_effect() {
        // Half the treatment's requests fail; the base scale expects 0.01 %.
        let e = Evidence::of(0.5, 0.25 / 1_000.0);
        assert!(e.ln_likelihood_ratio(1e-4) < 1.0);
        assert!(e.ln_mixture_ratio(1e-4) > 100.0);
    }

    #[test]
    fn evidence_grows_with_a_consistent_positive_excess() {
        let mut last = f64::NEG_INFINITY;
        for n in [100.0, 1_000.0, 10_000.0, 100_000.0] {
            // Excess 0.01 with per-unit variance 0.02 observed on n units.
            let ln = Evidence::of(0.01, 0.02 / n).ln_likelihood_ratio(0.01);
            assert!(ln > last, "n = {n}: {ln} after {last}");
            last = ln;
        }
        assert!(last > (1.0f64 / 0.05).ln());
    }

    #[test]
    fn a_negative_excess_is_evidence_against() {
        let ln = Evidence::of(-0.01, 0.02 / 10_000.0).ln_likelihood_ratio(0.01);
        assert!(ln < 0.0, "{ln}");
    }

    #[test]
    fn matches_numerical_integration_of_the_mixture() {
        let e = Evidence::of(0.004, 1e-5);
        let tau: f64 = 0.01;
        // ∫_0^∞ exp(θS - θ²I/2) · 2φ(θ/τ)/τ dθ by the midpoint rule.
        let steps = 200_000;
        let top = 10.0 * tau;
        let h = top / f64::from(steps);
        let mut sum = 0.0;
        for i in 0..steps {
            let th = (f64::from(i) + 0.5) * h;
            let lr = (th * e.score - th * th * e.information / 2.0).exp();
            let prior = 2.0 * (-(th / tau).powi(2) / 2.0).exp() / (tau * (2.0 * std::f64::consts::PI).sqrt());
            sum += lr * prior * h;
        }
        let got = e.ln_likelihood_ratio(tau);
        assert!((got - sum.ln()).abs() < 1e-5, "{got} vs {}", sum.ln());
    }
}
