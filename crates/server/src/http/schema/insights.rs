//! Schemas of flag insights: usage and stale flags (mirrors: see [`super`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::fleet::VariantShare;

// Mirrors of `ops/usage.rs`.

/// One flag's usage in every environment of its project.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FlagUsage {
    /// The project's key.
    pub project: String,
    /// The flag's key.
    pub flag: String,
    /// One entry per environment, in creation order.
    pub environments: Vec<EnvUsage>,
}

/// One flag's usage in one environment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EnvUsage {
    /// The environment's key.
    pub environment: String,
    /// When an SDK last reported evaluating it (`None`: never, within the
    /// telemetry retention).
    pub last_evaluated: Option<DateTime<Utc>>,
    /// Evaluations per variant over the last 24 hours.
    pub day: Vec<VariantShare>,
    /// Evaluations per variant over the last 7 days.
    pub week: Vec<VariantShare>,
    /// The services that evaluated it in the last 7 days, most evaluations first.
    pub services: Vec<ServiceUsage>,
}

/// One service's evaluations of a flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ServiceUsage {
    /// The service (`None`: instances that named none).
    pub service: Option<String>,
    /// Evaluations over the last 24 hours.
    pub day: u64,
    /// Evaluations over the last 7 days.
    pub week: u64,
    /// Its instances that evaluated it in the last 7 days.
    pub instances: usize,
    /// When one of them last reported evaluating it.
    pub last_seen: Option<DateTime<Utc>>,
}

// Mirrors of `ops/stale.rs`.

/// A project's removal candidates.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaleReport {
    /// The project's key.
    pub project: String,
    /// The look-back, days.
    pub days: u32,
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// The candidates, by key.
    pub flags: Vec<StaleFlag>,
}

/// One removal candidate.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaleFlag {
    /// The flag's key.
    pub flag: String,
    /// Temporary (a release flag) or permanent.
    pub temporary: bool,
    /// Its declared expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Why it is a candidate (at least one).
    pub reasons: Vec<StaleReason>,
}

/// Why a flag is a removal candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StaleReason {
    /// Past its declared expiry.
    Expired {
        /// The expiry.
        expires_at: DateTime<Utc>,
    },
    /// Every evaluation in the environment over the look-back served one variant.
    SingleVariant {
        /// The environment's key.
        environment: String,
        /// The variant served.
        variant: String,
        /// Its evaluations over the look-back.
        evaluations: u64,
    },
    /// Not evaluated in the environment over the look-back.
    NotEvaluated {
        /// The environment's key.
        environment: String,
        /// When it was last evaluated there, if within the retention.
        last_evaluated: Option<DateTime<Utc>>,
    },
}
