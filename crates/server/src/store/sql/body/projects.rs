//! Projects and environments.
//!
//! Implements `ProjectStore`. Owns the `projects` and `environments` rows; a
//! new environment's configurations go through `configs::insert_config`.

use async_trait::async_trait;
use switchyard_core::{ChangeEvent, ValidationError, ValidationErrors};

use super::This;
use super::audit::Audit;
use super::configs::insert_config;
use super::lookup::{self, EnvRef, ProjectRow, project_from_row};
use super::tx::WriteTx;
use crate::store::ProjectStore;
use crate::store::sql::common::{check_key, merge, to_json, to_time, unique_or};
use crate::store::{Actor, Environment, EnvironmentPatch, NewEnvironment, NewProject, Project, Result, StoreError};

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

#[async_trait]
impl ProjectStore for This {
    async fn create_project(&self, actor: &Actor, new: NewProject) -> Result<Project> {
        guard!(actor, project = new);
        check_key(&new.key, "key")?;
        let envs = new_envs(new.environments.as_deref().unwrap_or_default())?;
        let mut tx = self.begin_write().await?;
        let name = non_empty(new.name).unwrap_or_else(|| new.key.clone());
        let description = non_empty(new.description);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO projects (key, name, description, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(&new.key)
        .bind(&name)
        .bind(&description)
        .bind(tx.now)
        .fetch_one(tx.conn().await?)
        .await
        .map_err(|e| unique_or(e, "project", &new.key))?;
        let project = Project { key: new.key, name, description, created_at: to_time(tx.now)?, archived_at: None };
        let audit = Audit {
            project_id: Some(id),
            action: "project.create",
            after: Some(to_json(&project)?),
            ..Audit::default()
        };
        tx.audit(actor, audit).await?;
        let row = ProjectRow { id, project: project.clone() };
        for env in envs {
            insert_env(&mut tx, actor, &row, env).await?;
        }
        tx.commit(self).await?;
        Ok(project)
    }

    async fn list_projects(&self) -> Result<Vec<Project>> {
        let rows = sqlx::query("SELECT id, key, name, description, created_at, archived_at FROM projects ORDER BY key")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(project_from_row(r)?.project)).collect()
    }

    async fn get_project(&self, key: &str) -> Result<Project> {
        guard!(project = key);
        let mut conn = self.pool.acquire().await?;
        Ok(lookup::project(&mut conn, key).await?.project)
    }

    async fn create_environment(&self, actor: &Actor, project: &str, new: NewEnvironment) -> Result<Environment> {
        guard!(actor, project, env = new);
        check_env(&new)?;
        let mut tx = self.begin_write().await?;
        let p = lookup::project(tx.conn().await?, project).await?;
        tx.lock_project(p.id).await?;
        let environment = insert_env(&mut tx, actor, &p, new).await?;
        tx.commit(self).await?;
        Ok(environment)
    }

    async fn update_environment(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        patch: EnvironmentPatch,
    ) -> Result<Environment> {
        guard!(actor, project, env, patch = patch);
        if let Some(Some(color)) = &patch.color {
            check_color(color)?;
        }
        let mut tx = self.begin_write().await?;
        let (before, _) = lookup::env_locked(tx.conn().await?, project, env).await?;
        let mut after = before.clone();
        if let Some(name) = non_empty(patch.name) {
            after.name = name;
        }
        if let Some(color) = patch.color {
            after.color = color.map(|c| c.to_ascii_lowercase());
        }
        after.position = patch.position.unwrap_or(after.position);
        sqlx::query("UPDATE environments SET name = $1, color = $2, position = $3 WHERE id = $4")
            .bind(&after.name)
            .bind(&after.color)
            .bind(i64::from(after.position))
            .bind(after.id)
            .execute(tx.conn().await?)
            .await?;
        let environment = after.environment()?;
        let audit = Audit {
            project_id: Some(before.project_id),
            environment: Some(&before.key),
            action: "environment.update",
            before: Some(to_json(&before.environment()?)?),
            after: Some(to_json(&environment)?),
            ..Audit::default()
        };
        tx.audit(actor, audit).await?;
        tx.commit(self).await?;
        Ok(environment)
    }

    async fn list_environments(&self, project: &str) -> Result<Vec<Environment>> {
        guard!(project);
        let mut conn = self.pool.acquire().await?;
        let p = lookup::project(&mut conn, project).await?;
        let mut envs = lookup::project_envs(&mut conn, p.id).await?;
        lookup::by_position(&mut envs);
        envs.iter().map(EnvRef::environment).collect()
    }

