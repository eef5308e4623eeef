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
use crate::auth::policy::{Permission, higher, rank};
use crate::store::{ActorKind, Requester, Role, Store};

/// Why `name` (`who`) may no longer make an ordinary change in `project`;
/// `None` when it may.
pub async fn refusal(store: &dyn Store, project: &str, name: &str, who: Option<Requester>) -> OpResult<Option<String>> {
    check(store, project, ("its requester", name, who), Permission::Edit.least_role(), "changing flags").await
}

/// Why an approval given by `name` (`who`) no longer counts toward a change
/// request in `project` whose policy asks approvers for `least`: the same
/// test, with the policy's approver role for the role needed. `None` when
/// it still counts.
pub async fn approver_refusal(
    store: &dyn Store,
    project: &str,
    (name, who): (&str, Option<Requester>),
    least: Role,
) -> OpResult<Option<String>> {
    check(store, project, ("its approver", name, who), least, "approving").await
}

async fn check(
    store: &dyn Store,
    project: &str,
    (whose, name, who): (&str, &str, Option<Requester>),
    least: Role,
    what: &str,
) -> OpResult<Option<String>> {
    let Some(who) = who else {
        return Ok(Some(format!(
            "{whose} `{name}` could not be identified by kind and id (recorded before they were, and the \
             name is not one user or one token)"
        )));
    };
    let kind = match who.kind {
        ActorKind::Token => "token",
        _ => "user",
    };
    let Some(standing) = store.standing(who, project).await? else {
        return Ok(Some(format!("{whose}, {kind} `{name}`, no longer exists")));
    };
    if standing.revoked {
        return Ok(Some(format!("{whose}, {kind} `{name}`, was revoked")));
    }
    if standing.out_of_scope {
        return Ok(Some(format!("{whose}, {kind} `{name}`, is limited to another project")));
    }
    let role = standing.project_role.map_or(standing.role, |r| higher(r, standing.role));
    if rank(role) < rank(least) {
        return Ok(Some(format!(
            "{whose}, {kind} `{name}`, is now {} in project `{project}`: {what} needs {}",
            role.as_str(),
            least.as_str()
        )));
    }
    Ok(None)
}
