//! Release plans with the guard wired in, on SQLite and Postgres (the two
//! servers run at once): plans started through the API, advanced by the
//! durable scheduler, and a real SDK client per server (its own stream,
//! telemetry on) serving traffic.
//!
//! - `checkout` (issue 16's "done when"): a real HTTP service (axum) behind
//!   the SDK's `tower` layer, called over real sockets, evaluates the flag
//!   per request. Healthy, the plan advances from 25 % to 50 %; then the
//!   service starts failing for the treatment (10 % of its requests, the
//!   control 1 %). The guard trips in stage 2, the flag is killed through
//!   the kill path (the SDK applies it: the service serves the control to
//!   everyone; the receipt says 1/1), the audit entry carries the
//!   statistics, and the plan says why (`rolled_back`, its summary, stage
//!   1's `continue` and stage 2's `tripped` verdicts).
//! - `search`: A/A through request scopes opened by hand, both variants
//!   failing, as slow and converting alike. The plan goes through its
//!   guarded stages (each stage's start kept, a `continue` verdict with the
//!   statistics on each) and completes.
//!
//! Telemetry is kept per minute and a stage counts only whole minutes
//! after its start, so this takes about four minutes of waiting; there is
//! no timing assertion (deadlines only).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use switchyard::telemetry::Outcome;
use switchyard::tower::TelemetryLayer;
use switchyard::{Client, Context, Reason};
use switchyard_server::testing::{TestDb, TestServer};

use super::support::{Api, admin, call, ok};

const ENV: &str = "/api/v1/projects/shop/environments/production";

fn release(flag: &str) -> String {
    format!("{ENV}/flags/{flag}/release")
}

/// Project, environment, boolean flags `checkout` and `search` serving the
/// control (`off`) to everyone, and an SDK key.
async fn seed(api: &Api) -> String {
    ok(api, Method::POST, "/api/v1/projects", Some(json!({"key": "shop"})), 201).await;
    ok(api, Method::POST, "/api/v1/projects/shop/environments", Some(json!({"key": "production"})), 201).await;
    for flag in ["checkout", "search"] {
        let body = json!({"key": flag, "kind": "boolean"});
        ok(api, Method::POST, "/api/v1/projects/shop/flags", Some(body), 201).await;
        let config = json!({"on": true, "off_variant": "off", "fallthrough": {"variant": "off"}, "version": 1});
        ok(api, Method::PUT, &format!("{ENV}/flags/{flag}"), Some(config), 200).await;
    }
    let key = ok(api, Method::POST, &format!("{ENV}/sdk-keys"), Some(json!({"name": "svc"})), 201).await;
    key["secret"].as_str().expect("the key's secret").to_string()
}

/// The service under release: `GET /checkout?user=…` evaluates `checkout`
/// for the user and answers the variant it served. Each variant fails one
/// request in 100 (counted per variant, so the rates are exact whatever the
/// split) until `broken`, when the treatment `on` fails one in 10.
#[derive(Clone)]
struct Shop {
    client: Client,
    broken: Arc<AtomicBool>,
    served: Arc<[AtomicU64; 2]>,
}

async fn buy(State(shop): State<Shop>, Query(q): Query<HashMap<String, String>>) -> (StatusCode, &'static str) {
    let user = q.get("user").map_or("", String::as_str);
    let on = shop.client.bool_value("checkout", &Context::new(user), false);
    let n = shop.served[usize::from(on)].fetch_add(1, Ordering::Relaxed) + 1;
    let every = if on && shop.broken.load(Ordering::Relaxed) { 10 } else { 100 };
    let variant = if on { "on" } else { "off" };
    if n.is_multiple_of(every) { (StatusCode::INTERNAL_SERVER_ERROR, variant) } else { (StatusCode::OK, variant) }
}

/// Starts the service on a port of its own; its base URL.
async fn start_shop(shop: Shop) -> String {
    let app = axum::Router::new()
        .route("/checkout", axum::routing::get(buy))
        .with_state(shop.clone())
        .layer(TelemetryLayer::new(shop.client));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(axum::serve(listener, app).into_future());
    base
}

