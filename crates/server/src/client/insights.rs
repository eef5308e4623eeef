//! Insight calls: the fleet of connected SDK instances, the blast radius
//! of a kill, a flag's usage, the stale flags.

use super::catalog::{env_path, project_path};
use super::{Client, Error, query, segment};
use crate::ops::blast::BlastRadius;
use crate::ops::fleet::FleetView;
use crate::ops::stale::StaleReport;
use crate::ops::usage::FlagUsage;

impl Client {
    /// The SDK instances connected to an environment, over every replica.
    pub async fn fleet(&self, project: &str, env: &str) -> Result<FleetView, Error> {
        self.get(&format!("{}/fleet", env_path(project, env))).await
    }

    /// Who killing `flags` (and every flag with `tag`) would reach now;
    /// reads only.
    pub async fn blast_radius(
        &self,
        project: &str,
        env: &str,
        flags: &[String],
        tag: Option<&str>,
    ) -> Result<BlastRadius, Error> {
        let flags = Some(flags.join(",")).filter(|f| !f.is_empty());
        let q = query([("flags", flags), ("tag", tag.map(str::to_string))]);
        self.get(&format!("{}/blast-radius{q}", env_path(project, env))).await
    }

    /// One flag's usage in every environment.
    pub async fn usage(&self, project: &str, flag: &str) -> Result<FlagUsage, Error> {
        self.get(&format!("{}/flags/{}/usage", project_path(project), segment(flag))).await
    }

    /// The project's removal candidates over `days` (default: the server's).
    pub async fn stale_flags(&self, project: &str, days: Option<u32>, env: Option<&str>) -> Result<StaleReport, Error> {
        let q = query([("days", days.map(|d| d.to_string())), ("environment", env.map(str::to_string))]);
        self.get(&format!("{}/stale-flags{q}", project_path(project))).await
    }
}
