//! Segments. Every segment write bumps every environment of the project.
//!
//! Implements `SegmentStore`. Owns the `segments` rows; reads configurations
//! only to refuse deleting a segment in use.

use async_trait::async_trait;
use switchyard_core::{ChangeEvent, Segment, ValidationErrors};

use super::This;
use super::audit::Audit;
use super::lookup::{self, ProjectRow, segment_from_row};
use super::row::{Conn, get, get_json};
use super::tx::WriteTx;
use crate::store::SegmentStore;
use crate::store::sql::common::{
    check_key, config_references, invalid, not_found, segment_references, to_i64, to_json, to_time, unique_or,
    version_conflict,
};
use crate::store::{Actor, Result, SegmentInput, SegmentRecord, StoreError};

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// Validates `segment` (new or replacing the one with its key) together
/// with the project's other segments; paths are those of the input.
fn validate(existing: &[SegmentRecord], segment: &Segment) -> Result<()> {
    let mut all: Vec<Segment> =
        existing.iter().filter(|r| r.segment.key != segment.key).map(|r| r.segment.clone()).collect();
    all.push(segment.clone());
    let index = all.len() - 1;
    switchyard_core::validate_segments(&all).map_err(|errors| {
        let errors = errors
            .0
            .into_iter()
            .map(|mut e| {
                // `segments[i].rest`: relative to the input for the written
                // segment, `segments.<key>.rest` for the others.
                if let Some(rest) = e.path.strip_prefix("segments[")
                    && let Some((i, rest)) = rest.split_once(']')
                    && let Ok(i) = i.parse::<usize>()
                {
                    let rest = rest.trim_start_matches('.');
                    e.path = if i == index {
                        rest.to_string()
                    } else {
                        let key = all.get(i).map(|s| s.key.as_str()).unwrap_or_default();
                        if rest.is_empty() { format!("segments.{key}") } else { format!("segments.{key}.{rest}") }
                    };
                }
                e
            })
            .collect();
        StoreError::Validation(ValidationErrors(errors))
    })
}

async fn begin(store: &This, project: &str) -> Result<(WriteTx, ProjectRow)> {
    let mut tx = store.begin_write().await?;
    let p = lookup::project(tx.conn().await?, project).await?;
    tx.lock_project(p.id).await?;
    Ok((tx, p))
}

async fn segment(conn: &mut Conn, project_id: i64, key: &str) -> Result<SegmentRecord> {
    let row = sqlx::query(
        "SELECT key, name, description, segment, version, updated_at FROM segments WHERE project_id = $1 AND key = $2",
    )
    .bind(project_id)
    .bind(key)
    .fetch_optional(conn)
    .await?;
    segment_from_row(&row.ok_or_else(|| not_found("segment", key))?)
}

/// Bumps every environment of the project with `event`.
async fn bump_all(tx: &mut WriteTx, project_id: i64, event: ChangeEvent) -> Result<()> {
    for env in lookup::project_envs(tx.conn().await?, project_id).await? {
        tx.bump(&env, event.clone()).await?;
    }
    Ok(())
}

fn record(input: SegmentInput, version: u64, now: i64) -> Result<SegmentRecord> {
    Ok(SegmentRecord {
        name: non_empty(input.name).unwrap_or_else(|| input.key.clone()),
        description: non_empty(input.description),
        segment: Segment {
            key: input.key,
            version,
            included: input.included,
            excluded: input.excluded,
            rules: input.rules,
        },
        updated_at: to_time(now)?,
    })
}

#[async_trait]
impl SegmentStore for This {
    async fn create_segment(&self, actor: &Actor, project: &str, input: SegmentInput) -> Result<SegmentRecord> {
        guard!(actor, project, segment = input);
        check_key(&input.key, "key")?;
        let (mut tx, p) = begin(self, project).await?;
        let new = record(input, 1, tx.now)?;
        validate(&lookup::segments(tx.conn().await?, p.id).await?, &new.segment)?;
        sqlx::query(
            "INSERT INTO segments (project_id, key, name, description, segment, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
        )
        .bind(p.id)
        .bind(&new.segment.key)
        .bind(&new.name)
        .bind(&new.description)
        .bind(sqlx::types::Json(&new.segment))
        .bind(tx.now)
        .execute(tx.conn().await?)
        .await
        .map_err(|e| unique_or(e, "segment", &new.segment.key))?;
        let audit = Audit {
            project_id: Some(p.id),
            segment: Some(&new.segment.key),
            action: "segment.create",
            after: Some(to_json(&new)?),
            ..Audit::default()
        };
        tx.audit(actor, audit).await?;
        bump_all(&mut tx, p.id, ChangeEvent { segments: vec![new.segment.clone()], ..ChangeEvent::default() }).await?;
        tx.commit(self).await?;
        Ok(new)
    }

