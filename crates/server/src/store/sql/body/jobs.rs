//! The durable job queue ([`JobStore`](crate::store::JobStore)): due jobs
//! of any kind, claimed for a lease. On Postgres the claim's `SELECT … FOR
//! UPDATE SKIP LOCKED` (the backend's `SKIP_LOCKED` hook, on alias `d`)
//! means concurrent replicas never claim the same job; SQLite is
//! single-instance and its writers are serialised.
//!
//! Owns the `jobs` rows; what a job does is its runner's
//! (`crate::ops::scheduler`).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::row::{Conn, Row, get, get_json};
use super::{SKIP_LOCKED, This};
use crate::store::JobStore;
use crate::store::sql::common::{to_time, to_u64};
use crate::store::{Job, NewJob, Result};

const JOB_COLUMNS: &str = "id, kind, key, payload, due_at, attempts, state, last_error";

fn job_from_row(row: &Row) -> Result<Job> {
    Ok(Job {
        id: get(row, "id")?,
        kind: get(row, "kind")?,
        key: get(row, "key")?,
        payload: get_json(row, "payload")?,
        due_at: to_time(get(row, "due_at")?)?,
        attempts: u32::try_from(to_u64(get(row, "attempts")?)?).unwrap_or(u32::MAX),
        state: get(row, "state")?,
        last_error: get(row, "last_error")?,
    })
}

/// Inserts `job`, or moves the job of its key back to pending (inside the
/// caller's transaction, so a step and its successor commit together).
pub(super) async fn upsert(conn: &mut Conn, job: &NewJob, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO jobs (kind, key, payload, due_at, state, attempts, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5) ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, \
         payload = excluded.payload, due_at = excluded.due_at, state = 'pending', attempts = 0, locked_by = NULL, \
         locked_until = NULL, updated_at = excluded.updated_at",
    )
    .bind(&job.kind)
    .bind(&job.key)
    .bind(Json(&job.payload))
    .bind(job.due_at.timestamp_millis())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks a job done if `worker` holds it (inside the caller's transaction).
pub(super) async fn finish(conn: &mut Conn, id: i64, worker: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET state = 'done', locked_by = NULL, locked_until = NULL, updated_at = $3 \
         WHERE id = $1 AND locked_by = $2 AND state = 'running'",
    )
    .bind(id)
    .bind(worker)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl JobStore for This {
    async fn schedule_job(&self, job: NewJob) -> Result<()> {
        guard!(job);
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        upsert(tx.conn().await?, &job, now).await?;
        tx.commit(self).await
    }

    async fn claim_jobs(&self, worker: &str, now: DateTime<Utc>, lease: Duration, limit: u32) -> Result<Vec<Job>> {
        guard!(worker);
        let now = now.timestamp_millis();
        let until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "SELECT d.id FROM jobs d WHERE (d.state = 'pending' AND d.due_at <= $1) \
             OR (d.state = 'running' AND d.locked_until <= $1) ORDER BY d.due_at, d.id LIMIT $2{SKIP_LOCKED}"
        );
        let ids: Vec<i64> =
            sqlx::query_scalar(&sql).bind(now).bind(i64::from(limit)).fetch_all(tx.conn().await?).await?;
        let mut claimed = Vec::with_capacity(ids.len());
        for id in ids {
            let row = sqlx::query(&format!(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $2, locked_until = $3, \
                 updated_at = $4 WHERE id = $1 RETURNING {JOB_COLUMNS}"
            ))
            .bind(id)
            .bind(worker)
            .bind(until)
            .bind(now)
            .fetch_one(tx.conn().await?)
            .await?;
            claimed.push(job_from_row(&row)?);
        }
        tx.commit(self).await?;
        Ok(claimed)
    }

    async fn finish_job(&self, id: i64, worker: &str) -> Result<bool> {
        guard!(worker);
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        let done = finish(tx.conn().await?, id, worker, now).await?;
        tx.commit(self).await?;
        Ok(done)
    }

    async fn retry_job(
        &self,
        id: i64,
        worker: &str,
        due_at: DateTime<Utc>,
        error: Option<&str>,
        max_attempts: u32,
    ) -> Result<()> {
        guard!(worker, error);
        let mut tx = self.begin_write().await?;
        let now = tx.now;
        sqlx::query(
            "UPDATE jobs SET state = CASE WHEN attempts >= $5 THEN 'failed' ELSE 'pending' END, due_at = $3, \
             attempts = CASE WHEN $4 IS NULL THEN attempts - 1 ELSE attempts END, \
             last_error = COALESCE($4, last_error), locked_by = NULL, locked_until = NULL, updated_at = $6 \
             WHERE id = $1 AND locked_by = $2 AND state = 'running'",
        )
        .bind(id)
        .bind(worker)
        .bind(due_at.timestamp_millis())
        .bind(error)
        .bind(i64::from(max_attempts))
        .bind(now)
        .execute(tx.conn().await?)
        .await?;
        tx.commit(self).await
    }

    async fn job(&self, key: &str) -> Result<Option<Job>> {
        guard!(key);
        let row = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE key = $1"))
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }
}
