//! The guard's contract: input checks, directions, tolerances, stages and
//! latching (the statistics' calibration is in `simulation.rs`).

use switchyard_guard::{Arm, Decision, Direction, Guard, GuardConfig, GuardError, MetricSpec, Tolerance, Totals};

fn errors_only() -> GuardConfig {
    GuardConfig::new(vec![MetricSpec::error_rate("errors")])
}

fn arm(n: u64, errors: u64) -> Arm {
    Arm::new(n, vec![Totals::bernoulli(n, errors)])
}

#[test]
fn configuration_and_input_are_checked() {
    let bad = [errors_only().with_alpha(0.0), errors_only().with_alpha(1.5), errors_only().with_srm_alpha(0.06)];
    for config in bad {
        assert!(matches!(Guard::new(config, 0.05), Err(GuardError::InvalidConfig(_))));
    }
    assert_eq!(Guard::new(errors_only(), 1.0).unwrap_err(), GuardError::InvalidShare(1.0));
    let mut g = Guard::new(errors_only(), 0.5).unwrap();
    let wrong = Arm::new(10, vec![]);
    assert_eq!(g.observe(&wrong, &arm(10, 0)).unwrap_err(), GuardError::MetricCount { expected: 1, got: 0 });
    assert!(matches!(g.observe(&arm(10, 11), &arm(10, 0)), Err(GuardError::InvalidTotals(_))));
    g.observe(&arm(100, 1), &arm(100, 1)).unwrap();
    // Cumulative counts never go back within a stage.
    assert!(matches!(g.observe(&arm(50, 1), &arm(100, 1)), Err(GuardError::InvalidTotals(_))));
    let nan = Arm::new(100, vec![Totals::moments(100, f64::NAN, 0.0)]);
    assert!(matches!(g.observe(&nan, &arm(100, 1)), Err(GuardError::InvalidTotals(_))));
}

#[test]
fn nothing_is_decided_below_the_minimum_sample() {
    let mut g = Guard::new(errors_only(), 0.5).unwrap();
    // 0 % vs 50 % errors, but only 999 requests per arm.
    assert_eq!(g.observe(&arm(999, 0), &arm(999, 500)).unwrap(), Decision::Continue);
    assert!(matches!(g.observe(&arm(1_000, 0), &arm(1_000, 500)).unwrap(), Decision::Trip(_)));
}

#[test]
fn a_trip_reports_its_statistics_and_latches() {
    let mut g = Guard::new(errors_only(), 0.5).unwrap();
    let d = g.observe(&arm(20_000, 200), &arm(20_000, 400)).unwrap();
    let Decision::Trip(trip) = d.clone() else { panic!("{d:?}") };
    assert_eq!(trip.metric, "errors");
    assert_eq!((trip.control_n, trip.treatment_n), (20_000, 20_000));
    assert!((trip.treatment_mean - 0.02).abs() < 1e-12 && (trip.control_mean - 0.01).abs() < 1e-12);
    assert!(trip.z > 5.0 && trip.p_value <= trip.alpha, "{trip:?}");
    // Later looks, even reassuring ones, answer with the same decision.
    assert_eq!(g.observe(&arm(40_000, 400), &arm(40_000, 400)).unwrap(), d);
}

#[test]
fn a_better_treatment_never_trips_a_higher_is_worse_metric() {
    let mut g = Guard::new(errors_only(), 0.5).unwrap();
    assert_eq!(g.observe(&arm(50_000, 1_000), &arm(50_000, 100)).unwrap(), Decision::Continue);
    assert!(g.p_values()[0] > 0.5);
}

#[test]
fn lower_is_worse_trips_on_a_drop() {
    let config = GuardConfig::new(vec![MetricSpec::event_rate("checkout", Direction::LowerIsWorse)]);
    let mut g = Guard::new(config, 0.5).unwrap();
    let ev = |n, k| Arm::new(n, vec![Totals::poisson(n, k)]);
    assert_eq!(g.observe(&ev(20_000, 600), &ev(20_000, 700)).unwrap(), Decision::Continue);
    assert!(matches!(g.observe(&ev(40_000, 1_200), &ev(40_000, 800)).unwrap(), Decision::Trip(_)));
}

#[test]
fn a_tolerated_excess_does_not_trip() {
    // Treatment 1.2 % vs control 1 %, with 50 % relative tolerance.
    let spec = MetricSpec::error_rate("errors").with_tolerance(Tolerance { absolute: 0.0, relative: 0.5 });
    let mut g = Guard::new(GuardConfig::new(vec![spec]), 0.5).unwrap();
    assert_eq!(g.observe(&arm(500_000, 5_000), &arm(500_000, 6_000)).unwrap(), Decision::Continue);
    // Without the tolerance the same data trips.
    let mut g = Guard::new(errors_only(), 0.5).unwrap();
    assert!(matches!(g.observe(&arm(500_000, 5_000), &arm(500_000, 6_000)).unwrap(), Decision::Trip(_)));
}

#[test]
fn mean_latency_is_tested_from_moments() {
    let config = GuardConfig::new(vec![MetricSpec::latency_mean("latency_ms")]);
    let mut g = Guard::new(config, 0.5).unwrap();
    // Control: 100 ms mean, sd 30; treatment 110 ms, sd 30; 5,000 each.
    let lat = |n: u64, mean: f64| {
        let nf = n as f64;
        Arm::new(n, vec![Totals::moments(n, mean * nf, nf * (mean * mean + 900.0))])
    };
    let d = g.observe(&lat(5_000, 100.0), &lat(5_000, 110.0)).unwrap();
    assert!(matches!(d, Decision::Trip(ref t) if t.metric == "latency_ms"), "{d:?}");
}

#[test]
fn stages_pool_their_evidence() {
    // Each stage alone is not enough; together they are.
    let mut g = Guard::new(errors_only(), 0.5).unwrap();
    let (c, t) = (arm(4_000, 40), arm(4_000, 62));
    assert_eq!(g.observe(&c, &t).unwrap(), Decision::Continue);
    let mut alone = Guard::new(errors_only(), 0.5).unwrap();
    assert_eq!(alone.observe(&c, &t).unwrap(), Decision::Continue);
    g.next_stage(0.5).unwrap();
    let mut tripped = false;
    for _ in 0..3 {
        g.next_stage(0.5).unwrap();
        tripped |= matches!(g.observe(&c, &t).unwrap(), Decision::Trip(_));
    }
    assert!(tripped);
}

#[test]
fn a_skewed_split_is_an_srm_trip() {
    let mut g = Guard::new(errors_only(), 0.05).unwrap();
    // Planned 5 %, observed 4 % of 200,000.
    let d = g.observe(&arm(192_000, 1_920), &arm(8_000, 80)).unwrap();
    let Decision::SrmTrip(srm) = d else { panic!("{d:?}") };
    assert_eq!((srm.expected_share, srm.observed_share), (0.05, 0.04));
    assert!(srm.p_value < 0.001);
}
