//! Server configuration: every option is a flag and an environment
//! variable; the doc comments are the `--help`. Secrets are redacted from
//! `Debug`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

pub mod database;
mod durations;

pub use database::DatabaseArgs;
use durations::{DAY, MILLI, MINUTE, SECOND, within, zero_or_within};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable, coloured when on a terminal.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Options of `switchyard serve`.
#[derive(Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "SWITCHYARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Where the store is.
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Secret for session tokens (≥ 32 random bytes). Default: generated on
    /// first start and stored in the database (shared by replicas).
    #[arg(long, env = "SWITCHYARD_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Password of the `admin` user created on first start. Default: a
    /// random one, printed once.
    #[arg(long, env = "SWITCHYARD_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// Minimum length of a password, in characters: creating a user,
    /// changing or resetting a password, and SWITCHYARD_ADMIN_PASSWORD.
    #[arg(long, env = "SWITCHYARD_MIN_PASSWORD_LENGTH", default_value_t = 12, value_parser = clap::value_parser!(u32).range(8..=1024))]
    pub min_password_length: u32,

    /// Lifetime of a login session token.
    #[arg(long, env = "SWITCHYARD_SESSION_TTL", default_value = "8h", value_parser = within("SWITCHYARD_SESSION_TTL", MINUTE, 30 * DAY))]
    pub session_ttl: Duration,

    /// Maximum request body size in bytes (413 above).
    #[arg(long, env = "SWITCHYARD_BODY_LIMIT", default_value_t = 1024 * 1024)]
    pub body_limit: usize,

    /// Interval of SSE heartbeat comments.
    #[arg(long, env = "SWITCHYARD_HEARTBEAT", default_value = "15s", value_parser = within("SWITCHYARD_HEARTBEAT", SECOND, 5 * MINUTE))]
    pub heartbeat: Duration,

    /// Maximum age of an SDK stream: after it (less a random 0–25 % per
    /// connection) the stream ends with a `goaway` event and the SDK
    /// reconnects, through the balancer, with `Last-Event-ID`. Spreads
    /// streams over replicas again after a rolling restart. `0` disables.
    #[arg(long, env = "SWITCHYARD_STREAM_MAX_AGE", default_value = "30m", value_parser = zero_or_within("SWITCHYARD_STREAM_MAX_AGE", 10 * SECOND, 7 * DAY))]
    pub stream_max_age: Duration,

    /// The least hold the server advises SDKs to keep an acknowledgement
    /// before sending it (each waits a random time between half the hold
    /// and the hold, and reports it, so receipts stay exact). The advised
    /// hold grows by 0.1 ms per open stream of the environment (10,000
    /// streams: 1 s), up to 10 s, so that a fleet's acknowledgements do not
    /// compete with the fan-out of the change they acknowledge.
    #[arg(long, env = "SWITCHYARD_ACK_HOLD", default_value = "100ms", value_parser = zero_or_within("SWITCHYARD_ACK_HOLD", MILLI, 10 * SECOND))]
    pub ack_hold: Duration,

    /// A client must send a complete request head within this time
    /// (slow-header / slowloris protection).
    #[arg(long, env = "SWITCHYARD_HEADER_TIMEOUT", default_value = "10s", value_parser = within("SWITCHYARD_HEADER_TIMEOUT", SECOND, 5 * MINUTE))]
    pub header_read_timeout: Duration,

    /// Login attempts allowed per client address per minute (429 above).
    #[arg(long, env = "SWITCHYARD_LOGIN_RATE", default_value_t = 10)]
    pub login_rate_per_minute: u32,

    /// Failed authentications (bad API token, SDK key, trigger secret or
    /// session) allowed per client address per minute; beyond, failures
    /// answer 429 with `Retry-After`. Successes are never counted.
    #[arg(long, env = "SWITCHYARD_AUTH_FAILURE_RATE", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub auth_failure_rate_per_minute: u32,

    /// Failed authentications allowed per credential (the same bad secret,
    /// from any address) per minute; beyond, 429 with `Retry-After`.
    #[arg(long, env = "SWITCHYARD_CREDENTIAL_FAILURE_RATE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub credential_failure_rate_per_minute: u32,

    /// OFREP evaluations allowed per SDK key and client address per
    /// minute (burst of the same size); beyond, 429 with `Retry-After`.
    /// `0` disables the limit.
    #[arg(long, env = "SWITCHYARD_OFREP_RATE", default_value_t = 60_000)]
    pub ofrep_rate_per_minute: u32,

    /// SDK telemetry batches allowed per SDK key and client address per
    /// minute (an SDK sends one every 10 s; burst of the same size);
    /// beyond, 429 with `Retry-After` and the SDK keeps the batch for its
    /// next flush. `0` disables the limit.
    #[arg(long, env = "SWITCHYARD_TELEMETRY_RATE", default_value_t = 1_200)]
    pub telemetry_rate_per_minute: u32,

    /// Unknown, revoked or disabled credential hashes remembered per kind
    /// (API tokens, SDK keys, trigger secrets), so a repeated bad
    /// credential does not query the database again. `0` disables.
    #[arg(long, env = "SWITCHYARD_NEGATIVE_CACHE_SIZE", default_value_t = 10_000)]
    pub negative_cache_size: usize,

    /// How long an unknown credential hash is remembered.
    #[arg(long, env = "SWITCHYARD_NEGATIVE_CACHE_TTL", default_value = "60s", value_parser = within("SWITCHYARD_NEGATIVE_CACHE_TTL", SECOND, DAY))]
    pub negative_cache_ttl: Duration,

    /// Addresses of trusted reverse proxies (comma-separated): only their
    /// `X-Forwarded-For` is believed when rate limiting.
    #[arg(long, env = "SWITCHYARD_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Origins allowed to call the API from browsers (comma-separated).
    /// Default: none — CORS is closed.
    #[arg(long, env = "SWITCHYARD_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Bearer token that `GET /metrics` requires (`Authorization: Bearer
    /// <token>`). Without one, `/metrics` on the API listener answers 401:
    /// its labels name projects and environments.
    #[arg(long, env = "SWITCHYARD_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Serve `/metrics` on this separate address (e.g. a private
    /// interface) instead of the API listener. The metrics token, if set,
    /// is required there too.
    #[arg(long, env = "SWITCHYARD_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Log format.
    #[arg(long, env = "SWITCHYARD_LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,

    /// Let webhooks deliver to loopback, private (RFC 1918, ULA) and CGNAT
    /// addresses. Link-local and cloud metadata addresses stay refused.
    #[arg(long, env = "SWITCHYARD_WEBHOOK_ALLOW_PRIVATE", value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::SetTrue)]
    pub webhook_allow_private: bool,

    /// Attempts per webhook delivery, the first included; then it is marked dead.
    #[arg(long, env = "SWITCHYARD_WEBHOOK_MAX_ATTEMPTS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub webhook_max_attempts: u32,

    /// Wait before the first webhook retry; each further retry waits 4×
    /// longer (plus up to 25 % jitter), at most 10 minutes.
    #[arg(long, env = "SWITCHYARD_WEBHOOK_RETRY_BASE", default_value = "1s", value_parser = within("SWITCHYARD_WEBHOOK_RETRY_BASE", 100 * MILLI, 10 * MINUTE))]
    pub webhook_retry_base: Duration,

    /// Webhook events older than this are no longer sent (marked dead).
    #[arg(long, env = "SWITCHYARD_WEBHOOK_MAX_AGE", default_value = "24h", value_parser = within("SWITCHYARD_WEBHOOK_MAX_AGE", MINUTE, 30 * DAY))]
    pub webhook_max_age: Duration,

    /// Days of SDK telemetry kept (per-minute aggregates); older minutes are
    /// pruned by a background task. At least 1.
    #[arg(long, env = "SWITCHYARD_TELEMETRY_RETENTION_DAYS", default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub telemetry_retention_days: u32,

    /// Days after which a flag is a removal candidate (the stale-flag
    /// report's default look-back): one variant served to every evaluation,
    /// or no evaluation, for this long.
    #[arg(long, env = "SWITCHYARD_STALE_DAYS", default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub stale_after_days: u32,

    /// How often each replica looks for due scheduled jobs (release plan
    /// steps, scheduled changes). Jobs are claimed in the database, so any
    /// number of replicas may run; a shorter tick only makes them start sooner.
    #[arg(long, env = "SWITCHYARD_SCHEDULER_TICK", default_value = "1s", value_parser = within("SWITCHYARD_SCHEDULER_TICK", 10 * MILLI, MINUTE))]
    pub scheduler_tick: Duration,

    /// Environments a new project gets when its `POST /api/v1/projects` body
    /// names none (comma-separated keys, in order, e.g.
    /// `development,staging,production`; the well-known keys get a colour).
    /// Empty (the default): none, as before.
    #[arg(long, env = "SWITCHYARD_DEFAULT_ENVIRONMENTS", value_delimiter = ',', value_parser = env_key)]
    pub default_environments: Vec<String>,
}

