//! Approvals per environment (issue 19 §3): governance for ordinary
//! changes, never for the 3 a.m. kill.
//!
//! An environment opts in with a policy (`approvals` > 0, the approvers'
//! least role). Then ordinary configuration writes there by users and
//! tokens (replace, toggle, undo, restore a version or the environment,
//! change sets) are refused in the store, in the statement that locks the
//! environment (409 `approval_required`: the store's `begin_ordinary`), and
//! scheduling by [`gate`]; a release plan started there opens a change
//! request for its first stage and waits for it (`ops::release::approval`;
//! its later steps, the scheduler's, are not approved again). They go through a change request
//! instead: opened with its diff, approved by `approvals`
//! others of at least the role (never by its author), commented on, and
//! applied (re-checked for conflicts in the write's transaction).
//!
//! Kills, panics, restores, alert triggers and release-guard rollbacks
//! never pass here: they read no policy and wait for nothing, and their
//! audit events say `break_glass` ([`crate::ops::kill::kill_flags`]; a
//! restore's in the store's restore write).

use std::collections::BTreeSet;

use super::OpResult;
use crate::auth::Principal;
use crate::auth::policy::rank;
use crate::error::ApiError;
use crate::store::{
    ApprovalPolicy, ChangeRequest, ChangeRequestState, NewChangeRequest, NoteKind, Role, Store, Written,
};

/// Most approvals a policy may ask for.
pub const MAX_APPROVALS: u32 = 10;

/// Refuses to schedule a change in an environment whose policy asks for
/// approvals (409 `approval_required`): it must be a change request.
/// (Configuration writes check in their own transaction; a release plan
/// started there waits for a change request: `ops::release::approval`.)
pub async fn gate(store: &dyn Store, (project, env): (&str, &str)) -> OpResult<()> {
    let policy = store.approval_policy(project, env).await?;
    if policy.approvals == 0 {
        return Ok(());
    }
    Err(ApiError::Conflict {
        code: "approval_required",
        message: format!(
            "changes in `{env}` need {} approval(s): open a change request (POST …/flags/{{flag}}/change-requests)",
            policy.approvals
        ),
        current_version: None,
    })
}

/// Sets an environment's policy (admin).
#[tracing::instrument(name = "approvals.policy", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, env = env,
))]
pub async fn set_policy(
    store: &dyn Store,
    principal: &Principal,
    (project, env): (&str, &str),
    policy: ApprovalPolicy,
) -> OpResult<ApprovalPolicy> {
    if policy.approvals > MAX_APPROVALS {
        return Err(ApiError::invalid("approvals", "out_of_range", format!("at most {MAX_APPROVALS}")));
    }
    if !matches!(policy.approver_role, Role::Editor | Role::Admin) {
        return Err(ApiError::invalid("approver_role", "invalid_role", "approvers are editors or admins"));
    }
    Ok(store.set_approval_policy(&principal.actor(), (project, env), policy).await?)
}

/// Opens a change request.
#[tracing::instrument(name = "change_request.open", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, env = env, flag = flag,
))]
pub async fn open(
    store: &dyn Store,
    principal: &Principal,
    (project, env, flag): (&str, &str, &str),
    request: NewChangeRequest,
) -> OpResult<ChangeRequest> {
    Ok(store.open_change_request(&principal.actor(), (project, env, flag), request).await?)
}

/// Approves a change request: the caller must have the policy's role and
/// must not be its author (403).
#[tracing::instrument(name = "change_request.approve", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, env = env, id = id,
))]
pub async fn approve(
    store: &dyn Store,
    principal: &Principal,
    (project, env, id): (&str, &str, i64),
    comment: Option<String>,
) -> OpResult<ChangeRequest> {
    if let Some(comment) = &comment {
        super::check_length("comment", comment, crate::text::MAX_REASON)?;
    }
    let (policy, request) =
        tokio::try_join!(store.approval_policy(project, env), store.get_change_request(project, env, id))?;
    if answers_for(store, &request.author, &principal.name).await? {
        return Err(ApiError::Forbidden(
            "the author of a change request cannot approve it, nor a token they minted (nor its minter)",
        ));
    }
    if rank(principal.role) < rank(policy.approver_role) {
        return Err(ApiError::Forbidden("approving needs the approver role of this environment's policy"));
    }
    Ok(store.add_change_request_note(&principal.actor(), (project, env, id), NoteKind::Approval, comment).await?)
}

