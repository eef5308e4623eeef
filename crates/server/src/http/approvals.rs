//! Approvals over HTTP: an environment's approval policy, and change
//! requests (open, list, show, approve, comment, apply, cancel). The
//! workflow is [`crate::ops::approvals`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Principal;
use crate::error::{ApiResult, Problem};
use crate::http::json::AppJson;
use crate::http::params::EnvFlag;
use crate::ops::approvals as op;
use crate::state::AppState;
use crate::store::{ApprovalPolicy, ChangeRequest, NewChangeRequest, Written};

/// `/projects/{project}/environments/{env}/change-requests/{id}`.
type EnvId = Path<(String, String, i64)>;

/// The body of an approval or a cancellation: an optional remark.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Remark {
    /// A comment with the approval, or why it is cancelled.
    #[serde(default)]
    pub comment: Option<String>,
}

/// A comment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// The text.
    pub body: String,
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_policy, put_policy))
        .routes(routes!(open))
        .routes(routes!(list))
        .routes(routes!(get_one))
        .routes(routes!(approve))
        .routes(routes!(comment))
        .routes(routes!(apply))
        .routes(routes!(cancel))
}

/// The environment's approval policy (`approvals` 0: off).
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/approval-policy", tag = "approvals",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path)),
    responses((status = 200, body = ApprovalPolicy), (status = 404, body = Problem)))]
async fn get_policy(
    State(state): State<AppState>,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<AppJson<ApprovalPolicy>> {
    Ok(AppJson(state.store.approval_policy(&project, &env).await?))
}

/// Sets the environment's approval policy (admin): ordinary changes then
/// need `approvals` approvals through a change request; kills, panics,
/// restores, triggers and guard rollbacks never do.
#[utoipa::path(put, path = "/api/v1/projects/{project}/environments/{env}/approval-policy", tag = "approvals",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path)), request_body = ApprovalPolicy,
    responses((status = 200, body = ApprovalPolicy), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn put_policy(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env)): Path<(String, String)>,
    AppJson(body): AppJson<ApprovalPolicy>,
) -> ApiResult<AppJson<ApprovalPolicy>> {
    Ok(AppJson(op::set_policy(&*state.store, &principal, (&project, &env), body).await?))
}

/// Opens a change request of the flag, with its diff against the configuration of now.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/change-requests", tag = "approvals",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    request_body = NewChangeRequest,
    responses((status = 201, body = ChangeRequest), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn open(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
    AppJson(body): AppJson<NewChangeRequest>,
) -> ApiResult<(StatusCode, AppJson<ChangeRequest>)> {
    let opened = op::open(&*state.store, &principal, (&project, &env, &flag), body).await?;
    Ok((StatusCode::CREATED, AppJson(opened)))
}

/// The environment's change requests: open ones first, then the newest; at most 200.
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/change-requests", tag = "approvals",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path)),
    responses((status = 200, body = Vec<ChangeRequest>), (status = 404, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<AppJson<Vec<ChangeRequest>>> {
    Ok(AppJson(state.store.list_change_requests(&project, &env).await?))
}

/// One change request, with its diff, approvals and comments.
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/change-requests/{id}", tag = "approvals",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = ChangeRequest), (status = 404, body = Problem)))]
async fn get_one(State(state): State<AppState>, Path((project, env, id)): EnvId) -> ApiResult<AppJson<ChangeRequest>> {
    Ok(AppJson(state.store.get_change_request(&project, &env, id).await?))
}

/// Approves a change request (the policy's role; never its author: 403).
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/change-requests/{id}/approve", tag = "approvals",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("id" = i64, Path)),
    request_body = Remark, responses((status = 200, body = ChangeRequest), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn approve(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, id)): EnvId,
    AppJson(body): AppJson<Remark>,
) -> ApiResult<AppJson<ChangeRequest>> {
    Ok(AppJson(op::approve(&*state.store, &principal, (&project, &env, id), body.comment).await?))
}

/// Comments on a change request.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/change-requests/{id}/comments", tag = "approvals",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("id" = i64, Path)),
    request_body = NewComment, responses((status = 200, body = ChangeRequest), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn comment(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, id)): EnvId,
    AppJson(body): AppJson<NewComment>,
) -> ApiResult<AppJson<ChangeRequest>> {
    Ok(AppJson(op::comment(&*state.store, &principal, (&project, &env, id), body.body).await?))
}

/// Applies an approved change request (409 `approvals_missing`; 409
/// `change_conflict` naming each field that changed since it was made; 409
/// `author_not_authorized` when its author was revoked, demoted below
/// editor or left the project; 409 `approvals_no_longer_valid` when, not
/// counting approvals whose approver was since revoked, demoted below the
/// policy's approver role or removed from the project, too few are left:
/// the problem names each such approval and why). A release plan waiting
/// for it starts.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/change-requests/{id}/apply", tag = "approvals",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("id" = i64, Path)),
    request_body = Remark, responses((status = 200, body = Written<ChangeRequest>), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn apply(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, id)): EnvId,
    AppJson(_body): AppJson<Remark>,
) -> ApiResult<AppJson<Written<ChangeRequest>>> {
    Ok(AppJson(op::apply(&*state.store, &principal, (&project, &env, id)).await?))
}

/// Withdraws an open change request (its author or an admin).
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/change-requests/{id}/cancel", tag = "approvals",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("id" = i64, Path)),
    request_body = Remark, responses((status = 200, body = ChangeRequest), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn cancel(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, id)): EnvId,
    AppJson(body): AppJson<Remark>,
) -> ApiResult<AppJson<ChangeRequest>> {
    Ok(AppJson(op::cancel(&*state.store, &principal, (&project, &env, id), body.comment).await?))
}