    async fn list_segments(&self, project: &str) -> Result<Vec<SegmentRecord>> {
        guard!(project);
        let mut conn = self.pool.acquire().await?;
        let p = lookup::project(&mut conn, project).await?;
        lookup::segments(&mut conn, p.id).await
    }

    async fn get_segment(&self, project: &str, key: &str) -> Result<SegmentRecord> {
        guard!(project, segment = key);
        let mut conn = self.pool.acquire().await?;
        let p = lookup::project(&mut conn, project).await?;
        segment(&mut conn, p.id, key).await
    }

    async fn update_segment(
        &self,
        actor: &Actor,
        project: &str,
        key: &str,
        input: SegmentInput,
        expected_version: u64,
    ) -> Result<SegmentRecord> {
        guard!(actor, project, segment = key, input);
        if input.key != key {
            return Err(invalid(
                "key",
                "key_mismatch",
                format!("a segment cannot be renamed (`{key}` → `{}`)", input.key),
            ));
        }
        let (mut tx, p) = begin(self, project).await?;
        let old = segment(tx.conn().await?, p.id, key).await?;
        if old.segment.version != expected_version {
            return Err(version_conflict("segment", key, old.segment.version, expected_version));
        }
        let new = record(input, old.segment.version + 1, tx.now)?;
        let same = new.name == old.name
            && new.description == old.description
            && new.segment.included == old.segment.included
            && new.segment.excluded == old.segment.excluded
            && new.segment.rules == old.segment.rules;
        if same {
            return Ok(old);
        }
        validate(&lookup::segments(tx.conn().await?, p.id).await?, &new.segment)?;
        sqlx::query(
            "UPDATE segments SET name = $3, description = $4, segment = $5, version = $6, updated_at = $7 \
             WHERE project_id = $1 AND key = $2",
        )
        .bind(p.id)
        .bind(key)
        .bind(&new.name)
        .bind(&new.description)
        .bind(sqlx::types::Json(&new.segment))
        .bind(to_i64(new.segment.version))
        .bind(tx.now)
        .execute(tx.conn().await?)
        .await?;
        let audit = Audit {
            project_id: Some(p.id),
            segment: Some(key),
            action: "segment.update",
            before: Some(to_json(&old)?),
            after: Some(to_json(&new)?),
            ..Audit::default()
        };
        tx.audit(actor, audit).await?;
        bump_all(&mut tx, p.id, ChangeEvent { segments: vec![new.segment.clone()], ..ChangeEvent::default() }).await?;
        tx.commit(self).await?;
        Ok(new)
    }

    async fn delete_segment(&self, actor: &Actor, project: &str, key: &str) -> Result<()> {
        guard!(actor, project, segment = key);
        let (mut tx, p) = begin(self, project).await?;
        let old = segment(tx.conn().await?, p.id, key).await?;
        let mut users: Vec<String> = Vec::new();
        let rows = sqlx::query(
            "SELECT f.key AS flag_key, e.key AS env_key, c.config FROM flag_configs c \
             JOIN flags f ON f.id = c.flag_id JOIN environments e ON e.id = c.environment_id \
             WHERE f.project_id = $1 ORDER BY f.key, e.id",
        )
        .bind(p.id)
        .fetch_all(tx.conn().await?)
        .await?;
        for row in &rows {
            if config_references(&get_json(row, "config")?, key) {
                users.push(format!(
                    "flag `{}` in `{}`",
                    get::<String>(row, "flag_key")?,
                    get::<String>(row, "env_key")?
                ));
            }
        }
        for other in lookup::segments(tx.conn().await?, p.id).await? {
            if other.segment.key != key && segment_references(&other.segment, key) {
                users.push(format!("segment `{}`", other.segment.key));
            }
        }
        if !users.is_empty() {
            let more = if users.len() > 5 { format!(" and {} more", users.len() - 5) } else { String::new() };
            users.truncate(5);
            return Err(StoreError::Conflict {
                code: "segment_in_use",
                message: format!("segment `{key}` is still used by {}{more}", users.join(", ")),
                current_version: None,
            });
        }
        sqlx::query("DELETE FROM segments WHERE project_id = $1 AND key = $2")
            .bind(p.id)
            .bind(key)
            .execute(tx.conn().await?)
            .await?;
        let audit = Audit {
            project_id: Some(p.id),
            segment: Some(key),
            action: "segment.delete",
            before: Some(to_json(&old)?),
            ..Audit::default()
        };
        tx.audit(actor, audit).await?;
        bump_all(&mut tx, p.id, ChangeEvent { deleted_segments: vec![key.to_string()], ..ChangeEvent::default() })
            .await?;
        tx.commit(self).await
    }
}
