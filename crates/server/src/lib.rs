//! # switchyard-server
//!
//! The Switchyard flag server: admin API with audit history, SDK snapshot
//! and SSE change stream, kill switches, embedded web UI.
//!
//! ## Layout
//! - [`cli`]: the `switchyard` command line (`serve`, …).
//! - [`client`]: the typed admin API client (used by the CLI, the tests and the benchmarks).
//! - [`config`]: server options (flags + environment variables).
//! - [`store`]: the store contract (one trait per area, umbrella `Store`), types by area (serde only, no
//!   OpenAPI derives), Postgres and SQLite backends.
//! - [`delivery`]: getting committed state to readers: the hub (fan-out),
//!   receipts, the fleet, the Postgres listener, the compiled-snapshot cache.
//! - [`metrics`]: Prometheus metrics and the HTTP metrics middleware.
//! - [`auth`]: passwords, JWTs, API tokens, SDK keys, the role matrix.
//! - [`serve`]: the accept loop (timeouts, keepalive, graceful shutdown).
//! - [`ofrep`]: the OpenFeature Remote Evaluation Protocol (evaluation for any language, refetch stream).
//! - [`http`]: the routes, one module per resource, and the OpenAPI document; thin handlers over [`ops`];
//!   `http::schema` holds the OpenAPI schemas of the store's, ops' and delivery's types (none of those derive them).
//! - [`ops`]: the domain workflows (kill, triggers, …), one function per operation, no HTTP types.
//! - [`error`]: the problem+json error type.
//! - [`text`]: the text policy (NUL and control characters refused at the edge and at the store).
//! - [`state`]: the shared application state.
//! - [`alerts`]: alert bodies for trigger URLs (Alertmanager, Grafana).
//! - [`webhooks`]: outgoing notifications from a durable outbox, signed, retried, SSRF-guarded.

#![warn(missing_docs)]

pub mod alerts;
pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod delivery;
pub mod error;
pub mod http;
pub mod metrics;
pub mod ofrep;
pub mod ops;
pub mod serve;
pub mod state;
pub mod store;
#[doc(hidden)]
pub mod testing;
pub mod text;
pub mod webhooks;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::auth::jwt::JwtKeys;
use crate::config::ServeConfig;
use crate::delivery::hub::{ChangeQueue, Hub};
use crate::state::{AppState, Inner};

/// A built server: its router and state, plus what start-up did about the
/// `admin` user.
pub struct Built {
    /// The application.
    pub app: axum::Router,
    /// Its state (tests use the store and hub directly).
    pub state: AppState,
    /// Whether `admin` was created now, and with which password.
    pub bootstrap: ops::accounts::Bootstrap,
}

