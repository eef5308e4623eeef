//! The audit history (append-only).

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ApiResult;
use crate::http::json::AppJson;
use crate::http::params::AppQuery;
use crate::state::AppState;
use crate::store::{AuditEvent, AuditQuery, Page};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// Audit filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Environment key.
    pub environment: Option<String>,
    /// Flag key.
    pub flag: Option<String>,
    /// Actor name.
    pub actor: Option<String>,
    /// From (RFC 3339, inclusive).
    pub from: Option<DateTime<Utc>>,
    /// To (RFC 3339, exclusive).
    pub to: Option<DateTime<Utc>>,
    /// Cursor.
    pub cursor: Option<String>,
    /// Page size (≤ 1000).
    pub limit: Option<u32>,
}

/// Audit events, newest first.
#[utoipa::path(get, path = "/api/v1/projects/{project}/audit", tag = "audit", security(("bearer" = [])),
    params(("project" = String, Path), AuditParams), responses((status = 200, body = Page<AuditEvent>)))]
async fn list_audit(
    State(state): State<AppState>,
    Path(project): Path<String>,
    AppQuery(p): AppQuery<AuditParams>,
) -> ApiResult<AppJson<Page<AuditEvent>>> {
    state.store.get_project(&project).await?;
    let query = AuditQuery {
        environment: p.environment,
        flag: p.flag,
        actor: p.actor,
        from: p.from,
        to: p.to,
        cursor: p.cursor,
        limit: Some(p.limit.unwrap_or(100).clamp(1, 1000)),
    };
    Ok(AppJson(state.store.list_audit(&project, &query).await?))
}
