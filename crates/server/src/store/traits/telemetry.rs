//! The telemetry area of the store: SDK telemetry aggregates, per
//! (environment, flag, variant, minute). Every write adds to what is there,
//! so concurrent batches and replicas add up exactly.
//!
//! Declares the contract only (implemented once per backend in `sql`); owns
//! no data and must not touch HTTP.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::store::{FlagInstance, FlagServiceTotal, Result, SeriesRow, TelemetryRecord, VariantEvents, VariantTotal};

/// Storage of SDK telemetry.
#[async_trait]
pub trait TelemetryStore: Send + Sync + 'static {
    /// Adds one batch to environment `environment_id`'s aggregates and
    /// records the instance's last batch, in one transaction.
    async fn record_telemetry(&self, environment_id: i64, record: &TelemetryRecord) -> Result<()>;
    /// The counts of one flag per variant and step: minutes
    /// `[from_minute, to_minute)` summed in steps of `step_minutes`
    /// (step 0 starts at `from_minute`), ordered by variant then step.
    /// Steps without data are absent.
    async fn telemetry_series(
        &self,
        environment_id: i64,
        flag: &str,
        from_minute: i64,
        to_minute: i64,
        step_minutes: i64,
    ) -> Result<Vec<SeriesRow>>;
    /// One flag's custom events per (variant, event), summed over minutes
    /// `[from_minute, to_minute)`, ordered by variant then event.
    async fn telemetry_variant_events(
        &self,
        environment_id: i64,
        flag: &str,
        from_minute: i64,
        to_minute: i64,
    ) -> Result<Vec<VariantEvents>>;
    /// One custom event of one flag per minute and variant, minutes
    /// `[from_minute, to_minute)`: (minute since the epoch, its counts),
    /// ordered by minute then variant. Minutes without it are absent.
    async fn telemetry_event_minutes(
        &self,
        environment_id: i64,
        flag: &str,
        event: &str,
        from_minute: i64,
        to_minute: i64,
    ) -> Result<Vec<(i64, VariantEvents)>>;
    /// The instances whose last batch evaluating `flag` arrived at
    /// `since_ms` (ms since the epoch) or later, by instance id.
    async fn flag_instances(&self, environment_id: i64, flag: &str, since_ms: i64) -> Result<Vec<FlagInstance>>;
    /// `flag`'s evaluations per service over minutes `[from_minute,
    /// to_minute)`, by service name (instances that named none first, as `None`).
    async fn flag_services(
        &self,
        environment_id: i64,
        flag: &str,
        from_minute: i64,
        to_minute: i64,
    ) -> Result<Vec<FlagServiceTotal>>;
    /// Evaluations per (flag, variant) over minutes `[from_minute,
    /// to_minute)` of `flag`, or of every flag when `None`; only pairs
    /// with evaluations, ordered by flag then variant.
    async fn variant_totals(
        &self,
        environment_id: i64,
        flag: Option<&str>,
        from_minute: i64,
        to_minute: i64,
    ) -> Result<Vec<VariantTotal>>;
    /// The instances whose last telemetry batch arrived at `since_ms` or later.
    async fn reporting_instances(&self, environment_id: i64, since_ms: i64) -> Result<Vec<String>>;
    /// Deletes every aggregate of a minute that started before `before`
    /// (and instances last seen before it). Returns the rows deleted.
    async fn prune_telemetry(&self, before: DateTime<Utc>) -> Result<u64>;
}
