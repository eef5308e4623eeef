//! What SDKs use: their keys, snapshots and the change log.
//!
//! Implements `SdkKeyStore` and `ChangeStore`. Owns the `sdk_keys` rows; reads
//! the change log that `tx` writes, never writes it.

use async_trait::async_trait;
use serde_json::json;
use switchyard_core::{ChangeEvent, Snapshot};

use super::This;
use super::audit::Audit;
use super::lookup;
use super::row::{Row, get, get_json};
use crate::store::sql::common::{not_found, to_i64, to_time, to_u64, unique_or};
use crate::store::{Actor, NewSdkKey, Result, SdkKey};
use crate::store::{ChangeStore, SdkKeyStore};

macro_rules! key_select {
    ($where:literal) => {
        concat!(
            "SELECT k.id, k.environment_id, p.key AS project_key, e.key AS env_key, k.name, k.prefix, k.created_at, \
             k.revoked_at, k.last_used_at FROM sdk_keys k JOIN environments e ON e.id = k.environment_id \
             JOIN projects p ON p.id = e.project_id ",
            $where
        )
    };
}

fn key_from_row(row: &Row) -> Result<SdkKey> {
    Ok(SdkKey {
        id: get(row, "id")?,
        environment_id: get(row, "environment_id")?,
        project: get(row, "project_key")?,
        environment: get(row, "env_key")?,
        name: get(row, "name")?,
        prefix: get(row, "prefix")?,
        created_at: to_time(get(row, "created_at")?)?,
        revoked_at: get::<Option<i64>>(row, "revoked_at")?.map(to_time).transpose()?,
        last_used_at: get::<Option<i64>>(row, "last_used_at")?.map(to_time).transpose()?,
    })
}

fn key_json(key: &SdkKey) -> serde_json::Value {
    json!({ "id": key.id, "name": key.name, "prefix": key.prefix })
}

#[async_trait]
impl SdkKeyStore for This {
    async fn create_sdk_key(&self, actor: &Actor, project: &str, env: &str, key: NewSdkKey) -> Result<SdkKey> {
        guard!(actor, project, env, key);
        let mut tx = self.begin_write().await?;
        let env = lookup::env(tx.conn().await?, project, env).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sdk_keys (environment_id, name, hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(env.id)
        .bind(&key.name)
        .bind(&key.hash)
        .bind(&key.prefix)
        .bind(tx.now)
        .fetch_one(tx.conn().await?)
        .await
        .map_err(|e| unique_or(e, "sdk key", &key.prefix))?;
        let created = SdkKey {
            id,
            environment_id: env.id,
            project: env.project.clone(),
            environment: env.key.clone(),
            name: key.name,
            prefix: key.prefix,
            created_at: to_time(tx.now)?,
            revoked_at: None,
            last_used_at: None,
        };
        let audit = Audit {
            project_id: Some(env.project_id),
            environment: Some(&env.key),
            action: "sdk_key.create",
            after: Some(key_json(&created)),
            ..Audit::default()
        };
        tx.audit(actor, audit).await?;
        tx.commit(self).await?;
        Ok(created)
    }

    async fn list_sdk_keys(&self, project: &str, env: &str) -> Result<Vec<SdkKey>> {
        guard!(project, env);
        let mut conn = self.pool.acquire().await?;
        let env = lookup::env(&mut conn, project, env).await?;
        let rows = sqlx::query(key_select!("WHERE k.environment_id = $1 ORDER BY k.id"))
            .bind(env.id)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(key_from_row).collect()
    }

    async fn revoke_sdk_key(&self, actor: &Actor, project: &str, env: &str, id: i64) -> Result<SdkKey> {
        guard!(actor, project, env);
        let mut tx = self.begin_write().await?;
        let env = lookup::env(tx.conn().await?, project, env).await?;
        let row = sqlx::query(key_select!("WHERE k.id = $1 AND k.environment_id = $2"))
            .bind(id)
            .bind(env.id)
            .fetch_optional(tx.conn().await?)
            .await?;
        let mut key = key_from_row(&row.ok_or_else(|| not_found("sdk key", id.to_string()))?)?;
        if key.revoked_at.is_some() {
            return Ok(key);
        }
        sqlx::query("UPDATE sdk_keys SET revoked_at = $2 WHERE id = $1")
            .bind(id)
            .bind(tx.now)
            .execute(tx.conn().await?)
            .await?;
        key.revoked_at = Some(to_time(tx.now)?);
        let audit = Audit {
            project_id: Some(env.project_id),
            environment: Some(&env.key),
            action: "sdk_key.revoke",
            before: Some(key_json(&key)),
            ..Audit::default()
        };
        tx.audit(actor, audit).await?;
        tx.commit(self).await?;
        Ok(key)
    }

    async fn sdk_key_by_hash(&self, hash: &str) -> Result<Option<SdkKey>> {
        guard!(hash);
        // A key of an archived project authenticates nothing (as a revoked one).
        let row = sqlx::query(key_select!("WHERE k.hash = $1 AND p.archived_at IS NULL"))
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(key_from_row).transpose()
    }
}

#[async_trait]
impl ChangeStore for This {
    async fn snapshot(&self, environment_id: i64) -> Result<Snapshot> {
        let mut tx = self.begin_read().await?;
        let env = lookup::env_by_id(&mut tx, environment_id).await?;
        let flags = lookup::env_flags(&mut tx, env.id).await?;
        let segments = lookup::segments(&mut tx, env.project_id).await?.into_iter().map(|s| s.segment).collect();
        tx.commit().await?;
        Ok(Snapshot { revision: env.revision, flags, segments })
    }

    async fn changes_since(&self, environment_id: i64, after: u64, limit: u32) -> Result<Option<Vec<ChangeEvent>>> {
        let mut tx = self.begin_read().await?;
        let env = lookup::env_by_id(&mut tx, environment_id).await?;
        if after >= env.revision {
            return Ok(Some(Vec::new()));
        }
        let oldest: Option<i64> = sqlx::query_scalar("SELECT MIN(revision) FROM changes WHERE environment_id = $1")
            .bind(env.id)
            .fetch_one(&mut *tx)
            .await?;
        match oldest {
            Some(oldest) if to_u64(oldest)? <= after + 1 => {}
            _ => return Ok(None),
        }
        let rows = sqlx::query(
            "SELECT event FROM changes WHERE environment_id = $1 AND revision > $2 ORDER BY revision LIMIT $3",
        )
        .bind(env.id)
        .bind(to_i64(after))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(|r| get_json(r, "event")).collect::<Result<Vec<_>>>().map(Some)
    }

    async fn revisions(&self) -> Result<Vec<(i64, u64)>> {
        let rows = sqlx::query("SELECT id, revision FROM environments ORDER BY id").fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((get(r, "id")?, to_u64(get(r, "revision")?)?))).collect()
    }
}
