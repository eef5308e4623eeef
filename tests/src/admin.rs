//! [`Admin`]: the typed admin client ([`switchyard_server::client`]) bound
//! to one token, with the statuses the tests assert on; [`seed`]: the test
//! project, environment, flags and SDK key.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use switchyard_server::client::{Client, Error};
use switchyard_server::store::Role;

use crate::{ENV, ENV_PATH, PROJECT, flag_path};

/// A small JSON client of the admin API bound to one credential: the typed
/// client's raw exchange, with statuses to assert on.
#[derive(Clone)]
pub struct Admin {
    client: Client,
}

impl Admin {
    /// A client of the server at `base` with bearer `token`.
    pub fn new(base: &str, token: &str) -> Admin {
        let client = Client::with_timeout(base, Duration::from_secs(30)).expect("http client");
        Admin { client: client.with_token(token) }
    }

    /// The same server with another token.
    pub fn with_token(&self, token: &str) -> Admin {
        Admin { client: self.client.with_token(token) }
    }

    /// The typed client behind it.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// One request; `Err` only when no HTTP response arrived.
    pub async fn try_call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), Error> {
        let reply = self.client.exchange(method, path, body.as_ref()).await?;
        Ok((reply.status, reply.body))
    }

    /// One request; panics when the server is unreachable.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let what = format!("{method} {path}");
        self.try_call(method, path, body).await.unwrap_or_else(|err| panic!("{what}: {err}"))
    }

    /// Asserts the status and returns the body.
    pub async fn expect(&self, method: Method, path: &str, body: Option<Value>, status: u16) -> Value {
        let (got, body) = self.call(method.clone(), path, body).await;
        assert_eq!(got.as_u16(), status, "{method} {path} → {body}");
        body
    }

    /// `GET`, expecting 200.
    pub async fn get(&self, path: &str) -> Value {
        self.expect(Method::GET, path, None, 200).await
    }

    /// `POST`, expecting 200 or 201.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let (status, resp) = self.call(Method::POST, path, Some(body)).await;
        assert!(matches!(status.as_u16(), 200 | 201), "POST {path} → {status} {resp}");
        resp
    }

    /// Creates an API token of `role`; returns its secret.
    pub async fn create_token(&self, name: &str, role: &str) -> String {
        let role: Role = serde_json::from_value(json!(role)).expect("a role");
        let created = self.client.create_token(name, role, None).await;
        created.unwrap_or_else(|err| panic!("creating token {name}: {err}")).secret
    }

    /// Toggles a flag in the test environment; returns the new revision
    /// (`None` when it was already in that state).
    pub async fn toggle(&self, flag: &str, on: bool) -> Option<u64> {
        let body = self.post(&format!("{}/toggle", flag_path(flag)), json!({"on": on, "reason": "e2e"})).await;
        body["revision"].as_u64()
    }

    /// The configuration record of a flag in the test environment.
    pub async fn config(&self, flag: &str) -> Value {
        self.get(&flag_path(flag)).await
    }

    /// The environment's current revision.
    pub async fn revision(&self) -> u64 {
        self.client.environment(PROJECT, ENV).await.expect("the test environment").revision
    }
}

/// A flag to create.
#[derive(Debug, Clone)]
pub struct FlagSpec {
    /// Key.
    pub key: String,
    /// `boolean`, `string`, ...
    pub kind: &'static str,
    /// Variant keys (values: `true`/`false` for booleans, the key itself for strings).
    pub variants: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
}

impl FlagSpec {
    /// A boolean flag (variants `on`, `off`).
    pub fn boolean(key: &str) -> FlagSpec {
        FlagSpec { key: key.into(), kind: "boolean", variants: vec!["on".into(), "off".into()], tags: vec![] }
    }

    /// A string flag whose variant values are their keys.
    pub fn string(key: &str, variants: &[&str]) -> FlagSpec {
        FlagSpec {
            key: key.into(),
            kind: "string",
            variants: variants.iter().map(|v| v.to_string()).collect(),
            tags: vec![],
        }
    }

    /// With a tag.
    pub fn tagged(mut self, tag: &str) -> FlagSpec {
        self.tags.push(tag.into());
        self
    }

    fn body(&self) -> Value {
        let mut body = json!({"key": self.key, "kind": self.kind, "tags": self.tags});
        if self.kind == "string" {
            body["variants"] = self.variants.iter().map(|v| json!({"key": v, "value": v})).collect();
        }
        body
    }
}

/// What [`seed`] created.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// The SDK key secret of the test environment.
    pub sdk_key: String,
    /// Its id (to revoke it).
    pub sdk_key_id: i64,
}

/// Creates project `shop`, environment `production`, the flags and an SDK key.
pub async fn seed(admin: &Admin, flags: &[FlagSpec]) -> Seeded {
    admin.expect(Method::POST, "/api/v1/projects", Some(json!({"key": PROJECT, "name": "Shop"})), 201).await;
    admin.expect(Method::POST, "/api/v1/projects/shop/environments", Some(json!({"key": ENV})), 201).await;
    for flag in flags {
        admin.expect(Method::POST, "/api/v1/projects/shop/flags", Some(flag.body()), 201).await;
    }
    let key = admin.expect(Method::POST, &format!("{ENV_PATH}/sdk-keys"), Some(json!({"name": "e2e"})), 201).await;
    Seeded {
        sdk_key: key["secret"].as_str().expect("sdk key").to_string(),
        sdk_key_id: key["key"]["id"].as_i64().expect("sdk key id"),
    }
}
