//! Schemas of delivery receipts (mirrors: see [`super`]).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// Mirrors of `delivery/receipts.rs`.

/// Whether, and how fast, connected SDK instances applied a revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    /// The revision.
    pub revision: u64,
    /// SDK instances with an open stream (on the replicas counted).
    pub connected: usize,
    /// Of those, how many applied the revision (or a later one).
    pub applied: usize,
    /// `connected - applied`.
    pub pending: usize,
    /// Median time from broadcast to acknowledgement, milliseconds (the
    /// acknowledgement at rank `applied / 2`; its value is within 1.5 % of
    /// the true one: see [`crate::delivery::histogram`]).
    pub p50_ms: Option<f64>,
    /// Slowest acknowledgement, milliseconds (exact).
    pub max_ms: Option<f64>,
    /// Replicas whose streams are counted (this one included).
    #[serde(default = "one")]
    pub replicas: usize,
    /// Live replicas (connected to Postgres) that did not answer in time:
    /// their streams are missing from the counts, so the receipt is not
    /// complete while this is not empty.
    #[serde(default)]
    pub unanswered: Vec<String>,
}

fn one() -> usize {
    1
}
