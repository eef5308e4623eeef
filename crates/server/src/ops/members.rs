//! Per-project user roles (issue 19 §5): who may grant what. The route rule
//! (`Admin` on `…/projects/{project}/members…`) already made the caller an
//! admin of that project — a global admin, a user whose membership there is
//! admin, or an admin token of it; here, on top:
//! - a role is never granted above the granter's own in the project
//!   ([`policy::grant`], the same check that keeps tokens narrow);
//! - nobody but a global admin changes their own membership (a project admin
//!   could otherwise only lower themselves, or re-grant what they hold; the
//!   rule keeps "who made me admin" in someone else's hands);
//! - a membership names one project, the path's: there is no way to name
//!   another, or a global role, in the request (its body is `{"role"}`,
//!   unknown fields refused).
//!
//! Must not touch HTTP types or SQL.

use super::OpResult;
use crate::auth::{Principal, policy};
use crate::error::ApiError;
use crate::store::{ActorKind, Member, Role, Store};

/// Gives `username` `role` in `project`.
#[tracing::instrument(name = "member.set", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project, username, role = role.as_str()))]
pub async fn set(
    store: &dyn Store,
    principal: &Principal,
    project: &str,
    username: &str,
    role: Role,
) -> OpResult<Member> {
    policy::grant(principal, role, Some(project))?;
    not_oneself(principal, username)?;
    Ok(store.set_member(&principal.actor(), project, username, role).await?)
}

/// Ends `username`'s membership of `project`.
#[tracing::instrument(name = "member.remove", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project, username))]
pub async fn remove(store: &dyn Store, principal: &Principal, project: &str, username: &str) -> OpResult<Member> {
    not_oneself(principal, username)?;
    Ok(store.remove_member(&principal.actor(), project, username).await?)
}

fn not_oneself(principal: &Principal, username: &str) -> OpResult<()> {
    if principal.kind == ActorKind::User && principal.name == username && principal.global_role != Role::Admin {
        return Err(ApiError::Forbidden("only a global admin can change their own membership"));
    }
    Ok(())
}