/// An environment key of `--default-environments` (blank entries are skipped).
fn env_key(value: &str) -> Result<String, String> {
    let key = value.trim();
    if !key.is_empty() {
        switchyard_core::validate_key(key).map_err(|e| e.message)?;
    }
    Ok(key.to_string())
}

impl ServeConfig {
    /// The database URL in effect (see [`DatabaseArgs::effective_url`]).
    pub fn effective_database_url(&self) -> anyhow::Result<String> {
        self.database.effective_url()
    }

    /// A configuration for tests and tools: port 0 on loopback, in-memory
    /// defaults otherwise.
    pub fn for_tests(database_url: impl Into<String>) -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: DatabaseArgs {
                database_url: Some(database_url.into()),
                ..DatabaseArgs::sqlite_in(PathBuf::from("switchyard-data"))
            },
            jwt_secret: None,
            admin_password: Some("test-admin-password".into()),
            min_password_length: 12,
            session_ttl: Duration::from_secs(3600),
            body_limit: 1024 * 1024,
            heartbeat: Duration::from_secs(15),
            stream_max_age: Duration::from_secs(30 * 60),
            ack_hold: Duration::from_millis(100),
            log_format: LogFormat::Pretty,
            webhook_allow_private: false,
            webhook_max_attempts: 8,
            webhook_retry_base: Duration::from_secs(1),
            webhook_max_age: Duration::from_secs(24 * 3600),
            telemetry_retention_days: 30,
            stale_after_days: 30,
            scheduler_tick: Duration::from_millis(100),
            default_environments: Vec::new(),
            login_rate_per_minute: 1000,
            auth_failure_rate_per_minute: 100_000,
            credential_failure_rate_per_minute: 100_000,
            ofrep_rate_per_minute: 0,
            telemetry_rate_per_minute: 0,
            negative_cache_size: 10_000,
            negative_cache_ttl: Duration::from_secs(60),
            trusted_proxies: Vec::new(),
            cors_origins: Vec::new(),
            header_read_timeout: Duration::from_secs(10),
            metrics_token: Some(TEST_METRICS_TOKEN.into()),
            metrics_listen: None,
        }
    }
}

