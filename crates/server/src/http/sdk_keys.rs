//! SDK keys: one environment each, shown once, stored hashed.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{Principal, secret};
use crate::error::{ApiError, ApiResult};
use crate::http::json::AppJson;
use crate::state::AppState;
use crate::store::{NewSdkKey, SdkKey};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_keys, create_key)).routes(routes!(revoke_key))
}

/// A key to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSdkKey {
    /// Display name, e.g. the service using it.
    #[schema(pattern = r"\S", min_length = 1, max_length = 128, example = "checkout-service")]
    pub name: String,
}

/// A created key; the secret is shown only here.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedSdkKey {
    /// The secret (`sdk_…`).
    pub secret: String,
    /// The stored key.
    #[schema(value_type = Object)]
    pub key: serde_json::Value,
}

/// Lists an environment's SDK keys (prefixes only; admin).
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/sdk-keys", tag = "sdk-keys",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path)), responses((status = 200, body = Vec<SdkKey>)))]
async fn list_keys(
    State(state): State<AppState>,
    Path((project, env)): Path<(String, String)>,
) -> ApiResult<AppJson<Vec<SdkKey>>> {
    Ok(AppJson(state.store.list_sdk_keys(&project, &env).await?))
}

/// Creates an SDK key bound to this environment (admin).
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/sdk-keys", tag = "sdk-keys",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path)), request_body = CreateSdkKey,
    responses((status = 201, body = CreatedSdkKey)))]
async fn create_key(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env)): Path<(String, String)>,
    AppJson(body): AppJson<CreateSdkKey>,
) -> ApiResult<(StatusCode, AppJson<CreatedSdkKey>)> {
    if body.name.trim().is_empty() || body.name.chars().count() > 128 {
        return Err(ApiError::invalid("name", "invalid_name", "a name of 1 to 128 characters is required"));
    }
    let secret = secret::random_token(secret::SDK_KEY_PREFIX);
    let new = NewSdkKey { name: body.name, hash: secret::hash(&secret), prefix: secret::display_prefix(&secret) };
    let key = state.store.create_sdk_key(&principal.actor(), &project, &env, new).await?;
    state.credentials.created(crate::auth::credentials::Kind::SdkKey);
    let key = serde_json::to_value(key).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((StatusCode::CREATED, AppJson(CreatedSdkKey { secret, key })))
}

/// Revokes an SDK key; its open streams are closed.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/environments/{env}/sdk-keys/{id}", tag = "sdk-keys",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = SdkKey)))]
async fn revoke_key(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, id)): Path<(String, String, i64)>,
) -> ApiResult<AppJson<SdkKey>> {
    let key = state.store.revoke_sdk_key(&principal.actor(), &project, &env, id).await?;
    state.sdk_keys.revoke(key.id);
    Ok(AppJson(key))
}