    async fn get_environment(&self, project: &str, env: &str) -> Result<Environment> {
        guard!(project, env);
        let mut conn = self.pool.acquire().await?;
        lookup::env(&mut conn, project, env).await?.environment()
    }

    async fn environment_by_id(&self, id: i64) -> Result<Environment> {
        let mut conn = self.pool.acquire().await?;
        lookup::env_by_id(&mut conn, id).await?.environment()
    }
}

/// The environments a new project is created with, checked before any SQL.
fn new_envs(keys: &[String]) -> Result<Vec<NewEnvironment>> {
    let mut envs: Vec<NewEnvironment> = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        check_key(key, &format!("environments[{i}]"))?;
        if envs.iter().any(|e| &e.key == key) {
            let message = format!("`{key}` is listed twice");
            let error = ValidationError::new(format!("environments[{i}]"), "duplicate_environment", message);
            return Err(StoreError::Validation(ValidationErrors(vec![error])));
        }
        let position = Some(u32::try_from(i).unwrap_or(u32::MAX));
        envs.push(NewEnvironment { key: key.clone(), position, ..NewEnvironment::default() });
    }
    Ok(envs)
}

fn check_env(new: &NewEnvironment) -> Result<()> {
    check_key(&new.key, "key")?;
    new.color.as_deref().map_or(Ok(()), check_color)
}

/// `#rrggbb`, nothing else (the UI paints it; CSS would take much more).
fn check_color(color: &str) -> Result<()> {
    let ok = color.len() == 7 && color.starts_with('#') && color[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        return Ok(());
    }
    let error = ValidationError::new("color", "invalid_color", "a colour is `#rrggbb` (six hexadecimal digits)");
    Err(StoreError::Validation(ValidationErrors(vec![error])))
}

/// The colour of the well-known environment keys: production-like ones red.
fn well_known_color(key: &str) -> Option<&'static str> {
    match key {
        "production" | "prod" | "prd" | "live" => Some("#c62828"),
        "staging" | "stage" | "preprod" | "qa" => Some("#ef6c00"),
        "development" | "dev" | "test" | "local" => Some("#2e7d32"),
        _ => None,
    }
}

/// Inserts an environment of `p` (whose lock the caller holds): revision 1,
/// a default configuration per flag, the full state in the change log, the
/// audit event.
async fn insert_env(tx: &mut WriteTx, actor: &Actor, p: &ProjectRow, new: NewEnvironment) -> Result<Environment> {
    let name = non_empty(new.name).unwrap_or_else(|| new.key.clone());
    let color = new.color.map(|c| c.to_ascii_lowercase()).or_else(|| well_known_color(&new.key).map(str::to_string));
    let (id, position): (i64, i64) = sqlx::query_as(
        "INSERT INTO environments (project_id, key, name, revision, color, position, created_at) \
         VALUES ($1, $2, $3, 1, $4, COALESCE($5, (SELECT COALESCE(MAX(position) + 1, 0) FROM environments WHERE project_id = $1)), $6) \
         RETURNING id, position",
    )
    .bind(p.id)
    .bind(&new.key)
    .bind(&name)
    .bind(&color)
    .bind(new.position.map(i64::from))
    .bind(tx.now)
    .fetch_one(tx.conn().await?)
    .await
    .map_err(|e| unique_or(e, "environment", &new.key))?;
    let env = EnvRef {
        id,
        project_id: p.id,
        project: p.project.key.clone(),
        key: new.key,
        name,
        revision: 1,
        color,
        position: u32::try_from(position).unwrap_or(u32::MAX),
        created_at: tx.now,
        archived_at: None,
        project_archived_at: None,
    };
    let now = tx.now;
    let mut flags = Vec::new();
    for flag in lookup::flags(tx.conn().await?, p.id).await? {
        let config = flag.default_config();
        insert_config(tx.conn().await?, id, &flag, &config, &actor.name, now).await?;
        // An archived flag gets its configuration (a restore needs one) but no SDK sees it.
        if flag.def.archived_at.is_none() {
            flags.push(merge(&flag.def, 1, &config));
        }
    }
    let segments = lookup::segments(tx.conn().await?, p.id).await?.into_iter().map(|s| s.segment).collect();
    // Revision 1 carries the full state, so `changes_since(env, 0)` works.
    tx.log_change(&env, ChangeEvent { revision: 1, flags, segments, ..ChangeEvent::default() }, 1).await?;
    let environment = env.environment()?;
    let audit = Audit {
        project_id: Some(p.id),
        environment: Some(&env.key),
        action: "environment.create",
        after: Some(to_json(&environment)?),
        revision: Some(1),
        ..Audit::default()
    };
    tx.audit(actor, audit).await?;
    Ok(environment)
}
