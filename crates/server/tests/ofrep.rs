//! OFREP over real sockets, on SQLite and Postgres: every flag kind,
//! targeting match and miss, percentage rollout, a killed flag, a missing
//! flag, bad contexts, both SDK key headers, a revoked key, ETag / 304,
//! the rate limit, and the refetch stream with its receipts. Every
//! response body is validated against the schemas of the vendored OFREP
//! document (see `ofrep_support`).

mod ofrep_support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchyard_server::config::ServeConfig;
use switchyard_server::testing::{TestDb, TestServer, for_each_store};

use ofrep_support::assert_valid;

const PROJECT: &str = "/api/v1/projects/shop";
const PROD: &str = "/api/v1/projects/shop/environments/production";

struct Fx {
    server: TestServer,
    http: reqwest::Client,
    key: String,
    key_id: i64,
    spec: Value,
}

impl Fx {
    async fn admin(&self, method: Method, path: &str, body: Value) -> Value {
        let resp = self.http.request(method.clone(), self.server.url(path)).bearer_auth(&self.server.admin_token);
        let resp = resp.json(&body).send().await.unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path} → {status} {body}");
        body
    }

    async fn flag(&self, key: &str, kind: &str, variants: Value, config: Value) {
        self.admin(Method::POST, &format!("{PROJECT}/flags"), json!({"key": key, "kind": kind, "variants": variants}))
            .await;
        let mut config = config;
        config["reason"] = json!("setup");
        config["version"] = json!(1);
        self.admin(Method::PUT, &format!("{PROD}/flags/{key}"), config).await;
    }

    /// Seeds a project, an environment, four flags (one per kind) and an SDK key.
    async fn start(server: TestServer) -> Fx {
        let mut fx =
            Fx { server, http: reqwest::Client::new(), key: String::new(), key_id: 0, spec: ofrep_support::spec() };
        fx.admin(Method::POST, "/api/v1/projects", json!({"key": "shop", "name": "Shop"})).await;
        fx.admin(Method::POST, &format!("{PROJECT}/environments"), json!({"key": "production"})).await;
        let se = json!([{"id": "se", "clauses": [{"attribute": "country", "op": "in", "values": ["SE"]}], "serve": {"variant": "on"}}]);
        let bools = json!([{"key": "on", "value": true}, {"key": "off", "value": false}]);
        fx.flag(
            "checkout",
            "boolean",
            bools,
            json!({"on": true, "off_variant": "off", "rules": se, "fallthrough": {"variant": "off"}}),
        )
        .await;
        let strings = json!([{"key": "hello", "value": "hello"}, {"key": "bye", "value": "bye"}]);
        let targets = json!([{"variant": "bye", "keys": ["vip"]}]);
        fx.flag(
            "banner",
            "string",
            strings,
            json!({"on": true, "off_variant": "bye", "targets": targets, "fallthrough": {"variant": "hello"}}),
        )
        .await;
        let numbers = json!([{"key": "low", "value": 10}, {"key": "high", "value": 2.5}]);
        fx.flag(
            "limit",
            "number",
            numbers,
            json!({"on": true, "off_variant": "low", "fallthrough": {"variant": "high"}}),
        )
        .await;
        let objects = json!([{"key": "dark", "value": {"bg": "black"}}, {"key": "light", "value": {"bg": "white"}}]);
        let split = json!({"rollout": {"variations": [{"variant": "dark", "weight": 50000}, {"variant": "light", "weight": 50000}]}});
        fx.flag("theme", "json", objects, json!({"on": true, "off_variant": "light", "fallthrough": split})).await;
        let key = fx.admin(Method::POST, &format!("{PROD}/sdk-keys"), json!({"name": "web"})).await;
        fx.key = key["secret"].as_str().unwrap().to_string();
        fx.key_id = key["key"]["id"].as_i64().unwrap();
        fx
    }

    /// POSTs an OFREP body with the SDK key as a bearer token.
    async fn post(
        &self,
        path: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.post(self.server.url(path)).bearer_auth(&self.key);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let resp = req.header("content-type", "application/json").body(body.to_string()).send().await.unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        let text = resp.text().await.unwrap();
        (status, headers, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Evaluates one flag for `context`; validates the body against its schema.
    async fn eval(&self, flag: &str, context: Value) -> (StatusCode, Value) {
        let (status, headers, body) =
            self.post(&format!("/ofrep/v1/evaluate/flags/{flag}"), &json!({"context": context}).to_string(), &[]).await;
        let schema = match status.as_u16() {
            200 => "serverEvaluationSuccess",
            404 => "flagNotFound",
            _ => "evaluationFailure",
        };
        assert_eq!(headers["content-type"], "application/json", "{flag}: {status} {body}");
        assert_valid(&self.spec, schema, &body);
        (status, body)
    }

    async fn bulk(&self, context: Value, headers: &[(&str, &str)]) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        self.bulk_at("/ofrep/v1/evaluate/flags", context, headers).await
    }

    async fn bulk_at(
        &self,
        path: &str,
        context: Value,
        headers: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let (status, h, body) = self.post(path, &json!({"context": context}).to_string(), headers).await;
        match status.as_u16() {
            200 => assert_valid(&self.spec, "bulkEvaluationSuccess", &body),
            304 => assert_eq!(body, Value::String(String::new()), "304 has no body"),
            _ => assert_valid(&self.spec, "bulkEvaluationFailure", &body),
        }
        (status, h, body)
    }
}

