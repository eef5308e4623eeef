//! Flag usage (issue 17 part 2): is anyone still evaluating this flag, and
//! who? Per environment of the project: when it was last evaluated, its
//! evaluations per variant over the last 24 hours and 7 days, and the
//! services that evaluate it (evaluations, instances, last seen), all from
//! SDK telemetry (so from SDKs with telemetry on).
//!
//! Reads only. Must not touch HTTP types or SQL.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::OpResult;
use super::blast::VariantShare;
use crate::store::DynStore;

const DAY_MINUTES: i64 = 24 * 60;
const WEEK_MINUTES: i64 = 7 * DAY_MINUTES;

/// One flag's usage in every environment of its project.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlagUsage {
    /// The project's key.
    pub project: String,
    /// The flag's key.
    pub flag: String,
    /// One entry per environment, in creation order.
    pub environments: Vec<EnvUsage>,
}

/// One flag's usage in one environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// `flag`'s usage in every environment of `project` (404 for an unknown flag).
#[tracing::instrument(name = "flag_usage", skip(store))]
pub async fn usage(store: &DynStore, project: &str, flag: &str) -> OpResult<FlagUsage> {
    store.get_flag(project, flag).await?;
    let now = Utc::now();
    let minute = now.timestamp().div_euclid(60) + 1;
    let mut environments = Vec::new();
    for env in store.list_environments(project).await? {
        let all = store.variant_totals(env.id, Some(flag), 0, minute).await?;
        let day = shares(store, env.id, flag, (minute - DAY_MINUTES, minute)).await?;
        let week = shares(store, env.id, flag, (minute - WEEK_MINUTES, minute)).await?;
        let services = services(store, env.id, flag, (minute, now.timestamp_millis())).await?;
        let by_minute = all.iter().map(|v| v.last_minute).max().and_then(|m| DateTime::from_timestamp(m * 60, 0));
        let by_batch = services.iter().filter_map(|s| s.last_seen).max();
        environments.push(EnvUsage {
            environment: env.key,
            last_evaluated: by_batch.max(by_minute),
            day,
            week,
            services,
        });
    }
    Ok(FlagUsage { project: project.to_string(), flag: flag.to_string(), environments })
}

/// Evaluations per variant over minutes `[from, to)`.
async fn shares(store: &DynStore, env: i64, flag: &str, (from, to): (i64, i64)) -> OpResult<Vec<VariantShare>> {
    let rows = store.variant_totals(env, Some(flag), from, to).await?;
    Ok(rows.into_iter().map(|v| VariantShare { variant: v.variant, evaluations: v.evaluations }).collect())
}

/// Per service: evaluations per day and week, instances, last batch (ms).
type Tally = BTreeMap<Option<String>, (u64, u64, HashSet<String>, Option<i64>)>;

/// The services of the last 7 days: evaluations per day and week, instances, last seen.
async fn services(store: &DynStore, env: i64, flag: &str, (minute, now_ms): (i64, i64)) -> OpResult<Vec<ServiceUsage>> {
    let mut by = Tally::new();
    for total in store.flag_services(env, flag, minute - WEEK_MINUTES, minute).await? {
        by.entry(total.service).or_default().1 += total.evaluations;
    }
    for total in store.flag_services(env, flag, minute - DAY_MINUTES, minute).await? {
        by.entry(total.service).or_default().0 += total.evaluations;
    }
    for row in store.flag_instances(env, flag, now_ms - WEEK_MINUTES * 60_000).await? {
        let entry = by.entry(row.service).or_default();
        entry.2.insert(row.instance);
        entry.3 = entry.3.max(Some(row.last_batch_at));
    }
    let mut out: Vec<ServiceUsage> = by
        .into_iter()
        .map(|(service, (day, week, instances, last))| ServiceUsage {
            service,
            day,
            week,
            instances: instances.len(),
            last_seen: last.and_then(DateTime::from_timestamp_millis),
        })
        .collect();
    out.sort_by(|a, b| (b.week, &a.service).cmp(&(a.week, &b.service)));
    Ok(out)
}
