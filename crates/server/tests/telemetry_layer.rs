//! The SDK's `tower` layer against the real server, on SQLite and
//! Postgres: a real axum service behind `switchyard::tower::TelemetryLayer`
//! evaluates a 50/50 flag per request and fails (500) for one variant; the
//! errors, the requests and a custom event land on the right variant only,
//! as `GET …/flags/{flag}/telemetry` shows. And a client dropped at
//! shutdown sends what it counted in a final flush.

use std::time::Duration;

use axum::extract::Query;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use switchyard::Context;
use switchyard::tower::TelemetryLayer;
use switchyard_server::testing::{TestServer, for_each_store};

const PROJECT: &str = "/api/v1/projects/shop";
const ENV: &str = "/api/v1/projects/shop/environments/production";

/// Project `shop`, environment `production`, boolean flag `checkout` on
/// with a 50/50 fallthrough, and an SDK key (returned).
async fn seed(server: &TestServer) -> String {
    use reqwest::Method;
    server.admin(Method::POST, "/api/v1/projects", json!({"key": "shop"})).await;
    server.admin(Method::POST, &format!("{PROJECT}/environments"), json!({"key": "production"})).await;
    server.admin(Method::POST, &format!("{PROJECT}/flags"), json!({"key": "checkout", "kind": "boolean"})).await;
    let split =
        json!({"rollout": {"variations": [{"variant": "on", "weight": 50000}, {"variant": "off", "weight": 50000}]}});
    let config = json!({"on": true, "off_variant": "off", "fallthrough": split, "reason": "setup", "version": 1});
    server.admin(Method::PUT, &format!("{ENV}/flags/checkout"), config).await;
    let key = server.admin(Method::POST, &format!("{ENV}/sdk-keys"), json!({"name": "svc"})).await;
    key["secret"].as_str().unwrap().to_string()
}

async fn telemetry(server: &TestServer) -> Value {
    let resp = reqwest::Client::new()
        .get(server.url(&format!("{ENV}/flags/checkout/telemetry")))
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

fn client(server: &TestServer, key: &str) -> switchyard::Client {
    switchyard::Client::builder(key)
        .base_url(server.base.as_str())
        .telemetry(true)
        .telemetry_flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap()
}

/// The service: `GET /buy?user=…` evaluates `checkout` for the user; the
/// `on` variant is broken (500), `off` buys (and tracks `purchase`).
fn app(client: switchyard::Client) -> axum::Router {
    let handler = {
        let client = client.clone();
        move |Query(q): Query<std::collections::HashMap<String, String>>| {
            let client = client.clone();
            async move {
                let user = q.get("user").cloned().unwrap_or_default();
                if client.bool_value("checkout", &Context::new(&user), false) {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                client.track("purchase", 20.0);
                StatusCode::OK
            }
        }
    };
    axum::Router::new()
        .route("/buy", get(handler))
        .route("/health", get(|| async { "ok" }))
        .layer(TelemetryLayer::new(client))
}

#[tokio::test]
async fn the_tower_layer_attributes_errors_and_events_to_the_variant_served() {
    for_each_store(|server| async move {
        let key = seed(&server).await;
        let client = client(&server, &key);
        client.wait_until_ready(Duration::from_secs(10)).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let service = tokio::spawn(axum::serve(listener, app(client.clone())).into_future());

        let http = reqwest::Client::new();
        let (mut failed, mut bought) = (0u64, 0u64);
        for i in 0..60 {
            let status = http.get(format!("{base}/buy?user=user-{i}")).send().await.unwrap().status();
            match status.as_u16() {
                500 => failed += 1,
                200 => bought += 1,
                other => panic!("unexpected {other}"),
            }
        }
        // A request that evaluates no flag is attributed to nothing.
        assert_eq!(http.get(format!("{base}/health")).send().await.unwrap().status(), 200);
        assert!(failed > 0 && bought > 0, "both variants served: {failed} / {bought}");
        client.flush().await.unwrap();

        let body = telemetry(&server).await;
        let (on, off) = (variant(&body, "on"), variant(&body, "off"));
        assert_eq!(on["totals"]["evaluations"], failed, "{body}");
        assert_eq!(on["totals"]["requests"], failed);
        assert_eq!(on["totals"]["errors"], failed, "every request served `on` failed");
        assert_eq!(on["totals"]["error_rate"], 1.0);
        assert_eq!(on["events"], json!([]), "nothing was bought with `on`");
        assert_eq!(off["totals"]["requests"], bought);
        assert_eq!(off["totals"]["errors"], 0, "no error is counted against `off`");
        assert_eq!(off["totals"]["error_rate"], 0.0);
        let purchase =
            json!([{"event": "purchase", "count": bought, "value_sum": 20.0 * bought as f64, "value_mean": 20.0}]);
        assert_eq!(off["events"], purchase, "{body}");
        assert_eq!(body["totals"]["requests"], failed + bought, "/health is not counted");
        service.abort();
        server
    })
    .await;
}

/// `record` with a flag key inside a scope gets the variant the scope was
/// served; outside any scope there is nothing to attribute it to.
#[tokio::test]
async fn record_by_flag_key_uses_the_current_scope() {
    for_each_store(|server| async move {
        let key = seed(&server).await;
        let client = client(&server, &key);
        client.wait_until_ready(Duration::from_secs(10)).await.unwrap();
        let outcome = switchyard::telemetry::Outcome::failed(Duration::from_millis(7));
        assert_eq!(client.record("checkout", outcome), 0, "no scope: nothing recorded");
        let scope = client.request_scope();
        let served = scope
            .run(async {
                let on = client.bool_value("checkout", &Context::new("user-1"), false);
                assert_eq!(client.record("checkout", outcome), 1);
                assert_eq!(client.record("other-flag", outcome), 0);
                on
            })
            .await;
        let served = if served { "on" } else { "off" };
        assert_eq!(scope.exposures(), vec![("checkout".into(), served.into())]);
        client.flush().await.unwrap();
        let body = telemetry(&server).await;
        assert_eq!(variant(&body, served)["totals"]["errors"], 1, "{body}");
        assert_eq!(body["totals"]["requests"], 1);
        server
    })
    .await;
}

/// Dropping the last clone of a client (a service shutting down) sends
/// what it counted since the last flush: a final flush.
#[tokio::test]
async fn a_client_dropped_at_shutdown_flushes_what_it_counted() {
    for_each_store(|server| async move {
        let key = seed(&server).await;
        let client = client(&server, &key);
        client.wait_until_ready(Duration::from_secs(10)).await.unwrap();
        for i in 0..5 {
            client.bool_value("checkout", &Context::new(format!("user-{i}")), false);
        }
        drop(client);
        // The final flush runs on the runtime; wait for it to arrive.
        let mut evaluations = Value::Null;
        for _ in 0..200 {
            evaluations = telemetry(&server).await["totals"]["evaluations"].clone();
            if evaluations == 5 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(evaluations, 5, "the final flush arrived");
        server
    })
    .await;
}