fn user(key: &str) -> Value {
    json!({"targetingKey": key, "country": "NO", "plan": "pro", "tags": ["beta"]})
}

#[tokio::test]
async fn every_kind_targeting_split_kill_and_missing_flags() {
    for_each_store(|server| async move {
        let fx = Fx::start(server).await;
        let (status, b) = fx.eval("checkout", user("u1")).await;
        assert_eq!(status, 200);
        assert_eq!(
            (&b["key"], &b["value"], &b["variant"], &b["reason"]),
            (&json!("checkout"), &json!(false), &json!("off"), &json!("STATIC"))
        );
        assert_eq!(b["metadata"]["reason"], "FALLTHROUGH");
        let (_, b) = fx.eval("checkout", json!({"targetingKey": "u1", "country": "SE"})).await;
        assert_eq!(
            (&b["value"], &b["reason"], &b["metadata"]["ruleId"]),
            (&json!(true), &json!("TARGETING_MATCH"), &json!("se"))
        );
        let (_, b) = fx.eval("banner", user("vip")).await;
        assert_eq!((&b["value"], &b["reason"]), (&json!("bye"), &json!("TARGETING_MATCH")));
        let (_, b) = fx.eval("banner", user("u1")).await;
        assert_eq!((&b["value"], &b["reason"]), (&json!("hello"), &json!("STATIC")));
        let (_, b) = fx.eval("limit", user("u1")).await;
        assert_eq!((&b["value"], &b["variant"]), (&json!(2.5), &json!("high")));
        // A 50/50 split: both arms are served, each with reason SPLIT.
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..40 {
            let (_, b) = fx.eval("theme", user(&format!("user-{i}"))).await;
            assert_eq!(b["reason"], "SPLIT");
            assert!(b["value"]["bg"].is_string(), "{b}");
            seen.insert(b["variant"].as_str().unwrap().to_string());
        }
        assert_eq!(seen.len(), 2, "{seen:?}");
        // Killed: DISABLED with the kill's variant, even for a matching rule,
        // as soon as the kill returns (read-your-writes).
        fx.admin(Method::POST, &format!("{PROD}/flags/checkout/kill"), json!({"reason": "incident"})).await;
        let (_, b) = fx.eval("checkout", json!({"targetingKey": "u1", "country": "SE"})).await;
        assert_eq!((&b["value"], &b["variant"], &b["reason"]), (&json!(false), &json!("off"), &json!("DISABLED")));
        assert_eq!((&b["metadata"]["reason"], &b["metadata"]["killed"]), (&json!("KILLED"), &json!(true)));
        // Missing flag: 404 FLAG_NOT_FOUND naming it.
        let (status, b) = fx.eval("nope", user("u1")).await;
        assert_eq!((status.as_u16(), &b["errorCode"], &b["key"]), (404, &json!("FLAG_NOT_FOUND"), &json!("nope")));
        fx.server
    })
    .await;
}

