//! Flag insights in the telemetry area: with each batch, its evaluations
//! attributed to the batch's instance and service
//! (`telemetry_flag_instances`, `telemetry_flag_services`, migration 0013);
//! reads of those and of each flag's variants over a range. Called by the
//! [`TelemetryStore`](crate::store::TelemetryStore) impl in `telemetry`.
//!
//! Owns these two tables' SQL; never writes the other telemetry tables.

use super::This;
use super::row::{Row, get};
use super::tx::WriteTx;
use crate::store::sql::common::{to_i64, to_u64};
use crate::store::{FlagInstance, FlagServiceTotal, Result, TelemetryRecord, VariantTotal};

/// Rows per multi-row upsert (2 parameters each, beside at most 5 shared ones).
const CHUNK: usize = 200;

/// The flags a batch evaluated, with their evaluations (all variants).
fn evaluated(record: &TelemetryRecord) -> Vec<(&str, u64)> {
    let mut flags: Vec<(&str, u64)> = Vec::new();
    // `record.variants` is sorted by (flag, variant): a flag's rows are adjacent.
    for (flag, _, counts) in record.variants.iter().filter(|(_, _, c)| c.evaluations > 0) {
        match flags.last_mut() {
            Some((last, n)) if *last == flag.as_str() => *n = n.saturating_add(counts.evaluations),
            _ => flags.push((flag.as_str(), counts.evaluations)),
        }
    }
    flags
}

/// `($1, $6, $2, …), ($1, $8, $2, …)`: one row per flag, its flag key and
/// evaluations at `$base + 2i` and `$base + 1 + 2i`, the shared values below `$base`.
fn values(rows: usize, base: usize, row: impl Fn(usize, usize) -> String) -> String {
    (0..rows).map(|i| row(base + 2 * i, base + 1 + 2 * i)).collect::<Vec<_>>().join(", ")
}

/// Adds the batch's evaluations per flag to its instance's and service's
/// rows, in the batch's transaction. Nothing when it evaluated nothing.
pub(super) async fn attribute(tx: &mut WriteTx, environment_id: i64, record: &TelemetryRecord) -> Result<()> {
    let service = record.service.as_deref().unwrap_or("");
    for chunk in evaluated(record).chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO telemetry_flag_instances \
             (environment_id, flag, instance, service, last_minute, last_batch_at, evaluations) VALUES {} \
             ON CONFLICT (environment_id, flag, instance) DO UPDATE SET service = excluded.service, \
             last_minute = excluded.last_minute, last_batch_at = excluded.last_batch_at, \
             evaluations = telemetry_flag_instances.evaluations + excluded.evaluations",
            values(chunk.len(), 6, |f, n| format!("($1, ${f}, $2, $3, $4, $5, ${n})"))
        );
        let now = tx.now;
        let mut query = sqlx::query(&sql).bind(environment_id).bind(&record.instance).bind(service);
        query = query.bind(record.minute).bind(now);
        for (flag, evaluations) in chunk {
            query = query.bind(*flag).bind(to_i64(*evaluations));
        }
        query.execute(tx.conn().await?).await?;
        let sql = format!(
            "INSERT INTO telemetry_flag_services (environment_id, flag, service, minute, evaluations) VALUES {} \
             ON CONFLICT (environment_id, flag, service, minute) DO UPDATE SET \
             evaluations = telemetry_flag_services.evaluations + excluded.evaluations",
            values(chunk.len(), 4, |f, n| format!("($1, ${f}, $2, $3, ${n})"))
        );
        let mut query = sqlx::query(&sql).bind(environment_id).bind(service).bind(record.minute);
        for (flag, evaluations) in chunk {
            query = query.bind(*flag).bind(to_i64(*evaluations));
        }
        query.execute(tx.conn().await?).await?;
    }
    Ok(())
}

fn service_of(row: &Row) -> Result<Option<String>> {
    let service: String = get(row, "service")?;
    Ok(Some(service).filter(|s| !s.is_empty()))
}

/// The instances whose last batch evaluating `flag` arrived at `since_ms` or later.
pub(super) async fn instances(
    store: &This,
    environment_id: i64,
    flag: &str,
    since_ms: i64,
) -> Result<Vec<FlagInstance>> {
    let rows = sqlx::query(
        "SELECT instance, service, last_batch_at, evaluations FROM telemetry_flag_instances \
         WHERE environment_id = $1 AND flag = $2 AND last_batch_at >= $3 ORDER BY instance",
    )
    .bind(environment_id)
    .bind(flag)
    .bind(since_ms)
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(FlagInstance {
                flag: flag.to_owned(),
                instance: get(row, "instance")?,
                service: service_of(row)?,
                last_batch_at: get(row, "last_batch_at")?,
                evaluations: to_u64(get(row, "evaluations")?)?,
            })
        })
        .collect()
}

/// `flag`'s evaluations per service over minutes `[from, to)`.
pub(super) async fn services(
    store: &This,
    environment_id: i64,
    flag: &str,
    (from, to): (i64, i64),
) -> Result<Vec<FlagServiceTotal>> {
    let rows = sqlx::query(
        "SELECT service, CAST(SUM(evaluations) AS BIGINT) AS evaluations FROM telemetry_flag_services \
         WHERE environment_id = $1 AND flag = $2 AND minute >= $3 AND minute < $4 GROUP BY service ORDER BY service",
    )
    .bind(environment_id)
    .bind(flag)
    .bind(from)
    .bind(to)
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(FlagServiceTotal {
                flag: flag.to_owned(),
                service: service_of(row)?,
                evaluations: to_u64(get(row, "evaluations")?)?,
            })
        })
        .collect()
}

/// Evaluations per (flag, variant) over minutes `[from, to)`, of `flag` or of every flag.
pub(super) async fn variant_totals(
    store: &This,
    environment_id: i64,
    flag: Option<&str>,
    (from, to): (i64, i64),
) -> Result<Vec<VariantTotal>> {
    let sql = format!(
        "SELECT flag, variant, CAST(SUM(evaluations) AS BIGINT) AS evaluations, MIN(minute) AS first_minute, \
         MAX(minute) AS last_minute FROM telemetry_variants \
         WHERE environment_id = $1 AND minute >= $2 AND minute < $3 AND evaluations > 0{} \
         GROUP BY flag, variant ORDER BY flag, variant",
        if flag.is_some() { " AND flag = $4" } else { "" }
    );
    let mut query = sqlx::query(&sql).bind(environment_id).bind(from).bind(to);
    if let Some(flag) = flag {
        query = query.bind(flag);
    }
    let rows = query.fetch_all(&store.pool).await?;
    rows.iter()
        .map(|row| {
            Ok(VariantTotal {
                flag: get(row, "flag")?,
                variant: get(row, "variant")?,
                evaluations: to_u64(get(row, "evaluations")?)?,
                first_minute: get(row, "first_minute")?,
                last_minute: get(row, "last_minute")?,
            })
        })
        .collect()
}

/// The instances whose last telemetry batch arrived at `since_ms` or later.
pub(super) async fn reporting(store: &This, environment_id: i64, since_ms: i64) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT instance FROM telemetry_instances WHERE environment_id = $1 AND last_batch_at >= $2 ORDER BY instance",
    )
    .bind(environment_id)
    .bind(since_ms)
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(|row| get(row, "instance")).collect()
}
