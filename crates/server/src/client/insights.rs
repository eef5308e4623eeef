//! Insight calls: the fleet of connected SDK instances.

use super::catalog::env_path;
use super::{Client, Error};
use crate::ops::fleet::FleetView;

impl Client {
    /// The SDK instances connected to an environment, over every replica.
    pub async fn fleet(&self, project: &str, env: &str) -> Result<FleetView, Error> {
        self.get(&format!("{}/fleet", env_path(project, env))).await
    }
}
