//! Scheduled changes: schedule a change of a flag in an environment, list
//! the environment's, show, edit or cancel one.

use serde_json::json;

use super::catalog::{config_path, env_path};
use super::{Client, Error};
use crate::store::{NewScheduledChange, ScheduleEdit, ScheduledChange};

impl Client {
    /// Schedules a change of `flag` in `env`.
    pub async fn schedule_change(
        &self,
        (project, env, flag): (&str, &str, &str),
        change: &NewScheduledChange,
    ) -> Result<ScheduledChange, Error> {
        self.post(&format!("{}/schedule", config_path(project, env, flag)), change).await
    }

    /// The environment's scheduled changes (pending first, soonest first).
    pub async fn scheduled_changes(&self, project: &str, env: &str) -> Result<Vec<ScheduledChange>, Error> {
        self.get(&format!("{}/scheduled", env_path(project, env))).await
    }

    /// One scheduled change.
    pub async fn scheduled_change(&self, project: &str, env: &str, id: i64) -> Result<ScheduledChange, Error> {
        self.get(&format!("{}/scheduled/{id}", env_path(project, env))).await
    }

    /// Edits a pending change.
    pub async fn edit_scheduled_change(
        &self,
        (project, env, id): (&str, &str, i64),
        edit: &ScheduleEdit,
    ) -> Result<ScheduledChange, Error> {
        let path = format!("{}/scheduled/{id}", env_path(project, env));
        self.send(reqwest::Method::PATCH, &path, Some(edit)).await
    }

    /// Cancels a pending change.
    pub async fn cancel_scheduled_change(
        &self,
        (project, env, id): (&str, &str, i64),
        reason: Option<&str>,
    ) -> Result<ScheduledChange, Error> {
        self.post(&format!("{}/scheduled/{id}/cancel", env_path(project, env)), &json!({ "reason": reason })).await
    }
}
