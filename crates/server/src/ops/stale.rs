//! Stale flags (issue 17 part 3): removal candidates of a project. A flag
//! is one when, for the last N days (`?days=`, default
//! `SWITCHYARD_STALE_DAYS`):
//!
//! - **expired**: it is past its declared `expires_at` (any flag);
//! - **single_variant** (temporary flags only: a permanent flag, such as an
//!   operational kill switch, is meant to serve one variant for a long
//!   time): in an environment, every evaluation SDKs reported served the
//!   same variant, and they have reported evaluating it since at least N
//!   days ago (within an hour);
//! - **not_evaluated**: in an environment whose SDKs did send telemetry in
//!   those N days, none reported evaluating it, and the flag is older
//!   than N days.
//!
//! The telemetry rules see only SDKs with telemetry on, and only as far back
//! as the telemetry retention. Reads only. Must not touch HTTP types or SQL.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::OpResult;
use crate::error::ApiError;
use crate::store::{DynStore, Environment, FlagDefinition, FlagQuery, VariantTotal};

/// Most days a report may look back.
pub const MAX_DAYS: u32 = 3650;

/// A project's removal candidates.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

impl StaleReason {
    /// The reason's name (`expired`, `single_variant`, `not_evaluated`), the metric's label.
    pub fn name(&self) -> &'static str {
        match self {
            StaleReason::Expired { .. } => "expired",
            StaleReason::SingleVariant { .. } => "single_variant",
            StaleReason::NotEvaluated { .. } => "not_evaluated",
        }
    }
}

/// Every reason name, for the metric (0 included).
pub const REASONS: [&str; 3] = ["expired", "single_variant", "not_evaluated"];

/// The removal candidates of `project` over the last `days` (1 to
/// [`MAX_DAYS`], else 400), in `environment` only when given (404 when unknown).
#[tracing::instrument(name = "stale_flags", skip(store))]
pub async fn report(store: &DynStore, project: &str, days: u32, environment: Option<&str>) -> OpResult<StaleReport> {
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::bad_query("days", "invalid_query", format!("`days` is from 1 to {MAX_DAYS}")));
    }
    let envs = match environment {
        Some(env) => vec![store.get_environment(project, env).await?],
        None => store.list_environments(project).await?,
    };
    let flags = definitions(store, project).await?;
    let now = Utc::now();
    let since = now - Duration::days(i64::from(days));
    let mut reasons: BTreeMap<String, Vec<StaleReason>> = BTreeMap::new();
    for flag in &flags {
        if let Some(expires_at) = flag.expires_at.filter(|at| *at <= now) {
            reasons.entry(flag.key.clone()).or_default().push(StaleReason::Expired { expires_at });
        }
    }
    for env in &envs {
        for (flag, reason) in in_environment(store, env, &flags, (since, now)).await? {
            reasons.entry(flag).or_default().push(reason);
        }
    }
    let flags = flags
        .into_iter()
        .filter_map(|f| {
            let reasons = reasons.remove(&f.key)?;
            Some(StaleFlag {
                flag: f.key,
                temporary: f.temporary,
                expires_at: f.expires_at,
                created_at: f.created_at,
                reasons,
            })
        })
        .collect();
    Ok(StaleReport { project: project.to_string(), days, generated_at: now, flags })
}

/// Every flag definition of the project, by key.
async fn definitions(store: &DynStore, project: &str) -> OpResult<Vec<FlagDefinition>> {
    let mut out = Vec::new();
    let mut query = FlagQuery { limit: Some(500), ..FlagQuery::default() };
    loop {
        let page = store.list_flags(project, &query).await?;
        out.extend(page.items.into_iter().map(|s| s.flag));
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// The telemetry reasons of one environment: (flag, reason).
async fn in_environment(
    store: &DynStore,
    env: &Environment,
    flags: &[FlagDefinition],
    (since, now): (DateTime<Utc>, DateTime<Utc>),
) -> OpResult<Vec<(String, StaleReason)>> {
    let (start, end) = (since.timestamp().div_euclid(60), now.timestamp().div_euclid(60) + 1);
    let window = group(store.variant_totals(env.id, None, start, end).await?);
    let all = group(store.variant_totals(env.id, None, 0, end).await?);
    let reporting = !store.reporting_instances(env.id, since.timestamp_millis()).await?.is_empty();
    let mut out = Vec::new();
    for flag in flags {
        let seen = window.get(&flag.key).map(Vec::as_slice).unwrap_or_default();
        let ever = all.get(&flag.key).map(Vec::as_slice).unwrap_or_default();
        let first = ever.iter().map(|v| v.first_minute).min();
        if let ([only], true, Some(first)) = (seen, flag.temporary, first)
            && first <= start + 60
        {
            let reason = StaleReason::SingleVariant {
                environment: env.key.clone(),
                variant: only.variant.clone(),
                evaluations: only.evaluations,
            };
            out.push((flag.key.clone(), reason));
        }
        if seen.is_empty() && reporting && flag.created_at <= since {
            let last = ever.iter().map(|v| v.last_minute).max().and_then(|m| DateTime::from_timestamp(m * 60, 0));
            out.push((
                flag.key.clone(),
                StaleReason::NotEvaluated { environment: env.key.clone(), last_evaluated: last },
            ));
        }
    }
    Ok(out)
}

/// Rows by flag.
fn group(rows: Vec<VariantTotal>) -> BTreeMap<String, Vec<VariantTotal>> {
    let mut out: BTreeMap<String, Vec<VariantTotal>> = BTreeMap::new();
    for row in rows {
        out.entry(row.flag.clone()).or_default().push(row);
    }
    out
}

/// Candidates per reason over every project (a flag counts once per
/// reason), for `switchyard_stale_flags{project, reason}`.
pub async fn counts(store: &DynStore, days: u32) -> OpResult<Vec<(String, &'static str, usize)>> {
    let mut out = Vec::new();
    for project in store.list_projects().await? {
        let report = report(store, &project.key, days, None).await?;
        for reason in REASONS {
            let n = report.flags.iter().filter(|f| f.reasons.iter().any(|r| r.name() == reason)).count();
            out.push((project.key.clone(), reason, n));
        }
    }
    Ok(out)
}
