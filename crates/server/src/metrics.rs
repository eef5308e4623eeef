//! Prometheus metrics at `/metrics` (OpenMetrics text). Labels are bounded:
//! route templates (never raw paths), methods, status codes, and
//! `project/environment` keys — never flag keys, user keys or secrets.
//!
//! Owns the registry and its metrics. Must not touch the application state
//! or HTTP: the request middleware and the `/metrics` handler that fill
//! and read it live in `http::metrics`; everyone else holds `Arc<Metrics>`.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of HTTP metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// Route template, e.g. `/api/v1/projects/{project}/flags`.
    pub route: String,
    /// Method.
    pub method: String,
    /// Status code.
    pub status: u16,
}

/// Labels of per-environment metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EnvLabels {
    /// `project/environment`.
    pub environment: String,
}

/// Labels of the stale-flag gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StaleLabels {
    /// The project's key.
    pub project: String,
    /// `expired`, `single_variant` or `not_evaluated`.
    pub reason: String,
}

/// Labels of kill metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    /// `api` or `trigger`.
    pub source: String,
}

/// Labels of credential metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// `api_token`, `sdk_key`, `trigger` or `session`.
    pub kind: String,
}

/// Labels of webhook attempt metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `delivered`, `retry` or `dead`.
    pub outcome: String,
}

/// Labels of release plan and guard metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    /// A plan state (`running`, `paused`, …).
    pub state: String,
}

/// Labels of guard trips.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// The metric that tripped (`error_rate`, `latency_p95`, `latency_mean`) or `srm`.
    pub reason: String,
}

