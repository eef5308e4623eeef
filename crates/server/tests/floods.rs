//! Credential floods over real sockets, on SQLite and Postgres (both in CI):
//! a repeated bad API token, SDK key or trigger secret reaches the store at
//! most a few times per 1,000 requests (counted by the server's own
//! `switchyard_credential_lookups_total`, read from `/metrics`); failed
//! authentication is limited per client address and per credential with a
//! 429 and `Retry-After`; a responder's valid token keeps killing at the
//! documented floor (10/s) while the same address floods bad credentials.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchyard_server::auth::secret::random_token;
use switchyard_server::config::ServeConfig;
use switchyard_server::testing::{Api, TestDb, TestServer};

const P: &str = "/api/v1/projects/shop";
const FLAG: &str = "/api/v1/projects/shop/environments/production/flags/checkout";
const KINDS: [&str; 3] = ["api_token", "sdk_key", "trigger"];
/// The guaranteed kill rate of an authenticated responder (docs/security.md).
const FLOOR_PER_SECOND: u64 = 10;

async fn seed(admin: &Api) {
    admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "shop"})), 201).await;
    admin.ok(Method::POST, &format!("{P}/environments"), Some(json!({"key": "production"})), 201).await;
    admin.ok(Method::POST, &format!("{P}/flags"), Some(json!({"key": "checkout", "kind": "boolean"})), 201).await;
}

/// A well-formed secret of `kind` that no credential has.
fn bad_secret(kind: &str) -> String {
    random_token(match kind {
        "api_token" => "sya",
        "sdk_key" => "sdk",
        _ => "trg",
    })
}

/// One request presenting `secret` as a credential of `kind`, on the route
/// an attacker would flood: kill (API token), stream connect (SDK key), the
/// trigger hook.
fn attempt(http: &reqwest::Client, server: &TestServer, kind: &str, secret: &str) -> reqwest::RequestBuilder {
    match kind {
        "api_token" => http.post(server.url(&format!("{FLAG}/kill"))).bearer_auth(secret).json(&json!({"reason": "x"})),
        "sdk_key" => http.get(server.url("/sdk/v1/stream")).bearer_auth(secret),
        _ => http.post(server.url(&format!("/hooks/v1/triggers/{secret}"))),
    }
}

/// The status a failed credential of `kind` answers (below the limits).
fn rejected(kind: &str) -> StatusCode {
    if kind == "trigger" { StatusCode::NOT_FOUND } else { StatusCode::UNAUTHORIZED }
}

