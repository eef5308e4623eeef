//! Flag usage and stale flags (issue 17 parts 2 and 3) over real sockets,
//! on SQLite and Postgres: real SDK clients of two services evaluate a flag
//! (telemetry on) beside seeded older telemetry of a third; the flag's
//! usage names its last evaluation, its evaluations per variant over 24
//! hours and 7 days and the three services, per environment; a flag given a
//! past `expires_at` is listed by `GET …/stale-flags`, `switchyard flags
//! stale` and `switchyard_stale_flags` on /metrics. Viewers may read both;
//! bad input is a 4xx. (The stale rules on telemetry: the store
//! conformance case `stale_flags_are_found_on_seeded_telemetry`.)

use std::process::Output;
use std::time::Duration;

use serde_json::{Value, json};
use switchyard::Context;
use switchyard_server::store::{TelemetryRecord, VariantCounts};
use switchyard_server::testing::{TestServer, for_each_store};

const P: &str = "/api/v1/projects/shop";
const ENV: &str = "/api/v1/projects/shop/environments/production";

async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, server.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

async fn admin(server: &TestServer, path: &str, body: Value) -> Value {
    let (status, answer) = call(server, reqwest::Method::POST, path, &server.admin_token, Some(body)).await;
    assert!((200..300).contains(&status), "{path}: {status} {answer}");
    answer
}

async fn get(server: &TestServer, path: &str, token: &str) -> (u16, Value) {
    call(server, reqwest::Method::GET, path, token, None).await
}

async fn seed(server: &TestServer) -> String {
    admin(server, "/api/v1/projects", json!({"key": "shop"})).await;
    for env in ["production", "staging"] {
        admin(server, &format!("{P}/environments"), json!({"key": env})).await;
    }
    for flag in ["checkout", "old"] {
        admin(server, &format!("{P}/flags"), json!({"key": flag, "kind": "boolean"})).await;
    }
    admin(server, &format!("{ENV}/flags/checkout/toggle"), json!({"on": true})).await;
    let key = admin(server, &format!("{ENV}/sdk-keys"), json!({"name": "fleet"})).await;
    key["secret"].as_str().unwrap().to_string()
}

async fn cli(server: &TestServer, args: &[&str]) -> (i32, String) {
    let Output { status, stdout, stderr } = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .env("SWITCHYARD_URL", &server.base)
        .env("SWITCHYARD_TOKEN", &server.admin_token)
        .env("SWITCHYARD_PROJECT", "shop")
        .env_remove("SWITCHYARD_ENV")
        .kill_on_drop(true)
        .output()
        .await
        .expect("running the switchyard binary");
    (
        status.code().expect("exit code"),
        String::from_utf8_lossy(&stdout).into_owned() + &String::from_utf8_lossy(&stderr),
    )
}

