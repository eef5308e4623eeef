//! Kill switches over HTTP: kill, restore, the panic button, delivery
//! receipts. The workflow (write, broadcast, receipts) is
//! [`crate::ops::kill`]; these handlers extract, call it and answer.

use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Principal;
use crate::delivery::receipts::Receipt;
use crate::error::ApiResult;
use crate::http::json::AppJson;
use crate::http::params::{AppQuery, EnvFlag, WaitQuery};
use crate::http::revert::DryRunQuery;
use crate::ops::blast::{BlastRadius, Selection, blast_radius};
use crate::ops::kill::{self as op, KillOne, PanicRequest, Receipted, UnkillRequest};
use crate::state::AppState;
use crate::store::FlagConfigRecord;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(kill, unkill)).routes(routes!(panic, unpanic)).routes(routes!(receipt))
}

/// The answer of a kill or the panic button: what was written (and its
/// receipt), or with `?dry_run=true` its blast radius (nothing written).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum KillAnswer {
    /// The kill, written.
    Done(Receipted<Vec<FlagConfigRecord>>),
    /// `?dry_run=true`: who it would reach; nothing written, nothing sent.
    DryRun(BlastRadius),
}

/// Kills a flag: it serves its off variant (`KILLED`) whatever its rules say.
/// Idempotent; not subject to version checks. `?dry_run=true`: its blast
/// radius instead (as `GET …/blast-radius?flags=`), nothing written.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/kill", tag = "kill",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path), WaitQuery, DryRunQuery), request_body = KillOne, responses((status = 200, body = KillAnswer)))]
async fn kill(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
    AppQuery(wait): AppQuery<WaitQuery>,
    AppQuery(dry): AppQuery<DryRunQuery>,
    AppJson(body): AppJson<KillOne>,
) -> ApiResult<AppJson<KillAnswer>> {
    if dry.get()? {
        let selection = Selection { flags: vec![flag], tag: None };
        return Ok(AppJson(KillAnswer::DryRun(blast_radius(&state, (&project, &env), selection).await?)));
    }
    Ok(AppJson(KillAnswer::Done(op::kill(&state, &principal, (&project, &env, &flag), body, wait.duration()?).await?)))
}

/// Restores a killed flag to its configuration.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/kill", tag = "kill",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path), WaitQuery), request_body = UnkillRequest, responses((status = 200, body = Receipted<Vec<FlagConfigRecord>>)))]
async fn unkill(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
    AppQuery(wait): AppQuery<WaitQuery>,
    AppJson(body): AppJson<UnkillRequest>,
) -> ApiResult<AppJson<Receipted<Vec<FlagConfigRecord>>>> {
    Ok(AppJson(op::restore(&state, &principal, (&project, &env, &flag), body, wait.duration()?).await?))
}

/// Kills a set of flags (by tag or list) in one revision. `?dry_run=true`:
/// their blast radius instead, nothing written.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/kill", tag = "kill",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), WaitQuery, DryRunQuery), request_body = PanicRequest, responses((status = 200, body = KillAnswer)))]
async fn panic(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env)): Path<(String, String)>,
    AppQuery(wait): AppQuery<WaitQuery>,
    AppQuery(dry): AppQuery<DryRunQuery>,
    AppJson(body): AppJson<PanicRequest>,
) -> ApiResult<AppJson<KillAnswer>> {
    if dry.get()? {
        let selection = Selection { flags: body.flags, tag: body.tag };
        return Ok(AppJson(KillAnswer::DryRun(blast_radius(&state, (&project, &env), selection).await?)));
    }
    Ok(AppJson(KillAnswer::Done(op::panic(&state, &principal, (&project, &env), body, wait.duration()?).await?)))
}

/// Restores a set of flags (by tag or list) in one revision: the panic
/// button's undo. Flags not killed are left as they are.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/environments/{env}/kill", tag = "kill",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), WaitQuery), request_body = PanicRequest, responses((status = 200, body = Receipted<Vec<FlagConfigRecord>>)))]
async fn unpanic(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env)): Path<(String, String)>,
    AppQuery(wait): AppQuery<WaitQuery>,
    AppJson(body): AppJson<PanicRequest>,
) -> ApiResult<AppJson<Receipted<Vec<FlagConfigRecord>>>> {
    Ok(AppJson(op::unpanic(&state, &principal, (&project, &env), body, wait.duration()?).await?))
}

/// The delivery receipt of a revision now, counted over every replica.
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/receipts/{revision}", tag = "kill",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("revision" = u64, Path)),
    responses((status = 200, body = Receipt)))]
async fn receipt(
    State(state): State<AppState>,
    Path((project, env, revision)): Path<(String, String, u64)>,
) -> ApiResult<AppJson<Receipt>> {
    Ok(AppJson(op::receipt(&state, &project, &env, revision).await?))
}
