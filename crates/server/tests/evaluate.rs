//! `evaluate-as` over real HTTP on both stores: the compiled snapshot is
//! cached per (environment, revision), and every write that moves the
//! revision is seen by the next evaluation (toggles, rule edits, kills),
//! in the environment it was made in only. OFREP's evaluations, which
//! share the cache, read their writes too, on one replica and across two.

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::testing::{Api, TestDb, TestServer, for_each_store};

const P: &str = "/api/v1/projects/shop";
const PROD: &str = "/api/v1/projects/shop/environments/production";
const STAGING: &str = "/api/v1/projects/shop/environments/staging";

async fn seed(admin: &Api) {
    admin.ok(Method::POST, "/api/v1/projects", Some(json!({"key": "shop", "name": "Shop"})), 201).await;
    for env in ["staging", "production"] {
        admin.ok(Method::POST, &format!("{P}/environments"), Some(json!({"key": env})), 201).await;
    }
    let flag = json!({"key": "new-checkout", "kind": "boolean"});
    admin.ok(Method::POST, &format!("{P}/flags"), Some(flag), 201).await;
}

/// `(revision, value of new-checkout)` for a context in an environment.
async fn evaluate(api: &Api, env: &str, country: &str) -> (u64, Value) {
    let body = json!({"context": {"key": "u1", "attributes": {"country": country}}, "flags": ["new-checkout"]});
    let out = api.ok(Method::POST, &format!("{env}/evaluate"), Some(body), 200).await;
    (out["revision"].as_u64().expect("revision"), out["results"]["new-checkout"]["value"].clone())
}

async fn toggle(api: &Api, env: &str, on: bool) -> u64 {
    let path = format!("{env}/flags/new-checkout/toggle");
    let out = api.ok(Method::POST, &path, Some(json!({"on": on, "reason": "test"})), 200).await;
    out["revision"].as_u64().expect("revision")
}

#[tokio::test]
async fn evaluate_as_follows_every_write_per_environment() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let (r0, value) = evaluate(&admin, PROD, "SE").await;
        assert_eq!(value, json!(false));
        assert_eq!(evaluate(&admin, PROD, "SE").await, (r0, json!(false)), "a cached hit answers the same");

        // Toggles, back and forth: each evaluation sees the write just made.
        for round in 0..3 {
            let on = toggle(&admin, PROD, true).await;
            assert_eq!(evaluate(&admin, PROD, "SE").await, (on, json!(true)), "round {round}: on");
            let off = toggle(&admin, PROD, false).await;
            assert_eq!(evaluate(&admin, PROD, "SE").await, (off, json!(false)), "round {round}: off");
        }
        // The other environment's entry is its own.
        assert_eq!(evaluate(&admin, STAGING, "SE").await.1, json!(false));
        let on = toggle(&admin, STAGING, true).await;
        assert_eq!(evaluate(&admin, STAGING, "SE").await, (on, json!(true)));
        assert_eq!(evaluate(&admin, PROD, "SE").await.1, json!(false), "production untouched");

        // A rule edit: only its context changes.
        let path = format!("{PROD}/flags/new-checkout");
        let mut config = admin.ok(Method::GET, &path, None, 200).await;
        let mut body = config["config"].take();
        body["version"] = config["version"].clone();
        body["on"] = json!(true);
        body["fallthrough"] = json!({"variant": "off"});
        body["rules"] = json!([{"id": "se", "clauses": [{"attribute": "country", "op": "in", "values": ["SE"]}],
            "serve": {"variant": "on"}}]);
        admin.ok(Method::PUT, &path, Some(body), 200).await;
        assert_eq!(evaluate(&admin, PROD, "SE").await.1, json!(true));
        assert_eq!(evaluate(&admin, PROD, "DE").await.1, json!(false));

        // A kill serves the off variant to everyone; a restore undoes it.
        admin.ok(Method::POST, &format!("{path}/kill"), Some(json!({"reason": "incident"})), 200).await;
        assert_eq!(evaluate(&admin, PROD, "SE").await.1, json!(false), "killed");
        admin.ok(Method::DELETE, &format!("{path}/kill"), Some(json!({"reason": "fixed"})), 200).await;
        assert_eq!(evaluate(&admin, PROD, "SE").await.1, json!(true), "restored");
        assert_eq!(server.state.compiled.len(), 2, "one entry per environment");
        server
    })
    .await;
}