/// Store lookups of `kind` so far, from the server's `/metrics`.
async fn lookups(server: &TestServer, kind: &str) -> u64 {
    let body = server.metrics().await;
    let label = format!("kind=\"{kind}\"");
    body.lines()
        .filter(|l| l.starts_with("switchyard_credential_lookups_total") && l.contains(&label))
        .find_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

async fn for_each_store<F, Fut>(config: impl Fn(String) -> ServeConfig, test: F)
where
    F: Fn(TestServer, &'static str) -> Fut,
    Fut: std::future::Future<Output = TestServer>,
{
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = TestServer::start_with(config(db.url())).await;
        let server = test(server, db.label()).await;
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_repeated_bad_credential_reaches_the_store_at_most_five_times_per_thousand() {
    for_each_store(ServeConfig::for_tests, |server, store| async move {
        seed(&Api::new(&server, Some(&server.admin_token))).await;
        let http = reqwest::Client::new();
        for kind in KINDS {
            let secret = bad_secret(kind);
            let before = lookups(&server, kind).await;
            for i in 0..1000 {
                let resp = attempt(&http, &server, kind, &secret).send().await.expect("request");
                let status = resp.status();
                assert!(status == rejected(kind) || status == StatusCode::TOO_MANY_REQUESTS, "{kind} #{i}: {status}");
                assert_eq!(resp.headers()["content-type"], "application/problem+json", "{kind} #{i}");
            }
            let reached = lookups(&server, kind).await - before;
            eprintln!("FIGURE {store} {kind}: {reached} store lookups per 1,000 repeated bad credentials");
            if std::env::var_os("FLOODS_MEASURE_ONLY").is_none() {
                assert!(reached <= 5, "{store} {kind}: {reached} store lookups for 1,000 repeated bad credentials");
            }
        }
        server
    })
    .await;
}

#[tokio::test]
async fn creating_a_credential_forgets_the_unknown_ones_of_its_kind() {
    for_each_store(ServeConfig::for_tests, |server, store| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let http = reqwest::Client::new();
        let create = |kind: &str| match kind {
            "api_token" => ("/api/v1/tokens".to_string(), json!({"name": "new", "role": "viewer"})),
            "sdk_key" => (format!("{P}/environments/production/sdk-keys"), json!({"name": "new"})),
            _ => (format!("{FLAG}/triggers"), json!({"name": "new", "action": "kill"})),
        };
        for kind in KINDS {
            let secret = bad_secret(kind);
            let before = lookups(&server, kind).await;
            for _ in 0..3 {
                assert_eq!(attempt(&http, &server, kind, &secret).send().await.unwrap().status(), rejected(kind));
            }
            assert_eq!(lookups(&server, kind).await - before, 1, "{store} {kind}: remembered as unknown");
            let (path, body) = create(kind);
            admin.ok(Method::POST, &path, Some(body), 201).await;
            assert_eq!(attempt(&http, &server, kind, &secret).send().await.unwrap().status(), rejected(kind));
            assert_eq!(lookups(&server, kind).await - before, 2, "{store} {kind}: a creation asks the store again");
        }
        server
    })
    .await;
}

/// The `Retry-After` of a 429, checking its problem body.
async fn retry_after(resp: reqwest::Response) -> u64 {
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let wait = resp.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "rate_limited");
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    wait
}

#[tokio::test]
async fn failed_authentication_is_limited_per_credential_and_per_address() {
    let limited = |url: String| {
        let mut config = ServeConfig::for_tests(url);
        config.credential_failure_rate_per_minute = 5;
        config.auth_failure_rate_per_minute = 20;
        config
    };
    for_each_store(limited, |server, store| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let http = reqwest::Client::new();
        // One bad SDK key: five failures, then 429 — a spoofed
        // X-Forwarded-For (no trusted proxy) does not reset it.
        let secret = bad_secret("sdk_key");
        for i in 0..5 {
            let resp = attempt(&http, &server, "sdk_key", &secret).header("x-forwarded-for", format!("203.0.113.{i}"));
            assert_eq!(resp.send().await.unwrap().status(), 401, "{store} failure {i}");
        }
        retry_after(attempt(&http, &server, "sdk_key", &secret).send().await.unwrap()).await;
        // Distinct bad credentials of every kind from the same address: the
        // address's budget (20 failures a minute) runs out whatever the kind.
        let mut first_429 = None;
        for i in 0..30 {
            let kind = KINDS[i % 3];
            let resp = attempt(&http, &server, kind, &bad_secret(kind)).send().await.unwrap();
            if resp.status() == 429 {
                retry_after(resp).await;
                first_429.get_or_insert(i);
            } else {
                assert_eq!(resp.status(), rejected(kind), "{store} {kind} #{i}");
            }
        }
        let first = first_429.expect("the address is limited");
        assert!(first >= 13, "{store}: refused after {} failures from the address, below its 20", first + 6);
        // Limits count failures: valid credentials from the blocked address work.
        admin.ok(Method::GET, "/api/v1/projects", None, 200).await;
        let token = admin.post("/api/v1/tokens", json!({"name": "pager", "role": "responder"})).await.1;
        let responder = Api::new(&server, token["secret"].as_str());
        responder.ok(Method::POST, &format!("{FLAG}/kill"), Some(json!({"reason": "still works"})), 200).await;
        server
    })
    .await;
}

#[tokio::test]
async fn per_credential_limit_holds_across_addresses_behind_a_trusted_proxy() {
    let proxied = |url: String| {
        let mut config = ServeConfig::for_tests(url);
        config.credential_failure_rate_per_minute = 5;
        config.auth_failure_rate_per_minute = 5;
        config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        config
    };
    for_each_store(proxied, |server, store| async move {
        let http = reqwest::Client::new();
        let secret = bad_secret("api_token");
        let from = |i: usize| {
            attempt(&http, &server, "api_token", &secret).header("x-forwarded-for", format!("203.0.113.{i}"))
        };
        for i in 0..5 {
            assert_eq!(from(i).send().await.unwrap().status(), 401, "{store} failure {i}");
        }
        // The same bad token from a sixth address: refused for the token.
        retry_after(from(5).send().await.unwrap()).await;
        // Another address's fresh bad credentials are its own budget.
        let other =
            attempt(&http, &server, "sdk_key", &bad_secret("sdk_key")).header("x-forwarded-for", "198.51.100.1");
        assert_eq!(other.send().await.unwrap().status(), 401, "{store}");
        server
    })
    .await;
}