#[tokio::test]
async fn bad_contexts_and_credentials() {
    for_each_store(|server| async move {
        let fx = Fx::start(server).await;
        let single = "/ofrep/v1/evaluate/flags/checkout";
        for (body, code) in [
            ("{nope", "PARSE_ERROR"),
            ("[1]", "PARSE_ERROR"),
            (r#"{"context": 7}"#, "PARSE_ERROR"),
            ("{}", "TARGETING_KEY_MISSING"),
            (r#"{"context": {"country": "SE"}}"#, "TARGETING_KEY_MISSING"),
            (r#"{"context": {"targetingKey": 42}}"#, "INVALID_CONTEXT"),
            (r#"{"context": {"targetingKey": "u", "address": {"city": "Oslo"}}}"#, "INVALID_CONTEXT"),
            (r#"{"context": {"targetingKey": "u", "plan": "a\u0000b"}}"#, "INVALID_CONTEXT"),
        ] {
            let (status, _, b) = fx.post(single, body, &[]).await;
            assert_eq!((status.as_u16(), b["errorCode"].as_str()), (400, Some(code)), "{body}: {b}");
            assert_eq!(b["key"], "checkout");
            assert_valid(&fx.spec, "evaluationFailure", &b);
            let (status, _, b) = fx.post("/ofrep/v1/evaluate/flags", body, &[]).await;
            assert_eq!((status.as_u16(), b["errorCode"].as_str()), (400, Some(code)), "bulk {body}: {b}");
            assert_valid(&fx.spec, "bulkEvaluationFailure", &b);
        }
        // The X-API-Key header works like the bearer token.
        let body = json!({"context": user("u1")}).to_string();
        let resp =
            fx.http.post(fx.server.url(single)).header("x-api-key", &fx.key).body(body.clone()).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        // No key, a wrong key, then a revoked key: 401.
        let resp = fx.http.post(fx.server.url(single)).body(body.clone()).send().await.unwrap();
        assert_eq!(resp.status(), 401);
        let resp =
            fx.http.post(fx.server.url(single)).bearer_auth("sdk_wrong").body(body.clone()).send().await.unwrap();
        assert_eq!(resp.status(), 401);
        let resp = fx
            .http
            .post(fx.server.url(single))
            .bearer_auth(&fx.server.admin_token)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "an admin session is not an SDK key");
        let revoke = fx.http.delete(fx.server.url(&format!("{PROD}/sdk-keys/{}", fx.key_id)));
        assert!(revoke.bearer_auth(&fx.server.admin_token).send().await.unwrap().status().is_success());
        for path in [single, "/ofrep/v1/evaluate/flags"] {
            let (status, _, _) = fx.post(path, &body, &[]).await;
            assert_eq!(status, 401, "{path} with a revoked key");
        }
        fx.server
    })
    .await;
}

#[tokio::test]
async fn bulk_etags_and_304() {
    for_each_store(|server| async move {
        let fx = Fx::start(server).await;
        let (status, headers, b) = fx.bulk(user("u1"), &[]).await;
        assert_eq!(status, 200);
        let keys: Vec<&str> = b["flags"].as_array().unwrap().iter().map(|f| f["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["banner", "checkout", "limit", "theme"]);
        let etag = headers["etag"].to_str().unwrap().to_string();
        assert_eq!(b["eventStreams"][0]["type"], "sse");
        let (status, h, _) = fx.bulk(user("u1"), &[("if-none-match", &etag)]).await;
        assert_eq!((status.as_u16(), h["etag"].to_str().unwrap()), (304, etag.as_str()));
        // Another context is another result.
        let (status, h, _) = fx.bulk(user("u2"), &[("if-none-match", &etag)]).await;
        assert_eq!(status, 200);
        assert_ne!(h["etag"], etag.as_str());
        // A change makes the old ETag stale; the new body shows it.
        fx.admin(Method::POST, &format!("{PROD}/flags/banner/toggle"), json!({"on": false, "reason": "off"})).await;
        let (status, h, b) = fx.bulk(user("u1"), &[("if-none-match", &etag)]).await;
        assert_eq!(status, 200);
        assert_ne!(h["etag"], etag.as_str());
        let banner = b["flags"].as_array().unwrap().iter().find(|f| f["key"] == "banner").unwrap();
        assert_eq!((&banner["value"], &banner["reason"]), (&json!("bye"), &json!("DISABLED")));
        fx.server
    })
    .await;
}

#[tokio::test]
async fn over_the_rate_limit_is_429_with_retry_after() {
    for db in TestDb::all().await {
        let mut config = ServeConfig::for_tests(db.url());
        config.ofrep_rate_per_minute = 3;
        let fx = Fx::start(TestServer::start_with(config).await).await;
        for _ in 0..3 {
            assert_eq!(fx.eval("checkout", user("u1")).await.0, 200);
        }
        let body = json!({"context": user("u1")}).to_string();
        for path in ["/ofrep/v1/evaluate/flags", "/ofrep/v1/evaluate/flags/checkout"] {
            let (status, headers, _) = fx.post(path, &body, &[]).await;
            assert_eq!(status, 429, "{path}");
            let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!(retry >= 1, "{path}: Retry-After {retry}");
        }
        fx.server.stop().await;
        db.cleanup().await;
    }
}

/// The next SSE event's `data` (JSON) and `id`, skipping comments and `retry`.
async fn next_event(stream: &mut reqwest::Response, buffer: &mut String) -> Option<(Value, String)> {
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let field = |name: &str| block.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string());
            if let Some(data) = field("data:") {
                assert_eq!(field("event:").as_deref(), Some("message"), "{block}");
                return Some((serde_json::from_str(&data).unwrap(), field("id:").unwrap_or_default()));
            }
        }
        let chunk =
            tokio::time::timeout(std::time::Duration::from_secs(30), stream.chunk()).await.expect("a hung stream");
        buffer.push_str(std::str::from_utf8(&chunk.ok()??).unwrap());
    }
}

async fn receipt(fx: &Fx, revision: u64) -> (u64, u64) {
    let resp = fx.http.get(fx.server.url(&format!("{PROD}/receipts/{revision}"))).bearer_auth(&fx.server.admin_token);
    let r: Value = resp.send().await.unwrap().json().await.unwrap();
    (r["connected"].as_u64().unwrap(), r["applied"].as_u64().unwrap())
}

#[tokio::test]
async fn the_refetch_stream_notifies_and_its_clients_count_in_receipts() {
    for_each_store(|server| async move {
        let fx = Fx::start(server).await;
        let (_, _, b) = fx.bulk(user("u1"), &[]).await;
        let uri = b["eventStreams"][0]["endpoint"]["requestUri"].as_str().unwrap().to_string();
        let wrong = fx.http.get(fx.server.url("/ofrep/v1/streams/00ff")).send().await.unwrap();
        assert_eq!(wrong.status(), 404, "an unknown secret has no stream");
        let mut stream = fx.http.get(fx.server.url(&uri)).send().await.unwrap();
        assert_eq!(
            (stream.status().as_u16(), stream.headers()["content-type"].to_str().unwrap()),
            (200, "text/event-stream")
        );
        let mut buffer = String::new();
        // At once: refetch (a change may have landed before the stream opened).
        let (event, id) = next_event(&mut stream, &mut buffer).await.unwrap();
        ofrep_support::validate(&fx.spec, &fx.spec["components"]["schemas"]["sseEventData"], &event, "$").unwrap();
        assert_eq!(event["type"], "refetchEvaluation");
        let revision: u64 = id.parse().unwrap();
        assert_eq!(receipt(&fx, revision).await, (1, 0), "connected, not yet refetched");
        let refetch = |etag: &str| format!("/ofrep/v1/evaluate/flags?flagConfigEtag={etag}");
        let (status, _, _) = fx.bulk_at(&refetch(event["etag"].as_str().unwrap()), user("u1"), &[]).await;
        assert_eq!(status, 200);
        assert_eq!(receipt(&fx, revision).await, (1, 1), "the refetch applied it");
        // A change: one event at the new revision; the refetch counts.
        fx.admin(Method::POST, &format!("{PROD}/flags/banner/toggle"), json!({"on": false, "reason": "off"})).await;
        let (event, id) = next_event(&mut stream, &mut buffer).await.unwrap();
        let changed: u64 = id.parse().unwrap();
        assert!(changed > revision);
        assert!(event["etag"].as_str().unwrap().starts_with(&format!("{changed}.")), "{event}");
        assert_eq!(receipt(&fx, changed).await, (1, 0));
        let (_, _, b) = fx.bulk_at(&refetch(event["etag"].as_str().unwrap()), user("u1"), &[]).await;
        assert_eq!(b["metadata"]["revision"], changed);
        assert_eq!(receipt(&fx, changed).await, (1, 1));
        // Revoking the key ends its streams.
        let revoke = fx.http.delete(fx.server.url(&format!("{PROD}/sdk-keys/{}", fx.key_id)));
        assert!(revoke.bearer_auth(&fx.server.admin_token).send().await.unwrap().status().is_success());
        assert!(next_event(&mut stream, &mut buffer).await.is_none(), "the stream ends");
        assert_eq!(receipt(&fx, changed).await.0, 0, "a closed stream is no longer counted");
        let gone = fx.http.get(fx.server.url(&uri)).send().await.unwrap();
        assert_eq!(gone.status(), 404);
        fx.server
    })
    .await;
}
