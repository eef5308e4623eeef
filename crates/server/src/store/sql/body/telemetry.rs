//! The telemetry area ([`TelemetryStore`](crate::store::TelemetryStore)):
//! add a batch (one transaction of upserts that add), read per-variant
//! series summed per step, prune by age. Owns the `telemetry_*` tables.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};

use super::This;
use super::row::{Row, get};
use crate::store::sql::common::{to_i64, to_u64};
use crate::store::{
    FlagInstance, FlagServiceTotal, LATENCY_BUCKETS, Result, SeriesRow, TelemetryRecord, VariantCounts, VariantEvents,
    VariantTotal,
};

/// The upsert of one (flag, variant, minute): every column adds.
static UPSERT_VARIANT: LazyLock<String> = LazyLock::new(|| {
    let buckets: Vec<String> = (0..LATENCY_BUCKETS).map(|i| format!("b{i}")).collect();
    let placeholders: Vec<String> = (0..LATENCY_BUCKETS).map(|i| format!("${}", i + 10)).collect();
    let added: Vec<String> = ["evaluations", "requests", "errors", "latency_ms_sum", "latency_ms_sum_sq"]
        .iter()
        .map(|c| c.to_string())
        .chain(buckets.iter().cloned())
        .map(|c| format!("{c} = telemetry_variants.{c} + excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO telemetry_variants (environment_id, flag, variant, minute, evaluations, requests, errors, \
         latency_ms_sum, latency_ms_sum_sq, {}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, {}) \
         ON CONFLICT (environment_id, flag, variant, minute) DO UPDATE SET {}",
        buckets.join(", "),
        placeholders.join(", "),
        added.join(", ")
    )
});

/// The per-step sums of one flag's variants.
static SERIES: LazyLock<String> = LazyLock::new(|| {
    let sums: Vec<String> = ["evaluations", "requests", "errors"]
        .iter()
        .map(|c| c.to_string())
        .chain((0..LATENCY_BUCKETS).map(|i| format!("b{i}")))
        .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
        .collect();
    format!(
        "SELECT variant, (minute - $3) / $5 AS step, {}, \
         SUM(latency_ms_sum) AS latency_ms_sum, SUM(latency_ms_sum_sq) AS latency_ms_sum_sq \
         FROM telemetry_variants WHERE environment_id = $1 AND flag = $2 AND minute >= $3 AND minute < $4 \
         GROUP BY variant, (minute - $3) / $5 ORDER BY variant, step",
        sums.join(", ")
    )
});

/// Adds one batch, in one transaction.
pub(super) async fn record(store: &This, environment_id: i64, record: &TelemetryRecord) -> Result<()> {
    let mut tx = store.begin_write().await?;
    for (flag, variant, c) in &record.variants {
        let mut query = sqlx::query(UPSERT_VARIANT.as_str())
            .bind(environment_id)
            .bind(flag)
            .bind(variant)
            .bind(record.minute)
            .bind(to_i64(c.evaluations))
            .bind(to_i64(c.requests))
            .bind(to_i64(c.errors))
            .bind(c.latency_ms_sum)
            .bind(c.latency_ms_sum_sq);
        for b in c.buckets {
            query = query.bind(to_i64(b));
        }
        query.execute(tx.conn().await?).await?;
    }
    if record.unattributed > 0 {
        sqlx::query(
            "INSERT INTO telemetry_unattributed (environment_id, minute, evaluations) VALUES ($1, $2, $3) \
             ON CONFLICT (environment_id, minute) \
             DO UPDATE SET evaluations = telemetry_unattributed.evaluations + excluded.evaluations",
        )
        .bind(environment_id)
        .bind(record.minute)
        .bind(to_i64(record.unattributed))
        .execute(tx.conn().await?)
        .await?;
    }
    for (event, count, value_sum) in &record.events {
        sqlx::query(
            "INSERT INTO telemetry_events (environment_id, event, minute, count, value_sum) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (environment_id, event, minute) \
             DO UPDATE SET count = telemetry_events.count + excluded.count, \
             value_sum = telemetry_events.value_sum + excluded.value_sum",
        )
        .bind(environment_id)
        .bind(event)
        .bind(record.minute)
        .bind(to_i64(*count))
        .bind(*value_sum)
        .execute(tx.conn().await?)
        .await?;
    }
    for e in &record.variant_events {
        sqlx::query(
            "INSERT INTO telemetry_variant_events (environment_id, flag, variant, event, minute, count, value_sum) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (environment_id, flag, variant, event, minute) \
             DO UPDATE SET count = telemetry_variant_events.count + excluded.count, \
             value_sum = telemetry_variant_events.value_sum + excluded.value_sum",
        )
        .bind(environment_id)
        .bind(&e.flag)
        .bind(&e.variant)
        .bind(&e.event)
        .bind(record.minute)
        .bind(to_i64(e.count))
        .bind(e.value_sum)
        .execute(tx.conn().await?)
        .await?;
    }
    super::insights::attribute(&mut tx, environment_id, record).await?;
    sqlx::query(
        "INSERT INTO telemetry_instances (environment_id, instance, sdk, last_batch_at, dropped) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (environment_id, instance) \
         DO UPDATE SET sdk = excluded.sdk, last_batch_at = excluded.last_batch_at, \
         dropped = telemetry_instances.dropped + excluded.dropped",
    )
    .bind(environment_id)
    .bind(&record.instance)
    .bind(&record.sdk)
    .bind(tx.now)
    .bind(to_i64(record.dropped))
    .execute(tx.conn().await?)
    .await?;
    tx.commit(store).await
}

/// One flag's per-variant sums per step.
pub(super) async fn series(
    store: &This,
    environment_id: i64,
    flag: &str,
    (from, to, step): (i64, i64, i64),
) -> Result<Vec<SeriesRow>> {
    let rows = sqlx::query(SERIES.as_str())
        .bind(environment_id)
        .bind(flag)
        .bind(from)
        .bind(to)
        .bind(step.max(1))
        .fetch_all(&store.pool)
        .await?;
    rows.iter().map(series_row).collect()
}

fn series_row(row: &Row) -> Result<SeriesRow> {
    let mut buckets = [0u64; LATENCY_BUCKETS];
    for (i, b) in buckets.iter_mut().enumerate() {
        *b = to_u64(get::<i64>(row, &format!("b{i}"))?)?;
    }
    Ok(SeriesRow {
        variant: get(row, "variant")?,
        step: get(row, "step")?,
        counts: VariantCounts {
            evaluations: to_u64(get(row, "evaluations")?)?,
            requests: to_u64(get(row, "requests")?)?,
            errors: to_u64(get(row, "errors")?)?,
            latency_ms_sum: get(row, "latency_ms_sum")?,
            latency_ms_sum_sq: get(row, "latency_ms_sum_sq")?,
            buckets,
        },
    })
}

/// One flag's events per (variant, event) over `[from, to)`.
pub(super) async fn variant_events(
    store: &This,
    environment_id: i64,
    flag: &str,
    (from, to): (i64, i64),
) -> Result<Vec<VariantEvents>> {
    let rows = sqlx::query(
        "SELECT variant, event, CAST(SUM(count) AS BIGINT) AS count, SUM(value_sum) AS value_sum \
         FROM telemetry_variant_events WHERE environment_id = $1 AND flag = $2 AND minute >= $3 AND minute < $4 \
         GROUP BY variant, event ORDER BY variant, event",
    )
    .bind(environment_id)
    .bind(flag)
    .bind(from)
    .bind(to)
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(VariantEvents {
                flag: flag.to_owned(),
                variant: get(row, "variant")?,
                event: get(row, "event")?,
                count: to_u64(get(row, "count")?)?,
                value_sum: get(row, "value_sum")?,
            })
        })
        .collect()
}

