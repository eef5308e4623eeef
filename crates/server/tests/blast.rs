//! Blast radius (issue 17 part 4) over real sockets, on SQLite and
//! Postgres, with real SDK clients as the fleet: five instances of four
//! services, four with telemetry, evaluate known numbers of two flags; the
//! blast radius (`GET …/blast-radius`, the kill's and the panic's
//! `?dry_run=true`, `switchyard kill --dry-run`) reports exactly those
//! instances, evaluations, variants and services, and writes nothing (the
//! environment's revision, the flag's kill state, the audit log and what
//! the SDKs serve are unchanged). A viewer may read it; bad input is a 4xx.

use std::process::Output;
use std::time::Duration;

use serde_json::{Value, json};
use switchyard::Context;
use switchyard_server::testing::{TestServer, for_each_store};

const ENV: &str = "/api/v1/projects/shop/environments/production";

async fn send(
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
    let (status, answer) = send(server, reqwest::Method::POST, path, &server.admin_token, Some(body)).await;
    assert!((200..300).contains(&status), "{path}: {status} {answer}");
    answer
}

async fn get(server: &TestServer, path: &str, token: &str) -> (u16, Value) {
    send(server, reqwest::Method::GET, path, token, None).await
}

/// Project `shop`, environment `production`, flags `checkout` (on) and
/// `search` (off), both tagged `payments`, and `banner`; an SDK key.
async fn seed(server: &TestServer) -> String {
    admin(server, "/api/v1/projects", json!({"key": "shop"})).await;
    admin(server, "/api/v1/projects/shop/environments", json!({"key": "production"})).await;
    for (flag, tags) in [("checkout", json!(["payments"])), ("search", json!(["payments"])), ("banner", json!([]))] {
        admin(server, "/api/v1/projects/shop/flags", json!({"key": flag, "kind": "boolean", "tags": tags})).await;
    }
    admin(server, &format!("{ENV}/flags/checkout/toggle"), json!({"on": true})).await;
    // `upsell` needs `checkout` on: a kill of checkout turns it off too.
    admin(server, "/api/v1/projects/shop/flags", json!({"key": "upsell", "kind": "boolean"})).await;
    let config = json!({"version": 1, "reason": "needs checkout", "on": true, "off_variant": "off",
        "fallthrough": {"variant": "on"}, "prerequisites": [{"flag": "checkout", "variant": "on"}]});
    let (status, answer) =
        send(server, reqwest::Method::PUT, &format!("{ENV}/flags/upsell"), &server.admin_token, Some(config)).await;
    assert_eq!(status, 200, "{answer}");
    let key = admin(server, &format!("{ENV}/sdk-keys"), json!({"name": "fleet"})).await;
    key["secret"].as_str().unwrap().to_string()
}

fn sdk(server: &TestServer, key: &str, service: &str, telemetry: bool) -> switchyard::Client {
    switchyard::Client::builder(key)
        .base_url(server.base.as_str())
        .service_name(service)
        .telemetry(telemetry)
        .telemetry_flush_interval(Duration::from_secs(3600))
        .build()
        .unwrap()
}

/// Polls the blast radius of `query` until `check` holds (at most 30 s).
async fn until(server: &TestServer, query: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, radius) = get(server, &format!("{ENV}/blast-radius?{query}"), &server.admin_token).await;
        assert_eq!(status, 200, "{radius}");
        if check(&radius) {
            return radius;
        }
        assert!(tokio::time::Instant::now() < deadline, "{query}: {radius}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// (service, connected, evaluating, evaluations) per service row.
fn services(rows: &Value) -> Vec<(String, u64, u64, u64)> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let n = |k: &str| s[k].as_u64().unwrap();
            (s["service"].as_str().unwrap_or("-").to_string(), n("connected"), n("evaluating"), n("evaluations"))
        })
        .collect()
}

fn row(service: &str, connected: u64, evaluating: u64, evaluations: u64) -> (String, u64, u64, u64) {
    (service.to_string(), connected, evaluating, evaluations)
}