/// The metrics token of [`ServeConfig::for_tests`] (re-exported as
/// `testing::METRICS_TOKEN`; defined here so that the configuration does not
/// reach into the test support).
pub const TEST_METRICS_TOKEN: &str = "test-metrics-token";

/// Removes the password from a database URL for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl std::fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("listen", &self.listen)
            .field("database", &self.database)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "<redacted>"))
            .field("admin_password", &self.admin_password.as_ref().map(|_| "<redacted>"))
            .field("min_password_length", &self.min_password_length)
            .field("session_ttl", &self.session_ttl)
            .field("body_limit", &self.body_limit)
            .field("heartbeat", &self.heartbeat)
            .field("stream_max_age", &self.stream_max_age)
            .field("ack_hold", &self.ack_hold)
            .field("log_format", &self.log_format)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("login_rate_per_minute", &self.login_rate_per_minute)
            .field("auth_failure_rate_per_minute", &self.auth_failure_rate_per_minute)
            .field("credential_failure_rate_per_minute", &self.credential_failure_rate_per_minute)
            .field("ofrep_rate_per_minute", &self.ofrep_rate_per_minute)
            .field("telemetry_rate_per_minute", &self.telemetry_rate_per_minute)
            .field("negative_cache_size", &self.negative_cache_size)
            .field("negative_cache_ttl", &self.negative_cache_ttl)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("cors_origins", &self.cors_origins)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "<redacted>"))
            .field("metrics_listen", &self.metrics_listen)
            .field("webhook_allow_private", &self.webhook_allow_private)
            .field("webhook_max_attempts", &self.webhook_max_attempts)
            .field("webhook_retry_base", &self.webhook_retry_base)
            .field("webhook_max_age", &self.webhook_max_age)
            .field("telemetry_retention_days", &self.telemetry_retention_days)
            .field("stale_after_days", &self.stale_after_days)
            .field("scheduler_tick", &self.scheduler_tick)
            .field("default_environments", &self.default_environments)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::config::*;

    #[test]
    fn secrets_are_redacted() {
        let mut c = ServeConfig::for_tests("postgres://app:hunter2@db:5432/flags");
        c.jwt_secret = Some("supersecretsupersecretsupersecret!".into());
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("supersecret") && !shown.contains("test-admin-password"));
        assert!(shown.contains("postgres://app:***@db:5432/flags"));
    }

    #[test]
    fn webhook_allow_private_is_off_unless_asked() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            config: ServeConfig,
        }
        use clap::Parser as _;
        assert!(!ServeConfig::for_tests("sqlite::memory:").webhook_allow_private);
        assert!(Cli::parse_from(["switchyard", "--webhook-allow-private"]).config.webhook_allow_private);
    }

    #[test]
    fn stream_max_age_defaults_to_30_minutes_and_0_disables() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            config: ServeConfig,
        }
        use clap::Parser as _;
        assert_eq!(Cli::parse_from(["switchyard"]).config.stream_max_age, Duration::from_secs(1800));
        let off = Cli::parse_from(["switchyard", "--stream-max-age", "0"]).config.stream_max_age;
        assert_eq!(off, Duration::ZERO);
        assert!(Cli::try_parse_from(["switchyard", "--stream-max-age", "soon"]).is_err());
    }

    #[test]
    fn zero_and_absurd_durations_are_refused_naming_the_variable() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            config: ServeConfig,
        }
        use clap::Parser as _;
        for (flag, value, var) in [
            ("--heartbeat", "0s", "SWITCHYARD_HEARTBEAT"),
            ("--heartbeat", "3days", "SWITCHYARD_HEARTBEAT"),
            ("--scheduler-tick", "0", "SWITCHYARD_SCHEDULER_TICK"),
            ("--session-ttl", "0s", "SWITCHYARD_SESSION_TTL"),
            ("--header-read-timeout", "0s", "SWITCHYARD_HEADER_TIMEOUT"),
            ("--webhook-retry-base", "0s", "SWITCHYARD_WEBHOOK_RETRY_BASE"),
            ("--stream-max-age", "1ms", "SWITCHYARD_STREAM_MAX_AGE"),
        ] {
            let err = Cli::try_parse_from(["switchyard", flag, value]).err().map(|e| e.to_string());
            assert!(err.as_deref().is_some_and(|e| e.contains(var)), "{flag} {value}: {err:?}");
        }
        let ok = Cli::parse_from(["switchyard", "--heartbeat", "1s", "--scheduler-tick", "100ms", "--ack-hold", "0"]);
        assert_eq!((ok.config.heartbeat, ok.config.ack_hold), (Duration::from_secs(1), Duration::ZERO));
    }
}