/// Two replicas on one Postgres database: a write on one is seen by the
/// other's next evaluation, though its cache held the older revision.
#[tokio::test]
async fn evaluate_as_sees_writes_of_another_replica() {
    let Some(db) = TestDb::postgres().await else { return };
    let a = TestServer::start(&db.url()).await;
    let b = TestServer::start(&db.url()).await;
    let (on_a, on_b) = (Api::new(&a, Some(&a.admin_token)), Api::new(&b, Some(&b.admin_token)));
    seed(&on_a).await;
    assert_eq!(evaluate(&on_b, PROD, "SE").await.1, json!(false));
    for on in [true, false, true] {
        let revision = toggle(&on_a, PROD, on).await;
        assert_eq!(evaluate(&on_b, PROD, "SE").await, (revision, json!(on)));
    }
    a.stop().await;
    b.stop().await;
    db.cleanup().await;
}

/// The secret of a new SDK key of `env`.
async fn sdk_key(admin: &Api, env: &str) -> String {
    let key = admin.ok(Method::POST, &format!("{env}/sdk-keys"), Some(json!({"name": "ofrep"})), 201).await;
    key["secret"].as_str().expect("secret").to_string()
}

/// `new-checkout` for a context in Sweden, evaluated over OFREP with `secret`.
async fn ofrep(server: &TestServer, secret: &str) -> Value {
    let body = json!({"context": {"targetingKey": "u1", "country": "SE"}});
    let resp = reqwest::Client::new()
        .post(server.url("/ofrep/v1/evaluate/flags/new-checkout"))
        .bearer_auth(secret)
        .json(&body)
        .send()
        .await
        .expect("ofrep");
    assert_eq!(resp.status(), 200);
    resp.json::<Value>().await.expect("json")["value"].clone()
}

/// OFREP takes the revision from the hub on a single-instance store: safe
/// because a write is recorded there before it returns (checked here on
/// both stores, after every write), so the next evaluation sees it.
#[tokio::test]
async fn ofrep_reads_its_writes_and_the_hub_knows_each_write_before_it_returns() {
    for_each_store(|server| async move {
        let admin = Api::new(&server, Some(&server.admin_token));
        seed(&admin).await;
        let secret = sdk_key(&admin, PROD).await;
        let env_id = server.state.store.get_environment("shop", "production").await.expect("env").id;
        assert_eq!(ofrep(&server, &secret).await, json!(false));
        for on in [true, false, true, false] {
            let revision = toggle(&admin, PROD, on).await;
            assert_eq!(server.state.hub.committed(env_id), Some(revision), "recorded before the write returned");
            assert_eq!(ofrep(&server, &secret).await, json!(on), "the next evaluation sees the write");
        }
        server
    })
    .await;
}

/// Two replicas on one Postgres database: OFREP on one sees a write made
/// on the other at once (it reads the store: its hub hears of the write
/// only later).
#[tokio::test]
async fn ofrep_sees_writes_of_another_replica() {
    let Some(db) = TestDb::postgres().await else { return };
    let a = TestServer::start(&db.url()).await;
    let b = TestServer::start(&db.url()).await;
    let on_a = Api::new(&a, Some(&a.admin_token));
    seed(&on_a).await;
    let secret = sdk_key(&on_a, PROD).await;
    assert_eq!(ofrep(&b, &secret).await, json!(false));
    for on in [true, false, true] {
        toggle(&on_a, PROD, on).await;
        assert_eq!(ofrep(&b, &secret).await, json!(on));
    }
    a.stop().await;
    b.stop().await;
    db.cleanup().await;
}
