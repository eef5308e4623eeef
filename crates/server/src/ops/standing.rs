//! Whether the user or token that asked for a change earlier may still make
//! it now. A scheduled change is applied by the scheduler and a change
//! request by whoever applies it, but each is its requester's change: one
//! whose requester was revoked, demoted below editor in the project, or
//! lost its membership there must not go through on the authority it had
//! when it asked.
//!
//! The test is the policy's for an ordinary configuration write
//! (`Permission::Edit` on a `{project}` route): the principal exists, a
//! token is not revoked and is in scope, and the role there (a user's: the
//! higher of their global role and their membership's) is at least editor.
//!
//! Read just before the apply transaction, not inside it: a revocation
//! committed in the milliseconds between is treated as a request already
//! admitted is (authorization is checked when the work starts).

use super::OpResult;
use crate::auth::policy::{Permission, higher};
use crate::store::{ActorKind, Requester, Store};

/// Why `name` (`who`) may no longer make an ordinary change in `project`;
/// `None` when it may.
pub async fn refusal(store: &dyn Store, project: &str, name: &str, who: Option<Requester>) -> OpResult<Option<String>> {
    let Some(who) = who else {
        return Ok(Some(format!(
            "its requester `{name}` could not be identified by kind and id (asked for before they were \
             recorded, and the name is not one user or one token): ask again"
        )));
    };
    let kind = match who.kind {
        ActorKind::Token => "token",
        _ => "user",
    };
    let Some(standing) = store.standing(who, project).await? else {
        return Ok(Some(format!("its requester, {kind} `{name}`, no longer exists")));
    };
    if standing.revoked {
        return Ok(Some(format!("its requester, {kind} `{name}`, was revoked")));
    }
    if standing.out_of_scope {
        return Ok(Some(format!("its requester, {kind} `{name}`, is limited to another project")));
    }
    let role = standing.project_role.map_or(standing.role, |r| higher(r, standing.role));
    if !Permission::Edit.allowed_for(role) {
        return Ok(Some(format!(
            "its requester, {kind} `{name}`, is now {} in project `{project}`: changing flags needs editor",
            role.as_str()
        )));
    }
    Ok(None)
}
