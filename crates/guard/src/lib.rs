//! # switchyard-guard
//!
//! The statistics behind guarded releases (issue 16): is the treatment
//! variant of a flag worse than the control, judged by tests that stay valid
//! when they are looked at after every telemetry flush? Pure Rust: no IO, no
//! async, no dependencies. The maths and its references are in
//! `docs/release-guard.md`.
//!
//! ```
//! use switchyard_guard::{Arm, Decision, Guard, GuardConfig, MetricSpec, Totals};
//! let config = GuardConfig::new(vec![MetricSpec::error_rate("errors")]);
//! let mut guard = Guard::new(config, 0.05).unwrap(); // 5 % of traffic on the treatment
//! // Cumulative counts for the current stage, as telemetry arrives.
//! let control = Arm::new(95_000, vec![Totals::bernoulli(95_000, 950)]);   // 1 % errors
//! let treatment = Arm::new(5_000, vec![Totals::bernoulli(5_000, 100)]);   // 2 % errors
//! match guard.observe(&control, &treatment).unwrap() {
//!     Decision::Trip(trip) => assert_eq!(trip.metric, "errors"),
//!     other => panic!("expected a trip, got {other:?}"),
//! }
//! ```
//!
//! # Layout
//! - [`metric`]: what a guard metric is ([`MetricSpec`]: Bernoulli, mean or
//!   Poisson rate, direction, tolerance, mixture scale) and the cumulative
//!   [`Totals`] an arm reports for it.
//! - [`msprt`]: the one-sided normal-mixture sequential probability ratio
//!   test on a difference of means, in score/information form.
//! - [`srm`]: the sample-ratio-mismatch check, a Dirichlet-multinomial
//!   Bayes factor on the assignment counts.
//! - [`guard`]: [`Guard`], which holds a plan's evidence across looks and
//!   stages and answers each look with a [`Decision`].
//! - `special`: the normal CDF and log-gamma the tests need.
#![deny(missing_docs)]

pub mod guard;
pub mod metric;
pub mod msprt;
mod special;
pub mod srm;

pub use guard::{Arm, Decision, Guard, GuardConfig, GuardError, SrmTrip, Trip};
pub use metric::{Direction, Kind, MetricSpec, Tolerance, Totals};
