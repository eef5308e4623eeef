//! Incidents: a project's incidents, one incident's timeline.

use serde_json::json;

use super::catalog::{config_path, project_path, wait_query};
use super::{Client, Error, query, segment};
use crate::ops::drill::DrillReport;
use crate::ops::incident::Timeline;
use crate::store::IncidentSummary;

impl Client {
    /// The project's incidents, most recent first.
    pub async fn incidents(&self, project: &str, limit: Option<u32>) -> Result<Vec<IncidentSummary>, Error> {
        let q = query([("limit", limit.map(|l| l.to_string()))]);
        self.get(&format!("{}/incidents{q}", project_path(project))).await
    }

    /// One incident's timeline, with the project's changes `before_minutes`
    /// before its first event (the server's default, 30, when `None`).
    pub async fn incident(
        &self,
        project: &str,
        incident: &str,
        before_minutes: Option<u32>,
    ) -> Result<Timeline, Error> {
        let q = query([("before_minutes", before_minutes.map(|m| m.to_string()))]);
        self.get(&format!("{}/incidents/{}{q}", project_path(project), segment(incident))).await
    }

    /// Rehearses a rollback of `flag`: kill, wait for the fleet, restore,
    /// wait (each wait up to `wait`, e.g. `10s`; the server's default 30 s).
    /// Takes up to twice the wait: give this client a timeout above that.
    pub async fn drill(
        &self,
        (project, env, flag): (&str, &str, &str),
        force: bool,
        incident: Option<&str>,
        wait: Option<&str>,
    ) -> Result<DrillReport, Error> {
        let path = format!("{}/drill{}", config_path(project, env, flag), wait_query(wait));
        self.post(&path, &json!({"force": force, "incident": incident})).await
    }
}
