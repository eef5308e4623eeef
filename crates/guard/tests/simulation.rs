//! Simulated release plans (issue 16): the guard's false-trip rate when the
//! treatment is no different (A/A), and its power when the treatment doubles
//! a 1 % error rate (A/B). Seeded, so every run draws the same numbers; the
//! figures are printed (`cargo test -p switchyard-guard --test simulation
//! -- --nocapture`) and recorded in docs/release-guard.md.
//!
//! The plan simulated, written down:
//! - a service doing 200 requests/s; the SDK flushes telemetry every 10 s
//!   and the guard looks at every flush (2,000 requests per look);
//! - stages 5 % -> 25 % -> 50 % of traffic on the treatment, each for its
//!   minimum duration of 15 minutes (90 looks); the control is the rest;
//! - so the first stage sees 180,000 requests, about 9,000 on the treatment;
//! - guard metrics: error rate (1 %), share of requests slower than the
//!   control's p95 measured before the plan (5 %), and a checkout event
//!   (0.03 per request, lower is worse); plus the sample-ratio check.

mod sampler;

use rand::SeedableRng;
use rand::rngs::StdRng;
use switchyard_guard::{Arm, Decision, Direction, Guard, GuardConfig, MetricSpec, Totals};

const REQUESTS_PER_LOOK: u64 = 2_000; // 200 req/s x 10 s flush interval
const LOOKS_PER_STAGE: u32 = 90; // 15 minutes
const STAGES: [f64; 3] = [0.05, 0.25, 0.50];
const PLANS: u64 = 1_000;

/// True rates of one variant.
#[derive(Clone, Copy)]
struct Rates {
    error: f64,
    slow: f64,
    checkout: f64,
}

const BASE: Rates = Rates { error: 0.01, slow: 0.05, checkout: 0.03 };

fn config() -> GuardConfig {
    GuardConfig::new(vec![
        MetricSpec::error_rate("errors"),
        MetricSpec::latency_exceedance("slower_than_p95"),
        MetricSpec::event_rate("checkout", Direction::LowerIsWorse),
    ])
}

/// Cumulative counts of one arm in the current stage.
#[derive(Default)]
struct Counts {
    requests: u64,
    errors: u64,
    slow: u64,
    checkouts: u64,
}

impl Counts {
    fn add(&mut self, rng: &mut StdRng, requests: u64, r: Rates) {
        self.requests += requests;
        self.errors += sampler::binomial(rng, requests, r.error);
        self.slow += sampler::binomial(rng, requests, r.slow);
        self.checkouts += sampler::poisson(rng, requests as f64 * r.checkout);
    }

    fn arm(&self) -> Arm {
        Arm::new(
            self.requests,
            vec![
                Totals::bernoulli(self.requests, self.errors),
                Totals::bernoulli(self.requests, self.slow),
                Totals::poisson(self.requests, self.checkouts),
            ],
        )
    }
}

/// How one simulated plan ended.
struct Outcome {
    decision: Decision,
    /// Treatment requests seen when the guard decided (or at the end).
    treatment_requests: u64,
    /// Stage (0-based) in which it decided.
    stage: usize,
    /// Whether a naive one-sided z-test at 5 % on the error rate, checked
    /// at the same looks, would have fired (the comparison the docs quote).
    naive: bool,
}

/// The fixed-sample z statistic of the error rates, misused at every look.
fn naive_z(c: &Counts, t: &Counts) -> f64 {
    let (nc, nt) = (c.requests as f64, t.requests as f64);
    let (pc, pt) = (c.errors as f64 / nc, t.errors as f64 / nt);
    let p = (c.errors + t.errors) as f64 / (nc + nt);
    (pt - pc) / (p * (1.0 - p) * (1.0 / nc + 1.0 / nt)).sqrt()
}

/// Runs one plan through `stages`, looking after every flush; stops at the
/// first decision other than `Continue`.
fn run_plan(seed: u64, stages: &[f64], treatment: Rates) -> Outcome {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut guard = Guard::new(config(), stages[0]).unwrap();
    let mut total_treatment = 0;
    let mut naive = false;
    for (stage, &share) in stages.iter().enumerate() {
        if stage > 0 {
            guard.next_stage(share).unwrap();
        }
        let (mut c, mut t) = (Counts::default(), Counts::default());
        for _ in 0..LOOKS_PER_STAGE {
            let to_treatment = sampler::binomial(&mut rng, REQUESTS_PER_LOOK, share);
            t.add(&mut rng, to_treatment, treatment);
            c.add(&mut rng, REQUESTS_PER_LOOK - to_treatment, BASE);
            total_treatment += to_treatment;
            naive |= t.requests >= 1_000 && c.requests >= 1_000 && naive_z(&c, &t) > 1.645;
            let decision = guard.observe(&c.arm(), &t.arm()).unwrap();
            if decision != Decision::Continue {
                return Outcome { decision, treatment_requests: total_treatment, stage, naive };
            }
        }
    }
    Outcome { decision: Decision::Continue, treatment_requests: total_treatment, stage: stages.len(), naive }
}

