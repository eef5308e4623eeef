//! Going back on one flag, two distinct actions that both preview:
//! **undo this change** (`POST …/flags/{flag}/undo {"version"}`: the inverse
//! of the change that produced that version, refused with 409
//! `undo_conflict` naming the fields later changes touched) and **restore
//! this version** (`POST …/flags/{flag}/revert {"to_version"}`: the whole
//! earlier state). `?dry_run=true` answers the exact diff and writes
//! nothing; the diff carries a warning when serving state changes in a
//! production-like environment.

use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::json::AppJson;
use crate::http::params::AppQuery;
use crate::ops;
use crate::state::AppState;
use crate::store::{RestoreVersion, Reverted, UndoChange};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(revert)).routes(routes!(undo))
}

/// `?dry_run=true`: answer what would change, write nothing.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DryRunQuery {
    /// `true` (or `1`): compute the diff only. Default `false`.
    #[param(pattern = r"^(true|false|1|0)?$", example = "true")]
    pub dry_run: Option<String>,
}

impl DryRunQuery {
    /// The flag; anything but true/false/1/0 is a 400.
    pub fn get(&self) -> ApiResult<bool> {
        match self.dry_run.as_deref() {
            None | Some("false" | "0") => Ok(false),
            Some("true" | "1" | "") => Ok(true),
            Some(other) => Err(ApiError::bad_query(
                "dry_run",
                "invalid_query",
                format!("`dry_run` is `true` or `false`, not `{other}`: nothing was done"),
            )),
        }
    }
}

/// Restore this version.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevertRequest {
    /// The version whose whole configuration is written again as a new version.
    pub to_version: u64,
    /// Why (required unless `dry_run`).
    #[serde(default)]
    pub reason: Option<String>,
    /// Compute the diff only (the same as `?dry_run=true`).
    #[serde(default)]
    pub dry_run: bool,
}

/// **Restore this version**: writes version `to_version`'s whole
/// configuration as a new version (the kill state is kept; history is never
/// rewritten). `?dry_run=true`: the diff only.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/revert", tag = "configs",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path), DryRunQuery),
    request_body = RevertRequest,
    responses((status = 200, body = Reverted), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn revert(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): Path<(String, String, String)>,
    AppQuery(dry): AppQuery<DryRunQuery>,
    AppJson(body): AppJson<RevertRequest>,
) -> ApiResult<AppJson<Reverted>> {
    let request =
        RestoreVersion { to_version: body.to_version, reason: body.reason, dry_run: body.dry_run || dry.get()? };
    Ok(AppJson(ops::revert::revert_flag(&*state.store, &principal, (&project, &env, &flag), request).await?))
}

/// Undo this change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UndoRequest {
    /// The version the change produced (an audit event's `after.version`).
    pub version: u64,
    /// Why (required unless `dry_run`).
    #[serde(default)]
    pub reason: Option<String>,
    /// Compute the diff only (the same as `?dry_run=true`).
    #[serde(default)]
    pub dry_run: bool,
}

/// **Undo this change**: puts back, field by field, what the change that
/// produced `version` changed; every other field keeps its current value.
/// 409 `undo_conflict` (each field in `errors`) when a later change touched
/// one of those fields; 409 `nothing_to_undo` for a creation or a
/// kill/restore. `?dry_run=true`: the diff only.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/undo", tag = "configs",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path), DryRunQuery),
    request_body = UndoRequest,
    responses((status = 200, body = Reverted), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn undo(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): Path<(String, String, String)>,
    AppQuery(dry): AppQuery<DryRunQuery>,
    AppJson(body): AppJson<UndoRequest>,
) -> ApiResult<AppJson<Reverted>> {
    let request = UndoChange { version: body.version, reason: body.reason, dry_run: body.dry_run || dry.get()? };
    Ok(AppJson(ops::revert::undo_change(&*state.store, &principal, (&project, &env, &flag), request).await?))
}