/// Shoppers calling the service over HTTP until `stop`, 80 requests at a
/// time, 8 at once, each for a new user.
fn shoppers(base: String, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut user = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let round = (user..user + 80).map(|u| http.get(format!("{base}/checkout?user=shopper-{u}")).send());
            let statuses: Vec<_> = futures_util::stream::iter(round).buffer_unordered(8).collect().await;
            for status in statuses {
                let status = status.expect("the service answers").status().as_u16();
                assert!(status == 200 || status == 500, "the service answered {status}");
            }
            user += 80;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// `search`'s requests, in scopes opened by hand until `stop`, flushing the
/// client (both flags' telemetry) after each round: per request an
/// evaluation for a new user, the `converted` event for some, and the
/// outcome. Both variants fail 1 % and convert 5 %, 5 to 44 ms.
fn traffic(client: Client, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut served: HashMap<String, u64> = HashMap::new();
        let mut user = 0u64;
        while !stop.load(Ordering::Relaxed) {
            for _ in 0..250 {
                user += 1;
                let key = format!("user-{user}");
                let scope = client.request_scope();
                let outcome = scope
                    .run(async {
                        let d = client.bool_detail("search", &Context::new(&key), false);
                        let variant = d.variant.as_deref().unwrap_or("default").to_string();
                        let n = served.entry(variant).or_default();
                        *n += 1;
                        if n.is_multiple_of(20) {
                            client.track("converted", 1.0);
                        }
                        Outcome { error: n.is_multiple_of(100), latency: Duration::from_millis(5 + *n % 40) }
                    })
                    .await;
                client.record(&scope, outcome);
            }
            let _ = client.flush().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// Sleeps into the next minute (plus a second, for the last flush).
async fn next_minute() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let into = now.as_millis() % 60_000;
    tokio::time::sleep(Duration::from_millis((60_000 - into) as u64 + 1_000)).await;
}

/// Polls `probe` until it gives a value (fails after 5 minutes: a
/// deadline, not a timing assertion).
async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(last) => assert!(Instant::now() < deadline, "timed out waiting for {what}: {last}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn plan_where(api: &Api, flag: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    eventually(what, async || {
        let (status, plan) = call(api, Method::GET, &release(flag), None).await;
        if status == 200 && done(&plan) { Ok(plan) } else { Err(plan.to_string()) }
    })
    .await
}

