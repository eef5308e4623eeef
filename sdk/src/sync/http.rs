//! The three requests of the SDK wire protocol, with failures classified
//! for the retry policy.
//!
//! Owns: requests and failure classification (paths, headers and shapes
//! from `switchyard_core::protocol`, no literals of its own). Must not
//! touch: the retry policy (`mod`), applying data (`apply`).

use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_NONE_MATCH,
    RETRY_AFTER,
};
use reqwest::{Response, StatusCode, Url};
use switchyard_core::Snapshot;
use switchyard_core::protocol::{self, header};

use super::backoff::parse_retry_after;

/// This SDK's [`header::SDK`] label.
pub(crate) const SDK_LABEL: &str = concat!("switchyard-rust/", env!("CARGO_PKG_VERSION"));

/// Why a request (or a stream) failed, classified for the retry policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Failure {
    /// 401/403 (or a 429 with `error="invalid_token"`: failed
    /// authentication over the server's limit): the key is unknown or
    /// revoked. Retry only rarely.
    #[error("the server rejected the SDK key (HTTP {0})")]
    Unauthorized(u16),
    /// 429: wait at least `retry_after` if the server said.
    #[error("rate limited by the server (HTTP 429)")]
    RateLimited {
        /// The parsed `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// Any other unexpected status (5xx, 404 for a wrong base URL, ...),
    /// with the parsed `Retry-After` if the server sent one (503).
    #[error("unexpected HTTP status {0}")]
    Status(u16, Option<Duration>),
    /// Connection refused, reset, DNS, TLS, ...
    #[error("network error: {0}")]
    Network(String),
    /// Nothing (not even a heartbeat) within the read timeout.
    #[error("no data from the server within {0:?}")]
    Silence(Duration),
    /// The server broke the protocol (bad JSON, wrong content type, ...).
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// Whether a response says `WWW-Authenticate: Bearer error="invalid_token"`.
fn invalid_token(resp: &Response) -> bool {
    resp.headers()
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(protocol::INVALID_TOKEN))
}

impl Failure {
    fn from_status(resp: &Response) -> Failure {
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Failure::Unauthorized(status.as_u16()),
            // The server limits failed authentication: a 429 that says the
            // key is invalid is a 401 (and its long retry) all the same.
            StatusCode::TOO_MANY_REQUESTS if invalid_token(resp) => Failure::Unauthorized(status.as_u16()),
            StatusCode::TOO_MANY_REQUESTS => Failure::RateLimited { retry_after },
            other => Failure::Status(other.as_u16(), retry_after),
        }
    }

    fn network(e: &reqwest::Error) -> Failure {
        // `{:#}`-style chains are long; the first source says enough.
        let mut msg = e.to_string();
        if let Some(source) = std::error::Error::source(e) {
            msg = format!("{msg}: {source}");
        }
        Failure::Network(msg)
    }
}

/// Everything needed to talk to one environment of one server.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub(crate) http: reqwest::Client,
    snapshot_url: Url,
    stream_url: Url,
    ack_url: Url,
    telemetry_url: Url,
    /// `Bearer <key>`, marked sensitive so that it is never logged.
    auth: HeaderValue,
    pub(crate) instance: String,
    /// Who is asking, sent with the stream, snapshot and telemetry requests
    /// for the server's fleet view and flag insights: [`header::INSTANCE`], [`header::SDK`] and, when
    /// set, [`header::SERVICE`] and [`header::SERVICE_VERSION`].
    identity: HeaderMap,
    /// Bound on a whole snapshot or ack request.
    request_timeout: Duration,
    /// Bound on a snapshot body or a single event.
    pub(crate) max_body: usize,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint").field("base", &self.snapshot_url).field("instance", &self.instance).finish()
    }
}

