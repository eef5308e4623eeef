//! The release guard against a real server, on SQLite and Postgres:
//! telemetry seeded through the real `POST /sdk/v1/telemetry`, then the
//! guard's check (`ops::guard::check`) over it: no difference → no trip
//! (and `Continue` once the sample is there, `Wait` before); the treatment
//! failing twice as often → a trip on `error_rate`; exposures off the
//! planned split → a sample-ratio trip; a bad second stage trips in that
//! stage. A trip enforced (`ops::guard_trip::enforce`) kills the flag
//! through the kill path: killed with the trip as reason, the statistics
//! in the `flag.kill` audit event, its receipt recorded, a `flag.killed`
//! webhook delivered, and the counters on `/metrics`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use switchyard_server::config::ServeConfig;
use switchyard_server::ops::guard::{GuardInput, GuardMetric, StageWindow, Verdict, check};
use switchyard_server::ops::guard_stats::TripStats;
use switchyard_server::ops::guard_trip::{Enforced, enforce};
use switchyard_server::store::Actor;
use switchyard_server::testing::{TestDb, TestServer, for_each_store};

const ENV: &str = "/api/v1/projects/shop/environments/production";

/// One arm's counts in one minute: exposures, requests, errors.
#[derive(Clone, Copy)]
struct Counts(u64, u64, u64);

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

async fn get(server: &TestServer, path: &str) -> Value {
    let resp = reqwest::Client::new().get(server.url(path)).bearer_auth(&server.admin_token).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().await.unwrap()
}

/// Project `shop`, environment `production`, boolean flag `checkout`, an
/// SDK key (returned) and the environment's id.
async fn seed(server: &TestServer) -> (String, i64) {
    admin(server, "/api/v1/projects", json!({"key": "shop"})).await;
    admin(server, "/api/v1/projects/shop/environments", json!({"key": "production"})).await;
    admin(server, "/api/v1/projects/shop/flags", json!({"key": "checkout", "kind": "boolean"})).await;
    let key = admin(server, &format!("{ENV}/sdk-keys"), json!({"name": "svc"})).await;
    let env = server.state.store.get_environment("shop", "production").await.unwrap();
    (key["secret"].as_str().unwrap().to_string(), env.id)
}

fn outcome(variant: &str, c: Counts) -> Value {
    let mut buckets = vec![0u64; 15];
    buckets[3] = c.1;
    json!({"flag": "checkout", "variant": variant, "requests": c.1, "errors": c.2,
        "latency_ms_sum": 8.0 * c.1 as f64, "latency_ms_sum_sq": 64.0 * c.1 as f64, "latency_ms_buckets": buckets})
}

/// Posts one batch counted in the minute starting at `minute` (minutes
/// since the epoch): control `off`, treatment `on`.
async fn post_minute(server: &TestServer, key: &str, minute: i64, control: Counts, treatment: Counts) {
    let start_ms = minute as u64 * 60_000 + 1_000;
    let batch = json!({"sdk": "raw/1", "instance": "pod-1", "start_ms": start_ms, "end_ms": start_ms + 10_000,
        "evaluations": [{"flag": "checkout", "variant": "off", "count": control.0},
                        {"flag": "checkout", "variant": "on", "count": treatment.0}],
        "outcomes": [outcome("off", control), outcome("on", treatment)]});
    let resp = reqwest::Client::new()
        .post(server.url("/sdk/v1/telemetry"))
        .bearer_auth(key)
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap());
}

fn now_minute() -> i64 {
    (SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() / 60) as i64
}

fn at(minute: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(minute * 60, 0).unwrap()
}

/// A plan whose stages are `(percent, first minute, end minute)`; the last
/// one is current.
fn plan(env_id: i64, stages: &[(f64, i64, Option<i64>)]) -> GuardInput {
    GuardInput {
        environment_id: env_id,
        flag: "checkout".into(),
        control: "off".into(),
        treatment: "on".into(),
        metrics: vec![GuardMetric::ErrorRate, GuardMetric::LatencyMean],
        alpha: 0.05,
        min_sample: 1_000,
        stages: stages
            .iter()
            .map(|&(p, from, to)| StageWindow { treatment_percent: p, started: at(from), ended: to.map(at) })
            .collect(),
    }
}

/// 20 minutes of a 5 % stage, 10,000 requests a minute, the control failing
/// 1 %: the treatment fails `treatment_errors` of its 500 a minute and gets
/// `treatment_exposures` of the 10,000 exposures.
async fn seed_stage(server: &TestServer, key: &str, start: i64, treatment_exposures: u64, treatment_errors: u64) {
    for m in start..start + 20 {
        let control = Counts(10_000 - treatment_exposures, 9_500, 95);
        post_minute(server, key, m, control, Counts(treatment_exposures, 500, treatment_errors)).await;
    }
}