/// Connects the store (running migrations), starts the hub, bootstraps the
/// admin user and builds the router.
pub async fn build(config: ServeConfig) -> anyhow::Result<Built> {
    let url = config.effective_database_url()?;
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.database.data_dir).ok();
    }
    let metrics = metrics::Metrics::new();
    let (queue, changes) = ChangeQueue::new();
    let store = store::connect(&url, Arc::new(queue.clone())).await.map_err(|e| cli::errors::database(&url, &e))?;
    let hub = {
        let timing = delivery::hub::Timing {
            heartbeat: config.heartbeat,
            ack_hold: config.ack_hold,
            max_age: config.stream_max_age,
        };
        Hub::start(Arc::clone(&store), (queue, changes), Arc::clone(&metrics), timing).await?
    };
    let listener_health = Arc::new(delivery::listener::ListenerHealth::default());
    let fleet = delivery::fleet::Fleet::new(Arc::clone(&store));
    if store.backend() == store::Backend::Postgres {
        let (store, hub, health) = (Arc::clone(&store), Arc::clone(&hub), Arc::clone(&listener_health));
        fleet.adopt(tokio::spawn(delivery::listener::run(url.clone(), store, hub, Arc::clone(&fleet), health)));
    }
    let secret = match &config.jwt_secret {
        Some(secret) => secret.clone(),
        None => store.setting_get_or_insert("jwt_secret", &auth::secret::random_token("jwt")).await?,
    };
    let jwt = JwtKeys::new(secret.as_bytes())?;
    let webhooks = webhooks::Worker::start(
        Arc::clone(&store),
        webhooks::WorkerOptions::from_config(&config),
        Arc::clone(&metrics),
    );
    let login_limiter = auth::ratelimit::PeerLimiter::new(config.login_rate_per_minute, config.trusted_proxies.clone());
    let credentials = auth::credentials::Guard::new(&config, Arc::clone(&metrics));
    let password_limiter = auth::ratelimit::UserLimiter::new(config.login_rate_per_minute);
    let ofrep = ofrep::Ofrep::new(config.ofrep_rate_per_minute);
    let state = AppState::new(Inner {
        ofrep,
        telemetry_limiter: auth::ratelimit::SdkKeyLimiter::new(config.telemetry_rate_per_minute),
        store,
        jwt,
        hub,
        compiled: Arc::new(delivery::compiled::CompiledCache::default()),
        config,
        listener: listener_health,
        webhooks,
        background: tokio_util::task::TaskTracker::new(),
        stopping: tokio_util::sync::CancellationToken::new(),
        metrics,
        login_limiter,
        credentials,
        sdk_keys: Default::default(),
        password_limiter,
        fleet,
    });
    tokio::spawn(ops::telemetry_series::prune_loop(
        Arc::clone(&state.store),
        state.config.telemetry_retention_days,
        state.stopping.clone(),
    ));
    tokio::spawn(ops::scheduler::run(
        state.clone(),
        format!("replica-{}", uuid::Uuid::new_v4().simple()),
        state.config.scheduler_tick,
        state.stopping.clone(),
    ));
    // Every route has an authorization rule, or the server does not start.
    let openapi = http::api().1;
    auth::policy::check_routes(&openapi).map_err(|problems| anyhow::anyhow!(problems))?;
    let plain = http::plain_routes(openapi);
    auth::policy::check_plain_routes(plain.iter().map(|(path, _)| *path))
        .map_err(|problems| anyhow::anyhow!(problems))?;
    let bootstrap = ops::accounts::bootstrap_admin(&state).await?;
    Ok(Built { app: http::app(state.clone()), state, bootstrap })
}

/// Builds and serves: what `switchyard serve` and the tests run.
pub async fn run(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let built = build(config).await?;
    announce(&built, listener.local_addr()?);
    if let Some(addr) = start_metrics_listener(&built.state).await? {
        println!("Metrics: http://{addr}/metrics");
    }
    serve::serve(built.app, listener, built.state.clone(), shutdown).await
}

/// Starts the separate `/metrics` listener when `--metrics-listen` is set;
/// it stops when shutdown begins. Returns its bound address.
pub async fn start_metrics_listener(state: &state::AppState) -> anyhow::Result<Option<SocketAddr>> {
    let Some(addr) = state.config.metrics_listen else { return Ok(None) };
    let listener = TcpListener::bind(addr).await.with_context(|| format!("binding the metrics listener {addr}"))?;
    let bound = listener.local_addr()?;
    let app = http::metrics_app(state.clone());
    let stop = state.stopping.clone().cancelled_owned();
    tokio::spawn(serve::serve_metrics(app, listener, state.config.header_read_timeout, stop));
    Ok(Some(bound))
}

fn announce(built: &Built, addr: SocketAddr) {
    let store = built.state.store.backend();
    let url = format!("http://{addr}");
    println!("Switchyard is running at {url}  (store: {store:?}; API docs: {url}/api/docs)");
    use ops::accounts::Bootstrap;
    match (&built.bootstrap, built.state.config.admin_password.is_some()) {
        (Bootstrap::Generated(pw), _) => println!(
            "First start: log in as `admin` with password `{pw}` (shown once: store it safely; to choose it instead, set SWITCHYARD_ADMIN_PASSWORD before the first start)."
        ),
        (Bootstrap::FromConfig, _) => println!("Log in as `admin` with the password from SWITCHYARD_ADMIN_PASSWORD."),
        (Bootstrap::Existing, true) => println!(
            "The admin user already exists; SWITCHYARD_ADMIN_PASSWORD ignored (it only sets the first password). To set a new one, run `switchyard admin reset-password admin` on this host."
        ),
        (Bootstrap::Existing, false) => println!(
            "Log in with an existing user (the `admin` password was printed on first start; forgotten: `switchyard admin reset-password admin`)."
        ),
    }
    if store == store::Backend::Sqlite {
        println!("Embedded SQLite mode is single-instance; use SWITCHYARD_DATABASE_URL=postgres://… to run replicas.");
    }
}
