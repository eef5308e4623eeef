//! The responder's calls: kill and restore one flag, the panic button,
//! delivery receipts.

use serde_json::json;

use super::catalog::{config_path, env_path, wait_query};
use super::{Client, Error};
use crate::delivery::receipts::Receipt;
use crate::ops::kill::Receipted;
use crate::store::FlagConfigRecord;

/// Why a kill is made, and how long to wait for its receipt.
#[derive(Debug, Clone, Copy, Default)]
pub struct Order<'a> {
    /// Why (required by the server).
    pub reason: &'a str,
    /// Incident id.
    pub incident: Option<&'a str>,
    /// Wait until every connected SDK applied it (e.g. `5s`, at most `30s`).
    pub wait: Option<&'a str>,
}

impl Client {
    /// Kills a flag in an environment; with `wait` (e.g. `5s`) also the
    /// receipt of every connected SDK.
    pub async fn kill(
        &self,
        project: &str,
        env: &str,
        flag: &str,
        order: &Order<'_>,
    ) -> Result<Receipted<Vec<FlagConfigRecord>>, Error> {
        let path = format!("{}/kill{}", config_path(project, env, flag), wait_query(order.wait));
        self.post(&path, &json!({"reason": order.reason, "incident": order.incident})).await
    }

    /// Restores a killed flag (with the order's incident, if any).
    pub async fn restore(
        &self,
        project: &str,
        env: &str,
        flag: &str,
        order: &Order<'_>,
    ) -> Result<Receipted<Vec<FlagConfigRecord>>, Error> {
        let path = format!("{}/kill{}", config_path(project, env, flag), wait_query(order.wait));
        self.delete(&path, Some(&json!({"reason": order.reason, "incident": order.incident}))).await
    }

    /// Kills every flag with `tag`, or `flags`, in one revision.
    pub async fn panic(
        &self,
        project: &str,
        env: &str,
        tag: Option<&str>,
        flags: &[String],
        order: &Order<'_>,
    ) -> Result<Receipted<Vec<FlagConfigRecord>>, Error> {
        let path = format!("{}/kill{}", env_path(project, env), wait_query(order.wait));
        let body = json!({"tag": tag, "flags": flags, "reason": order.reason, "incident": order.incident});
        self.post(&path, &body).await
    }

    /// Restores every flag with `tag`, and `flags`, in one revision (the
    /// panic's undo).
    pub async fn unpanic(
        &self,
        project: &str,
        env: &str,
        tag: Option<&str>,
        flags: &[String],
        order: &Order<'_>,
    ) -> Result<Receipted<Vec<FlagConfigRecord>>, Error> {
        let path = format!("{}/kill{}", env_path(project, env), wait_query(order.wait));
        let body = json!({"tag": tag, "flags": flags, "reason": order.reason, "incident": order.incident});
        self.delete(&path, Some(&body)).await
    }

    /// Which connected SDK instances applied `revision`.
    pub async fn receipt(&self, project: &str, env: &str, revision: u64) -> Result<Receipt, Error> {
        self.get(&format!("{}/receipts/{revision}", env_path(project, env))).await
    }
}