#[tokio::test]
async fn no_difference_continues_and_waits_for_sample_first() {
    for_each_store(|server| async move {
        let (key, env_id) = seed(&server).await;
        let start = now_minute() - 30;
        let input = plan(env_id, &[(5.0, start, None)]);
        let store = &server.state.store;
        // Two minutes: 1,000 treatment exposures, but not 1,000 requests yet.
        post_minute(&server, &key, start, Counts(9_500, 200, 2), Counts(500, 100, 1)).await;
        post_minute(&server, &key, start + 1, Counts(9_500, 200, 2), Counts(500, 100, 1)).await;
        match check(store, &input, Utc::now()).await.unwrap() {
            Verdict::Wait(stats) => {
                assert_eq!((stats.treatment.exposures, stats.treatment.requests), (1_000, 200), "{stats:?}");
                assert!(stats.waiting_for.iter().any(|w| w.starts_with("error_rate")), "{stats:?}");
            }
            other => panic!("expected Wait, got {other:?}"),
        }
        seed_stage(&server, &key, start + 2, 500, 5).await;
        match check(store, &input, Utc::now()).await.unwrap() {
            Verdict::Continue(stats) => {
                assert_eq!(stats.looks, 22);
                assert_eq!(stats.treatment.requests, 200 + 20 * 500, "{stats:?}");
                assert!(stats.p_values.iter().all(|p| p.p_value > 0.5), "{stats:?}");
            }
            other => panic!("expected Continue, got {other:?}"),
        }
        server
    })
    .await;
}

#[tokio::test]
async fn twice_the_error_rate_trips_on_error_rate() {
    for_each_store(|server| async move {
        let (key, env_id) = seed(&server).await;
        let start = now_minute() - 30;
        seed_stage(&server, &key, start, 500, 10).await;
        let verdict = check(&server.state.store, &plan(env_id, &[(5.0, start, None)]), Utc::now()).await.unwrap();
        let Verdict::Trip(trip) = verdict else { panic!("expected a trip, got {verdict:?}") };
        let TripStats::Metric { metric, treatment_mean, control_mean, p_value, alpha, .. } = &trip.trip else {
            panic!("expected a metric trip: {trip:?}")
        };
        assert_eq!(metric, "error_rate");
        assert!(p_value <= alpha, "{trip:?}");
        assert!((treatment_mean - 0.02).abs() < 1e-9 && (control_mean - 0.01).abs() < 1e-9, "{trip:?}");
        assert!(trip.stats.looks < 20, "detected before the stage's data ran out: {trip:?}");
        server
    })
    .await;
}

#[tokio::test]
async fn a_sample_ratio_mismatch_trips() {
    for_each_store(|server| async move {
        let (key, env_id) = seed(&server).await;
        let start = now_minute() - 30;
        // Planned 5 %, served 8 %: same error rates.
        seed_stage(&server, &key, start, 800, 5).await;
        let verdict = check(&server.state.store, &plan(env_id, &[(5.0, start, None)]), Utc::now()).await.unwrap();
        let Verdict::Trip(trip) = verdict else { panic!("expected a trip, got {verdict:?}") };
        let TripStats::Srm { expected_share, observed_share, .. } = trip.trip else { panic!("not SRM: {trip:?}") };
        assert_eq!(expected_share, 0.05);
        assert!((observed_share - 0.08).abs() < 1e-9);
        // No guard metric: the sample-ratio check still runs.
        let mut srm_only = plan(env_id, &[(5.0, start, None)]);
        srm_only.metrics.clear();
        let verdict = check(&server.state.store, &srm_only, Utc::now()).await.unwrap();
        assert!(matches!(&verdict, Verdict::Trip(t) if matches!(t.trip, TripStats::Srm { .. })), "{verdict:?}");
        // The same counts under a plan that said 8 %: no trip.
        let verdict = check(&server.state.store, &plan(env_id, &[(8.0, start, None)]), Utc::now()).await.unwrap();
        assert!(matches!(verdict, Verdict::Continue(_)), "{verdict:?}");
        server
    })
    .await;
}

