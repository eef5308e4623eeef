//! Project webhooks (admin): where notifications of kills, restores,
//! panics and (when subscribed) every other change are POSTed, signed with
//! a per-webhook secret, and their delivery history. See
//! [`crate::webhooks`] for the delivery format and
//! [`crate::webhooks::guard`] for the address policy (checked here on save,
//! and again before every delivery).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{Principal, secret};
use crate::error::{ApiError, ApiResult};
use crate::http::json::AppJson;
use crate::http::params::AppQuery;
use crate::state::AppState;
use crate::store::{DeliveryRecord, NewWebhook, Webhook, WebhookEvent};
use crate::webhooks::guard::AddressPolicy;

/// Prefix of generated signing secrets.
pub const WEBHOOK_SECRET_PREFIX: &str = "whs";

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(delete_webhook))
        .routes(routes!(list_deliveries))
}

/// Most deliveries listed at once.
pub const MAX_DELIVERIES: u32 = 500;

/// A webhook to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// `http(s)` URL to POST deliveries to.
    pub url: String,
    /// Event types to receive: `flag.killed`, `flag.restored`, `env.panic`,
    /// `flag.changed` (every other change), or `*` (all). Default: the first three.
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>, example = json!(["flag.killed", "flag.restored", "env.panic"]))]
    pub events: Option<Vec<String>>,
    /// Signing secret (16 to 256 characters); generated when absent.
    #[serde(default)]
    pub secret: Option<String>,
}

/// A created webhook; the signing secret is shown only here.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedWebhook {
    /// The HMAC-SHA256 signing secret.
    pub secret: String,
    /// The stored webhook.
    #[schema(value_type = Object)]
    pub webhook: serde_json::Value,
}

/// Lists a project's webhooks, deleted ones included (admin; never secrets).
#[utoipa::path(get, path = "/api/v1/projects/{project}/webhooks", tag = "webhooks",
    security(("bearer" = [])), params(("project" = String, Path)), responses((status = 200, body = Vec<Webhook>)))]
async fn list_webhooks(State(state): State<AppState>, Path(project): Path<String>) -> ApiResult<AppJson<Vec<Webhook>>> {
    Ok(AppJson(state.store.list_webhooks(&project).await?))
}

/// Creates a webhook (admin). Loopback, private, link-local and metadata
/// addresses are refused (422) unless the server allows private ones.
#[utoipa::path(post, path = "/api/v1/projects/{project}/webhooks", tag = "webhooks",
    security(("bearer" = [])), params(("project" = String, Path)), request_body = CreateWebhook,
    responses((status = 201, body = CreatedWebhook)))]
async fn create_webhook(
    State(state): State<AppState>,
    principal: Principal,
    Path(project): Path<String>,
    AppJson(body): AppJson<CreateWebhook>,
) -> ApiResult<(StatusCode, AppJson<CreatedWebhook>)> {
    let events = parse_events(body.events)?;
    let (secret, prefix) = signing_secret(body.secret)?;
    let policy = AddressPolicy { allow_private: state.config.webhook_allow_private };
    let url = policy
        .check(&body.url)
        .await
        .map_err(|refusal| ApiError::invalid("url", refusal.code(), refusal.to_string()))?
        .url
        .to_string();
    let new = NewWebhook { url, events, secret: secret.clone(), prefix };
    let webhook = state.store.create_webhook(&principal.actor(), &project, new).await?;
    let webhook = serde_json::to_value(webhook).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((StatusCode::CREATED, AppJson(CreatedWebhook { secret, webhook })))
}

/// The signing secret given (checked: 16 to 256 characters, no surrounding
/// spaces; its display prefix is `custom`) or a fresh random one, with its
/// display prefix.
fn signing_secret(given: Option<String>) -> ApiResult<(String, String)> {
    match given {
        Some(s) if s.chars().count() < 16 || s.len() > 256 || s.trim() != s => Err(ApiError::invalid(
            "secret",
            "weak_secret",
            "a secret of 16 to 256 characters without surrounding spaces is required",
        )),
        Some(s) => Ok((s, "custom".to_string())),
        None => {
            let s = secret::random_token(WEBHOOK_SECRET_PREFIX);
            let prefix = secret::display_prefix(&s);
            Ok((s, prefix))
        }
    }
}

/// Deletes (disables) a webhook (admin): no further deliveries.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/webhooks/{id}", tag = "webhooks",
    security(("bearer" = [])), params(("project" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = Webhook)))]
async fn delete_webhook(
    State(state): State<AppState>,
    principal: Principal,
    Path((project, id)): Path<(String, i64)>,
) -> ApiResult<AppJson<Webhook>> {
    Ok(AppJson(state.store.delete_webhook(&principal.actor(), &project, id).await?))
}

/// The subscription: known event types, sorted and deduplicated; the
/// default when absent.
fn parse_events(events: Option<Vec<String>>) -> ApiResult<Vec<WebhookEvent>> {
    let Some(names) = events else { return Ok(WebhookEvent::DEFAULT.to_vec()) };
    let mut events = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let event = WebhookEvent::parse(name).ok_or_else(|| {
            let known = WebhookEvent::NAMES.join(", ");
            let shown: String = name.chars().take(64).collect();
            ApiError::invalid(
                &format!("events[{i}]"),
                "unknown_event",
                format!("unknown event type `{shown}` (known: {known})"),
            )
        })?;
        events.push(event);
    }
    events.sort_by_key(|e| *e as u8);
    events.dedup();
    if events.is_empty() {
        return Err(ApiError::invalid("events", "required", "give at least one event type (or leave `events` out)"));
    }
    Ok(events)
}

/// `?limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// How many, newest first (default 50, at most 500).
    pub limit: Option<u32>,
}

/// A webhook's recent deliveries, newest first (admin): status, attempts,
/// last response code and error, timestamps.
#[utoipa::path(get, path = "/api/v1/projects/{project}/webhooks/{id}/deliveries", tag = "webhooks",
    security(("bearer" = [])), params(("project" = String, Path), ("id" = i64, Path), DeliveriesQuery),
    responses((status = 200, body = Vec<DeliveryRecord>)))]
async fn list_deliveries(
    State(state): State<AppState>,
    Path((project, id)): Path<(String, i64)>,
    AppQuery(query): AppQuery<DeliveriesQuery>,
) -> ApiResult<AppJson<Vec<DeliveryRecord>>> {
    let limit = query.limit.unwrap_or(50).clamp(1, MAX_DELIVERIES);
    Ok(AppJson(state.store.list_deliveries(&project, id, limit).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_default_dedupe_and_refuse_unknown_names() {
        assert_eq!(parse_events(None).unwrap(), WebhookEvent::DEFAULT.to_vec());
        let got = parse_events(Some(vec!["flag.changed".into(), "flag.killed".into(), "flag.changed".into()]));
        assert_eq!(got.unwrap(), vec![WebhookEvent::FlagKilled, WebhookEvent::FlagChanged]);
        assert_eq!(parse_events(Some(vec!["*".into()])).unwrap(), vec![WebhookEvent::All]);
        for bad in [vec!["kill".to_string()], vec!["flag.killed".into(), "nope".into()], vec![]] {
            assert!(matches!(parse_events(Some(bad)), Err(ApiError::Validation(_))));
        }
    }
}
