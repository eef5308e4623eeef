//! Alert triggers: secret URLs that kill or restore one flag in one
//! environment, and their fleet-wide rate limit (a sliding window of fire
//! times per trigger in `trigger_fires`, checked and appended under a lock
//! on the trigger row, so concurrent fires on any number of replicas count
//! exactly once each). Nothing here changes what an SDK sees, so writes
//! audit but never bump a revision.
//!
//! Owns the `triggers` and `trigger_fires` rows; the kill a fire causes is
//! `kill`'s, the fire workflow is outside the store.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

use super::audit::Audit;
use super::lookup::{self, EnvRef};
use super::row::{Row, get};
use super::{LOCK_TRIGGER, This};
use crate::store::TriggerStore;
use crate::store::sql::common::{not_found, now_ms, to_time, unique_or};
use crate::store::{Actor, NewTrigger, Result, SecretHash, StoreError, Trigger, TriggerAction};

macro_rules! trigger_select {
    ($where:literal) => {
        concat!(
            "SELECT t.id, t.environment_id, p.key AS project_key, e.key AS env_key, f.key AS flag_key, t.name, \
             t.action, t.restore_on_resolve, t.prefix, t.created_by, t.created_at, t.disabled_at \
             FROM triggers t JOIN environments e ON e.id = t.environment_id \
             JOIN projects p ON p.id = e.project_id JOIN flags f ON f.id = t.flag_id ",
            $where
        )
    };
}

fn trigger_from_row(row: &Row) -> Result<Trigger> {
    let action: String = get(row, "action")?;
    Ok(Trigger {
        id: get(row, "id")?,
        environment_id: get(row, "environment_id")?,
        project: get(row, "project_key")?,
        environment: get(row, "env_key")?,
        flag: get(row, "flag_key")?,
        name: get(row, "name")?,
        action: TriggerAction::parse(&action)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown trigger action `{action}`")))?,
        restore_on_resolve: get(row, "restore_on_resolve")?,
        prefix: get(row, "prefix")?,
        created_by: get(row, "created_by")?,
        created_at: to_time(get(row, "created_at")?)?,
        disabled_at: get::<Option<i64>>(row, "disabled_at")?.map(to_time).transpose()?,
    })
}

fn trigger_json(t: &Trigger) -> serde_json::Value {
    json!({
        "id": t.id,
        "name": t.name,
        "action": t.action,
        "restore_on_resolve": t.restore_on_resolve,
        "prefix": t.prefix,
    })
}

/// One trigger of this flag in this environment, or `NotFound`.
async fn trigger_of(conn: &mut super::row::Conn, env: &EnvRef, flag_id: i64, id: i64) -> Result<Trigger> {
    let row = sqlx::query(trigger_select!("WHERE t.id = $1 AND t.environment_id = $2 AND t.flag_id = $3"))
        .bind(id)
        .bind(env.id)
        .bind(flag_id)
        .fetch_optional(conn)
        .await?;
    trigger_from_row(&row.ok_or_else(|| not_found("trigger", id.to_string()))?)
}

#[async_trait]
impl TriggerStore for This {
    /// Claims a fire of trigger `id`, or says how long until a slot frees up.
    async fn claim_trigger_fire(&self, id: i64, limit: u32, window: Duration) -> Result<Option<Duration>> {
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let mut tx = self.begin_write().await?;
        sqlx::query(LOCK_TRIGGER).bind(id).execute(tx.conn().await?).await?;
        // Taken under the lock: fire times follow the order of claims.
        let now = now_ms();
        let since = now.saturating_sub(window_ms);
        sqlx::query("DELETE FROM trigger_fires WHERE trigger_id = $1 AND fired_at <= $2")
            .bind(id)
            .bind(since)
            .execute(tx.conn().await?)
            .await?;
        let (count, oldest): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(fired_at) FROM trigger_fires WHERE trigger_id = $1")
                .bind(id)
                .fetch_one(tx.conn().await?)
                .await?;
        if count >= i64::from(limit) {
            // The oldest fire leaves the window first.
            let free_at = oldest.unwrap_or(now).saturating_add(window_ms);
            let wait = u64::try_from(free_at.saturating_sub(now)).unwrap_or(0);
            tx.commit(self).await?;
            return Ok(Some(Duration::from_millis(wait.max(1))));
        }
        sqlx::query("INSERT INTO trigger_fires (trigger_id, fired_at) VALUES ($1, $2)")
            .bind(id)
            .bind(now)
            .execute(tx.conn().await?)
            .await?;
        tx.commit(self).await?;
        Ok(None)
    }

