//! A change made through the admin API reaches a connected SDK: on one
//! server (SQLite and Postgres) and, on Postgres, across replicas (the SDK
//! on replica B, the write sent to replica A; LISTEN/NOTIFY carries it).

use std::time::Duration;

use serde_json::json;
use switchyard::{Client, Context, Reason};
use switchyard_e2e::{Admin, FlagSpec, Server, TestDb, eventually, flag_path, sdk, seed, wait_converged};

/// Toggles and edits on `writer` become the evaluations of a client
/// connected to `reader` (the same server or another replica).
async fn changes_reach_the_sdk(writer: &Admin, client: &Client, reader_base: &str, sdk_key: &str) {
    let ctx = Context::new("user-1").with("plan", "pro");
    client.wait_until_ready(Duration::from_secs(30)).await.expect("SDK ready");
    assert!(!client.bool_value("checkout", &ctx, true), "a new flag is off");
    assert_eq!(client.bool_detail("checkout", &ctx, true).reason, Reason::Off);

    writer.toggle("checkout", true).await.expect("a revision");
    eventually("the SDK serves checkout = on", || async { client.bool_value("checkout", &ctx, false) }).await;
    assert_eq!(client.bool_detail("checkout", &ctx, false).reason, Reason::Fallthrough);

    // A rule edit: pro users get `red`, everyone else the fallthrough.
    writer.toggle("banner", true).await.expect("a revision");
    let cfg = writer.config("banner").await;
    let mut body = cfg["config"].clone();
    body["version"] = cfg["version"].clone();
    body["rules"] = json!([{"id": "pro", "clauses": [{"attribute": "plan", "op": "equals", "values": ["pro"]}], "serve": {"variant": "red"}}]);
    body["fallthrough"] = json!({"variant": "blue"});
    let written = writer.expect(reqwest::Method::PUT, &flag_path("banner"), Some(body), 200).await;
    let revision = written["revision"].as_u64().expect("a revision");
    eventually("the SDK applies the rule edit", || async { client.revision() >= Some(revision) }).await;
    assert_eq!(client.string_value("banner", &ctx, "none"), "red");
    let detail = client.string_detail("banner", &Context::new("user-2"), "none");
    assert_eq!((detail.value.as_str(), &detail.reason), ("blue", &Reason::Fallthrough));

    writer.toggle("checkout", false).await.expect("a revision");
    eventually("the SDK serves checkout = off again", || async { !client.bool_value("checkout", &ctx, true) }).await;
    wait_converged(client, reader_base, sdk_key).await;
}

fn flags() -> Vec<FlagSpec> {
    vec![FlagSpec::boolean("checkout"), FlagSpec::string("banner", &["red", "green", "blue"])]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_toggle_reaches_a_connected_sdk() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = Server::start(&db.url()).await;
        let admin = server.admin();
        let seeded = seed(&admin, &flags()).await;
        let client = sdk(&server.base, &seeded.sdk_key);
        changes_reach_the_sdk(&admin, &client, &server.base, &seeded.sdk_key).await;
        drop(client);
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_toggle_on_replica_a_reaches_an_sdk_on_replica_b() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let a = Server::start(&db.url()).await;
    let b = Server::start(&db.url()).await;
    let admin_a = a.admin();
    let seeded = seed(&admin_a, &flags()).await;
    let client = sdk(&b.base, &seeded.sdk_key);
    changes_reach_the_sdk(&admin_a, &client, &b.base, &seeded.sdk_key).await;
    // Both replicas serve the same snapshot.
    let from_a = switchyard_e2e::server_snapshot(&a.base, &seeded.sdk_key).await;
    let from_b = switchyard_e2e::server_snapshot(&b.base, &seeded.sdk_key).await;
    assert_eq!(from_a, from_b);
    drop(client);
    a.stop().await;
    b.stop().await;
    db.cleanup().await;
}
