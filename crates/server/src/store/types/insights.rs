//! Flag insights (issue 17): which instances and services evaluate a flag,
//! and each flag's variants over a range, as the store reads them from the
//! telemetry aggregates. What they mean (blast radius, usage, staleness) is
//! decided by `crate::ops::insights`; these are only their shapes.

/// One SDK instance's evaluations of one flag (`telemetry_flag_instances`).
#[derive(Debug, Clone, PartialEq)]
pub struct FlagInstance {
    /// Flag key.
    pub flag: String,
    /// The instance id.
    pub instance: String,
    /// The service its telemetry named, if any.
    pub service: Option<String>,
    /// When its last batch that evaluated the flag arrived, ms since the epoch.
    pub last_batch_at: i64,
    /// Its evaluations of the flag, in total (over the retention).
    pub evaluations: u64,
}

/// One flag's evaluations by one service over a range of minutes.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagServiceTotal {
    /// Flag key.
    pub flag: String,
    /// The service (`None`: instances that named none).
    pub service: Option<String>,
    /// Evaluations over the range.
    pub evaluations: u64,
}

/// One (flag, variant)'s evaluations over a range of minutes.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantTotal {
    /// Flag key.
    pub flag: String,
    /// Variant key.
    pub variant: String,
    /// Evaluations over the range (more than 0).
    pub evaluations: u64,
    /// The first minute (since the epoch) with evaluations in the range.
    pub first_minute: i64,
    /// The last minute with evaluations in the range.
    pub last_minute: i64,
}
