//! "Evaluate as": the server runs the SDK's engine on the current snapshot
//! (compiled once per revision: [`crate::delivery::compiled`]).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use switchyard_core::{Context, Detail};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ApiResult;
use crate::http::json::AppJson;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(evaluate))
}

/// What to evaluate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    /// The context: `{"key": "user-1", "attributes": {...}}`.
    #[schema(value_type = Object)]
    pub context: Context<'static>,
    /// Only these flags (default: all).
    #[serde(default)]
    pub flags: Option<Vec<String>>,
}

/// Evaluation details by flag key.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluateResponse {
    /// The revision evaluated.
    pub revision: u64,
    /// Results.
    #[schema(value_type = Object)]
    pub results: BTreeMap<String, Detail<serde_json::Value>>,
}

/// Evaluates flags for a context with the SDK's engine.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/evaluate", tag = "configs",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path)), request_body = EvaluateRequest,
    responses((status = 200, body = EvaluateResponse)))]
async fn evaluate(
    State(state): State<AppState>,
    Path((project, env)): Path<(String, String)>,
    AppJson(req): AppJson<EvaluateRequest>,
) -> ApiResult<AppJson<EvaluateResponse>> {
    let env = state.store.get_environment(&project, &env).await?;
    let compiled = state.compiled.current(state.store.as_ref(), &env).await?;
    let keys: Vec<String> = match req.flags {
        Some(keys) => keys,
        None => compiled.flag_keys().map(str::to_string).collect(),
    };
    let results = keys
        .into_iter()
        .map(|key| {
            let detail = compiled.evaluate_detail(&key, &req.context);
            (key, detail)
        })
        .collect();
    Ok(AppJson(EvaluateResponse { revision: compiled.revision(), results }))
}