    async fn create_trigger(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        flag: &str,
        trigger: NewTrigger,
    ) -> Result<Trigger> {
        guard!(actor, project, env, flag, trigger);
        let mut tx = self.begin_write().await?;
        let env = lookup::env(tx.conn().await?, project, env).await?;
        let flag = lookup::flag(tx.conn().await?, env.project_id, flag).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO triggers (environment_id, flag_id, name, action, restore_on_resolve, hash, prefix, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(env.id)
        .bind(flag.id)
        .bind(&trigger.name)
        .bind(trigger.action.as_str())
        .bind(trigger.restore_on_resolve)
        .bind(&trigger.secret.hash)
        .bind(&trigger.secret.prefix)
        .bind(&actor.name)
        .bind(tx.now)
        .fetch_one(tx.conn().await?)
        .await
        .map_err(|e| unique_or(e, "trigger", &trigger.secret.prefix))?;
        let created = Trigger {
            id,
            environment_id: env.id,
            project: env.project.clone(),
            environment: env.key.clone(),
            flag: flag.def.key.clone(),
            name: trigger.name,
            action: trigger.action,
            restore_on_resolve: trigger.restore_on_resolve,
            prefix: trigger.secret.prefix,
            created_by: actor.name.clone(),
            created_at: to_time(tx.now)?,
            disabled_at: None,
        };
        let audit = Audit {
            project_id: Some(env.project_id),
            environment: Some(&env.key),
            flag: Some(&created.flag),
            action: "trigger.create",
            after: Some(trigger_json(&created)),
            ..Audit::default()
        };
        tx.audit(actor, audit).await?;
        tx.commit(self).await?;
        Ok(created)
    }

    async fn list_triggers(&self, project: &str, env: &str, flag: &str) -> Result<Vec<Trigger>> {
        guard!(project, env, flag);
        let mut conn = self.pool.acquire().await?;
        let env = lookup::env(&mut conn, project, env).await?;
        let flag = lookup::flag(&mut conn, env.project_id, flag).await?;
        let rows = sqlx::query(trigger_select!("WHERE t.environment_id = $1 AND t.flag_id = $2 ORDER BY t.id"))
            .bind(env.id)
            .bind(flag.id)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(trigger_from_row).collect()
    }

    async fn delete_trigger(&self, actor: &Actor, project: &str, env: &str, flag: &str, id: i64) -> Result<Trigger> {
        guard!(actor, project, env, flag);
        let mut tx = self.begin_write().await?;
        let env = lookup::env(tx.conn().await?, project, env).await?;
        let flag = lookup::flag(tx.conn().await?, env.project_id, flag).await?;
        let mut trigger = trigger_of(tx.conn().await?, &env, flag.id, id).await?;
        if trigger.disabled_at.is_some() {
            return Ok(trigger);
        }
        sqlx::query("UPDATE triggers SET disabled_at = $2 WHERE id = $1")
            .bind(id)
            .bind(tx.now)
            .execute(tx.conn().await?)
            .await?;
        trigger.disabled_at = Some(to_time(tx.now)?);
        let audit = Audit {
            project_id: Some(env.project_id),
            environment: Some(&env.key),
            flag: Some(&trigger.flag),
            action: "trigger.delete",
            before: Some(trigger_json(&trigger)),
            ..Audit::default()
        };
        tx.audit(actor, audit).await?;
        tx.commit(self).await?;
        Ok(trigger)
    }

    async fn rotate_trigger(
        &self,
        actor: &Actor,
        (project, env, flag): (&str, &str, &str),
        id: i64,
        secret: SecretHash,
    ) -> Result<Trigger> {
        guard!(actor, scope = (project, env, flag), secret);
        let mut tx = self.begin_write().await?;
        let env = lookup::env(tx.conn().await?, project, env).await?;
        let flag = lookup::flag(tx.conn().await?, env.project_id, flag).await?;
        let mut trigger = trigger_of(tx.conn().await?, &env, flag.id, id).await?;
        if trigger.disabled_at.is_some() {
            return Err(StoreError::Conflict {
                code: "trigger_disabled",
                message: format!("trigger {id} is deleted; create a new one"),
                current_version: None,
            });
        }
        sqlx::query("UPDATE triggers SET hash = $2, prefix = $3 WHERE id = $1")
            .bind(id)
            .bind(&secret.hash)
            .bind(&secret.prefix)
            .execute(tx.conn().await?)
            .await
            .map_err(|e| unique_or(e, "trigger", &secret.prefix))?;
        let before = trigger_json(&trigger);
        trigger.prefix = secret.prefix;
        let audit = Audit {
            project_id: Some(env.project_id),
            environment: Some(&env.key),
            flag: Some(&trigger.flag),
            action: "trigger.rotate",
            before: Some(before),
            after: Some(trigger_json(&trigger)),
            ..Audit::default()
        };
        tx.audit(actor, audit).await?;
        tx.commit(self).await?;
        Ok(trigger)
    }

    async fn trigger_by_hash(&self, hash: &str) -> Result<Option<Trigger>> {
        guard!(hash);
        let row = sqlx::query(trigger_select!("WHERE t.hash = $1")).bind(hash).fetch_optional(&self.pool).await?;
        row.as_ref().map(trigger_from_row).transpose()
    }
}
