//! The members area of the store: per-project user roles (issue 19 §5).
//!
//! Declares the contract only (implemented once per backend in `sql`); owns
//! no data and must not touch HTTP. Who may grant what is decided by
//! `ops::members` before any of these is called.

use async_trait::async_trait;

use crate::store::{Actor, Member, Membership, Requester, Result, Role, SessionUser, Standing};

/// Users' roles per project.
#[async_trait]
pub trait MemberStore: Send + Sync + 'static {
    /// A project's members by user name (`NotFound` for an unknown project).
    async fn list_members(&self, project: &str) -> Result<Vec<Member>>;
    /// Gives `username` `role` in `project` (insert or replace), audited
    /// `member.set` with the membership before and after. `NotFound` for an
    /// unknown project or user.
    async fn set_member(&self, actor: &Actor, project: &str, username: &str, role: Role) -> Result<Member>;
    /// Ends a membership, audited `member.remove`. `NotFound` when there is none.
    async fn remove_member(&self, actor: &Actor, project: &str, username: &str) -> Result<Member>;
    /// A user's memberships, by project key.
    async fn memberships(&self, username: &str) -> Result<Vec<Membership>>;
    /// The user behind a session and their role in `project` (if given and a
    /// member), in one statement: read on every request with a session
    /// token, so role and membership changes apply to the next request.
    async fn session_user(&self, username: &str, project: Option<&str>) -> Result<Option<SessionUser>>;
    /// What a user or token (by id) may do in `project` now: its role, a
    /// user's membership role there, whether a token was revoked or is
    /// limited to another project. `None` when it no longer exists. Read
    /// when a change asked for earlier is applied (a scheduled change when
    /// due, a change request), so that it is not applied on the authority
    /// of a revoked or demoted principal.
    async fn standing(&self, who: Requester, project: &str) -> Result<Option<Standing>>;
}
