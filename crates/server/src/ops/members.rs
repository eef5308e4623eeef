//! Per-project user roles (issue 19 §5): who may grant what. The route rule
//! (`Admin` on `…/projects/{project}/members…`) already made the caller an
//! admin of that project — a global admin, a user whose membership there is
//! admin, or an admin token of it; here, on top:
//! - a role is never granted above the granter's own in the project
//!   ([`policy::grant`], the same check that keeps tokens narrow);
//! - **no user-name oracle**: a project admin (anyone but a global admin)
//!   can name only users it can already see — members of a project it
//!   administers (a project's admin token: members of its project). Any
//!   other name, of a user who exists or not, is the same 404 (`user`, the
//!   same message), reached by the same reads (no user is looked up), so a
//!   project admin cannot learn which user names exist. Adding someone who
//!   is nobody's member yet is a global admin's job (they create users);
//! - **admins are demoted or removed by a global admin only**: a project
//!   admin cannot lower or end another admin's membership of the project
//!   (403): peers cannot depose each other, and whoever made someone admin
//!   stays the one who can undo it;
//! - nobody but a global admin changes their own membership (a project admin
//!   could otherwise only lower themselves, or re-grant what they hold; the
//!   rule keeps "who made me admin" in someone else's hands) — except that
//!   a project admin may step down (remove itself) while another admin
//!   member remains (409 `last_admin` otherwise);
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
    if is_oneself(principal, username) {
        return Err(ApiError::Forbidden("only a global admin can change their own membership"));
    }
    if !is_global_admin(principal) {
        let current = visible_member(store, principal, project, username).await?;
        if current.is_some_and(|m| m.role == Role::Admin) && role != Role::Admin {
            return Err(ApiError::Forbidden("only a global admin can demote an admin of the project"));
        }
    }
    Ok(store.set_member(&principal.actor(), project, username, role).await?)
}

/// Ends `username`'s membership of `project`.
#[tracing::instrument(name = "member.remove", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project, username))]
pub async fn remove(store: &dyn Store, principal: &Principal, project: &str, username: &str) -> OpResult<Member> {
    if !is_global_admin(principal) {
        let members = store.list_members(project).await?;
        let Some(target) = members.iter().find(|m| m.username == username) else {
            return Err(ApiError::NotFound { what: "member", key: username.to_string() });
        };
        if is_oneself(principal, username) {
            let admins = members.iter().filter(|m| m.role == Role::Admin).count();
            if target.role == Role::Admin && admins <= 1 {
                return Err(ApiError::Conflict {
                    code: "last_admin",
                    message: format!("`{username}` is the last admin member of `{project}`: grant another first"),
                    current_version: None,
                });
            }
        } else if target.role == Role::Admin {
            return Err(ApiError::Forbidden("only a global admin can remove an admin of the project"));
        }
    }
    Ok(store.remove_member(&principal.actor(), project, username).await?)
}

/// An unscoped admin: a global admin user, or an admin token of no project.
fn is_global_admin(principal: &Principal) -> bool {
    principal.project.is_none() && principal.global_role == Role::Admin
}

fn is_oneself(principal: &Principal, username: &str) -> bool {
    principal.kind == ActorKind::User && principal.name == username && !is_global_admin(principal)
}

/// `username`'s membership of `project` if the (not global admin) caller
/// may name them: a member of `project` or of another project the caller
/// administers. Anyone else — existing or not — is the same 404.
async fn visible_member(
    store: &dyn Store,
    principal: &Principal,
    project: &str,
    username: &str,
) -> OpResult<Option<Member>> {
    let current = store.list_members(project).await?.into_iter().find(|m| m.username == username);
    if current.is_some() {
        return Ok(current);
    }
    let administered = match principal.kind {
        ActorKind::User => store.memberships(&principal.name).await?,
        _ => Vec::new(),
    };
    for other in administered.iter().filter(|m| m.role == Role::Admin && m.project != project) {
        if store.list_members(&other.project).await?.iter().any(|m| m.username == username) {
            return Ok(None);
        }
    }
    Err(unseen_user(username))
}

/// The answer for a user the caller may not name, the same whether or not
/// the user exists.
fn unseen_user(username: &str) -> ApiError {
    ApiError::NotFound { what: "user", key: username.to_string() }
}
