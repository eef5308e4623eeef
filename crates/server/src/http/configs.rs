//! Per-environment flag configuration: read, replace, toggle, history,
//! revert, kill switches, restore-to-time and change sets.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult};
use crate::http::flags::if_match;
use crate::http::json::AppJson;
use crate::state::AppState;
use crate::store::{
    ChangeSetRequest, ChangeSetResult, FlagConfig, FlagConfigRecord, KillRequest, RestoreDiff, RestoreRequest, Written,
};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_config, put_config))
        .routes(routes!(toggle))
        .routes(routes!(history))
        .routes(routes!(revert))
        .routes(routes!(kill, unkill))
        .routes(routes!(panic))
        .routes(routes!(restore_environment))
        .routes(routes!(apply_changes))
        .routes(routes!(revert_changes))
}

type EnvFlag = Path<(String, String, String)>;

fn require_reason(reason: &str) -> ApiResult<()> {
    if reason.trim().is_empty() {
        return Err(ApiError::invalid("reason", "required", "a reason is required"));
    }
    Ok(())
}

/// One flag's configuration in one environment.
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}", tag = "configs",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    responses((status = 200, body = FlagConfigRecord), (status = 404, body = crate::error::Problem)))]
async fn get_config(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
) -> ApiResult<AppJson<FlagConfigRecord>> {
    principal.require_in(Permission::Read, &project)?;
    Ok(AppJson(state.store.get_flag_config(&project, &env, &flag).await?))
}

/// A configuration write.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PutConfig {
    /// Expected current version (or `If-Match`); required.
    pub version: Option<u64>,
    /// Why.
    pub reason: Option<String>,
    /// The new configuration (`kill` is ignored: use the kill API).
    #[serde(flatten)]
    pub config: FlagConfig,
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
    principal.require_in(Permission::Edit, &project)?;
    let version = body
        .version
        .or(if_match(&headers)?)
        .ok_or_else(|| ApiError::invalid("version", "required", "the expected version is required (body or If-Match)"))?;
    let written = state
        .store
        .put_flag_config(&principal.actor(), &project, &env, &flag, body.config, version, body.reason)
        .await?;
    Ok(AppJson(written))
}

/// A toggle.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ToggleRequest {
    /// On or off.
    pub on: bool,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Turns targeting on or off.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/toggle", tag = "configs",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    request_body = ToggleRequest, responses((status = 200, body = Written<FlagConfigRecord>)))]
async fn toggle(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
    AppJson(body): AppJson<ToggleRequest>,
) -> ApiResult<AppJson<Written<FlagConfigRecord>>> {
    principal.require_in(Permission::Edit, &project)?;
    let written = state.store.toggle_flag(&principal.actor(), &project, &env, &flag, body.on, body.reason).await?;
    Ok(AppJson(written))
}

/// Every version of the configuration, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/history", tag = "configs",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    responses((status = 200, body = Vec<FlagConfigRecord>)))]
async fn history(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
) -> ApiResult<AppJson<Vec<FlagConfigRecord>>> {
    principal.require_in(Permission::Read, &project)?;
    Ok(AppJson(state.store.config_history(&project, &env, &flag).await?))
}

/// A revert.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RevertRequest {
    /// The version to restore (written as a new version).
    pub to_version: u64,
    /// Why.
    pub reason: String,
}

/// Restores an earlier version as a new version (history is never rewritten).
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/revert", tag = "configs",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    request_body = RevertRequest, responses((status = 200, body = Written<FlagConfigRecord>)))]
async fn revert(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
    AppJson(body): AppJson<RevertRequest>,
) -> ApiResult<AppJson<Written<FlagConfigRecord>>> {
    principal.require_in(Permission::Edit, &project)?;
    require_reason(&body.reason)?;
    let written =
        state.store.revert_flag(&principal.actor(), &project, &env, &flag, body.to_version, body.reason).await?;
    Ok(AppJson(written))
}

