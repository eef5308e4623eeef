//! Production behaviour over real sockets: body limits, login rate limits
//! that a spoofed X-Forwarded-For cannot reset, the slow-header cut-off,
//! closed CORS, metrics after real traffic, readiness following the database.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchyard_server::config::ServeConfig;
use switchyard_server::testing::{TestDb, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn body_limit_rate_limit_slow_headers_and_cors() {
    let db = TestDb::sqlite();
    let mut config = ServeConfig::for_tests(db.url());
    config.login_rate_per_minute = 3;
    config.header_read_timeout = Duration::from_millis(500);
    let server = TestServer::start_with(config).await;
    let http = reqwest::Client::new();

    // 413 on a route that is not a JSON extractor too (the SDK ack and login).
    for path in ["/api/v1/auth/login", "/sdk/v1/ack", "/api/v1/projects"] {
        let resp = http
            .post(server.url(path))
            .header("content-type", "application/json")
            .body(vec![b'x'; 2 * 1024 * 1024])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 413, "{path}");
        assert_eq!(resp.headers()["content-type"], "application/problem+json", "{path}");
        assert_eq!(resp.json::<Value>().await.unwrap()["code"], "payload_too_large", "{path}");
    }

    // Every other error a client can cause is problem+json too, with the
    // standard status: 405 (keeping `Allow`), 415, 404 naming the path.
    let resp = http.put(server.url("/api/v1/projects")).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert!(resp.headers().contains_key("allow"));
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "method_not_allowed");
    let resp = http
        .post(server.url("/api/v1/projects"))
        .bearer_auth(&server.admin_token)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "unsupported_media_type");
    let resp = http.get(server.url("/api/v1/no-such-route")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert!(resp.json::<Value>().await.unwrap()["detail"].as_str().unwrap().contains("/api/v1/no-such-route"));
    // A mistyped field on the responder path is refused, not dropped.
    let resp = http
        .post(server.url("/api/v1/projects/none/environments/prod/flags/f/kill"))
        .bearer_auth(&server.admin_token)
        .json(&json!({"reason": "typo", "incident_id": "INC-9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("incident_id"));

    // The login limit (3/min, one already used by TestServer's own login) is
    // per peer address; a spoofed X-Forwarded-For does not reset it.
    let mut statuses = Vec::new();
    for i in 0..4 {
        let resp = http
            .post(server.url("/api/v1/auth/login"))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .json(&json!({"username": "admin", "password": "wrong"}))
            .send()
            .await
            .unwrap();
        if resp.status() == 429 {
            assert!(resp.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
        }
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, vec![401, 401, 429, 429], "spoofed X-Forwarded-For must not reset the limit");

    // A client that sends half a request head is cut off.
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    sock.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(10), sock.read(&mut buf)).await;
    assert!(read.is_ok(), "the server kept a half-sent request open for 10 s");
    assert!(started.elapsed() < Duration::from_secs(10));

    // CORS is closed: no Access-Control-* for an unlisted origin.
    let preflight = http
        .request(reqwest::Method::OPTIONS, server.url("/api/v1/projects"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(preflight.headers().get("access-control-allow-origin").is_none());
    let get = http
        .get(server.url("/api/v1/projects"))
        .bearer_auth(&server.admin_token)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(get.headers().get("access-control-allow-origin").is_none());

    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let db = TestDb::sqlite();
    let mut config = ServeConfig::for_tests(db.url());
    config.cors_origins = vec!["https://flags.example".into()];
    let server = TestServer::start_with(config).await;
    let http = reqwest::Client::new();
    let ok = http
        .request(reqwest::Method::OPTIONS, server.url("/api/v1/projects"))
        .header("origin", "https://flags.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://flags.example");
    let other = http
        .request(reqwest::Method::OPTIONS, server.url("/api/v1/projects"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    server.stop().await;
    db.cleanup().await;
}

/// One sample of `name{…label…}` in an OpenMetrics text body.
fn sample(body: &str, name: &str, label: &str) -> Option<f64> {
    body.lines().filter(|l| l.starts_with(name) && l.contains(label)).find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn metrics_after_real_traffic() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    let http = reqwest::Client::new();
    let admin =
        |path: &str, body: Value| http.post(server.url(path)).bearer_auth(&server.admin_token).json(&body).send();
    admin("/api/v1/projects", json!({"key": "shop"})).await.unwrap();
    admin("/api/v1/projects/shop/environments", json!({"key": "prod"})).await.unwrap();
    admin("/api/v1/projects/shop/flags", json!({"key": "checkout", "kind": "boolean"})).await.unwrap();
    let key: Value = admin("/api/v1/projects/shop/environments/prod/sdk-keys", json!({"name": "svc"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sdk_key = key["secret"].as_str().unwrap();
    let stream = http
        .get(server.url("/sdk/v1/stream"))
        .bearer_auth(sdk_key)
        .header("x-switchyard-instance", "metrics-test")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let toggled: Value = admin("/api/v1/projects/shop/environments/prod/flags/checkout/toggle", json!({"on": true}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let revision = toggled["revision"].as_u64().unwrap();
    let ack = |instance: String, revision: u64| {
        http.post(server.url("/sdk/v1/ack"))
            .bearer_auth(sdk_key)
            .json(&json!({"instance": instance, "revision": revision}))
            .send()
    };
    assert_eq!(ack("metrics-test".into(), revision).await.unwrap().status(), 204);
    // An instance id longer than the stream accepts is a 422, never a 500
    // (it would not fit the NOTIFY that forwards acks between replicas).
    let long = ack("x".repeat(10_000), revision).await.unwrap();
    assert_eq!(long.status(), 422);
    // An ack of a revision never sent does not count as applied.
    let ahead = ack("metrics-test".into(), revision + 1000).await.unwrap();
    assert_eq!(ahead.status(), 422);
    assert_eq!(ahead.json::<Value>().await.unwrap()["errors"][0]["code"], "unknown_revision");
    assert_eq!(long.json::<Value>().await.unwrap()["errors"][0]["code"], "invalid_instance");
    admin("/api/v1/projects/shop/environments/prod/flags/checkout/kill", json!({"reason": "test"})).await.unwrap();

    let body = server.metrics().await;
    for family in [
        "switchyard_http_requests_total",
        "switchyard_http_request_duration_seconds_bucket",
        "switchyard_sdk_streams",
        "switchyard_events_broadcast_total",
        "switchyard_bytes_broadcast_total",
        "switchyard_slow_consumers_dropped_total",
        "switchyard_streams_expired_total",
        "switchyard_environment_revision",
        "switchyard_propagation_seconds_count",
        "switchyard_kills_total",
        "switchyard_db_pool_connections",
        "switchyard_db_ping_seconds",
    ] {
        assert!(body.contains(family), "missing {family}:\n{body}");
    }
    let toggle_route = r#"route="/api/v1/projects/{project}/environments/{env}/flags/{flag}/toggle""#;
    assert_eq!(sample(&body, "switchyard_http_requests_total", toggle_route), Some(1.0));
    assert_eq!(sample(&body, "switchyard_sdk_streams", r#"environment="shop/prod""#), Some(1.0));
    assert_eq!(
        sample(&body, "switchyard_environment_revision", r#"environment="shop/prod""#),
        Some((revision + 1) as f64)
    );
    assert!(sample(&body, "switchyard_events_broadcast_total", "").unwrap() >= 2.0);
    assert!(sample(&body, "switchyard_bytes_broadcast_total", "").unwrap() > 100.0);
    assert_eq!(sample(&body, "switchyard_propagation_seconds_count", ""), Some(1.0));
    assert_eq!(sample(&body, "switchyard_kills_total", r#"source="api""#), Some(1.0));
    assert!(!body.contains("checkout\""), "flag keys must not be labels");
    assert!(!body.contains(sdk_key));
    drop(stream);
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test]
async fn readyz_follows_the_database() {
    let Some(db) = TestDb::postgres().await else { return };
    let server = TestServer::start(&db.url()).await;
    let http = reqwest::Client::new();
    let ready = || async { http.get(server.url("/readyz")).send().await.unwrap().status().as_u16() };
    let wait_for = |want: u16| async move {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = ready().await;
            if got == want || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    assert_eq!(wait_for(200).await, 200);

    // "Stop" this database without disturbing the shared server: refuse new
    // connections and terminate the existing ones.
    let TestDb::Postgres { name } = &db else { unreachable!() };
    let mut admin =
        <sqlx::PgConnection as sqlx::Connection>::connect(&switchyard_server::testing::pg_admin_url()).await.unwrap();
    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).execute(&mut admin).await.unwrap();
    sqlx::query(&format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        .execute(&mut admin)
        .await
        .unwrap();
    assert_eq!(wait_for(503).await, 503, "not ready while the database is unreachable");

    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).execute(&mut admin).await.unwrap();
    assert_eq!(wait_for(200).await, 200, "ready again when it returns");
    server.stop().await;
    db.cleanup().await;
}

/// `/metrics` names projects and environments: it needs the metrics token;
/// with none configured it is closed; `--metrics-listen` moves it to its own address.
#[tokio::test]
async fn metrics_need_the_metrics_token() {
    use switchyard_server::testing::METRICS_TOKEN;
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    let http = reqwest::Client::new();
    let scrape = |base: String, token: Option<String>| {
        let request = http.get(format!("{base}/metrics"));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
        .send()
    };
    for token in [None, Some("wrong-token".to_string()), Some(server.admin_token.clone())] {
        let response = scrape(server.base.clone(), token.clone()).await.unwrap();
        assert_eq!(response.status(), 401, "token {token:?}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
    }
    assert_eq!(scrape(server.base.clone(), Some(METRICS_TOKEN.into())).await.unwrap().status(), 200);
    server.stop().await;

    // No token configured: closed.
    let mut config = ServeConfig::for_tests(db.url());
    config.metrics_token = None;
    let server = TestServer::start_with(config).await;
    assert_eq!(scrape(server.base.clone(), None).await.unwrap().status(), 401);
    server.stop().await;

    // A separate listener: there (open without a token), not on the API listener.
    let mut config = ServeConfig::for_tests(db.url());
    config.metrics_token = None;
    config.metrics_listen = Some(([127, 0, 0, 1], 0).into());
    let server = TestServer::start_with(config).await;
    let metrics_base = server.metrics_base.clone().expect("metrics listener");
    let body = scrape(metrics_base, None).await.unwrap().text().await.unwrap();
    assert!(body.contains("switchyard_http_requests_total"), "{body}");
    assert_eq!(scrape(server.base.clone(), Some(METRICS_TOKEN.into())).await.unwrap().status(), 404);
    server.stop().await;
    db.cleanup().await;
}
