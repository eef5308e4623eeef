//! Release plans: templates of a project, a flag's plan in an environment
//! (start, status, pause, resume, abort, promote).

use serde_json::json;

use super::catalog::config_path;
use super::{Client, Error, segment};
use crate::store::{NewReleaseTemplate, ReleasePlan, ReleaseTemplate, StartRelease};

impl Client {
    /// Starts a release plan on a flag in an environment.
    pub async fn start_release(
        &self,
        project: &str,
        env: &str,
        flag: &str,
        start: &StartRelease,
    ) -> Result<ReleasePlan, Error> {
        self.post(&format!("{}/release", config_path(project, env, flag)), start).await
    }

    /// The flag's newest plan in the environment.
    pub async fn release(&self, project: &str, env: &str, flag: &str) -> Result<ReleasePlan, Error> {
        self.get(&format!("{}/release", config_path(project, env, flag))).await
    }

    /// `pause`, `resume`, `abort` or `promote` the flag's plan.
    pub async fn release_action(
        &self,
        (project, env, flag): (&str, &str, &str),
        action: &str,
        reason: Option<&str>,
    ) -> Result<ReleasePlan, Error> {
        let path = format!("{}/release/{}", config_path(project, env, flag), segment(action));
        self.post(&path, &json!({ "reason": reason })).await
    }

    /// Creates a release plan template.
    pub async fn create_release_template(
        &self,
        project: &str,
        template: &NewReleaseTemplate,
    ) -> Result<ReleaseTemplate, Error> {
        self.post(&format!("/api/v1/projects/{}/release-templates", segment(project)), template).await
    }

    /// The project's release plan templates.
    pub async fn release_templates(&self, project: &str) -> Result<Vec<ReleaseTemplate>, Error> {
        self.get(&format!("/api/v1/projects/{}/release-templates", segment(project))).await
    }
}
