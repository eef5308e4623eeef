//! Alert triggers: secret URLs, one per flag and environment, that
//! Prometheus Alertmanager, Grafana or anything that can POST kills (or
//! restores) a flag — audited as the trigger.
//!
//! Managing triggers is an admin operation (a trigger URL is a credential
//! that can kill a flag without logging in, like an API token); responders
//! and editors may list them (prefixes only). The URL is shown once, at
//! creation or rotation.
//!
//! `POST /hooks/v1/triggers/{secret}` needs no other credential (the
//! workflow of a firing is [`crate::ops::triggers::fire`]). An unknown,
//! rotated-away or deleted secret answers 404 and writes nothing. Each
//! trigger may fire [`FIRES_PER_MINUTE`] times in any 60 s, counted over
//! every replica in the database (a sliding window, see
//! `TriggerStore::claim_trigger_fire`); beyond, 429 with `Retry-After` (seconds
//! until the oldest fire leaves the window). Every well-formed request with
//! an active trigger's secret counts, ignored notifications included. See
//! [`crate::alerts`] for the bodies understood:
//!
//! | trigger | firing (or unknown body) | resolved / ok |
//! |---------|-------------------------|---------------|
//! | `kill` | kills the flag (reason and incident from the alert) | ignored, or with `restore_on_resolve` restores the flag — only if the current kill is this trigger's own (a human's kill is never undone by an alert) |
//! | `restore` | restores the flag | ignored |
//!
//! Ignored notifications answer `200 {"ignored": true, …}` and write
//! nothing. The answer never contains the flag's configuration: whoever
//! holds the URL learns only what happened and the new revision.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::credentials::{Kind, Peer};
use crate::auth::principal::request_meta;
use crate::auth::{Principal, secret};
use crate::error::{ApiError, ApiResult};
use crate::http::json::AppJson;
use crate::http::params::{AppQuery, EnvFlag, WaitQuery};
use crate::ops;
use crate::ops::triggers::Origin;
pub use crate::ops::triggers::{FIRES_PER_MINUTE, HookOutcome};
use crate::state::AppState;
use crate::store::{NewTrigger, SecretHash, Trigger, TriggerAction};

/// Prefix of trigger secrets.
pub const TRIGGER_PREFIX: &str = "trg";
/// Path of the trigger hook, without the secret.
pub const HOOK_PATH: &str = "/hooks/v1/triggers/";

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_triggers, create_trigger))
        .routes(routes!(delete_trigger))
        .routes(routes!(rotate_trigger))
        .routes(routes!(fire))
}

/// A trigger to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTrigger {
    /// Display name, e.g. `alertmanager-checkout-5xx`; the audit actor of what it does.
    #[schema(pattern = r"\S", min_length = 1, max_length = 128, example = "alertmanager-checkout-5xx")]
    pub name: String,
    /// What a firing alert does.
    pub action: TriggerAction,
    /// Whether a "resolved" notification restores the flag (kill triggers only).
    #[serde(default)]
    pub restore_on_resolve: bool,
}

/// A created (or rotated) trigger; the URL is shown only here.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedTrigger {
    /// The secret URL path to POST alerts to: `/hooks/v1/triggers/trg_…`.
    pub path: String,
    /// The stored trigger.
    #[schema(value_type = Object)]
    pub trigger: serde_json::Value,
}

fn created(secret: &str, trigger: Trigger) -> ApiResult<CreatedTrigger> {
    let trigger = serde_json::to_value(trigger).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(CreatedTrigger { path: format!("{HOOK_PATH}{secret}"), trigger })
}

fn new_secret() -> (String, SecretHash) {
    let secret = secret::random_token(TRIGGER_PREFIX);
    let hash = SecretHash { hash: secret::hash(&secret), prefix: secret::display_prefix(&secret) };
    (secret, hash)
}

/// Lists a flag's triggers in one environment, deleted ones included (responder and up).
#[utoipa::path(get, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/triggers", tag = "triggers",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    responses((status = 200, body = Vec<Trigger>)))]
async fn list_triggers(
    State(state): State<AppState>,
    Path((project, env, flag)): EnvFlag,
) -> ApiResult<AppJson<Vec<Trigger>>> {
    Ok(AppJson(state.store.list_triggers(&project, &env, &flag).await?))
}

/// Creates a trigger (admin). The answer holds its secret URL path, shown once.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/triggers", tag = "triggers",
    security(("bearer" = [])), params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path)),
    request_body = CreateTrigger, responses((status = 201, body = CreatedTrigger)))]
async fn create_trigger(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag)): EnvFlag,
    AppJson(body): AppJson<CreateTrigger>,
) -> ApiResult<(StatusCode, AppJson<CreatedTrigger>)> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 128 {
        return Err(ApiError::invalid("name", "invalid_name", "a name of 1 to 128 characters is required"));
    }
    if body.restore_on_resolve && body.action != TriggerAction::Kill {
        return Err(ApiError::invalid(
            "restore_on_resolve",
            "kill_only",
            "restore_on_resolve applies to kill triggers only",
        ));
    }
    let (secret, hash) = new_secret();
    let new = NewTrigger {
        name: name.to_string(),
        action: body.action,
        restore_on_resolve: body.restore_on_resolve,
        secret: hash,
    };
    let trigger = state.store.create_trigger(&principal.actor(), &project, &env, &flag, new).await?;
    state.credentials.created(Kind::Trigger);
    Ok((StatusCode::CREATED, AppJson(created(&secret, trigger)?)))
}