/// Whether `approver` answers for the same person as `author`: the same
/// name, or linked by token creation (a token answers for whoever minted
/// it, up the chain, either way), so that nobody approves their own
/// request through tokens they minted. Tokens a global admin mints are
/// service tokens and answer for themselves: a global admin can change
/// the policy or create users anyway, so linking them adds no safety and
/// would refuse every bot a global admin sets up. A token's minter is
/// recorded by name, so this follows names: a coincidence of names can
/// refuse an approval, never admit one. Reads the token and user lists:
/// approvals are rare.
async fn answers_for(store: &dyn Store, author: &str, approver: &str) -> OpResult<bool> {
    if author == approver {
        return Ok(true);
    }
    let (tokens, users) = tokio::try_join!(store.list_api_tokens(), store.list_users())?;
    let global_admins: BTreeSet<&str> =
        users.iter().filter(|u| u.role == Role::Admin).map(|u| u.username.as_str()).collect();
    let lineage = |start: &str| {
        let mut names = BTreeSet::from([start.to_string()]);
        // Each round adds the minters of the tokens named so far (bounded:
        // chains are short, and names can form cycles).
        for _ in 0..16 {
            let minters: Vec<String> = tokens
                .iter()
                .filter(|t| names.contains(&t.name) && !names.contains(&t.created_by))
                .filter(|t| !global_admins.contains(t.created_by.as_str()))
                .map(|t| t.created_by.clone())
                .collect();
            if minters.is_empty() {
                break;
            }
            names.extend(minters);
        }
        names
    };
    Ok(lineage(author).intersection(&lineage(approver)).next().is_some())
}

/// Comments on a change request.
pub async fn comment(
    store: &dyn Store,
    principal: &Principal,
    (project, env, id): (&str, &str, i64),
    body: String,
) -> OpResult<ChangeRequest> {
    if body.trim().is_empty() {
        return Err(ApiError::invalid("body", "required", "a comment needs text"));
    }
    super::check_length("body", &body, crate::text::MAX_REASON)?;
    Ok(store.add_change_request_note(&principal.actor(), (project, env, id), NoteKind::Comment, Some(body)).await?)
}

/// Applies an approved change request (409 `approvals_missing`, or
/// `approvals_no_longer_valid` when enough approved but some approvers may
/// no longer approve (revoked, demoted below the policy's approver role or
/// removed from the project) and those left are too few, or
/// `change_conflict` when a field it sets changed since, or
/// `author_not_authorized` when its author may no longer make the change:
/// revoked, demoted below editor or no longer a member of the project,
/// [`super::standing`]; the request stays open, to be cancelled). The
/// approvals vouch for the change, not for its author's authority: a
/// request from a revoked token is not applied however many approved it.
#[tracing::instrument(name = "change_request.apply", skip_all, fields(
    request_id = principal.request_id.as_deref(), actor = %principal.name, project = project, env = env, id = id,
    revision = tracing::field::Empty,
))]
pub async fn apply(
    store: &dyn Store,
    principal: &Principal,
    (project, env, id): (&str, &str, i64),
) -> OpResult<Written<ChangeRequest>> {
    let (policy, request) =
        tokio::try_join!(store.approval_policy(project, env), store.get_change_request(project, env, id))?;
    if request.state == ChangeRequestState::Open
        && let Some(why) = super::standing::refusal(store, project, &request.author, request.author_principal).await?
    {
        return Err(ApiError::Conflict {
            code: "author_not_authorized",
            message: format!("change request {id} cannot be applied: {why}; cancel it, or open it again as yourself"),
            current_version: None,
        });
    }
    if request.state == ChangeRequestState::Open {
        uncounted(store, project, &policy, &request).await?;
    }
    let written = store.apply_change_request(&principal.actor(), (project, env, id), policy.approvals).await?;
    if let Some(revision) = written.revision {
        tracing::Span::current().record("revision", revision);
    }
    Ok(written)
}

/// Refuses a request whose approvals still counting are fewer than the
/// policy asks for, because some approvers were revoked, demoted below the
/// approver role or removed from the project since they approved (409
/// `approvals_no_longer_valid`, naming each approval that no longer counts
/// and why). Too few approvals in all is the store's `approvals_missing`.
async fn uncounted(store: &dyn Store, project: &str, policy: &ApprovalPolicy, request: &ChangeRequest) -> OpResult<()> {
    let mut counted = 0u32;
    let mut why = Vec::new();
    for note in request.notes.iter().filter(|n| n.kind == NoteKind::Approval) {
        let who = (note.author.as_str(), note.author_principal);
        match super::standing::approver_refusal(store, project, who, policy.approver_role).await? {
            Some(refusal) => why.push(format!("the approval by `{}` no longer counts: {refusal}", note.author)),
            None => counted += 1,
        }
    }
    if counted >= policy.approvals || why.is_empty() {
        return Ok(());
    }
    Err(ApiError::Conflict {
        code: "approvals_no_longer_valid",
        message: format!(
            "change request {} has {counted} valid approval(s) of the {} it needs; {}",
            request.id,
            policy.approvals,
            why.join("; ")
        ),
        current_version: None,
    })
}

/// Withdraws an open change request (its author or an admin).
pub async fn cancel(
    store: &dyn Store,
    principal: &Principal,
    (project, env, id): (&str, &str, i64),
    reason: Option<String>,
) -> OpResult<ChangeRequest> {
    if let Some(reason) = &reason {
        super::check_length("comment", reason, crate::text::MAX_REASON)?;
    }
    let request = store.get_change_request(project, env, id).await?;
    if request.author != principal.name && principal.role != Role::Admin {
        return Err(ApiError::Forbidden("only its author or an admin may cancel a change request"));
    }
    Ok(store.cancel_change_request(&principal.actor(), (project, env, id), reason).await?)
}
