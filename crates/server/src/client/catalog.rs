//! Projects, environments, flag definitions, per-environment configurations
//! (read, replace, toggle, history) and the audit log.

use serde_json::{Value, json};

use super::{Client, Error, query, query_of, segment};
use crate::ops::kill::Receipted;
use crate::ops::lifecycle::ArchiveOutcome;
use crate::ops::lifecycle_env::EnvArchiveOutcome;
use crate::ops::lifecycle_project::ProjectArchiveOutcome;
use crate::store::{
    AuditEvent, AuditQuery, Environment, EnvironmentPatch, FlagConfig, FlagConfigRecord, FlagDefinition, FlagPatch,
    FlagQuery, FlagSummary, NewEnvironment, NewFlag, NewProject, Page, Project, Written,
};

/// `/api/v1/projects/{project}`.
pub fn project_path(project: &str) -> String {
    format!("/api/v1/projects/{}", segment(project))
}

/// `/api/v1/projects/{project}/environments/{env}`.
pub fn env_path(project: &str, env: &str) -> String {
    format!("{}/environments/{}", project_path(project), segment(env))
}

/// `/api/v1/projects/{project}/environments/{env}/flags/{flag}`.
pub fn config_path(project: &str, env: &str, flag: &str) -> String {
    format!("{}/flags/{}", env_path(project, env), segment(flag))
}

/// `?wait=…` or nothing.
pub(super) fn wait_query(wait: Option<&str>) -> String {
    query([("wait", wait.map(str::to_string))])
}

impl Client {
    /// Every project the credential sees.
    pub async fn projects(&self) -> Result<Vec<Project>, Error> {
        self.get("/api/v1/projects").await
    }

    /// One project.
    pub async fn project(&self, project: &str) -> Result<Project, Error> {
        self.get(&project_path(project)).await
    }

    /// Creates a project.
    pub async fn create_project(&self, new: &NewProject) -> Result<Project, Error> {
        self.post("/api/v1/projects", new).await
    }

    /// A project's environments.
    pub async fn environments(&self, project: &str) -> Result<Vec<Environment>, Error> {
        self.get(&format!("{}/environments", project_path(project))).await
    }

    /// One environment with its current revision.
    pub async fn environment(&self, project: &str, env: &str) -> Result<Environment, Error> {
        self.get(&env_path(project, env)).await
    }

    /// Creates an environment.
    pub async fn create_environment(&self, project: &str, new: &NewEnvironment) -> Result<Environment, Error> {
        self.post(&format!("{}/environments", project_path(project)), new).await
    }

    /// Changes an environment's name, colour or position.
    pub async fn update_environment(
        &self,
        project: &str,
        env: &str,
        patch: &EnvironmentPatch,
    ) -> Result<Environment, Error> {
        self.send(reqwest::Method::PATCH, &env_path(project, env), Some(patch)).await
    }

    /// One page of the flag list.
    pub async fn flags(&self, project: &str, filter: &FlagQuery) -> Result<Page<FlagSummary>, Error> {
        self.get(&format!("{}/flags{}", project_path(project), query_of(filter))).await
    }

    /// Every flag of the list (all pages, 1000 a page).
    pub async fn all_flags(&self, project: &str, filter: &FlagQuery) -> Result<Vec<FlagSummary>, Error> {
        let mut filter = FlagQuery { limit: Some(1000), cursor: None, ..filter.clone() };
        let mut items = Vec::new();
        loop {
            let page = self.flags(project, &filter).await?;
            items.extend(page.items);
            match page.next_cursor {
                Some(next) => filter.cursor = Some(next),
                None => return Ok(items),
            }
        }
    }

    /// One flag definition.
    pub async fn flag(&self, project: &str, flag: &str) -> Result<FlagDefinition, Error> {
        self.get(&format!("{}/flags/{}", project_path(project), segment(flag))).await
    }

    /// Creates a flag (configured off in every environment).
    pub async fn create_flag(&self, project: &str, new: &NewFlag) -> Result<FlagDefinition, Error> {
        self.post(&format!("{}/flags", project_path(project)), new).await
    }

    /// Changes a flag definition (absent fields unchanged).
    pub async fn patch_flag(&self, project: &str, flag: &str, patch: &FlagPatch) -> Result<FlagDefinition, Error> {
        let path = format!("{}/flags/{}", project_path(project), segment(flag));
        self.send(reqwest::Method::PATCH, &path, Some(patch)).await
    }

    /// Deletes an archived flag (409 `not_archived` otherwise), saying why.
    pub async fn delete_flag(&self, project: &str, flag: &str, reason: &str) -> Result<(), Error> {
        let path = format!(
            "{}/flags/{}{}",
            project_path(project),
            segment(flag),
            query([("reason", Some(reason.to_string()))])
        );
        self.delete::<Value>(&path, None::<&Value>).await.map(drop)
    }

