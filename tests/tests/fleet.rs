//! The fleet view end to end: real SDK clients, each in its own process
//! (`sdk_instance`), name their service when they connect; `GET
//! …/environments/production/fleet` lists each with its service, version,
//! SDK, transport (SSE or snapshot polls) and revision. One instance sits
//! behind a proxy that stops forwarding server→client bytes: after a
//! toggle it shows as lagging one revision (with how long), the others as
//! current; once the proxy forwards again it catches up. On Postgres the
//! laggard streams from a second replica and the view is asked of the
//! first (the replicas' rows are merged); on SQLite there is one server.

use std::process::Stdio;

use serde_json::Value;
use switchyard_e2e::{Admin, DEADLINE, ENV_PATH, FlagSpec, Server, StallProxy, TestDb, seed};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// An SDK instance in its own process; dropping it closes its standard
/// input, which ends it (and `kill_on_drop` makes sure).
struct Instance {
    child: Child,
}

impl Instance {
    async fn start(base: &str, key: &str, service: &str, version: &str, mode: &str) -> Instance {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sdk_instance"))
            .args([base, key, service, version, "checkout", mode])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawning sdk_instance");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        loop {
            let line = lines.next_line().await.expect("reading sdk_instance").expect("sdk_instance ended before ready");
            if line == "ready" {
                break;
            }
        }
        // Keep draining its output so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Instance { child }
    }

    async fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait().await;
    }
}

async fn fleet(admin: &Admin) -> Value {
    admin.get(&format!("{ENV_PATH}/fleet")).await
}

/// The row of `service`'s instance, if listed once.
fn row(view: &Value, service: &str) -> Option<Value> {
    let rows: Vec<&Value> =
        view["instances"].as_array()?.iter().filter(|r| r["service"].as_str() == Some(service)).collect();
    (rows.len() == 1).then(|| rows[0].clone())
}

/// Waits until `check` holds for the fleet view (at most [`DEADLINE`]);
/// returns that view, or fails showing the last one.
async fn wait_for(admin: &Admin, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let view = fleet(admin).await;
        if check(&view) {
            return view;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}; last view: {view}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_sdk_processes_show_in_the_fleet_view_with_a_lagging_one_behind_a_stalled_proxy() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let first = Server::start(&db.url()).await;
        // Postgres: the laggard streams from a second replica.
        let second = match db {
            TestDb::Postgres { .. } => Some(Server::start(&db.url()).await),
            TestDb::Sqlite { .. } => None,
        };
        let laggard_server = second.as_ref().unwrap_or(&first);
        let admin = first.admin();
        let seeded = seed(&admin, &[FlagSpec::boolean("checkout")]).await;
        let start = admin.toggle("checkout", true).await.expect("a revision");

        let proxy = StallProxy::start(laggard_server.addr).await;
        let key = seeded.sdk_key.as_str();
        let checkout = Instance::start(&first.base, key, "checkout", "1.4.2", "stream").await;
        let search = Instance::start(&first.base, key, "search", "2.0.0", "poll").await;
        let laggard = Instance::start(&proxy.base, key, "legacy-billing", "0.9.1", "stream").await;

        let services = ["checkout", "search", "legacy-billing"];
        let view = wait_for(&admin, "three instances, all current", |v| {
            services.iter().all(|s| row(v, s).is_some_and(|r| r["revision"] == start && r["lag_revisions"] == 0))
        })
        .await;
        eprintln!("    fleet: {view}");
        let checkout_row = row(&view, "checkout").unwrap();
        assert_eq!(checkout_row["service_version"], "1.4.2");
        assert_eq!(checkout_row["transport"], "sse");
        assert!(checkout_row["sdk"].as_str().unwrap().starts_with("switchyard-rust/"), "{checkout_row}");
        assert_eq!(checkout_row["lag_ms"], 0);
        assert_eq!(row(&view, "search").unwrap()["transport"], "poll");
        let laggard_row = row(&view, "legacy-billing").unwrap();
        assert_eq!(
            (laggard_row["transport"].as_str(), laggard_row["service_version"].as_str()),
            (Some("sse"), Some("0.9.1"))
        );
        if second.is_some() {
            assert_eq!(view["replicas"], 2, "{view}");
            assert_ne!(laggard_row["replica"], checkout_row["replica"], "the laggard streams from the other replica");
        }
        assert_eq!(view["unanswered"], serde_json::json!([]));

        // The proxy stops forwarding: the toggle reaches the others only.
        proxy.pause();
        let next = admin.toggle("checkout", false).await.expect("a revision");
        let view = wait_for(&admin, "the laggard one revision behind, the others current", |v| {
            let current = |s: &str| row(v, s).is_some_and(|r| r["revision"] == next && r["lag_revisions"] == 0);
            let behind = row(v, "legacy-billing").is_some_and(|r| r["revision"] == start && r["lag_revisions"] == 1);
            v["revision"] == next && current("checkout") && current("search") && behind
        })
        .await;
        let lag = row(&view, "legacy-billing").unwrap();
        assert!(lag["lag_ms"].as_u64().is_some(), "how long it has been behind is known: {lag}");
        eprintln!("    lagging: {lag}");

        // Forwarding again: it catches up.
        proxy.resume();
        wait_for(&admin, "the laggard caught up", |v| {
            row(v, "legacy-billing").is_some_and(|r| r["revision"] == next && r["lag_revisions"] == 0)
        })
        .await;

        // Streams that end leave the view (a poller stays until its window passes).
        checkout.stop().await;
        laggard.stop().await;
        wait_for(&admin, "the stopped streams left", |v| {
            row(v, "checkout").is_none() && row(v, "legacy-billing").is_none() && row(v, "search").is_some()
        })
        .await;
        search.stop().await;
        drop(proxy);
        if let Some(second) = second {
            second.stop().await;
        }
        first.stop().await;
        db.cleanup().await;
    }
}
