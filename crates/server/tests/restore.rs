//! A database restored to an earlier state: SDKs hold a revision the store
//! no longer has. The server answers their resume with a `reset` event (and
//! their polls with `x-switchyard-reset`), the SDKs replace what they hold,
//! and later changes apply on top of the restored state, not on top of the
//! lost one.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchyard::{Client, Context};
use switchyard_server::config::ServeConfig;
use switchyard_server::testing::{Api, TestDb, TestServer};
use tokio::net::TcpListener;

const P: &str = "/api/v1/projects/shop";
const PROD: &str = "/api/v1/projects/shop/environments/production";

async fn write(admin: &Api, path: &str, body: Value) -> Value {
    admin.ok(reqwest::Method::POST, path, Some(body), if path.ends_with("/flags") { 201 } else { 200 }).await
}

/// Waits until `sdk` serves `revision`.
async fn until_revision(sdk: &Client, revision: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while sdk.revision() != Some(revision) {
        assert!(Instant::now() < deadline, "{what}: the SDK stayed at {:?}, expected {revision}", sdk.revision());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts a server on `addr` (where a stopped one listened).
async fn restart_at(url: &str, addr: SocketAddr) -> TestServer {
    let deadline = Instant::now() + Duration::from_secs(10);
    let listener = loop {
        match TcpListener::bind(addr).await {
            Ok(l) => break l,
            Err(e) if Instant::now() < deadline => {
                tracing::debug!(error = %e, "port still busy");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("rebinding {addr}: {e}"),
        }
    };
    TestServer::start_on(ServeConfig::for_tests(url), listener).await
}

#[tokio::test]
async fn sdks_follow_a_database_restored_to_an_earlier_revision() {
    let db = TestDb::sqlite();
    let TestDb::Sqlite { dir } = &db else { unreachable!() };
    let file = dir.join("switchyard.db");
    let backup = dir.join("backup.db");

    let server = TestServer::start(&db.url()).await;
    let addr: SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let admin = Api::new(&server, Some(&server.admin_token));
    admin.ok(reqwest::Method::POST, "/api/v1/projects", Some(json!({"key": "shop"})), 201).await;
    admin.ok(reqwest::Method::POST, &format!("{P}/environments"), Some(json!({"key": "production"})), 201).await;
    write(&admin, &format!("{P}/flags"), json!({"key": "checkout", "kind": "boolean"})).await;
    let key =
        admin.ok(reqwest::Method::POST, &format!("{PROD}/sdk-keys"), Some(json!({"name": "svc"})), 201).await["secret"]
            .as_str()
            .unwrap()
            .to_string();
    let restored = write(&admin, &format!("{PROD}/flags/checkout/toggle"), json!({"on": true})).await["revision"]
        .as_u64()
        .unwrap();

    // The backup: the state at `restored` (checkout on, no `later` flag).
    let conn = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display())).await.unwrap();
    sqlx::query(&format!("VACUUM INTO '{}'", backup.display())).execute(&conn).await.unwrap();
    conn.close().await;

    // A streaming SDK and a polling one, both past the backup.
    let fast = Duration::from_millis(50);
    let streaming = Client::builder(key.clone())
        .base_url(server.base.clone())
        .initial_backoff(fast)
        .max_backoff(fast)
        .build()
        .unwrap();
    let polling = Client::builder(key.clone())
        .base_url(server.base.clone())
        .streaming(false)
        .polling_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    for sdk in [&streaming, &polling] {
        sdk.wait_until_ready(Duration::from_secs(10)).await.unwrap();
    }
    write(&admin, &format!("{P}/flags"), json!({"key": "later", "kind": "boolean"})).await;
    write(&admin, &format!("{PROD}/flags/later/toggle"), json!({"on": true})).await;
    let lost = write(&admin, &format!("{PROD}/flags/checkout/toggle"), json!({"on": false})).await["revision"]
        .as_u64()
        .unwrap();
    assert!(lost > restored + 2, "{lost} vs {restored}");
    let ctx = Context::new("u1");
    for sdk in [&streaming, &polling] {
        until_revision(sdk, lost, "before the restore").await;
        assert!(!sdk.bool_value("checkout", &ctx, true));
        assert!(sdk.bool_value("later", &ctx, false));
    }

    // Restore: stop (streams get `goaway`, as on SIGTERM), put the backup
    // in place, start on the same address.
    server.state.hub.shutdown();
    server.stop().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    std::fs::copy(&backup, &file).unwrap();
    let server = restart_at(&db.url(), addr).await;
    let admin = Api::new(&server, Some(&server.admin_token));

    for (sdk, what) in [(&streaming, "streaming (reset event)"), (&polling, "polling (reset header)")] {
        until_revision(sdk, restored, what).await;
        assert!(sdk.bool_value("checkout", &ctx, false), "{what}: checkout is on in the restored state");
        assert_eq!(sdk.bool_detail("later", &ctx, false).reason.code(), "FLAG_NOT_FOUND", "{what}");
    }

    // The next change applies on top of the restored state.
    let next = write(&admin, &format!("{PROD}/flags/checkout/toggle"), json!({"on": false})).await["revision"]
        .as_u64()
        .unwrap();
    assert_eq!(next, restored + 1);
    let (_, served) = admin.get(&format!("{PROD}/flags/checkout")).await;
    for sdk in [&streaming, &polling] {
        until_revision(sdk, next, "after the restore").await;
        assert!(!sdk.bool_value("checkout", &ctx, true));
        assert_eq!(sdk.snapshot().unwrap().flag_keys().collect::<Vec<_>>(), vec!["checkout"]);
    }
    assert_eq!(served["config"]["on"], json!(false));

    drop((streaming, polling));
    server.stop().await;
    db.cleanup().await;
}
