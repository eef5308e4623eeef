//! Per-environment flag configuration: read, replace, toggle, history,
//! restore-to-time and change sets (undo/restore of one flag: `revert`).
//! The writes are ops ([`crate::ops::configs`], [`crate::ops::revert`]).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::http::flags::if_match;
use crate::http::json::{self, AppJson};
use crate::http::params::{AppQuery, EnvFlag, WaitQuery};
use crate::http::revert::DryRunQuery;
use crate::ops;
use crate::ops::kill::{Receipted, UnkillRequest};
use crate::state::AppState;
use crate::store::{
    ChangeSetRequest, ChangeSetResult, FlagConfig, FlagConfigRecord, RestoreDiff, RestoreRequest, Written,
};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_config, put_config))
        .routes(routes!(toggle))
        .routes(routes!(history))
        .routes(routes!(restore_environment))
        .routes(routes!(apply_changes))
        .routes(routes!(revert_changes))
}

/// One flag's configuration in one environment.
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}", tag = "configs",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    responses((status = 200, body = FlagConfigRecord), (status = 404, body = crate::error::Problem)))]
async fn get_config(
    State(state): State<AppState>,
    Path((project, env, flag)): EnvFlag,
) -> ApiResult<AppJson<FlagConfigRecord>> {
    Ok(AppJson(state.store.get_flag_config(&project, &env, &flag).await?))
}

/// A configuration write.
#[derive(Debug, Deserialize, ToSchema)]
// Read through a map, so that a misspelt field of the flattened
// configuration (a rule's `"clause"`) is refused too (json::rest).
#[serde(try_from = "serde_json::Map<String, serde_json::Value>")]
pub struct PutConfig {
    /// Expected current version (or `If-Match`); required.
    pub version: Option<u64>,
    /// Why.
    pub reason: Option<String>,
    /// The new configuration (`kill` is ignored: use the kill API).
    #[serde(flatten)]
    pub config: FlagConfig,
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for PutConfig {
    type Error = String;

    fn try_from(mut map: serde_json::Map<String, serde_json::Value>) -> Result<Self, String> {
        let (version, reason) = (json::take(&mut map, "version")?, json::take(&mut map, "reason")?);
        Ok(PutConfig { version, reason, config: json::rest(map)? })
    }
}

/// Replaces the configuration; a stale `version` gets 409 with the current one.
#[utoipa::path(put, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}", tag = "configs",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    request_body = PutConfig,
    responses((status = 200, body = Written<FlagConfigRecord>), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn put_config(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path((project, env, flag)): EnvFlag,
    AppJson(body): AppJson<PutConfig>,
) -> ApiResult<AppJson<Written<FlagConfigRecord>>> {
    let expected = (body.version.or(if_match(&headers)?), body.reason);
    Ok(AppJson(
        ops::configs::put_config(&*state.store, &principal, (&project, &env, &flag), body.config, expected).await?,
    ))
}

/// A toggle.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToggleRequest {
    /// On or off.
    pub on: bool,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Turns targeting on or off.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/toggle", tag = "configs",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path), WaitQuery), request_body = ToggleRequest, responses((status = 200, body = Receipted<FlagConfigRecord>)))]
async fn toggle(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
    AppQuery(wait): AppQuery<WaitQuery>,
    AppJson(body): AppJson<ToggleRequest>,
) -> ApiResult<AppJson<Receipted<FlagConfigRecord>>> {
    let (wait, place) = (wait.duration()?, (project.as_str(), env.as_str(), flag.as_str()));
    Ok(AppJson(ops::configs::toggle(&state, &principal, place, (body.on, body.reason), wait).await?))
}

/// Every version of the configuration, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/history", tag = "configs",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    responses((status = 200, body = Vec<FlagConfigRecord>)))]
async fn history(
    State(state): State<AppState>,
    Path((project, env, flag)): EnvFlag,
) -> ApiResult<AppJson<Vec<FlagConfigRecord>>> {
    Ok(AppJson(state.store.config_history(&project, &env, &flag).await?))
}

/// Reverts every flag changed since `at`, in one revision (`dry_run`, in
/// the body or the query: diff only). A time before the environment existed
/// is refused (422 on `at`, code `before_environment`).
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/restore", tag = "configs",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), DryRunQuery),
    request_body = RestoreRequest,
    responses((status = 200, body = Written<Vec<RestoreDiff>>), (status = 422, body = crate::error::Problem)))]
async fn restore_environment(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env)): Path<(String, String)>,
    AppQuery(dry): AppQuery<DryRunQuery>,
    AppJson(mut body): AppJson<RestoreRequest>,
) -> ApiResult<AppJson<Written<Vec<RestoreDiff>>>> {
    body.dry_run |= dry.get()?;
    Ok(AppJson(ops::revert::restore_environment(&*state.store, &principal, (&project, &env), body).await?))
}

/// Applies several configuration changes as one revision, all or nothing.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/changes", tag = "configs",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path)),
    request_body = ChangeSetRequest, responses((status = 200, body = Written<ChangeSetResult>)))]
async fn apply_changes(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env)): Path<(String, String)>,
    AppJson(body): AppJson<ChangeSetRequest>,
) -> ApiResult<AppJson<Written<ChangeSetResult>>> {
    Ok(AppJson(ops::revert::apply_changes(&*state.store, &principal, (&project, &env), body).await?))
}

/// Reverts a whole change set in one call.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/changes/{id}/revert", tag = "configs",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("id" = String, Path)),
    request_body = UnkillRequest, responses((status = 200, body = Written<ChangeSetResult>)))]
async fn revert_changes(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, id)): EnvFlag,
    AppJson(body): AppJson<UnkillRequest>,
) -> ApiResult<AppJson<Written<ChangeSetResult>>> {
    Ok(AppJson(ops::revert::revert_changes(&*state.store, &principal, (&project, &env, &id), body.reason).await?))
}