/// A kill of one flag.
#[derive(Debug, Deserialize, ToSchema)]
pub struct KillOne {
    /// Why (required).
    pub reason: String,
    /// Incident id.
    #[serde(default)]
    pub incident: Option<String>,
}

/// Kills a flag: it serves its off variant (`KILLED`) whatever its rules say.
/// Idempotent; not subject to version checks.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/kill", tag = "kill",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    request_body = KillOne, responses((status = 200, body = Written<Vec<FlagConfigRecord>>)))]
async fn kill(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
    AppJson(body): AppJson<KillOne>,
) -> ApiResult<AppJson<Written<Vec<FlagConfigRecord>>>> {
    principal.require_in(Permission::Kill, &project)?;
    require_reason(&body.reason)?;
    let request = KillRequest { flags: vec![flag], reason: body.reason, incident: body.incident };
    Ok(AppJson(state.store.kill_flags(&principal.actor(), &project, &env, request).await?))
}

/// A restore after a kill.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UnkillRequest {
    /// Why (required).
    pub reason: String,
}

/// Restores a killed flag to its configuration.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/kill", tag = "kill",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    request_body = UnkillRequest, responses((status = 200, body = Written<Vec<FlagConfigRecord>>)))]
async fn unkill(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
    AppJson(body): AppJson<UnkillRequest>,
) -> ApiResult<AppJson<Written<Vec<FlagConfigRecord>>>> {
    principal.require_in(Permission::Kill, &project)?;
    require_reason(&body.reason)?;
    Ok(AppJson(state.store.restore_flags(&principal.actor(), &project, &env, &[flag], body.reason).await?))
}

/// The panic button.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PanicRequest {
    /// Kill every flag with this tag…
    #[serde(default)]
    pub tag: Option<String>,
    /// …or these flags.
    #[serde(default)]
    pub flags: Vec<String>,
    /// Why (required).
    pub reason: String,
    /// Incident id.
    #[serde(default)]
    pub incident: Option<String>,
}

/// Kills a set of flags (by tag or list) in one revision.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/kill", tag = "kill",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path)),
    request_body = PanicRequest, responses((status = 200, body = Written<Vec<FlagConfigRecord>>)))]
async fn panic(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env)): Path<(String, String)>,
    AppJson(body): AppJson<PanicRequest>,
) -> ApiResult<AppJson<Written<Vec<FlagConfigRecord>>>> {
    principal.require_in(Permission::Kill, &project)?;
    require_reason(&body.reason)?;
    let mut flags = body.flags;
    if let Some(tag) = &body.tag {
        flags.extend(state.store.flags_with_tag(&project, tag).await?);
    }
    flags.sort();
    flags.dedup();
    if flags.is_empty() {
        return Err(ApiError::invalid("flags", "empty", "no flags given or none carries the tag"));
    }
    let request = KillRequest { flags, reason: body.reason, incident: body.incident };
    Ok(AppJson(state.store.kill_flags(&principal.actor(), &project, &env, request).await?))
}

/// Reverts every flag changed since `at`, in one revision (`dry_run`: diff only).
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/restore", tag = "configs",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path)),
    request_body = RestoreRequest, responses((status = 200, body = Written<Vec<RestoreDiff>>)))]
async fn restore_environment(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env)): Path<(String, String)>,
    AppJson(body): AppJson<RestoreRequest>,
) -> ApiResult<AppJson<Written<Vec<RestoreDiff>>>> {
    principal.require_in(Permission::Edit, &project)?;
    require_reason(&body.reason)?;
    Ok(AppJson(state.store.restore_environment(&principal.actor(), &project, &env, body).await?))
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
    principal.require_in(Permission::Edit, &project)?;
    if body.changes.is_empty() {
        return Err(ApiError::invalid("changes", "empty", "a change set needs at least one change"));
    }
    Ok(AppJson(state.store.apply_change_set(&principal.actor(), &project, &env, body).await?))
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
    principal.require_in(Permission::Edit, &project)?;
    require_reason(&body.reason)?;
    Ok(AppJson(state.store.revert_change_set(&principal.actor(), &project, &env, &id, body.reason).await?))
}