#[tokio::test]
async fn a_bad_second_stage_trips_in_that_stage_and_the_boundary_minute_counts_for_neither() {
    for_each_store(|server| async move {
        let (key, env_id) = seed(&server).await;
        let start = now_minute() - 50;
        seed_stage(&server, &key, start, 500, 5).await;
        // The minute the split changed in: a mix (it would be an SRM trip for either stage).
        post_minute(&server, &key, start + 20, Counts(5_000, 9_500, 95), Counts(5_000, 500, 5)).await;
        // 25 % from here; the treatment fails 2 %.
        for m in start + 21..start + 41 {
            post_minute(&server, &key, m, Counts(7_500, 7_500, 75), Counts(2_500, 2_500, 50)).await;
        }
        let second = at(start + 20) + chrono::Duration::seconds(30);
        let stages = [(5.0, start, Some(start + 20)), (25.0, start + 20, None)];
        let mut input = plan(env_id, &stages);
        input.stages[0].ended = Some(second);
        input.stages[1].started = second;
        let verdict = check(&server.state.store, &input, Utc::now()).await.unwrap();
        let Verdict::Trip(trip) = verdict else { panic!("expected a trip, got {verdict:?}") };
        assert!(matches!(&trip.trip, TripStats::Metric { metric, .. } if metric == "error_rate"), "{trip:?}");
        assert_eq!(trip.stats.stage, 1, "{trip:?}");
        server
    })
    .await;
}

/// A webhook receiver on loopback that records the bodies it gets.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let hits = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::clone(&hits);
    let app = axum::Router::new().fallback(axum::routing::post(move |body: axum::body::Bytes| {
        let store = Arc::clone(&store);
        async move {
            store.lock().unwrap().push(serde_json::from_slice(&body).unwrap_or(Value::Null));
            axum::http::StatusCode::NO_CONTENT
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, hits)
}

async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_trip_kills_through_the_kill_path_with_the_statistics_audited() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let mut config = ServeConfig::for_tests(db.url());
        config.webhook_allow_private = true;
        let server = TestServer::start_with(config).await;
        let (key, env_id) = seed(&server).await;
        let (hook, hits) = receiver().await;
        admin(&server, "/api/v1/projects/shop/webhooks", json!({"url": hook, "events": ["flag.killed"]})).await;
        let start = now_minute() - 30;
        seed_stage(&server, &key, start, 500, 10).await;
        let actor = Actor { name: "plan:7".into(), ..Actor::system() };
        let input = plan(env_id, &[(5.0, start, None)]);
        let flag = ("shop", "production", "checkout");
        let done = enforce(&server.state, actor, flag, &input, Utc::now()).await.unwrap();
        let Enforced::RolledBack { trip, kill } = done else { panic!("expected a rollback: {done:?}") };
        assert!(kill.written.changed && kill.written.revision.is_some());

        let config = get(&server, &format!("{ENV}/flags/checkout")).await;
        let reason = config["config"]["kill"]["reason"].as_str().unwrap().to_string();
        assert!(reason.starts_with("release guard: error_rate worse on \"on\""), "{reason}");
        assert_eq!(config["config"]["kill"]["by"], "plan:7");

        let audit = eventually("the kill's receipt in the audit", async || {
            let page = get(&server, "/api/v1/projects/shop/audit?flag=checkout").await;
            let events = page["events"].as_array().or(page["items"].as_array()).cloned().unwrap_or_default();
            events.iter().any(|e| e["action"] == "flag.kill.applied").then_some(events)
        })
        .await;
        let kill_event = audit.iter().find(|e| e["action"] == "flag.kill").expect("a flag.kill event");
        assert_eq!(kill_event["reason"], reason);
        assert_eq!(kill_event["actor"], "plan:7");
        let guard = &kill_event["after"]["guard"];
        assert_eq!(guard["trip"]["kind"], "metric", "{kill_event}");
        assert_eq!(guard["trip"]["metric"], "error_rate");
        let TripStats::Metric { p_value, .. } = trip.trip else { panic!("{trip:?}") };
        assert_eq!(guard["trip"]["p_value"], json!(p_value));
        assert_eq!(guard["stats"]["treatment"]["variant"], "on");

        let delivered = eventually("the flag.killed webhook", async || {
            hits.lock().unwrap().iter().find(|b| b["event"] == "flag.killed" || b["type"] == "flag.killed").cloned()
        })
        .await;
        assert!(delivered.to_string().contains("release guard"), "{delivered}");

        let metrics = server.metrics().await;
        assert!(metrics.contains("switchyard_guard_trips_total{reason=\"error_rate\"} 1"), "{metrics}");
        assert!(metrics.contains("switchyard_guard_evaluations_total 1"), "{metrics}");
        assert!(metrics.contains("switchyard_kills_total{source=\"guard\"} 1"), "{metrics}");

        // Checked again (the plan not yet marked rolled back): the flag stays killed, once.
        let again = enforce(&server.state, Actor::system(), flag, &input, Utc::now()).await.unwrap();
        let Enforced::RolledBack { kill, .. } = again else { panic!("a trip stays a trip") };
        assert!(!kill.written.changed, "killing a killed flag changes nothing");
        server.stop().await;
        db.cleanup().await;
    }
}