    /// Archives a flag with `reason`, or (`reason: None`) answers the dry
    /// run: per environment, when it was last evaluated and who evaluates it.
    pub async fn archive_flag(&self, project: &str, flag: &str, reason: Option<&str>) -> Result<ArchiveOutcome, Error> {
        let body = match reason {
            Some(reason) => json!({"confirm": true, "reason": reason}),
            None => json!({"dry_run": true}),
        };
        self.post(&format!("{}/flags/{}/archive", project_path(project), segment(flag)), &body).await
    }

    /// Archives an environment (`confirm` with `reason`; `force` while in
    /// use) or, without `confirm`, answers whether it is in use.
    pub async fn archive_environment(
        &self,
        project: &str,
        env: &str,
        body: &Value,
    ) -> Result<EnvArchiveOutcome, Error> {
        self.post(&format!("{}/archive", env_path(project, env)), body).await
    }

    /// Restores an archived environment from the archive.
    pub async fn unarchive_environment(
        &self,
        project: &str,
        env: &str,
        reason: Option<&str>,
    ) -> Result<Environment, Error> {
        self.post(&format!("{}/unarchive", env_path(project, env)), &json!({ "reason": reason })).await
    }

    /// Deletes an archived environment, saying why.
    pub async fn delete_environment(&self, project: &str, env: &str, reason: &str) -> Result<(), Error> {
        let path = format!("{}{}", env_path(project, env), query([("reason", Some(reason.to_string()))]));
        self.delete::<Value>(&path, None::<&Value>).await.map(drop)
    }

    /// The archived projects the credential sees.
    pub async fn archived_projects(&self) -> Result<Vec<Project>, Error> {
        self.get("/api/v1/projects?archived=true").await
    }

    /// Archives a project (`confirm` with `reason`; `force` while in use)
    /// or, without `confirm`, answers whether it is in use (global admins).
    pub async fn archive_project(&self, project: &str, body: &Value) -> Result<ProjectArchiveOutcome, Error> {
        self.post(&format!("{}/archive", project_path(project)), body).await
    }

    /// Restores an archived project from the archive (global admins).
    pub async fn unarchive_project(&self, project: &str, reason: Option<&str>) -> Result<Project, Error> {
        self.post(&format!("{}/unarchive", project_path(project)), &json!({ "reason": reason })).await
    }

    /// Deletes an archived project, saying why (global admins).
    pub async fn delete_project(&self, project: &str, reason: &str) -> Result<(), Error> {
        let path = format!("{}{}", project_path(project), query([("reason", Some(reason.to_string()))]));
        self.delete::<Value>(&path, None::<&Value>).await.map(drop)
    }

    /// The project's archived environments.
    pub async fn archived_environments(&self, project: &str) -> Result<Vec<Environment>, Error> {
        self.get(&format!("{}/environments?archived=true", project_path(project))).await
    }

    /// Restores an archived flag from the archive.
    pub async fn unarchive_flag(
        &self,
        project: &str,
        flag: &str,
        reason: Option<&str>,
    ) -> Result<FlagDefinition, Error> {
        let body = json!({ "reason": reason });
        self.post(&format!("{}/flags/{}/unarchive", project_path(project), segment(flag)), &body).await
    }

    /// A flag's configuration in an environment.
    pub async fn config(&self, project: &str, env: &str, flag: &str) -> Result<FlagConfigRecord, Error> {
        self.get(&config_path(project, env, flag)).await
    }

    /// Replaces a configuration whose current version is `version`.
    pub async fn put_config(
        &self,
        project: &str,
        env: &str,
        flag: &str,
        version: u64,
        config: &FlagConfig,
        reason: Option<&str>,
    ) -> Result<Written<FlagConfigRecord>, Error> {
        let mut body = serde_json::to_value(config).map_err(Error::Encode)?;
        body["version"] = json!(version);
        body["reason"] = json!(reason);
        self.put(&config_path(project, env, flag), &body).await
    }

    /// Turns targeting on or off; with `wait` (e.g. `5s`) also the receipt.
    pub async fn toggle(
        &self,
        project: &str,
        env: &str,
        flag: &str,
        on: bool,
        reason: Option<&str>,
        wait: Option<&str>,
    ) -> Result<Receipted<FlagConfigRecord>, Error> {
        let path = format!("{}/toggle{}", config_path(project, env, flag), wait_query(wait));
        self.post(&path, &json!({"on": on, "reason": reason})).await
    }

    /// A configuration's versions, newest first.
    pub async fn history(&self, project: &str, env: &str, flag: &str) -> Result<Vec<FlagConfigRecord>, Error> {
        self.get(&format!("{}/history", config_path(project, env, flag))).await
    }

    /// One page of the project's audit log, newest first.
    pub async fn audit(&self, project: &str, filter: &AuditQuery) -> Result<Page<AuditEvent>, Error> {
        self.get(&format!("{}/audit{}", project_path(project), query_of(filter))).await
    }
}
