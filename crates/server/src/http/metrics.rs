//! `GET /metrics` and the request middleware: what reads the application
//! state to fill [`crate::metrics::Metrics`] (request counts and latency,
//! streams and revisions per environment, release plans per state, the
//! database pool).

use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::metrics::{EnvLabels, HttpLabels};
use crate::state::AppState;

/// Middleware recording request count and latency by route template.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_string();
    let method = request.method().to_string();
    let start = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    // One line per request: the route template, never the path (no keys or
    // trigger secrets in logs), nor any header or body.
    tracing::info!(%method, %route, status, latency_ms = start.elapsed().as_secs_f64() * 1e3, "request");
    let labels = HttpLabels { route, method, status };
    state.metrics.http_requests.get_or_create(&labels).inc();
    state.metrics.http_duration.get_or_create(&labels).observe(start.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`.
pub async fn scrape(State(state): State<AppState>) -> Response {
    let m = &state.metrics;
    let ping = Instant::now();
    if state.store.ping().await.is_ok() {
        m.db_ping_seconds.set(ping.elapsed().as_secs_f64());
    }
    let (size, idle) = state.store.pool_stats();
    m.db_pool_connections.set(size as i64);
    m.db_pool_idle.set(idle as i64);
    if let Ok(projects) = state.store.list_projects().await {
        for project in projects {
            for env in state.store.list_environments(&project.key).await.unwrap_or_default() {
                let labels = EnvLabels { environment: format!("{}/{}", project.key, env.key) };
                let channel = state.hub.channel(env.id);
                m.sdk_streams.get_or_create(&labels).set(channel.connections.load(Ordering::Relaxed) as i64);
                m.revision.get_or_create(&labels).set(env.revision as i64);
            }
        }
    }
    release_plans(&state).await;
    stale_flags(&state).await;
    let mut body = String::new();
    if let Err(err) = m.encode(&mut body) {
        return crate::error::ApiError::Internal(err.to_string()).into_response();
    }
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body).into_response()
}

/// Sets `switchyard_release_plans{state}` for every state (0 included).
async fn release_plans(state: &AppState) {
    if let Ok(counts) = state.store.plan_counts().await {
        for plan_state in crate::store::PlanState::ALL {
            let n = counts.iter().find(|(s, _)| *s == plan_state).map_or(0, |(_, n)| *n);
            state.metrics.set_release_plans(plan_state.as_str(), i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
}

/// Sets `switchyard_stale_flags{project, reason}`, recomputed at most every
/// 5 minutes (the report reads the telemetry of every environment).
async fn stale_flags(state: &AppState) {
    {
        let mut last = state.metrics.stale_refreshed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(300)) {
            return;
        }
        *last = Some(Instant::now());
    }
    if let Ok(counts) = crate::ops::stale::counts(&state.store, state.config.stale_after_days).await {
        for (project, reason, n) in counts {
            state.metrics.set_stale_flags(&project, reason, n);
        }
    }
}
