//! Projects and environments.
//!
//! Implements `ProjectStore`. Owns the `projects` and `environments` rows; a
//! new environment's configurations go through `configs::insert_config`.

use async_trait::async_trait;
use switchyard_core::ChangeEvent;

use super::This;
use super::audit::Audit;
use super::configs::insert_config;
use super::lookup::{self, EnvRef, project_from_row};
use crate::store::ProjectStore;
use crate::store::sql::common::{check_key, merge, to_json, to_time, unique_or};
use crate::store::{Actor, Environment, NewEnvironment, NewProject, Project, Result};

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

#[async_trait]
impl ProjectStore for This {
    async fn create_project(&self, actor: &Actor, new: NewProject) -> Result<Project> {
        guard!(actor, project = new);
        check_key(&new.key, "key")?;
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
        let project = Project { key: new.key, name, description, created_at: to_time(tx.now)? };
        let audit = Audit {
            project_id: Some(id),
            action: "project.create",
            after: Some(to_json(&project)?),
            ..Audit::default()
        };
        tx.audit(actor, audit).await?;
        tx.commit(self).await?;
        Ok(project)
    }

    async fn list_projects(&self) -> Result<Vec<Project>> {
        let rows = sqlx::query("SELECT id, key, name, description, created_at FROM projects ORDER BY key")
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
        check_key(&new.key, "key")?;
        let mut tx = self.begin_write().await?;
        let p = lookup::project(tx.conn().await?, project).await?;
        tx.lock_project(p.id).await?;
        let name = non_empty(new.name).unwrap_or_else(|| new.key.clone());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO environments (project_id, key, name, revision, created_at) VALUES ($1, $2, $3, 1, $4) RETURNING id",
        )
        .bind(p.id)
        .bind(&new.key)
        .bind(&name)
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
            created_at: tx.now,
        };
        let now = tx.now;
        let mut flags = Vec::new();
        for flag in lookup::flags(tx.conn().await?, p.id).await? {
            let config = flag.default_config();
            insert_config(tx.conn().await?, id, &flag, &config, &actor.name, now).await?;
            flags.push(merge(&flag.def, 1, &config));
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
        tx.commit(self).await?;
        Ok(environment)
    }

    async fn list_environments(&self, project: &str) -> Result<Vec<Environment>> {
        guard!(project);
        let mut conn = self.pool.acquire().await?;
        let p = lookup::project(&mut conn, project).await?;
        lookup::project_envs(&mut conn, p.id).await?.iter().map(EnvRef::environment).collect()
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
