//! SDK telemetry over real sockets, on SQLite and Postgres: a real SDK
//! client counts evaluations and records outcomes, flushes to
//! `POST /sdk/v1/telemetry`, and the read API shows the exact counts;
//! batches of one minute add up; bad batches are refused with their codes
//! and change nothing; a wrong or revoked SDK key is 401; over the
//! per-key rate a batch is 429 and adds nothing, while a kill goes through;
//! the retention prune removes old minutes only.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use switchyard::Context;
use switchyard::telemetry::{Exposure, Outcome};
use switchyard_server::config::ServeConfig;
use switchyard_server::store::{TelemetryRecord, VariantCounts};
use switchyard_server::testing::{TestDb, TestServer, for_each_store};

const ENV: &str = "/api/v1/projects/shop/environments/production";
const SERIES: &str = "/api/v1/projects/shop/environments/production/flags/checkout/telemetry";

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Seeds project `shop`, environment `production`, boolean flag `checkout`
/// and an SDK key; returns the key's secret and id.
async fn seed(server: &TestServer) -> (String, i64) {
    admin(server, "/api/v1/projects", json!({"key": "shop"})).await;
    admin(server, "/api/v1/projects/shop/environments", json!({"key": "production"})).await;
    admin(server, "/api/v1/projects/shop/flags", json!({"key": "checkout", "kind": "boolean"})).await;
    let key = admin(server, &format!("{ENV}/sdk-keys"), json!({"name": "svc"})).await;
    (key["secret"].as_str().unwrap().to_string(), key["key"]["id"].as_i64().unwrap())
}

