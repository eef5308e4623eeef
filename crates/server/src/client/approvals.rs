//! Approvals: an environment's policy; change requests (open, list, show,
//! approve, comment, apply, cancel).

use serde_json::json;

use super::catalog::{config_path, env_path};
use super::{Client, Error};
use crate::store::{ApprovalPolicy, ChangeRequest, NewChangeRequest, Written};

impl Client {
    /// The environment's approval policy.
    pub async fn approval_policy(&self, project: &str, env: &str) -> Result<ApprovalPolicy, Error> {
        self.get(&format!("{}/approval-policy", env_path(project, env))).await
    }

    /// Sets the environment's approval policy (admin).
    pub async fn set_approval_policy(
        &self,
        project: &str,
        env: &str,
        policy: &ApprovalPolicy,
    ) -> Result<ApprovalPolicy, Error> {
        self.put(&format!("{}/approval-policy", env_path(project, env)), policy).await
    }

    /// Opens a change request of `flag`.
    pub async fn open_change_request(
        &self,
        (project, env, flag): (&str, &str, &str),
        request: &NewChangeRequest,
    ) -> Result<ChangeRequest, Error> {
        self.post(&format!("{}/change-requests", config_path(project, env, flag)), request).await
    }

    /// The environment's change requests.
    pub async fn change_requests(&self, project: &str, env: &str) -> Result<Vec<ChangeRequest>, Error> {
        self.get(&format!("{}/change-requests", env_path(project, env))).await
    }

    /// One change request.
    pub async fn change_request(&self, project: &str, env: &str, id: i64) -> Result<ChangeRequest, Error> {
        self.get(&format!("{}/change-requests/{id}", env_path(project, env))).await
    }

    /// `approve` (with an optional comment) or `cancel` (with an optional reason).
    pub async fn change_request_action(
        &self,
        (project, env, id): (&str, &str, i64),
        action: &str,
        comment: Option<&str>,
    ) -> Result<ChangeRequest, Error> {
        let path = format!("{}/change-requests/{id}/{}", env_path(project, env), super::segment(action));
        self.post(&path, &json!({ "comment": comment })).await
    }

    /// Comments on a change request.
    pub async fn comment_change_request(
        &self,
        (project, env, id): (&str, &str, i64),
        body: &str,
    ) -> Result<ChangeRequest, Error> {
        self.post(&format!("{}/change-requests/{id}/comments", env_path(project, env)), &json!({ "body": body })).await
    }

    /// Applies an approved change request.
    pub async fn apply_change_request(
        &self,
        (project, env, id): (&str, &str, i64),
    ) -> Result<Written<ChangeRequest>, Error> {
        self.post(&format!("{}/change-requests/{id}/apply", env_path(project, env)), &json!({})).await
    }
}
