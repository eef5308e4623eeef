//! The fleet-wide rate limit of alert triggers: a sliding window of fire
//! times per trigger (`trigger_fires`), checked and appended under a lock
//! on the trigger row, so concurrent fires on any number of replicas count
//! exactly once each.

use std::time::Duration;

use super::{LOCK_TRIGGER, This};
use crate::store::Result;
use crate::store::sql::common::now_ms;

/// Claims a fire of trigger `id`, or says how long until a slot frees up.
pub(super) async fn claim(store: &This, id: i64, limit: u32, window: Duration) -> Result<Option<Duration>> {
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let mut tx = store.begin_write().await?;
    sqlx::query(LOCK_TRIGGER).bind(id).execute(tx.conn()).await?;
    // Taken under the lock: fire times follow the order of claims.
    let now = now_ms();
    let since = now.saturating_sub(window_ms);
    sqlx::query("DELETE FROM trigger_fires WHERE trigger_id = $1 AND fired_at <= $2")
        .bind(id)
        .bind(since)
        .execute(tx.conn())
        .await?;
    let (count, oldest): (i64, Option<i64>) =
        sqlx::query_as("SELECT COUNT(*), MIN(fired_at) FROM trigger_fires WHERE trigger_id = $1")
            .bind(id)
            .fetch_one(tx.conn())
            .await?;
    if count >= i64::from(limit) {
        // The oldest fire leaves the window first.
        let free_at = oldest.unwrap_or(now).saturating_add(window_ms);
        let wait = u64::try_from(free_at.saturating_sub(now)).unwrap_or(0);
        tx.commit(store).await?;
        return Ok(Some(Duration::from_millis(wait.max(1))));
    }
    sqlx::query("INSERT INTO trigger_fires (trigger_id, fired_at) VALUES ($1, $2)")
        .bind(id)
        .bind(now)
        .execute(tx.conn())
        .await?;
    tx.commit(store).await?;
    Ok(None)
}