/// (service, day, week, instances) per service row.
fn services(env: &Value) -> Vec<(String, u64, u64, u64)> {
    let rows = env["services"].as_array().unwrap();
    rows.iter()
        .map(|s| {
            let n = |k: &str| s[k].as_u64().unwrap();
            (s["service"].as_str().unwrap_or("-").to_string(), n("day"), n("week"), n("instances"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_names_last_evaluation_variants_and_services() {
    for_each_store(|server| async move {
        let key = seed(&server).await;
        let mut clients = Vec::new();
        for (service, n) in [("web", 5), ("api", 3)] {
            let client = switchyard::Client::builder(key.as_str())
                .base_url(server.base.as_str())
                .service_name(service)
                .telemetry(true)
                .telemetry_flush_interval(Duration::from_secs(3600))
                .build()
                .unwrap();
            client.wait_until_ready(Duration::from_secs(10)).await.unwrap();
            for _ in 0..n {
                assert!(client.bool_value("checkout", &Context::new("u"), false));
            }
            client.flush().await.unwrap();
            clients.push(client);
        }
        // Three days ago, another service saw it off.
        let env = server.state.store.get_environment("shop", "production").await.unwrap();
        let minute = chrono::Utc::now().timestamp().div_euclid(60) - 3 * 1440;
        let record = TelemetryRecord {
            minute,
            sdk: "test/1".into(),
            instance: "old-pod".into(),
            service: Some("batch".into()),
            variants: vec![(
                "checkout".into(),
                "off".into(),
                VariantCounts { evaluations: 4, ..VariantCounts::default() },
            )],
            ..TelemetryRecord::default()
        };
        server.state.store.record_telemetry(env.id, &record).await.unwrap();

        let viewer = admin(&server, "/api/v1/tokens", json!({"name": "v", "role": "viewer"})).await;
        let viewer = viewer["secret"].as_str().unwrap().to_string();
        let (status, usage) = get(&server, &format!("{P}/flags/checkout/usage"), &viewer).await;
        assert_eq!(status, 200, "{usage}");
        let envs = usage["environments"].as_array().unwrap();
        assert_eq!(
            envs.iter().map(|e| e["environment"].as_str().unwrap()).collect::<Vec<_>>(),
            ["production", "staging"]
        );
        let prod = &envs[0];
        let last: chrono::DateTime<chrono::Utc> = prod["last_evaluated"].as_str().unwrap().parse().unwrap();
        assert!(chrono::Utc::now() - last < chrono::Duration::minutes(2), "{prod}");
        assert_eq!(prod["day"], json!([{"variant": "on", "evaluations": 8}]));
        assert_eq!(prod["week"], json!([{"variant": "off", "evaluations": 4}, {"variant": "on", "evaluations": 8}]));
        let expected = [("web", 5, 5, 1), ("batch", 0, 4, 1), ("api", 3, 3, 1)];
        let expected: Vec<(String, u64, u64, u64)> =
            expected.iter().map(|(s, d, w, i)| (s.to_string(), *d, *w, *i)).collect();
        assert_eq!(services(prod), expected);
        assert_eq!((envs[1]["last_evaluated"].clone(), envs[1]["week"].clone()), (Value::Null, json!([])));
        assert_eq!(get(&server, &format!("{P}/flags/nope/usage"), &viewer).await.0, 404);

        // Stale flags: `old` past its expiry; `checkout` is not a candidate.
        let expired = json!({"expires_at": "2026-01-01T00:00:00Z"});
        let (status, def) =
            call(&server, reqwest::Method::PATCH, &format!("{P}/flags/old"), &server.admin_token, Some(expired)).await;
        assert_eq!((status, def["expires_at"].as_str()), (200, Some("2026-01-01T00:00:00Z")), "{def}");
        let (status, report) = get(&server, &format!("{P}/stale-flags"), &viewer).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["days"], 30);
        assert_eq!(report["flags"].as_array().unwrap().len(), 1, "{report}");
        assert_eq!(report["flags"][0]["flag"], "old");
        assert_eq!(report["flags"][0]["reasons"], json!([{"reason": "expired", "expires_at": "2026-01-01T00:00:00Z"}]));
        let (status, problem) = get(&server, &format!("{P}/stale-flags?days=0"), &viewer).await;
        assert_eq!((status, problem["code"].as_str()), (400, Some("invalid_query")), "{problem}");
        assert_eq!(get(&server, &format!("{P}/stale-flags?environment=nope"), &viewer).await.0, 404);
        let (code, out) = cli(&server, &["flags", "stale", "--days", "7"]).await;
        assert_eq!(code, 0, "{out}");
        assert!(
            out.starts_with("1 stale flag(s) in shop (look-back 7 days)") && out.contains("expired 2026-01-01"),
            "{out}"
        );
        let metrics = server.metrics().await;
        for (reason, n) in [("expired", 1), ("single_variant", 0), ("not_evaluated", 0)] {
            let line = format!("switchyard_stale_flags{{project=\"shop\",reason=\"{reason}\"}} {n}");
            assert!(metrics.contains(&line), "{line}: {metrics}");
        }
        // Clearing the expiry takes it off the list.
        let clear = json!({"expires_at": null});
        let (status, def) =
            call(&server, reqwest::Method::PATCH, &format!("{P}/flags/old"), &server.admin_token, Some(clear)).await;
        assert_eq!((status, def.get("expires_at")), (200, None), "{def}");
        assert_eq!(get(&server, &format!("{P}/stale-flags"), &viewer).await.1["flags"], json!([]));
        drop(clients);
        server
    })
    .await;
}