/// What must stay unchanged by a dry run: the revision, the kill state, the audit log.
async fn state(server: &TestServer) -> (Value, Value, usize) {
    let env = get(server, ENV, &server.admin_token).await.1;
    let config = get(server, &format!("{ENV}/flags/checkout"), &server.admin_token).await.1;
    let audit = get(server, "/api/v1/projects/shop/audit?limit=100", &server.admin_token).await.1;
    let events = audit["items"].as_array().map_or(0, Vec::len);
    (env["revision"].clone(), config["config"]["kill"].clone(), events)
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
    let out = String::from_utf8_lossy(&stdout).into_owned() + &String::from_utf8_lossy(&stderr);
    (status.code().expect("exit code"), out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blast_radius_is_what_the_fleet_evaluates_and_a_dry_run_writes_nothing() {
    for_each_store(|server| async move {
        let key = seed(&server).await;
        let fleet = [
            ("web", true, 5, 0),
            ("web", true, 7, 0),
            ("api", true, 3, 4),
            ("batch", true, 0, 2),
            ("legacy", false, 9, 0), // telemetry off: evaluates, but nobody can tell
        ];
        let mut clients = Vec::new();
        for (service, telemetry, checkout, search) in fleet {
            let client = sdk(&server, &key, service, telemetry);
            client.wait_until_ready(Duration::from_secs(10)).await.unwrap();
            let ctx = Context::new("user-1");
            for _ in 0..checkout {
                assert!(client.bool_value("checkout", &ctx, false), "checkout is on");
            }
            for _ in 0..search {
                assert!(!client.bool_value("search", &ctx, true), "search is off");
            }
            client.flush().await.unwrap();
            clients.push(client);
        }
        let radius = until(&server, "flags=checkout", |r| r["connected"] == 5 && r["evaluating"] == 3).await;
        assert_eq!((radius["without_telemetry"].as_u64(), radius["window_minutes"].as_u64()), (Some(1), Some(15)));
        assert_eq!((radius["replicas"].as_u64(), radius["unanswered"].clone()), (Some(1), json!([])));
        let flag = &radius["flags"][0];
        assert_eq!(
            (flag["flag"].as_str(), flag["killed"].as_bool(), flag["serves"].as_str()),
            (Some("checkout"), Some(false), Some("off"))
        );
        assert_eq!((flag["evaluations"].as_u64(), flag["evaluating"].as_u64()), (Some(15), Some(3)), "{flag}");
        assert_eq!(flag["variants"], json!([{"variant": "on", "evaluations": 15}]));
        assert_eq!(flag["per_minute"].as_f64(), Some(1.0));
        assert_eq!((flag["dependents"].clone(), radius["flags"].as_array().unwrap().len()), (json!(["upsell"]), 1));
        let expected = [row("web", 2, 2, 12), row("api", 1, 1, 3), row("batch", 1, 0, 0), row("legacy", 1, 0, 0)];
        assert_eq!(services(&flag["services"]), expected);
        assert_eq!(services(&radius["services"]), expected, "one flag: the totals are the flag's");

        // The kill's and the panic's dry runs answer the same and write nothing.
        let before = state(&server).await;
        let kill = format!("{ENV}/flags/checkout/kill?dry_run=true");
        let (status, dry) =
            send(&server, reqwest::Method::POST, &kill, &server.admin_token, Some(json!({"reason": "x"}))).await;
        assert_eq!(status, 200, "{dry}");
        assert_eq!(
            (dry["evaluating"].as_u64(), dry.get("revision").is_some(), dry.get("written")),
            (Some(3), true, None)
        );
        assert_eq!(services(&dry["flags"][0]["services"]), expected);
        let panic = format!("{ENV}/kill?dry_run=true");
        let body = json!({"tag": "payments", "reason": "x"});
        let (status, dry) = send(&server, reqwest::Method::POST, &panic, &server.admin_token, Some(body)).await;
        assert_eq!(status, 200, "{dry}");
        let flags: Vec<&str> = dry["flags"].as_array().unwrap().iter().map(|f| f["flag"].as_str().unwrap()).collect();
        assert_eq!(flags, ["checkout", "search"]);
        assert_eq!(dry["evaluating"].as_u64(), Some(4), "web x2, api, batch: {dry}");
        let search = &dry["flags"][1];
        assert_eq!(search["dependents"], json!([]));
        assert_eq!(
            (search["evaluations"].as_u64(), search["variants"].clone()),
            (Some(6), json!([{"variant": "off", "evaluations": 6}]))
        );
        assert_eq!(services(&search["services"])[..2], [row("api", 1, 1, 4), row("batch", 1, 1, 2)]);
        assert_eq!(services(&dry["services"])[..2], [row("web", 2, 2, 12), row("api", 1, 1, 7)]);
        let (code, out) = cli(&server, &["kill", "checkout", "-e", "production", "--dry-run"]).await;
        assert_eq!(code, 0, "{out}");
        assert!(
            out.starts_with(
                "DRY RUN (nothing changed): killing in production reaches 5 connected instance(s); 3 evaluated"
            ),
            "{out}"
        );
        assert!(out.contains("served on 15; killed it serves `off`") && out.contains("web"), "{out}");
        assert!(out.contains("its prerequisite dependents serve their off variant too: upsell"), "{out}");
        assert_eq!(state(&server).await, before, "revision, kill state and audit log unchanged");
        assert!(clients[0].bool_value("checkout", &Context::new("user-1"), false), "the SDKs still serve it");

        // A viewer may read it; bad input is a 4xx and changes nothing.
        let viewer = admin(&server, "/api/v1/tokens", json!({"name": "v", "role": "viewer"})).await;
        let viewer = viewer["secret"].as_str().unwrap();
        assert_eq!(get(&server, &format!("{ENV}/blast-radius?flags=checkout"), viewer).await.0, 200);
        let (status, problem) = get(&server, &format!("{ENV}/blast-radius?flags=nope"), viewer).await;
        assert_eq!(status, 404, "{problem}");
        let (status, problem) = get(&server, &format!("{ENV}/blast-radius?flags=,"), viewer).await;
        assert_eq!((status, problem["errors"][0]["path"].as_str()), (422, Some("flags")), "{problem}");
        let (status, _) = send(
            &server,
            reqwest::Method::POST,
            &format!("{ENV}/flags/checkout/kill?dry_run=maybe"),
            &server.admin_token,
            Some(json!({"reason": "x"})),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(state(&server).await, before);

        // A real kill: the radius then says so.
        admin(&server, &format!("{ENV}/flags/checkout/kill"), json!({"reason": "real"})).await;
        let after = until(&server, "flags=checkout", |r| r["flags"][0]["killed"] == true).await;
        assert_eq!(after["flags"][0]["serves"], "off");
        drop(clients);
        server
    })
    .await;
}
