//! A project's members: users' roles in one project (issue 19 §5); who may
//! grant what is [`crate::ops::members`].

use axum::extract::{Path, State};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::http::json::AppJson;
use crate::ops;
use crate::state::AppState;
use crate::store::{Member, SetMember};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    // A project's access, both halves: its members, and its API tokens.
    OpenApiRouter::new()
        .routes(routes!(list_members))
        .routes(routes!(set_member, remove_member))
        .merge(super::project_tokens::router())
}

/// Lists a project's members (the project's admins).
#[utoipa::path(get, path = "/api/v1/projects/{project}/members", tag = "projects", security(("bearer" = [])),
    params(("project" = String, Path)), responses((status = 200, body = Vec<Member>), (status = 404, body = crate::error::Problem)))]
async fn list_members(State(state): State<AppState>, Path(project): Path<String>) -> ApiResult<AppJson<Vec<Member>>> {
    Ok(AppJson(state.store.list_members(&project).await?))
}

/// Gives a user a role in the project (the project's admins; never above
/// the granter's own role there, never one's own membership but for global
/// admins). Their role there becomes the higher of it and their global
/// role, from their next request on. A project admin names only users it
/// can see (members of a project it administers): any other name, of a
/// user who exists or not, is the same 404. Only a global admin demotes
/// an admin of the project (403).
#[utoipa::path(put, path = "/api/v1/projects/{project}/members/{user}", tag = "projects", security(("bearer" = [])),
    params(("project" = String, Path), ("user" = String, Path)), request_body = SetMember,
    responses((status = 200, body = Member), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
async fn set_member(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, user)): Path<(String, String)>,
    AppJson(req): AppJson<SetMember>,
) -> ApiResult<AppJson<Member>> {
    Ok(AppJson(ops::members::set(&*state.store, &principal, &project, &user, req.role).await?))
}

/// Ends a user's membership of the project (their global role applies
/// there again from their next request on). Only a global admin removes
/// another admin of the project (403); a project admin may remove itself
/// unless it is the last admin member (409 `last_admin`). A project admin
/// gets the same 404 for a user who is not a member, known or not.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/members/{user}", tag = "projects", security(("bearer" = [])),
    params(("project" = String, Path), ("user" = String, Path)),
    responses((status = 200, body = Member), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem)))]
async fn remove_member(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, user)): Path<(String, String)>,
) -> ApiResult<AppJson<Member>> {
    Ok(AppJson(ops::members::remove(&*state.store, &principal, &project, &user).await?))
}