#[tokio::test]
async fn a_responder_kills_at_the_floor_while_the_same_address_floods_bad_credentials() {
    let strict = |url: String| {
        let mut config = ServeConfig::for_tests(url);
        config.auth_failure_rate_per_minute = 10;
        config.credential_failure_rate_per_minute = 3;
        config
    };
    for_each_store(strict, |server, store| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let token = admin.post("/api/v1/tokens", json!({"name": "pager", "role": "responder"})).await.1;
        let responder = Api::new(&server, token["secret"].as_str());

        // The attacker: bad API tokens on the kill route (repeated and
        // fresh), bad SDK keys and trigger secrets, from 127.0.0.1 too.
        let server = Arc::new(server);
        let stop = Arc::new(AtomicBool::new(false));
        let throttled = Arc::new(AtomicUsize::new(0));
        let attacker = {
            let (server, stop, throttled) = (Arc::clone(&server), Arc::clone(&stop), Arc::clone(&throttled));
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let repeated = bad_secret("api_token");
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let kind = KINDS[i % 3];
                    let secret = if i.is_multiple_of(2) { repeated.clone() } else { bad_secret(kind) };
                    let status = attempt(&http, &server, kind, &secret).send().await.unwrap().status();
                    assert!(status.is_client_error(), "attacker got {status}");
                    if status == 429 {
                        throttled.fetch_add(1, Ordering::Relaxed);
                    }
                    i += 1;
                }
            })
        };

        // The responder: kill and restore at the floor rate for 3 seconds.
        let mut tick = tokio::time::interval(Duration::from_millis(1000 / FLOOR_PER_SECOND));
        for i in 0..3 * FLOOR_PER_SECOND {
            tick.tick().await;
            let (method, body) = if i.is_multiple_of(2) {
                (Method::POST, json!({"reason": format!("incident step {i}")}))
            } else {
                (Method::DELETE, json!({"reason": format!("restore step {i}")}))
            };
            let (status, answer) = responder.call(method, &format!("{FLAG}/kill"), Some(body)).await;
            assert_eq!(status, 200, "{store}: responder kill #{i} during the flood: {answer}");
        }
        stop.store(true, Ordering::Relaxed);
        attacker.await.expect("attacker");
        assert!(throttled.load(Ordering::Relaxed) > 0, "{store}: the flooding address was never limited");
        Arc::try_unwrap(server).ok().expect("sole owner")
    })
    .await;
}

#[tokio::test]
async fn an_sdk_over_the_failure_limit_still_reports_unauthorized() {
    let strict = |url: String| {
        let mut config = ServeConfig::for_tests(url);
        config.credential_failure_rate_per_minute = 1;
        config
    };
    for_each_store(strict, |server, store| async move {
        // A fleet sharing one revoked (here: unknown) key: the first
        // instance spends the key's failure budget, the next ones get 429 —
        // and must still say "unauthorized" and back off as for a 401, not
        // report a transient error and retry at once.
        let key = bad_secret("sdk_key");
        for instance in 0..3 {
            let client = switchyard::Client::builder(&key).base_url(&server.base).build().expect("client");
            match client.wait_until_ready(Duration::from_secs(30)).await {
                Err(switchyard::Error::Unauthorized) => {}
                other => panic!("{store}: instance {instance}: expected Unauthorized, got {other:?}"),
            }
            assert_eq!(client.status(), switchyard::Status::Unauthorized, "{store}: instance {instance}");
        }
        let resp = attempt(&reqwest::Client::new(), &server, "sdk_key", &key).send().await.unwrap();
        assert_eq!(resp.headers()["www-authenticate"], "Bearer error=\"invalid_token\"");
        retry_after(resp).await;
        server
    })
    .await;
}