/// Every metric of the server.
pub struct Metrics {
    registry: Registry,
    /// Requests by route, method and status.
    pub http_requests: Family<HttpLabels, Counter>,
    /// Request latency by route, method and status.
    pub http_duration: Family<HttpLabels, Histogram>,
    /// Open SDK streams per environment (set at scrape).
    pub sdk_streams: Family<EnvLabels, Gauge>,
    /// Current revision per environment (set at scrape).
    pub revision: Family<EnvLabels, Gauge>,
    /// Change events broadcast.
    pub events_broadcast: Counter,
    /// Bytes handed to streams (frame size × receivers).
    pub bytes_broadcast: Counter,
    /// Streams ended because they lagged.
    pub slow_consumers_dropped: Counter,
    /// SDK streams ended with `goaway` at their maximum age.
    pub streams_expired: Counter,
    /// Broadcast → SDK acknowledgement, seconds.
    pub propagation: Histogram,
    /// Flags killed, by source.
    pub kills: Family<SourceLabels, Counter>,
    /// Trigger URLs fired.
    pub triggers_fired: Counter,
    /// Webhook delivery attempts by outcome.
    pub webhook_attempts: Family<OutcomeLabels, Counter>,
    /// Webhook event committed → delivered (2xx), seconds, retries included.
    pub webhook_latency: Histogram,
    /// Credential lookups that reached the store, by kind.
    pub credential_lookups: Family<KindLabels, Counter>,
    /// Bad credentials answered from the negative cache (no store lookup), by kind.
    pub negative_cache_hits: Family<KindLabels, Counter>,
    /// Failed authentications, by kind (`session` included).
    pub auth_failures: Family<KindLabels, Counter>,
    /// Failed authentications answered 429 (a failure budget was spent), by kind.
    pub auth_rate_limited: Family<KindLabels, Counter>,
    /// SDK telemetry batches accepted.
    pub telemetry_batches_accepted: Counter,
    /// SDK telemetry batches refused (invalid).
    pub telemetry_batches_refused: Counter,
    /// Evaluations ingested from SDK telemetry (attributed and not).
    pub telemetry_evaluations: Counter,
    /// Release plans per state (set at scrape).
    pub release_plans: Family<StateLabels, Gauge>,
    /// Removal candidates per project and reason (set at scrape, computed
    /// at most every 5 minutes: it reads the telemetry).
    pub stale_flags: Family<StaleLabels, Gauge>,
    /// When `stale_flags` was last computed.
    pub stale_refreshed: std::sync::Mutex<Option<std::time::Instant>>,
    /// Guard checks of release plans (each reads the plan's telemetry).
    pub guard_evaluations: Counter,
    /// Guard checks that tripped (and killed the flag), by reason.
    pub guard_trips: Family<ReasonLabels, Counter>,
    /// Database connection pool size and idle connections (set at scrape).
    pub db_pool_connections: Gauge,
    /// Idle pool connections (set at scrape).
    pub db_pool_idle: Gauge,
    /// Latency of a `SELECT 1` at scrape time, seconds.
    pub db_ping_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("switchyard");
        let m = Metrics {
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency_histogram),
            sdk_streams: Family::default(),
            revision: Family::default(),
            events_broadcast: Counter::default(),
            bytes_broadcast: Counter::default(),
            slow_consumers_dropped: Counter::default(),
            streams_expired: Counter::default(),
            propagation: latency_histogram(),
            kills: Family::default(),
            triggers_fired: Counter::default(),
            webhook_attempts: Family::default(),
            webhook_latency: latency_histogram(),
            credential_lookups: Family::default(),
            negative_cache_hits: Family::default(),
            auth_failures: Family::default(),
            auth_rate_limited: Family::default(),
            telemetry_batches_accepted: Counter::default(),
            telemetry_batches_refused: Counter::default(),
            telemetry_evaluations: Counter::default(),
            release_plans: Family::default(),
            stale_flags: Family::default(),
            stale_refreshed: std::sync::Mutex::new(None),
            guard_evaluations: Counter::default(),
            guard_trips: Family::default(),
            db_pool_connections: Gauge::default(),
            db_pool_idle: Gauge::default(),
            db_ping_seconds: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register("http_requests", "HTTP requests", m.http_requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency", m.http_duration.clone());
        registry.register("sdk_streams", "Open SDK SSE streams", m.sdk_streams.clone());
        registry.register(
            "telemetry_batches_accepted",
            "SDK telemetry batches accepted",
            m.telemetry_batches_accepted.clone(),
        );
        registry.register(
            "telemetry_batches_refused",
            "SDK telemetry batches refused",
            m.telemetry_batches_refused.clone(),
        );
        registry.register(
            "telemetry_evaluations",
            "Evaluations ingested from SDK telemetry",
            m.telemetry_evaluations.clone(),
        );
        registry.register("release_plans", "Release plans per state", m.release_plans.clone());
        registry.register(
            "stale_flags",
            "Stale flags (removal candidates) per project and reason",
            m.stale_flags.clone(),
        );
        registry.register("guard_evaluations", "Release guard checks", m.guard_evaluations.clone());
        registry.register("guard_trips", "Release guard trips (flag killed), by reason", m.guard_trips.clone());
        registry.register("environment_revision", "Current environment revision", m.revision.clone());
        registry.register("events_broadcast", "Change events broadcast", m.events_broadcast.clone());
        registry.register("bytes_broadcast", "Bytes handed to SSE streams", m.bytes_broadcast.clone());
        registry.register("slow_consumers_dropped", "Streams closed for lagging", m.slow_consumers_dropped.clone());
        registry.register(
            "streams_expired",
            "SDK streams ended with goaway at their maximum age",
            m.streams_expired.clone(),
        );
        registry.register("propagation_seconds", "Broadcast to SDK acknowledgement", m.propagation.clone());
        registry.register("kills", "Flags killed", m.kills.clone());
        registry.register("triggers_fired", "Trigger URLs fired", m.triggers_fired.clone());
        registry.register("webhook_attempts", "Webhook delivery attempts by outcome", m.webhook_attempts.clone());
        registry.register(
            "webhook_delivery_seconds",
            "Webhook event committed to delivered, retries included",
            m.webhook_latency.clone(),
        );
        registry.register(
            "credential_lookups",
            "Credential lookups (API token, SDK key, trigger secret) that reached the store",
            m.credential_lookups.clone(),
        );
        registry.register(
            "credential_negative_cache_hits",
            "Bad credentials answered from the negative cache, without a store lookup",
            m.negative_cache_hits.clone(),
        );
        registry.register("auth_failures", "Failed authentications", m.auth_failures.clone());
        registry.register(
            "auth_rate_limited",
            "Failed authentications answered 429 (address or credential over its failure limit)",
            m.auth_rate_limited.clone(),
        );
        registry.register("db_pool_connections", "Database pool connections", m.db_pool_connections.clone());
        registry.register("db_pool_idle", "Idle database pool connections", m.db_pool_idle.clone());
        registry.register("db_ping_seconds", "Latency of a database round trip at scrape", m.db_ping_seconds.clone());
        Arc::new(Metrics { registry, ..m })
    }

    /// Counts a webhook attempt's outcome.
    pub fn webhook_attempt(&self, outcome: &str) {
        self.webhook_attempts.get_or_create(&OutcomeLabels { outcome: outcome.to_string() }).inc();
    }

    /// Counts a guard trip.
    pub fn guard_tripped(&self, reason: &str) {
        self.guard_trips.get_or_create(&ReasonLabels { reason: reason.to_string() }).inc();
    }

    /// Sets the number of release plans in `state`.
    pub fn set_release_plans(&self, state: &str, n: i64) {
        self.release_plans.get_or_create(&StateLabels { state: state.to_string() }).set(n);
    }

    /// Sets the number of removal candidates of `project` for `reason`.
    pub fn set_stale_flags(&self, project: &str, reason: &str, n: usize) {
        let labels = StaleLabels { project: project.to_string(), reason: reason.to_string() };
        self.stale_flags.get_or_create(&labels).set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Counts a credential lookup that reached the store.
    pub fn credential_lookup(&self, kind: &str) {
        self.credential_lookups.get_or_create(&KindLabels { kind: kind.to_string() }).inc();
    }

    /// The registry in OpenMetrics text.
    pub fn encode(&self, out: &mut String) -> std::fmt::Result {
        prometheus_client::encoding::text::encode(out, &self.registry)
    }

    /// Counts `n` killed flags from `source`.
    pub fn killed(&self, source: &str, n: usize) {
        self.kills.get_or_create(&SourceLabels { source: source.to_string() }).inc_by(n as u64);
    }
}
