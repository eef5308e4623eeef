//! One typed client of the admin API, used by the command line
//! ([`crate::cli`]), the test helpers ([`crate::testing`], the end-to-end
//! crate) and the load harnesses. It owns the HTTP plumbing (base URL,
//! bearer token, JSON bodies, percent-encoded path segments) and decodes
//! every answer into the server's own response types, and every refusal
//! into a [`Error::Problem`] carrying the server's problem+json body.
//!
//! It must not hold workflow logic (no retries, no "did you mean"): callers
//! decide what a refusal means.
//!
//! ## Layout
//! - this module: [`Client`], its raw [`Client::exchange`] and typed
//!   [`Client::send`], [`Error`];
//! - [`catalog`]: projects, environments, flags, configurations, toggle, audit;
//! - [`responder`]: kill, restore, the panic button, receipts;
//! - [`insights`]: the fleet of connected SDK instances;
//! - [`incident`]: incidents and their timelines, drills;
//! - [`accounts`]: login, users, passwords, API tokens;
//! - [`keys`]: SDK keys, webhooks and their deliveries, triggers, health;
//! - [`release`]: release plans and their templates;
//! - [`schedule`]: scheduled changes.

pub mod accounts;
pub mod approvals;
pub mod catalog;
mod error;
pub mod incident;
pub mod insights;
pub mod keys;
pub mod release;
pub mod responder;
pub mod schedule;

use std::time::Duration;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use self::error::Error;

/// Characters escaped in one path segment (keys are `[a-z0-9_.-]`; anything
/// else a caller passes stays inside its segment).
const SEGMENT: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'%').add(b'/').add(b'?').add(b'<').add(b'>');

/// `s` as one path segment.
pub fn segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// A query string (`?a=1&b=x`) of the pairs whose value is present; empty
/// when none is.
pub fn query<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<String>)>) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (name, value) in pairs {
        if let Some(value) = value {
            out.append_pair(name, &value);
            any = true;
        }
    }
    if any { format!("?{}", out.finish()) } else { String::new() }
}

/// The query string of a filter struct (`FlagQuery`, `AuditQuery`): its
/// present fields, in declaration order.
pub fn query_of(filter: &impl Serialize) -> String {
    let fields = match serde_json::to_value(filter) {
        Ok(Value::Object(fields)) => fields,
        _ => return String::new(),
    };
    query(fields.iter().map(|(name, value)| {
        let value = match value {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
        (name.as_str(), value)
    }))
}

/// An answer as it came: status and body (JSON, or a JSON string of the
/// text when it was not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body.
    pub body: Value,
}

/// A client of one server, optionally bound to one bearer credential
/// (session token, API token). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// Idle pooled connections are dropped after this: shorter than the
/// server's header read timeout (10 s by default), after which it closes an
/// idle keep-alive connection, so a request never reuses one the server is
/// closing (a connection reset).
const POOL_IDLE: Duration = Duration::from_secs(5);

impl Client {
    /// An anonymous client of the server at `base` (`http://host:port`).
    pub fn new(base: &str) -> Client {
        let http = reqwest::Client::builder().pool_idle_timeout(POOL_IDLE).build();
        Client::with_http(http.unwrap_or_default(), base)
    }

    /// An anonymous client whose requests give up after `timeout`.
    pub fn with_timeout(base: &str, timeout: Duration) -> Result<Client, Error> {
        let http = reqwest::Client::builder().timeout(timeout).pool_idle_timeout(POOL_IDLE).build();
        Ok(Client::with_http(http.map_err(Error::Build)?, base))
    }

    /// An anonymous client over a configured `reqwest` client.
    pub fn with_http(http: reqwest::Client, base: &str) -> Client {
        Client { http, base: base.trim_end_matches('/').to_string(), token: None }
    }

    /// The same server and connection pool with bearer `token`.
    #[must_use]
    pub fn with_token(&self, token: &str) -> Client {
        Client { http: self.http.clone(), base: self.base.clone(), token: Some(token.to_string()) }
    }

    /// The same server and connection pool, anonymous.
    #[must_use]
    pub fn anonymous(&self) -> Client {
        Client { http: self.http.clone(), base: self.base.clone(), token: None }
    }

    /// The server's base URL (no trailing slash).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The bearer token, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// One request with an optional JSON body; any status is an answer.
    /// `Err` only when no complete HTTP answer arrived.
    pub async fn exchange(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Reply, Error> {
        let url = self.url(path);
        let mut req = self.http.request(method, &url);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let transport = |source| Error::Transport { url: url.clone(), source };
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        let text = resp.text().await.map_err(transport)?;
        Ok(Reply { status, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) })
    }

    /// One request; a 2xx body decoded as `T`, anything else an
    /// [`Error::Problem`].
    pub async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, Error> {
        let body = body.map(serde_json::to_value).transpose().map_err(Error::Encode)?;
        let reply = self.exchange(method, path, body.as_ref()).await?;
        reply.decode()
    }

    /// `GET` decoded as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.send(Method::GET, path, None::<&Value>).await
    }

    /// `POST` of `body`, decoded as `T`.
    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, Error> {
        self.send(Method::POST, path, Some(body)).await
    }

    /// `PUT` of `body`, decoded as `T`.
    pub async fn put<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, Error> {
        self.send(Method::PUT, path, Some(body)).await
    }

    /// `DELETE` (with an optional body), decoded as `T`.
    pub async fn delete<T: DeserializeOwned>(&self, path: &str, body: Option<&impl Serialize>) -> Result<T, Error> {
        self.send(Method::DELETE, path, body).await
    }
}

impl Reply {
    /// The body as `T` when the status is 2xx, else the problem.
    pub fn decode<T: DeserializeOwned>(self) -> Result<T, Error> {
        if !self.status.is_success() {
            return Err(Error::problem(self.status, self.body));
        }
        serde_json::from_value(self.body.clone()).map_err(|source| Error::Decode {
            status: self.status,
            source,
            body: self.body.to_string(),
        })
    }
}