/// Deletes (disables) a trigger (admin): its URL answers 404 from now on.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/triggers/{id}", tag = "triggers",
    security(("bearer" = [])),
    params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = Trigger)))]
async fn delete_trigger(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag, id)): Path<(String, String, String, i64)>,
) -> ApiResult<AppJson<Trigger>> {
    let trigger = state.store.delete_trigger(&principal.actor(), &project, &env, &flag, id).await?;
    Ok(AppJson(trigger))
}

/// Gives a trigger a new secret URL (admin); the old one answers 404 from now on.
#[utoipa::path(post, path = "/api/v1/projects/{project}/environments/{env}/flags/{flag}/triggers/{id}/rotate", tag = "triggers",
    security(("bearer" = [])),
    params(("project" = String, Path), ("env" = String, Path), ("flag" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = CreatedTrigger)))]
async fn rotate_trigger(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, env, flag, id)): Path<(String, String, String, i64)>,
) -> ApiResult<AppJson<CreatedTrigger>> {
    let (secret, hash) = new_secret();
    let trigger = state.store.rotate_trigger(&principal.actor(), (&project, &env, &flag), id, hash).await?;
    state.credentials.created(Kind::Trigger);
    Ok(AppJson(created(&secret, trigger)?))
}

/// The notification bodies understood (every field optional; any other
/// body, or none, fires).
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct AlertBody {
    /// Alertmanager / Grafana unified alerting: `firing` or `resolved`.
    pub status: Option<String>,
    /// The alerts of the group.
    #[schema(value_type = Option<Vec<Object>>)]
    pub alerts: Option<Vec<serde_json::Value>>,
    /// Labels common to all alerts (`alertname`, `incident`…).
    #[serde(rename = "commonLabels")]
    #[schema(value_type = Option<Object>)]
    pub common_labels: Option<serde_json::Value>,
    /// Annotations common to all alerts (`summary`, `description`…).
    #[serde(rename = "commonAnnotations")]
    #[schema(value_type = Option<Object>)]
    pub common_annotations: Option<serde_json::Value>,
    /// Grafana: notification title.
    pub title: Option<String>,
    /// Grafana: notification message.
    pub message: Option<String>,
    /// Grafana legacy alerting: `alerting`, `ok`, `no_data`, `paused`, `pending`.
    pub state: Option<String>,
    /// Grafana legacy alerting: rule name.
    #[serde(rename = "ruleName")]
    pub rule_name: Option<String>,
}

/// The trigger behind a secret, if active. Unknown, rotated-away and
/// deleted secrets are indistinguishable: 404.
/// Unknown secrets are remembered by the negative cache and their failures
/// limited per address and per secret (see [`crate::auth::credentials`]).
async fn active_trigger(state: &AppState, parts: &Parts, secret: &str) -> ApiResult<Trigger> {
    let hash = secret::hash(secret);
    let well_formed =
        secret.strip_prefix(TRIGGER_PREFIX).is_some_and(|rest| rest.starts_with('_')) && secret.len() <= 128;
    if well_formed {
        let fetch = || state.store.trigger_by_hash(&hash);
        let usable = |t: &Trigger| t.disabled_at.is_none();
        if let Some(trigger) = state.credentials.lookup(Kind::Trigger, &hash, fetch, usable).await? {
            return Ok(trigger);
        }
    }
    let not_found = ApiError::NotFound { what: "trigger", key: secret::display_prefix(secret) };
    let client = state.credentials.client(Peer::of(parts), &parts.headers);
    Err(state.credentials.failed(Kind::Trigger, client, &hash, not_found))
}

/// Receives an alert notification (no credential but the secret in the
/// path): kills or restores the trigger's flag, audited as the trigger.
#[utoipa::path(post, path = "/hooks/v1/triggers/{secret}", tag = "triggers",
    params(("secret" = String, Path, description = "The trigger secret (`trg_…`)"), WaitQuery),
    request_body(content = AlertBody, description = "An Alertmanager or Grafana webhook body; an empty or unknown body fires"),
    responses((status = 200, body = HookOutcome), (status = 404, description = "Unknown or deleted trigger"),
        (status = 429, description = "Rate limited; see Retry-After")))]
async fn fire(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    AppQuery(wait): AppQuery<WaitQuery>,
    parts: Parts,
    body: Bytes,
) -> ApiResult<AppJson<HookOutcome>> {
    let trigger = active_trigger(&state, &parts, &secret).await?;
    let wait = wait.duration()?;
    let (request_id, client_addr) = request_meta(&parts);
    let origin = Origin { request_id, client_addr };
    Ok(AppJson(ops::triggers::fire(&state, trigger, origin, &body, wait).await?))
}