impl Endpoint {
    /// `base` must end with `/` so that joins keep any path prefix.
    pub(crate) fn new(
        http: reqwest::Client,
        base: &Url,
        mut auth: HeaderValue,
        instance: String,
        request_timeout: Duration,
        max_body: usize,
    ) -> Result<Self, url_error::ParseError> {
        auth.set_sensitive(true);
        let mut identity = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&instance) {
            identity.insert(header::INSTANCE, value);
        }
        identity.insert(header::SDK, HeaderValue::from_static(SDK_LABEL));
        Ok(Endpoint {
            http,
            snapshot_url: join(base, protocol::SNAPSHOT_PATH)?,
            stream_url: join(base, protocol::STREAM_PATH)?,
            ack_url: join(base, protocol::ACK_PATH)?,
            telemetry_url: join(base, protocol::TELEMETRY_PATH)?,
            auth,
            instance,
            identity,
            request_timeout,
            max_body,
        })
    }

    /// `GET /sdk/v1/snapshot`; `Ok(None)` on 304 (still at `have`).
    /// `Ok(Some((snapshot, reset)))`: `reset` when the server says the
    /// snapshot replaces a newer one we hold (its database went back).
    pub(crate) async fn fetch_snapshot(&self, have: Option<u64>) -> Result<Option<(Snapshot, bool)>, Failure> {
        let mut req = self
            .http
            .get(self.snapshot_url.clone())
            .header(AUTHORIZATION, self.auth.clone())
            .headers(self.identity.clone());
        if let Some(rev) = have {
            req = req.header(IF_NONE_MATCH, protocol::etag(rev));
        }
        let resp = req.timeout(self.request_timeout).send().await.map_err(|e| Failure::network(&e))?;
        match resp.status() {
            StatusCode::NOT_MODIFIED => return Ok(None),
            StatusCode::OK => {}
            _ => return Err(Failure::from_status(&resp)),
        }
        let etag = resp.headers().get(ETAG).cloned();
        let reset = resp.headers().get(header::RESET).is_some_and(|v| v.as_bytes() == protocol::RESET_VALUE.as_bytes());
        let body = read_limited(resp, self.max_body).await?;
        let snapshot: Snapshot =
            serde_json::from_slice(&body).map_err(|e| Failure::Protocol(format!("snapshot body: {e}")))?;
        if let Some(etag) = etag {
            let expected = protocol::etag(snapshot.revision);
            if etag.as_bytes() != expected.as_bytes() {
                tracing::debug!(?etag, revision = snapshot.revision, "snapshot ETag does not match its revision");
            }
        }
        Ok(Some((snapshot, reset)))
    }

    /// `GET /sdk/v1/stream`, resuming after `last_event_id` if given.
    /// Resolves when the response headers arrived with a 200.
    pub(crate) async fn open_stream(&self, last_event_id: Option<u64>) -> Result<Response, Failure> {
        let mut req = self
            .http
            .get(self.stream_url.clone())
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, protocol::EVENT_STREAM)
            .header(CACHE_CONTROL, "no-cache")
            .headers(self.identity.clone());
        if let Some(id) = last_event_id {
            req = req.header(header::LAST_EVENT_ID, id.to_string());
        }
        let resp = req.send().await.map_err(|e| Failure::network(&e))?;
        if resp.status() != StatusCode::OK {
            return Err(Failure::from_status(&resp));
        }
        let content_type = resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !content_type.starts_with(protocol::EVENT_STREAM) {
            return Err(Failure::Protocol(format!("stream content type is `{content_type}`")));
        }
        Ok(resp)
    }

    /// `POST /sdk/v1/ack` for `revision`.
    pub(crate) async fn ack(&self, revision: u64, held: std::time::Duration) -> Result<(), Failure> {
        let held_ms = held.as_secs_f64() * 1e3;
        let body = protocol::Ack { instance: self.instance.clone(), revision, held_ms };
        let resp = self
            .http
            .post(self.ack_url.clone())
            .header(AUTHORIZATION, self.auth.clone())
            .json(&body)
            .timeout(self.request_timeout)
            .send()
            .await
            .map_err(|e| Failure::network(&e))?;
        if resp.status().is_success() { Ok(()) } else { Err(Failure::from_status(&resp)) }
    }
}

impl Endpoint {
    /// Names the service this SDK runs in (and its version) on the stream
    /// and snapshot requests. Values must be valid
    /// ([`protocol::valid_label`]); the builder checks them.
    pub(crate) fn with_service(mut self, name: Option<&str>, version: Option<&str>) -> Self {
        for (header, value) in [(header::SERVICE, name), (header::SERVICE_VERSION, version)] {
            if let Some(value) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
                self.identity.insert(header, value);
            }
        }
        self
    }

    /// A sender of telemetry batches through this endpoint.
    pub(crate) fn telemetry_sender(&self) -> crate::telemetry::Sender {
        let endpoint = self.clone();
        std::sync::Arc::new(move |body| {
            let endpoint = endpoint.clone();
            Box::pin(async move {
                endpoint.post_telemetry(body).await.map_err(|failure| match failure {
                    Failure::Status(400 | 413 | 422, _) => crate::telemetry::NotSent::Refused(failure.to_string()),
                    other => crate::telemetry::NotSent::Retry(other.to_string()),
                })
            })
        })
    }

    /// `POST /sdk/v1/telemetry` with one batch, serialized.
    async fn post_telemetry(&self, body: Vec<u8>) -> Result<(), Failure> {
        let resp = self
            .http
            .post(self.telemetry_url.clone())
            .header(AUTHORIZATION, self.auth.clone())
            // Who is sending (instance, SDK, service): the server attributes
            // the batch's evaluations to the instance and its service.
            .headers(self.identity.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .timeout(self.request_timeout)
            .send()
            .await
            .map_err(|e| Failure::network(&e))?;
        if resp.status().is_success() { Ok(()) } else { Err(Failure::from_status(&resp)) }
    }
}

/// A protocol path (absolute, `/sdk/v1/…`) under `base`, which ends with
/// `/`: joined relative to it, so that a path prefix of `base` is kept.
fn join(base: &Url, path: &str) -> Result<Url, url_error::ParseError> {
    base.join(path.trim_start_matches('/'))
}

/// Reads a whole body, refusing more than `limit` bytes.
async fn read_limited(resp: Response, limit: usize) -> Result<Bytes, Failure> {
    let too_large = || Failure::Protocol(format!("response body larger than {limit} bytes"));
    let declared = resp.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0));
    let mut chunks = resp.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| Failure::network(&e))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// `url::ParseError`, reached through reqwest's re-export.
pub(crate) mod url_error {
    pub(crate) use reqwest::Url;
    /// The error of [`Url::parse`] and [`Url::join`].
    pub(crate) type ParseError = <Url as std::str::FromStr>::Err;
}
