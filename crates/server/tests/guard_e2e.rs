//! Issue 16's "done when" for the guard, on SQLite and Postgres: a service
//! using the real SDK (its own client: real stream, `telemetry(true)`,
//! outcomes recorded per request) runs under a release stage that sends
//! half the traffic to the treatment. Healthy, the guard lets the stage go
//! on; then the treatment fails twice as often as the control, the guard
//! trips, the flag is killed through the kill path, the SDK applies it, and
//! the audit shows why (the statistics) and the receipt (applied by 1/1).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::Utc;
use serde_json::{Value, json};
use switchyard::telemetry::{Exposure, Outcome};
use switchyard::{Client, Context, Reason};
use switchyard_server::ops::guard::{GuardInput, GuardMetric, StageWindow, Verdict};
use switchyard_server::ops::guard_trip::{Enforced, enforce};
use switchyard_server::store::Actor;
use switchyard_server::testing::for_each_store;

const ENV: &str = "/api/v1/projects/shop/environments/production";

/// Serves `users` requests: each evaluates `checkout` for its user and
/// fails when `fails(variant, n)`, `n` counting the requests that variant
/// served (from 1), so the error rates are exact whatever the split;
/// records every outcome.
fn serve(client: &Client, users: std::ops::Range<u32>, fails: impl Fn(&str, u32) -> bool) {
    let mut served = std::collections::HashMap::<String, u32>::new();
    for i in users {
        let key = format!("user-{i}");
        let d = client.bool_detail("checkout", &Context::new(&key), false);
        let exposure = Exposure::of("checkout", &d).expect("the flag is served");
        let n = served.entry(exposure.variant.to_string()).or_default();
        *n += 1;
        let took = Duration::from_millis(20);
        let outcome = if fails(exposure.variant, *n) { Outcome::failed(took) } else { Outcome::ok(took) };
        client.record(exposure, outcome);
    }
}

/// Sleeps into the next minute: telemetry is kept per minute, and the
/// guard counts only whole minutes after a stage started.
async fn next_minute() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let into = now.as_millis() % 60_000;
    tokio::time::sleep(Duration::from_millis((60_000 - into) as u64 + 200)).await;
}

async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_treatment_trips_the_guard_and_the_sdk_applies_the_kill_with_a_receipt() {
    for_each_store(|server| async move {
        use reqwest::Method;
        server.admin(Method::POST, "/api/v1/projects", json!({"key": "shop"})).await;
        server.admin(Method::POST, "/api/v1/projects/shop/environments", json!({"key": "production"})).await;
        server.admin(Method::POST, "/api/v1/projects/shop/flags", json!({"key": "checkout", "kind": "boolean"})).await;
        let key = server.admin(Method::POST, &format!("{ENV}/sdk-keys"), json!({"name": "svc"})).await;
        // The stage: 50 % on the treatment `on`, the rest on the control `off`.
        let split = json!({"rollout": {"variations": [{"variant": "on", "weight": 50000}, {"variant": "off", "weight": 50000}]}});
        let stage = json!({"on": true, "off_variant": "off", "fallthrough": split, "reason": "stage 1", "version": 1});
        server.admin(Method::PUT, &format!("{ENV}/flags/checkout"), stage).await;
        let started = Utc::now();

        let client = Client::builder(key["secret"].as_str().unwrap())
            .base_url(server.base.as_str())
            .telemetry(true)
            .telemetry_flush_interval(Duration::from_secs(3600))
            .build()
            .unwrap();
        client.wait_until_ready(Duration::from_secs(10)).await.unwrap();
        next_minute().await;
        client.flush().await.unwrap(); // the window now starts in this minute

        let env = server.state.store.get_environment("shop", "production").await.unwrap();
        let input = GuardInput {
            environment_id: env.id,
            flag: "checkout".into(),
            control: "off".into(),
            treatment: "on".into(),
            metrics: vec![GuardMetric::ErrorRate],
            alpha: 0.05,
            min_sample: 1_000,
            stages: vec![StageWindow { treatment_percent: 50.0, started, ended: None }],
        };
        let actor = Actor { name: "plan:1".into(), ..Actor::system() };
        let flag = ("shop", "production", "checkout");

        // Healthy: 1 % of requests fail on both variants.
        serve(&client, 0..10_000, |_, n| n % 100 == 0);
        client.flush().await.unwrap();
        let healthy = enforce(&server.state, actor.clone(), flag, &input, Utc::now()).await.unwrap();
        assert!(matches!(healthy, Enforced::Checked(Verdict::Continue(_))), "{healthy:?}");

        // The treatment starts failing at 2 %.
        serve(&client, 10_000..30_000, |v, n| if v == "on" { n % 50 == 0 } else { n % 100 == 0 });
        client.flush().await.unwrap();
        let tripped = enforce(&server.state, actor, flag, &input, Utc::now()).await.unwrap();
        let Enforced::RolledBack { trip, kill } = tripped else { panic!("expected a rollback: {tripped:?}") };
        let revision = kill.written.revision.expect("the kill wrote a revision");

        // Every SDK applies it.
        eventually("the SDK serving the kill", async || {
            let d = client.bool_detail("checkout", &Context::new("user-1"), true);
            (d.reason == Reason::Killed && !d.value).then_some(())
        })
        .await;
        // The audit: why, and the receipt.
        let events = eventually("the kill's receipt", async || {
            let page = server.admin(Method::GET, "/api/v1/projects/shop/audit?flag=checkout", Value::Null).await;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            items.iter().any(|e| e["action"] == "flag.kill.applied" && e["revision"] == revision).then_some(items)
        })
        .await;
        let killed = events.iter().find(|e| e["action"] == "flag.kill").unwrap();
        assert_eq!(killed["reason"], trip.summary());
        assert_eq!(killed["after"]["guard"]["trip"]["metric"], "error_rate", "{killed}");
        let applied = events.iter().find(|e| e["action"] == "flag.kill.applied").unwrap();
        let r = &applied["after"];
        assert_eq!((r["connected"].as_u64(), r["applied"].as_u64()), (Some(1), Some(1)), "{applied}");
        assert_eq!(r["complete"], true);
        drop(client);
        server
    })
    .await;
}
