//! Starting a networked client: [`ClientBuilder::build`] checks every
//! option once, then wires the endpoint and spawns the background tasks
//! (sync, acknowledgements, persistence, freshness watch, telemetry).
//!
//! Owns: option validation and task wiring. Must not touch: the options'
//! defaults and setters (the parent module), what the tasks do (`sync`,
//! `telemetry`), evaluation.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::HeaderValue;
use tokio::runtime::Handle;
use tokio::sync::watch;

use super::ClientBuilder;
use crate::client::Client;
use crate::error::Error;
use crate::persist;
use crate::state::Shared;
use crate::status::Status;
use crate::sync::http::Endpoint;
use crate::sync::{SyncConfig, Syncer, tasks};

impl ClientBuilder {
    /// Validates the options and starts the background sync on the current
    /// tokio runtime. Returns at once: the client serves defaults until the
    /// first snapshot arrives (see [`Client::wait_until_ready`]).
    pub fn build(self) -> Result<Client, Error> {
        let runtime = Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let base = self.validate()?;
        let auth = HeaderValue::try_from(switchyard_core::protocol::authorization(&self.sdk_key))
            .map_err(|_| invalid("sdk_key", "must be printable ASCII"))?;
        let http = match self.http_client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .tcp_keepalive(Duration::from_secs(30))
                .tcp_nodelay(true)
                // The server closes a keep-alive connection idle for its
                // header read timeout (10 s by default), the interval of
                // telemetry flushes: a flush reusing a connection as the
                // server closes it would meet a reset. Drop idle ones first.
                .pool_idle_timeout(Duration::from_secs(5))
                .user_agent(concat!("switchyard-rust/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(Error::Http)?,
        };
        let instance = uuid::Uuid::new_v4().to_string();
        let endpoint = Endpoint::new(http, &base, auth, instance, self.read_timeout, self.max_event_size)
            .map_err(|e| invalid("base_url", &e.to_string()))?
            .with_service(self.service_name.as_deref(), self.service_version.as_deref());
        let fingerprint = persist::fingerprint(base.as_str(), &self.sdk_key);
        let config = SyncConfig {
            streaming: self.streaming,
            read_timeout: self.read_timeout,
            heartbeat: self.heartbeat,
            initial_backoff: self.initial_backoff,
            max_backoff: self.max_backoff,
            polling_interval: self.polling_interval,
            unauthorized_retry: self.unauthorized_retry,
            persist_path: self.persist_path.clone(),
            fingerprint: fingerprint.clone(),
        };

        let stale_bound = self.stale_bound.unwrap_or(self.heartbeat.saturating_mul(3));
        let shared = Arc::new(Shared::new(Some(stale_bound), Status::Initializing));
        let flush_task = self.telemetry.then(|| {
            let config = crate::telemetry::TelemetryConfig::new(self.telemetry_flush, endpoint.instance.clone());
            let (telemetry, task) = crate::telemetry::spawn(&runtime, config, endpoint.telemetry_sender());
            let _ = shared.telemetry.set(telemetry);
            task
        });
        let (ack_tx, ack_rx) = watch::channel(tasks::AckState::default());
        let mut tasks = vec![runtime.spawn(tasks::ack_loop(endpoint.clone(), ack_rx, self.ack_delay)).abort_handle()];
        tasks.extend(flush_task);
        let persist_tx = self.persist_path.map(|path| {
            let (tx, rx) = watch::channel(None);
            tasks.push(runtime.spawn(tasks::persist_loop(path, fingerprint, rx)).abort_handle());
            tx
        });
        tasks.push(runtime.spawn(tasks::freshness_watch(shared.clone())).abort_handle());
        let syncer = Syncer::new(shared.clone(), endpoint, config, ack_tx, persist_tx);
        tasks.push(runtime.spawn(syncer.run()).abort_handle());
        Ok(Client::networked(shared, tasks))
    }

    /// Checks every option; returns the base URL ready for joining.
    fn validate(&self) -> Result<Url, Error> {
        if self.sdk_key.trim().is_empty() {
            return Err(invalid("sdk_key", "is empty"));
        }
        if self.sdk_key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("sdk_key", "contains whitespace or control characters"));
        }
        let raw = self.base_url.as_deref().ok_or_else(|| invalid("base_url", "is required"))?;
        let mut base = Url::parse(raw).map_err(|e| invalid("base_url", &format!("`{raw}`: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid("base_url", &format!("`{raw}` is not an http(s) URL")));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(invalid("base_url", &format!("`{raw}` must not have a query or fragment")));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let positive = [
            ("connect_timeout", self.connect_timeout),
            ("read_timeout", self.read_timeout),
            ("heartbeat_interval", self.heartbeat),
            ("unauthorized_retry", self.unauthorized_retry),
            ("initial_backoff", self.initial_backoff),
            ("max_backoff", self.max_backoff),
            ("polling_interval", self.polling_interval),
            ("telemetry_flush_interval", self.telemetry_flush),
        ];
        if let Some((option, _)) = positive.iter().find(|(_, d)| d.is_zero()) {
            return Err(invalid(option, "must be greater than zero"));
        }
        if self.max_backoff < self.initial_backoff {
            return Err(invalid("max_backoff", "must not be less than initial_backoff"));
        }
        if self.stale_bound.is_some_and(|d| d.is_zero()) {
            return Err(invalid("stale_bound", "must be greater than zero"));
        }
        for (option, value) in [("service_name", &self.service_name), ("service_version", &self.service_version)] {
            if value.as_deref().is_some_and(|v| !switchyard_core::protocol::valid_label(v)) {
                return Err(invalid(option, "must be 1 to 64 printable ASCII characters, without surrounding spaces"));
            }
        }
        if self.max_event_size < 1024 {
            return Err(invalid("max_event_size", "must be at least 1024 bytes"));
        }
        Ok(base)
    }
}

fn invalid(option: &'static str, reason: &str) -> Error {
    Error::InvalidConfig { option, reason: reason.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(b: ClientBuilder) -> String {
        b.validate().unwrap_err().to_string()
    }

    #[test]
    fn validates_every_option_at_build() {
        let ok = || ClientBuilder::new("key-1".into()).base_url("http://127.0.0.1:8080");
        assert_eq!(ok().validate().unwrap().as_str(), "http://127.0.0.1:8080/");
        let prefixed = ok().base_url("https://example.com/switchyard").validate().unwrap();
        assert_eq!(prefixed.join("sdk/v1/stream").unwrap().as_str(), "https://example.com/switchyard/sdk/v1/stream");
        assert!(err(ClientBuilder::new("key".into())).contains("`base_url`: is required"));
        assert!(err(ClientBuilder::new(" ".into()).base_url("http://x")).contains("sdk_key"));
        assert!(err(ClientBuilder::new("a b".into()).base_url("http://x")).contains("sdk_key"));
        assert!(err(ok().base_url("ftp://x")).contains("not an http(s) URL"));
        assert!(err(ok().base_url("not a url")).contains("base_url"));
        assert!(err(ok().base_url("http://x/?a=b")).contains("query"));
        assert!(err(ok().read_timeout(Duration::ZERO)).contains("read_timeout"));
        assert!(
            err(ok().initial_backoff(Duration::from_secs(5)).max_backoff(Duration::from_secs(1)))
                .contains("max_backoff")
        );
        assert!(err(ok().stale_bound(Duration::ZERO)).contains("stale_bound"));
        assert!(err(ok().service_name("")).contains("service_name"));
        assert!(err(ok().service_version("1\n2")).contains("service_version"));
        assert!(err(ok().service_name("x".repeat(65))).contains("service_name"));
        assert!(ok().service_name("checkout").service_version("1.4.2").validate().is_ok());
    }

    #[test]
    fn build_needs_a_runtime_and_debug_hides_the_key() {
        let b = ClientBuilder::new("secret-key".into()).base_url("http://127.0.0.1:1");
        assert!(!format!("{b:?}").contains("secret-key"));
        assert!(matches!(b.build(), Err(Error::NoRuntime)));
    }
}
