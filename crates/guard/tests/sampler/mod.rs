//! Exact binomial and Poisson draws for the simulations: inversion over the
//! support walked outwards from the mode, so a draw costs O(√variance)
//! arithmetic and one uniform (a per-request Bernoulli loop over millions of
//! simulated requests would take minutes in a debug build).

use rand::Rng;
use rand::rngs::StdRng;

/// `ln Γ(x)` for `x ≥ 1`: shift up to 10, then Stirling's series.
fn ln_gamma(mut x: f64) -> f64 {
    let mut shift = 0.0;
    while x < 10.0 {
        shift -= x.ln();
        x += 1.0;
    }
    let inv = 1.0 / x;
    let series = inv / 12.0 - inv.powi(3) / 360.0 + inv.powi(5) / 1260.0;
    shift + (x - 0.5) * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI).ln() + series
}

/// Walks the support outwards from `mode` subtracting probabilities from a
/// uniform draw; `up(k)` is `P(k + 1) / P(k)`.
fn invert(rng: &mut StdRng, mode: u64, p_mode: f64, max: u64, up: impl Fn(u64) -> f64) -> u64 {
    let mut u: f64 = rng.r#gen();
    u -= p_mode;
    if u < 0.0 {
        return mode;
    }
    let (mut lo, mut hi, mut p_lo, mut p_hi) = (mode, mode, p_mode, p_mode);
    loop {
        let mut moved = false;
        if hi < max {
            p_hi *= up(hi);
            hi += 1;
            u -= p_hi;
            if u < 0.0 {
                return hi;
            }
            moved = true;
        }
        if lo > 0 {
            p_lo /= up(lo - 1);
            lo -= 1;
            u -= p_lo;
            if u < 0.0 {
                return lo;
            }
            moved = true;
        }
        if !moved || (p_hi < 1e-300 && p_lo < 1e-300) {
            return mode; // only rounding is left
        }
    }
}

/// A Binomial(`n`, `p`) draw.
pub fn binomial(rng: &mut StdRng, n: u64, p: f64) -> u64 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    let mode = (((n + 1) as f64) * p).floor().min(n as f64) as u64;
    let (nf, mf) = (n as f64, mode as f64);
    let ln_p =
        ln_gamma(nf + 1.0) - ln_gamma(mf + 1.0) - ln_gamma(nf - mf + 1.0) + mf * p.ln() + (nf - mf) * (1.0 - p).ln();
    let odds = p / (1.0 - p);
    invert(rng, mode, ln_p.exp(), n, |k| (n - k) as f64 / (k + 1) as f64 * odds)
}

/// A Poisson(`mean`) draw.
pub fn poisson(rng: &mut StdRng, mean: f64) -> u64 {
    if mean <= 0.0 {
        return 0;
    }
    let mode = mean.floor() as u64;
    let mf = mode as f64;
    let ln_p = mf * mean.ln() - mean - ln_gamma(mf + 1.0);
    invert(rng, mode, ln_p.exp(), u64::MAX, |k| mean / (k + 1) as f64)
}