async fn admin(server: &TestServer, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(server.url(path))
        .bearer_auth(&server.admin_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

async fn series(server: &TestServer, query: &str) -> Value {
    let resp = reqwest::Client::new()
        .get(server.url(&format!("{SERIES}{query}")))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn variant<'a>(body: &'a Value, key: &str) -> &'a Value {
    body["variants"].as_array().unwrap().iter().find(|v| v["variant"] == key).unwrap_or(&Value::Null)
}

/// Posts a raw batch; returns status and body.
async fn post(server: &TestServer, key: &str, batch: &Value) -> (u16, Value) {
    let resp =
        reqwest::Client::new().post(server.url("/sdk/v1/telemetry")).bearer_auth(key).json(batch).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A valid batch for minute `start_ms` with `count` evaluations of `on`
/// and one failed, one fine request.
fn batch(start_ms: u64, count: u64) -> Value {
    let mut buckets = vec![0u64; 15];
    buckets[3] = 1; // ≤ 10 ms
    buckets[7] = 1; // ≤ 200 ms
    json!({"sdk": "raw/1", "instance": "pod-1", "start_ms": start_ms, "end_ms": start_ms + 10_000,
        "evaluations": [{"flag": "checkout", "variant": "on", "count": count}], "unattributed": 1,
        "outcomes": [{"flag": "checkout", "variant": "on", "requests": 2, "errors": 1,
            "latency_ms_sum": 158.0, "latency_ms_sum_sq": 22564.0, "latency_ms_buckets": buckets}],
        "events": [{"event": "buy", "count": 1, "value_sum": 9.5}], "dropped": 0})
}

#[tokio::test]
async fn a_real_sdk_flushes_and_the_read_api_shows_exact_counts() {
    for_each_store(|server| async move {
        let (key, _) = seed(&server).await;
        let client = switchyard::Client::builder(key.as_str())
            .base_url(server.base.as_str())
            .telemetry(true)
            .telemetry_flush_interval(Duration::from_secs(3600))
            .build()
            .unwrap();
        client.wait_until_ready(Duration::from_secs(10)).await.unwrap();
        let ctx = Context::new("user-1");
        for _ in 0..7 {
            assert!(!client.bool_value("checkout", &ctx, true), "a new flag is off");
        }
        client.bool_value("no-such-flag", &ctx, false);
        client.record(Exposure::new("checkout", "off"), Outcome::failed(Duration::from_millis(3)));
        for _ in 0..3 {
            client.record(Exposure::new("checkout", "off"), Outcome::ok(Duration::from_millis(30)));
        }
        client.track("purchase", 2.5);
        client.flush().await.unwrap();

        let body = series(&server, "").await;
        let off = variant(&body, "off");
        assert_eq!(off["totals"]["evaluations"], 7, "{body}");
        assert_eq!(off["totals"]["requests"], 4);
        assert_eq!(off["totals"]["errors"], 1);
        assert_eq!(off["totals"]["error_rate"], 0.25);
        // 3 ms (≤ 5 ms bucket) and 3 × 30 ms (≤ 50 ms): the 95th percentile is in the 50 ms bucket.
        assert_eq!(off["totals"]["latency_p95_ms"], 50.0);
        assert_eq!(off["totals"]["latency_mean_ms"], 93.0 / 4.0);
        assert_eq!(body["totals"]["evaluations"], 7);
        assert_eq!(body["step_seconds"], 60);
        // Every step of the hour, zeros included (61 when now is inside a minute).
        assert!((60..=61).contains(&off["points"].as_array().unwrap().len()), "{body}");
        drop(client);
        server
    })
    .await;
}

#[tokio::test]
async fn batches_of_one_minute_add_up() {
    for_each_store(|server| async move {
        let (key, _) = seed(&server).await;
        let minute = (now_ms() / 60_000 - 2) * 60_000;
        assert_eq!(post(&server, &key, &batch(minute, 5)).await.0, 202);
        assert_eq!(post(&server, &key, &batch(minute + 20_000, 6)).await.0, 202);
        let body = series(&server, "").await;
        let on = variant(&body, "on");
        let point = on["points"].as_array().unwrap().iter().find(|p| p["evaluations"] != 0).unwrap();
        assert_eq!(point["evaluations"], 11, "{body}");
        assert_eq!(point["requests"], 4);
        assert_eq!(point["errors"], 2);
        assert_eq!(point["error_rate"], 0.5);
        assert_eq!(point["latency_p95_ms"], 200.0);
        assert_eq!(on["totals"]["evaluations"], 11);
        // Five-minute steps: the same totals in fewer points.
        let coarse = series(&server, "?step=300").await;
        assert_eq!(variant(&coarse, "on")["totals"]["evaluations"], 11);
        assert!((12..=13).contains(&variant(&coarse, "on")["points"].as_array().unwrap().len()));
        server
    })
    .await;
}

#[tokio::test]
async fn bad_batches_are_refused_with_their_codes_and_change_nothing() {
    for_each_store(|server| async move {
        let (key, _) = seed(&server).await;
        let now = now_ms();
        let good = batch(now - 10_000, 1);
        let with = |pointer: &str, value: Value| {
            let mut b = good.clone();
            *b.pointer_mut(pointer).unwrap() = value;
            b
        };
        let many: Vec<Value> =
            (0..10_001).map(|i| json!({"flag": format!("f{i}"), "variant": "on", "count": 1})).collect();
        // Bodies that do not fit the type (negative, beyond 64 bits) are 422
        // `validation_failed` as on every route; values that fit it but make
        // no sense are 400 with their own code.
        let cases = [
            ("end before start", with("/end_ms", json!(now - 20_000)), 400, "invalid_window"),
            ("a window over an hour", with("/start_ms", json!(now - 7_200_000)), 400, "invalid_window"),
            ("in the future", batch(now + 3_600_000, 1), 400, "window_in_future"),
            ("older than the retention", batch(now - 40 * 86_400_000, 1), 400, "window_too_old"),
            ("a negative count", with("/evaluations/0/count", json!(-1)), 422, "validation_failed"),
            ("an overflowing count", with("/evaluations/0/count", json!(1u64 << 41)), 400, "out_of_range"),
            ("a count beyond u64", with("/unattributed", json!(1e30)), 422, "validation_failed"),
            ("more errors than requests", with("/outcomes/0/errors", json!(3)), 400, "invalid_outcome"),
            ("buckets not adding up", with("/outcomes/0/latency_ms_buckets/0", json!(1)), 400, "invalid_outcome"),
            ("three buckets", with("/outcomes/0/latency_ms_buckets", json!([0, 1, 1])), 400, "invalid_outcome"),
            ("a negative latency sum", with("/outcomes/0/latency_ms_sum", json!(-1.0)), 400, "out_of_range"),
            ("an empty flag key", with("/evaluations/0/flag", json!("")), 400, "invalid_key"),
            ("a NUL in a flag key", with("/evaluations/0/flag", json!("a\u{0}b")), 400, "invalid_text"),
            ("10,001 items", with("/evaluations", Value::Array(many)), 413, "payload_too_large"),
        ];
        for (what, body, status, code) in cases {
            let (got, problem) = post(&server, &key, &body).await;
            assert_eq!(got, status, "{what}: {problem}");
            assert_eq!(problem["code"], code, "{what}: {problem}");
        }
        let body = series(&server, "").await;
        assert_eq!(body["totals"]["evaluations"], 0, "nothing was added: {body}");
        assert!(body["variants"].as_array().unwrap().is_empty());
        // Unknown flag keys are fine (counted, not refused).
        assert_eq!(post(&server, &key, &with("/evaluations/0/flag", json!("gone-flag"))).await.0, 202);
        // So are unknown fields, at any depth: the SDK protocol is forward
        // compatible (a newer SDK's batch is taken by an older server).
        let mut newer = with("/dropped", json!(0));
        newer["compression"] = json!("none");
        newer["evaluations"][0]["reason"] = json!("RULE_MATCH");
        assert_eq!(post(&server, &key, &newer).await.0, 202, "a newer SDK's batch");
        server
    })
    .await;
}

#[tokio::test]
async fn a_wrong_or_revoked_sdk_key_is_401() {
    for_each_store(|server| async move {
        let (key, id) = seed(&server).await;
        let good = batch(now_ms() - 10_000, 1);
        assert_eq!(post(&server, "sdk_not-a-real-key", &good).await.0, 401);
        let revoke = reqwest::Client::new()
            .delete(server.url(&format!("{ENV}/sdk-keys/{id}")))
            .bearer_auth(&server.admin_token)
            .send()
            .await
            .unwrap();
        assert!(revoke.status().is_success());
        assert_eq!(post(&server, &key, &good).await.0, 401);
        assert_eq!(post(&server, &server.admin_token, &good).await.0, 401, "an admin session is no SDK key");
        assert_eq!(series(&server, "").await["totals"]["evaluations"], 0);
        server
    })
    .await;
}

#[tokio::test]
async fn over_the_rate_a_batch_is_429_and_adds_nothing_while_a_kill_goes_through() {
    for db in TestDb::all().await {
        let mut config = ServeConfig::for_tests(db.url());
        config.telemetry_rate_per_minute = 2;
        let server = TestServer::start_with(config).await;
        let (key, _) = seed(&server).await;
        let good = batch(now_ms() - 10_000, 1);
        assert_eq!(post(&server, &key, &good).await.0, 202);
        assert_eq!(post(&server, &key, &good).await.0, 202);
        let resp = reqwest::Client::new()
            .post(server.url("/sdk/v1/telemetry"))
            .bearer_auth(&key)
            .json(&good)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 429, "{}", db.label());
        assert!(resp.headers().contains_key("retry-after"));
        let problem: Value = resp.json().await.unwrap();
        assert_eq!(problem["code"], "rate_limited");
        assert_eq!(series(&server, "").await["totals"]["evaluations"], 2, "the refused batch added nothing");
        // The emergency path shares no limit with telemetry.
        let kill = admin(&server, &format!("{ENV}/flags/checkout/kill"), json!({"reason": "incident"})).await;
        assert!(kill["revision"].as_u64().is_some(), "{kill}");
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_retention_prune_removes_old_minutes_only() {
    for_each_store(|server| async move {
        seed(&server).await;
        let store = &server.state.store;
        let env = store.get_environment("shop", "production").await.unwrap();
        let now_minute = (now_ms() / 60_000) as i64;
        for (minute, count) in [(now_minute - 31 * 1440, 5), (now_minute - 29 * 1440, 7), (now_minute - 1, 11)] {
            let counts = VariantCounts { evaluations: count, ..VariantCounts::default() };
            let record = TelemetryRecord {
                minute,
                sdk: "test".into(),
                instance: "pod".into(),
                variants: vec![("checkout".into(), "on".into(), counts)],
                ..TelemetryRecord::default()
            };
            store.record_telemetry(env.id, &record).await.unwrap();
        }
        let total =
            |rows: Vec<switchyard_server::store::SeriesRow>| -> u64 { rows.iter().map(|r| r.counts.evaluations).sum() };
        let all = store.telemetry_series(env.id, "checkout", 0, now_minute + 1, 60 * 24 * 365).await.unwrap();
        assert_eq!(total(all), 23);
        let before = chrono::Utc::now() - chrono::Duration::days(30);
        assert!(store.prune_telemetry(before).await.unwrap() >= 1);
        let kept = store.telemetry_series(env.id, "checkout", 0, now_minute + 1, 60 * 24 * 365).await.unwrap();
        assert_eq!(total(kept), 18, "the 31-day-old minute is gone, the 29-day-old one and today's stay");
        server
    })
    .await;
}