/// One event of one flag per (minute, variant) over `[from, to)`.
pub(super) async fn event_minutes(
    store: &This,
    environment_id: i64,
    (flag, event): (&str, &str),
    (from, to): (i64, i64),
) -> Result<Vec<(i64, VariantEvents)>> {
    let rows = sqlx::query(
        "SELECT minute, variant, count, value_sum FROM telemetry_variant_events \
         WHERE environment_id = $1 AND flag = $2 AND event = $3 AND minute >= $4 AND minute < $5 \
         ORDER BY minute, variant",
    )
    .bind(environment_id)
    .bind(flag)
    .bind(event)
    .bind(from)
    .bind(to)
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|row| {
            let counts = VariantEvents {
                flag: flag.to_owned(),
                variant: get(row, "variant")?,
                event: event.to_owned(),
                count: to_u64(get(row, "count")?)?,
                value_sum: get(row, "value_sum")?,
            };
            Ok((get(row, "minute")?, counts))
        })
        .collect()
}

/// Deletes the minutes before `before` and instances last seen before it.
pub(super) async fn prune(store: &This, before: DateTime<Utc>) -> Result<u64> {
    let before_ms = before.timestamp_millis();
    let minute = before_ms.div_euclid(60_000);
    let mut tx = store.begin_write().await?;
    let mut gone = 0;
    let tables = [
        "telemetry_variants",
        "telemetry_unattributed",
        "telemetry_events",
        "telemetry_variant_events",
        "telemetry_flag_services",
    ];
    for table in tables {
        let sql = format!("DELETE FROM {table} WHERE minute < $1");
        gone += sqlx::query(&sql).bind(minute).execute(tx.conn().await?).await?.rows_affected();
    }
    for table in ["telemetry_instances", "telemetry_flag_instances"] {
        let sql = format!("DELETE FROM {table} WHERE last_batch_at < $1");
        gone += sqlx::query(&sql).bind(before_ms).execute(tx.conn().await?).await?.rows_affected();
    }
    tx.commit(store).await?;
    Ok(gone)
}