async fn audit(api: &Api, flag: &str) -> Vec<Value> {
    let page = ok(api, Method::GET, &format!("/api/v1/projects/shop/audit?flag={flag}&limit=1000"), None, 200).await;
    page["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_rolls_back_a_failing_treatment_and_promotes_an_equal_one() {
    let dbs = TestDb::all().await;
    futures_util::future::join_all(dbs.iter().map(scenario)).await;
    for db in dbs {
        db.cleanup().await;
    }
}

async fn scenario(db: &TestDb) {
    let server = TestServer::start(&db.url()).await;
    let api = admin(&server);
    let secret = seed(&api).await;
    let client = Client::builder(&secret)
        .base_url(server.base.as_str())
        .telemetry(true)
        .telemetry_flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    client.wait_until_ready(Duration::from_secs(10)).await.unwrap();
    let shop = Shop { client: client.clone(), broken: Arc::new(AtomicBool::new(false)), served: Arc::default() };
    let base = start_shop(shop.clone()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let serving = traffic(client.clone(), stop.clone());
    let shopping = shoppers(base.clone(), stop.clone());
    // A minute of the control alone: the baseline of `search`'s latency guard.
    next_minute().await;
    let staged = json!({
        "stages": [{"percent": 25.0, "min_sample": 1000}, {"percent": 50.0, "min_sample": 1000}, {"percent": 100.0}],
        "guards": {"error_rate": true, "latency_p95": false},
        "reason": "new checkout",
    });
    let checkout = ok(&api, Method::POST, &release("checkout"), Some(staged), 201).await;
    let aa = json!({
        "stages": [{"percent": 25.0, "min_sample": 1000}, {"percent": 50.0, "min_sample": 1000}, {"percent": 100.0}],
        "guards": {"error_rate": true, "latency_p95": true, "event": "converted", "event_direction": "lower_is_worse"},
    });
    let search = ok(&api, Method::POST, &release("search"), Some(aa), 201).await;
    eprintln!("--- {}: plans {} and {} started", db.label(), checkout["id"], search["id"]);

    // Healthy, `checkout` passes stage 1; once in stage 2, the new code
    // path starts failing.
    let stage2 = plan_where(&api, "checkout", "checkout's stage 2", |p| {
        p["stage"].as_u64().is_some_and(|s| s >= 1) || p["state"] != "running"
    });
    let stage2 = stage2.await;
    assert_eq!((stage2["state"].as_str(), stage2["stage"].as_u64()), (Some("running"), Some(1)), "{stage2}");
    shop.broken.store(true, Ordering::Relaxed);
    eprintln!("--- {}: checkout in stage 2, the treatment now fails", db.label());

    rolled_back(&api, &client, &base, checkout["id"].as_i64().unwrap()).await;
    promoted(&api, search["id"].as_i64().unwrap()).await;
    stop.store(true, Ordering::Relaxed);
    serving.await.unwrap();
    shopping.await.unwrap();
    server.stop().await;
}

/// `checkout`: passed stage 1, tripped in stage 2, killed, and the plan,
/// the audit, the receipt and the service itself say so.
async fn rolled_back(api: &Api, client: &Client, base: &str, id: i64) {
    let plan = plan_where(api, "checkout", "the guard's rollback", |p| p["state"] != "running").await;
    assert_eq!(plan["state"], "rolled_back", "{plan}");
    let summary = plan["summary"].as_str().unwrap();
    assert!(summary.contains("error_rate worse on \"on\" than \"off\" in stage 2"), "{summary}");
    let history = plan["history"].as_array().unwrap();
    let verdicts: Vec<_> = history.iter().map(|e| (e["percent"].as_f64(), e["verdict"].as_str())).collect();
    assert_eq!(verdicts, [(Some(25.0), Some("continue")), (Some(50.0), Some("tripped"))], "{plan}");
    assert!(history[0]["guard"]["control"]["requests"].as_u64() >= Some(1000), "{plan}");
    assert_eq!(history[1]["guard"]["trip"]["metric"], "error_rate", "{plan}");
    assert!(history[1]["ended_at"].is_string(), "{plan}");

    // The SDK applies the kill: the service serves the control to everyone.
    eventually("the SDK serving the kill", async || {
        let d = client.bool_detail("checkout", &Context::new("user-1"), true);
        if d.reason == Reason::Killed && !d.value { Ok(()) } else { Err(format!("{d:?}")) }
    })
    .await;
    let http = reqwest::Client::new();
    for u in 0..20 {
        let served = http.get(format!("{base}/checkout?user=after-{u}")).send().await.unwrap().text().await.unwrap();
        assert_eq!(served, "off", "after the kill the service serves the control");
    }
    // The audit: two stage writes by the plan, the kill by the plan with
    // the statistics, then its receipt.
    let events = eventually("the kill's receipt", async || {
        let events = audit(api, "checkout").await;
        let applied = events.iter().any(|e| e["action"] == "flag.kill.applied");
        if applied { Ok(events) } else { Err("no flag.kill.applied yet".into()) }
    })
    .await;
    let by_plan =
        |action: &str| events.iter().filter(|e| e["actor"] == format!("plan:{id}") && e["action"] == action).count();
    assert_eq!(by_plan("flag.config.update"), 2, "stage 1 and stage 2 were audited writes");
    let kill = events.iter().find(|e| e["action"] == "flag.kill").expect("the kill's audit entry");
    assert_eq!(kill["actor"], format!("plan:{id}"), "{kill}");
    let guard = &kill["after"]["guard"];
    assert_eq!(guard["trip"]["metric"], "error_rate", "{kill}");
    assert!(guard["trip"]["treatment_mean"].as_f64() > guard["trip"]["control_mean"].as_f64(), "{kill}");
    assert!(guard["stats"]["treatment"]["requests"].as_u64() >= Some(1000), "{kill}");
    assert!(guard["trip"]["p_value"].as_f64() <= guard["trip"]["alpha"].as_f64(), "{kill}");
    assert!(summary.contains(kill["reason"].as_str().unwrap()), "the plan's summary holds the kill's reason");
    let applied = events.iter().find(|e| e["action"] == "flag.kill.applied").unwrap();
    let receipt = &applied["after"];
    assert_eq!((receipt["connected"].as_u64(), receipt["applied"].as_u64()), (Some(1), Some(1)), "{applied}");
    let rollback = events.iter().find(|e| e["action"] == "release.rollback").expect("the plan's audit entry");
    assert_eq!(rollback["after"]["state"], "rolled_back", "{rollback}");
}

/// `search`: every guarded stage passed with enough sample and the plan
/// completed.
async fn promoted(api: &Api, id: i64) {
    let plan = plan_where(api, "search", "the A/A plan's completion", |p| p["state"] != "running").await;
    assert_eq!(plan["state"], "completed", "{plan}");
    let history = plan["history"].as_array().unwrap();
    let percents: Vec<f64> = history.iter().map(|e| e["percent"].as_f64().unwrap()).collect();
    assert_eq!(percents, [25.0, 50.0, 100.0], "{plan}");
    assert!(history.iter().all(|e| e["verdict"] == "continue"), "{plan}");
    for pair in history.windows(2) {
        assert_eq!(pair[0]["ended_at"], pair[1]["started_at"], "each stage ends where the next starts: {plan}");
    }
    for guarded in &history[..2] {
        let stats = &guarded["guard"];
        assert!(stats["waiting_for"].as_array().unwrap().is_empty(), "{guarded}");
        assert!(stats["control"]["requests"].as_u64() >= Some(1000), "{guarded}");
        assert!(stats["treatment"]["requests"].as_u64() >= Some(1000), "{guarded}");
        let metrics: Vec<&str> =
            stats["p_values"].as_array().unwrap().iter().filter_map(|m| m["metric"].as_str()).collect();
        assert_eq!(metrics, ["error_rate", "latency_p95", "event"], "{guarded}");
        assert!(guarded["summary"].as_str().unwrap().starts_with("guard passed stage"), "{guarded}");
    }
    let events = audit(api, "search").await;
    let by_plan = events.iter().filter(|e| e["actor"] == format!("plan:{id}") && e["action"] == "flag.config.update");
    assert_eq!(by_plan.count(), 3, "one audited write per stage");
    assert!(events.iter().all(|e| e["action"] != "flag.kill"), "no kill in an A/A plan");
}
