//! The projects area of the store: projects and environments.
//!
//! Declares the contract only (implemented once per backend in `sql`); owns
//! no data and must not touch HTTP.

use async_trait::async_trait;

use crate::store::{Actor, Environment, EnvironmentPatch, NewEnvironment, NewProject, Project, Result};

/// Projects and their environments.
#[async_trait]
pub trait ProjectStore: Send + Sync + 'static {
    /// Creates a project with the environments it lists (in one transaction).
    async fn create_project(&self, actor: &Actor, project: NewProject) -> Result<Project>;
    /// Lists projects ordered by key.
    async fn list_projects(&self) -> Result<Vec<Project>>;
    /// One project by key (`NotFound`).
    async fn get_project(&self, project: &str) -> Result<Project>;
    /// Creates an environment (revision 1, a default off configuration for
    /// every existing flag, change log entry with the full state).
    async fn create_environment(&self, actor: &Actor, project: &str, env: NewEnvironment) -> Result<Environment>;
    /// Changes an environment's name, colour or position (audited
    /// `environment.update`; no revision: SDKs see none of it).
    async fn update_environment(
        &self,
        actor: &Actor,
        project: &str,
        env: &str,
        patch: EnvironmentPatch,
    ) -> Result<Environment>;
    /// Lists a project's environments ordered by position, then creation.
    async fn list_environments(&self, project: &str) -> Result<Vec<Environment>>;
    /// One environment (`NotFound` when the project or environment is unknown).
    async fn get_environment(&self, project: &str, env: &str) -> Result<Environment>;
    /// One environment by id (used by the SDK API after key lookup).
    async fn environment_by_id(&self, id: i64) -> Result<Environment>;
}