/// The text policy on every string of a record (the same answer on both stores).
fn check_text(record: &TelemetryRecord) -> Result<()> {
    use crate::text::check_arg;
    check_arg("sdk", &record.sdk)?;
    check_arg("instance", &record.instance)?;
    if let Some(service) = &record.service {
        check_arg("service", service)?;
    }
    for (flag, variant, _) in &record.variants {
        check_arg("flag", flag)?;
        check_arg("variant", variant)?;
    }
    for (event, _, _) in &record.events {
        check_arg("event", event)?;
    }
    for e in &record.variant_events {
        check_arg("flag", &e.flag)?;
        check_arg("variant", &e.variant)?;
        check_arg("event", &e.event)?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl crate::store::TelemetryStore for This {
    async fn record_telemetry(&self, environment_id: i64, record: &TelemetryRecord) -> Result<()> {
        check_text(record)?;
        self::record(self, environment_id, record).await
    }

    async fn telemetry_series(
        &self,
        environment_id: i64,
        flag: &str,
        from_minute: i64,
        to_minute: i64,
        step_minutes: i64,
    ) -> Result<Vec<SeriesRow>> {
        crate::text::check_arg("flag", &flag)?;
        series(self, environment_id, flag, (from_minute, to_minute, step_minutes)).await
    }

    async fn telemetry_variant_events(
        &self,
        environment_id: i64,
        flag: &str,
        from_minute: i64,
        to_minute: i64,
    ) -> Result<Vec<VariantEvents>> {
        crate::text::check_arg("flag", &flag)?;
        variant_events(self, environment_id, flag, (from_minute, to_minute)).await
    }

    async fn telemetry_event_minutes(
        &self,
        environment_id: i64,
        flag: &str,
        event: &str,
        from_minute: i64,
        to_minute: i64,
    ) -> Result<Vec<(i64, VariantEvents)>> {
        crate::text::check_arg("flag", &flag)?;
        crate::text::check_arg("event", &event)?;
        event_minutes(self, environment_id, (flag, event), (from_minute, to_minute)).await
    }

    async fn flag_instances(&self, environment_id: i64, flag: &str, since_ms: i64) -> Result<Vec<FlagInstance>> {
        crate::text::check_arg("flag", &flag)?;
        super::insights::instances(self, environment_id, flag, since_ms).await
    }

    async fn flag_services(
        &self,
        environment_id: i64,
        flag: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<FlagServiceTotal>> {
        crate::text::check_arg("flag", &flag)?;
        super::insights::services(self, environment_id, flag, (from, to)).await
    }

    async fn variant_totals(
        &self,
        environment_id: i64,
        flag: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<VariantTotal>> {
        if let Some(flag) = flag {
            crate::text::check_arg("flag", &flag)?;
        }
        super::insights::variant_totals(self, environment_id, flag, (from, to)).await
    }

    async fn reporting_instances(&self, environment_id: i64, since_ms: i64) -> Result<Vec<String>> {
        super::insights::reporting(self, environment_id, since_ms).await
    }

    async fn prune_telemetry(&self, before: DateTime<Utc>) -> Result<u64> {
        prune(self, before).await
    }
}
