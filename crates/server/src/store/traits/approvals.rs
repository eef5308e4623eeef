//! Approvals per environment: the policy and change requests.
//!
//! Declares the contract only (implemented once per backend in `sql`); owns
//! no data and must not touch HTTP.

use async_trait::async_trait;

use crate::store::{Actor, ApprovalPolicy, ChangeRequest, NewChangeRequest, NoteKind, Result, Written};

/// Approval policies and change requests.
#[async_trait]
pub trait ApprovalStore: Send + Sync + 'static {
    /// The environment's policy (approvals 0 when it never had one).
    async fn approval_policy(&self, project: &str, env: &str) -> Result<ApprovalPolicy>;
    /// Sets the environment's policy; audited `environment.approvals`.
    async fn set_approval_policy(
        &self,
        actor: &Actor,
        (project, env): (&str, &str),
        policy: ApprovalPolicy,
    ) -> Result<ApprovalPolicy>;
    /// Opens a change request of `flag` (validated against its
    /// configuration: 422 with paths under `change.`; with its diff);
    /// audited `change_request.open`.
    async fn open_change_request(
        &self,
        actor: &Actor,
        (project, env, flag): (&str, &str, &str),
        request: NewChangeRequest,
    ) -> Result<ChangeRequest>;
    /// The environment's change requests, open ones first, then the newest; at most 200.
    async fn list_change_requests(&self, project: &str, env: &str) -> Result<Vec<ChangeRequest>>;
    /// One change request of the environment.
    async fn get_change_request(&self, project: &str, env: &str, id: i64) -> Result<ChangeRequest>;
    /// Adds an approval or a comment to an open request (`Conflict`
    /// `change_request_state` otherwise; a second approval by the same
    /// approver: `AlreadyExists`); audited `change_request.approve` /
    /// `change_request.comment`. Who may approve is the caller's check.
    async fn add_change_request_note(
        &self,
        actor: &Actor,
        (project, env, id): (&str, &str, i64),
        kind: NoteKind,
        body: Option<String>,
    ) -> Result<ChangeRequest>;
    /// Applies an open request with at least `approvals` approvals
    /// (`Conflict` `approvals_missing` otherwise), in one transaction under
    /// the environment's lock: refused (`FieldConflict` `change_conflict`,
    /// one entry per field) when a field it sets changed since it was
    /// made; the configuration write (audited `flag.toggle` or
    /// `flag.config.update` by `actor`, `after.change_request = {id,
    /// author, approvers}`) and the request `applied`.
    async fn apply_change_request(
        &self,
        actor: &Actor,
        (project, env, id): (&str, &str, i64),
        approvals: u32,
    ) -> Result<Written<ChangeRequest>>;
    /// Withdraws an open request; audited `change_request.cancel`.
    async fn cancel_change_request(
        &self,
        actor: &Actor,
        (project, env, id): (&str, &str, i64),
        reason: Option<String>,
    ) -> Result<ChangeRequest>;
}
