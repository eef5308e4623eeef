//! Sample-ratio mismatch: do the assignment counts fit the planned split?
//!
//! Lindon and Malek, "Anytime-valid inference for multinomial count data"
//! (NeurIPS 2022): under the null the counts are multinomial with the planned
//! probabilities `p`; against a Dirichlet(`c·p`) mixture of alternatives the
//! Bayes factor
//!
//! ```text
//! BF = Γ(c) / Γ(c + n) · Π Γ(c·p_i + n_i) / Γ(c·p_i) / Π p_i^n_i
//! ```
//!
//! is a non-negative martingale with mean 1 under the null, whatever the
//! order and timing of the looks, so `P(sup BF ≥ 1/α) ≤ α` (Ville). It is
//! exact: no normal approximation, valid from the first assignment. The
//! factors of successive stages (each with its own split) multiply.

use crate::special::ln_gamma;

/// Default concentration `c` of the Dirichlet mixture: alternatives within a
/// few percent of the planned split get the most weight, which is where a
/// real bucketing bug or a lost-telemetry bias lands.
pub const DEFAULT_CONCENTRATION: f64 = 100.0;

/// `ln BF` of the `counts` against the planned `probabilities` (same length,
/// each > 0, summing to 1) with mixture concentration `concentration`.
pub fn ln_bayes_factor(counts: &[u64], probabilities: &[f64], concentration: f64) -> f64 {
    debug_assert_eq!(counts.len(), probabilities.len());
    let n: u64 = counts.iter().sum();
    let mut ln = ln_gamma(concentration) - ln_gamma(concentration + n as f64);
    for (&k, &p) in counts.iter().zip(probabilities) {
        let a = concentration * p;
        let k = k as f64;
        ln += ln_gamma(a + k) - ln_gamma(a) - k * p.ln();
    }
    ln
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_counts_is_no_evidence() {
        assert!(ln_bayes_factor(&[0, 0], &[0.05, 0.95], 100.0).abs() < 1e-9);
    }

    #[test]
    fn counts_on_plan_favour_the_null() {
        let ln = ln_bayes_factor(&[5_000, 95_000], &[0.05, 0.95], 100.0);
        assert!(ln < 0.0, "{ln}");
    }

    #[test]
    fn a_skewed_split_is_detected() {
        // 4 % instead of 5 % of 100,000 assignments.
        let ln = ln_bayes_factor(&[4_000, 96_000], &[0.05, 0.95], 100.0);
        assert!(ln > (1.0f64 / 0.001).ln(), "{ln}");
    }

    #[test]
    fn is_a_martingale_with_mean_one_over_one_step() {
        // E[BF after one more draw | now] = BF now: check the exact sum.
        let p = [0.3, 0.7];
        let now = ln_bayes_factor(&[3, 4], &p, 10.0).exp();
        let next = p[0] * ln_bayes_factor(&[4, 4], &p, 10.0).exp() + p[1] * ln_bayes_factor(&[3, 5], &p, 10.0).exp();
        assert!((now - next).abs() < 1e-9 * now, "{now} vs {next}");
    }
}
