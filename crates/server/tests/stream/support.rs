//! Shared fixture of the stream tests: a server with project `shop`,
//! environment `production`, flag `checkout` and an SDK key; a minimal SSE
//! reader; replica liveness as Postgres sees it.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use switchyard_server::testing::{TestDb, TestServer};

pub(crate) struct Fixture {
    pub(crate) server: TestServer,
    pub(crate) http: reqwest::Client,
    pub(crate) sdk_key: String,
    pub(crate) sdk_key_id: i64,
}

pub(crate) const PROD: &str = "/api/v1/projects/shop/environments/production";

impl Fixture {
    pub(crate) async fn new(db: &TestDb) -> Fixture {
        let server = TestServer::start(&db.url()).await;
        let http = reqwest::Client::new();
        let f = Fixture { server, http, sdk_key: String::new(), sdk_key_id: 0 };
        f.admin("/api/v1/projects", json!({"key": "shop"})).await;
        f.admin("/api/v1/projects/shop/environments", json!({"key": "production"})).await;
        f.admin("/api/v1/projects/shop/flags", json!({"key": "checkout", "kind": "boolean"})).await;
        let key = f.admin(&format!("{PROD}/sdk-keys"), json!({"name": "svc"})).await;
        Fixture { sdk_key: key["secret"].as_str().unwrap().into(), sdk_key_id: key["key"]["id"].as_i64().unwrap(), ..f }
    }

    pub(crate) async fn admin(&self, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(self.server.url(path))
            .bearer_auth(&self.server.admin_token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    pub(crate) async fn toggle(&self, on: bool) -> u64 {
        self.admin(&format!("{PROD}/flags/checkout/toggle"), json!({"on": on})).await["revision"].as_u64().unwrap()
    }

    pub(crate) async fn open(&self, last_event_id: Option<u64>) -> Events {
        let mut req = self.http.get(self.server.url("/sdk/v1/stream")).bearer_auth(&self.sdk_key);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        Events { body: Box::pin(resp.bytes_stream()), buf: String::new() }
    }
}

pub(crate) type ByteStream = std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// A minimal SSE reader for the test: (event, id, data) per event.
pub(crate) struct Events {
    pub(crate) body: ByteStream,
    pub(crate) buf: String,
}

impl Events {
    pub(crate) async fn next(&mut self) -> Option<(String, u64, Value)> {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = (String::new(), 0, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        event = v.into();
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        id = v.parse().unwrap();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = v.into();
                    }
                }
                // Ack requests skipped: these tests acknowledge on their
                // own, as an SDK older than ack requests does.
                if !event.is_empty() && event != switchyard_core::protocol::event::ACK {
                    return Some((event, id, serde_json::from_str(&data).unwrap()));
                }
            }
            match tokio::time::timeout(Duration::from_secs(10), self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.buf.push_str(std::str::from_utf8(&chunk).unwrap()),
                _ => return None,
            }
        }
    }
}

impl Fixture {
    pub(crate) async fn receipt_on(&self, server: &TestServer, revision: u64) -> Value {
        let resp = self
            .http
            .get(server.url(&format!("{PROD}/receipts/{revision}")))
            .bearer_auth(&server.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    pub(crate) async fn audit(&self) -> Vec<Value> {
        let page: Value = self
            .http
            .get(self.server.url("/api/v1/projects/shop/audit?limit=1000"))
            .bearer_auth(&self.server.admin_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["items"].as_array().cloned().unwrap_or_default()
    }
}

/// Whether a session named `name` is connected to the test database.
pub(crate) async fn connected_as(db: &TestDb, name: &str) -> bool {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(&db.url()).await.unwrap();
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
    )
    .bind(name)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    n > 0
}