#[test]
fn sampler_draws_have_the_right_mean_and_variance() {
    let mut rng = StdRng::seed_from_u64(7);
    let draws: Vec<f64> = (0..20_000).map(|_| sampler::binomial(&mut rng, 1_900, 0.05) as f64).collect();
    let mean = draws.iter().sum::<f64>() / draws.len() as f64;
    let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / draws.len() as f64;
    assert!((mean - 95.0).abs() < 0.5, "{mean}");
    assert!((var / 90.25 - 1.0).abs() < 0.05, "{var}");
    let draws: Vec<f64> = (0..20_000).map(|_| sampler::poisson(&mut rng, 57.0) as f64).collect();
    let mean = draws.iter().sum::<f64>() / draws.len() as f64;
    let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / draws.len() as f64;
    assert!((mean - 57.0).abs() < 0.5, "{mean}");
    assert!((var / 57.0 - 1.0).abs() < 0.05, "{var}");
}

#[test]
fn a_a_plans_rarely_trip() {
    let (mut metric_trips, mut srm_trips, mut naive) = (0u64, 0u64, 0u64);
    for seed in 0..PLANS {
        let out = run_plan(seed, &STAGES, BASE);
        // Counted only while the plan ran (a tripped plan stops looking),
        // so this understates the naive test's false alarms slightly.
        naive += u64::from(out.naive);
        match out.decision {
            Decision::Continue => {}
            Decision::Trip(_) => metric_trips += 1,
            Decision::SrmTrip(_) => srm_trips += 1,
        }
    }
    let rate = (metric_trips + srm_trips) as f64 / PLANS as f64;
    println!(
        "A/A: {PLANS} plans x {} looks, false trips {:.1} % ({metric_trips} metric, {srm_trips} SRM)",
        STAGES.len() as u32 * LOOKS_PER_STAGE,
        rate * 100.0
    );
    println!(
        "A/A: a naive z-test at 5 % on the error rate, peeked at the same looks, fired in {:.1} %",
        naive as f64 / PLANS as f64 * 100.0
    );
    assert!(rate <= 0.05, "false-trip rate {rate}");
}

#[test]
fn a_b_doubled_error_rate_is_caught_in_the_first_stage() {
    let treatment = Rates { error: 0.02, ..BASE };
    let mut samples = Vec::new();
    for seed in 0..PLANS {
        let out = run_plan(1_000_000 + seed, &STAGES[..1], treatment);
        if let Decision::Trip(trip) = &out.decision
            && trip.metric == "errors"
            && out.stage == 0
        {
            samples.push(out.treatment_requests);
        }
    }
    samples.sort_unstable();
    let power = samples.len() as f64 / PLANS as f64;
    let median = samples.get(samples.len() / 2).copied().unwrap_or(0);
    println!(
        "A/B (1 % -> 2 % errors, stage 1 = 5 % for 15 min at 200 req/s): detected in {:.1} % \
         of {PLANS} runs; median {median} treatment requests (~{} s) to detection",
        power * 100.0,
        median * 10 / (REQUESTS_PER_LOOK * 5 / 100),
    );
    assert!(power >= 0.95, "power {power}");
}

/// Heavy-tailed latencies (log-normal, median 80 ms, σ = 0.8 on the log
/// scale: p95 ≈ 300 ms), two per pair of uniforms (Box–Muller), added to
/// an arm's (n, sum, sum of squares).
fn add_latencies(rng: &mut StdRng, arm: &mut (u64, f64, f64), n: u64) {
    use rand::Rng;
    let mut add = |x: f64| *arm = (arm.0 + 1, arm.1 + x, arm.2 + x * x);
    for i in 0..n.div_ceil(2) {
        let (u, v): (f64, f64) = (rng.r#gen(), rng.r#gen());
        let r = (-2.0 * (1.0 - u).ln()).sqrt();
        let (s, c) = (std::f64::consts::TAU * v).sin_cos();
        add(80.0 * (0.8 * r * c).exp());
        if 2 * i + 1 < n {
            add(80.0 * (0.8 * r * s).exp());
        }
    }
}

/// Plans in the latency simulation: per-request draws cost more, so fewer
/// plans than the main A/A (which has the 1,000 the issue asks for).
const LATENCY_PLANS: u64 = 300;

/// The mean-latency test on per-request draws, where the normal
/// approximation is least comfortable: a smaller service (20 req/s, one
/// stage of 25 % for 15 minutes, looks every 10 s: 18,000 requests, about
/// 4,500 on the treatment). A/A.
#[test]
fn a_a_heavy_tailed_latency_rarely_trips() {
    let config = || GuardConfig::new(vec![MetricSpec::latency_mean("latency_ms")]);
    let mut trips = 0u64;
    for seed in 0..LATENCY_PLANS {
        let mut rng = StdRng::seed_from_u64(2_000_000 + seed);
        let mut guard = Guard::new(config(), 0.25).unwrap();
        let mut arms = [(0u64, 0.0f64, 0.0f64); 2]; // (n, sum, sum_sq): control, treatment
        for _ in 0..LOOKS_PER_STAGE {
            let to_treatment = sampler::binomial(&mut rng, 200, 0.25);
            add_latencies(&mut rng, &mut arms[1], to_treatment);
            add_latencies(&mut rng, &mut arms[0], 200 - to_treatment);
            let [c, t] = arms.map(|(n, s, q)| Arm::new(n, vec![Totals::moments(n, s, q)]));
            if guard.observe(&c, &t).unwrap() != Decision::Continue {
                trips += 1;
                break;
            }
        }
    }
    let rate = trips as f64 / LATENCY_PLANS as f64;
    println!(
        "A/A latency mean (log-normal, σ = 0.8): {LATENCY_PLANS} plans x 90 looks, false trips {:.1} %",
        rate * 100.0
    );
    assert!(rate <= 0.05, "false-trip rate {rate}");
}
