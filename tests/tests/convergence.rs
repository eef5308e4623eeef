//! Convergence under disruption: while a writer makes 500 changes
//! (toggles and configuration writes, round-robin over 10 flags), the
//! server is stopped mid-way and a new one started on the same database
//! and the same port (gracefully, and as a crash), or — on Postgres —
//! every backend of the database is terminated. The writer retries each
//! change until it is acknowledged; afterwards the server holds exactly
//! the writer's changes, the SDK serves exactly the server's final
//! snapshot, and the SDK's update stream never went backwards or repeated
//! a revision.
//!
//! The Postgres connection-loss variant terminates backends with
//! `pg_terminate_backend` from the admin connection instead of restarting
//! Postgres: the test Postgres is shared by every test (and other work) on
//! the machine, and a restart would disturb all of them. For the server a
//! terminated backend is indistinguishable from a restarted database: the
//! pool's connections and the LISTEN connection all die at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_e2e::{
    Admin, DEADLINE, FlagSpec, RevisionWatch, Server, TestDb, eventually, flag_path, pg_name, sdk, seed,
    server_snapshot, terminate_backends, wait_converged,
};

const CHANGES: usize = 500;
const FLAGS: usize = 10;

fn flag_specs() -> Vec<FlagSpec> {
    (0..FLAGS)
        .map(|f| {
            if f < 7 {
                FlagSpec::boolean(&format!("f{f}"))
            } else {
                FlagSpec::string(&format!("f{f}"), &["red", "green", "blue"])
            }
        })
        .collect()
}

fn variants(flag: usize) -> &'static [&'static str] {
    if flag < 7 { &["on", "off"] } else { &["red", "green", "blue"] }
}

/// What change `i` does.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Change {
    Toggle { flag: usize, on: bool },
    Config { flag: usize, marker: usize },
}

fn change(i: usize) -> Change {
    let flag = i % FLAGS;
    if (i / FLAGS).is_multiple_of(2) {
        // Alternates per flag, so that every toggle changes something.
        Change::Toggle { flag, on: (i / (2 * FLAGS)).is_multiple_of(2) }
    } else {
        Change::Config { flag, marker: i }
    }
}

/// The configuration written by change `marker` (on top of `current`,
/// keeping its on/off): targets, an optional rule and a fallthrough that
/// all depend on `marker`, so that evaluations differ between writes.
fn config_body(flag: usize, marker: usize, current: &Value) -> Value {
    let v = variants(flag);
    let mut body = current["config"].clone();
    body["version"] = current["version"].clone();
    body["reason"] = json!(format!("change {marker}"));
    body["targets"] =
        json!([{"variant": v[marker % v.len()], "keys": [format!("user-{}", marker % 6), format!("w{marker}")]}]);
    body["rules"] = if marker.is_multiple_of(3) {
        json!([{"id": format!("r{marker}"), "clauses": [{"attribute": "plan", "op": "equals", "values": ["pro"]}], "serve": {"variant": v[(marker + 1) % v.len()]}}])
    } else {
        json!([])
    };
    body["fallthrough"] = json!({"variant": v[(marker / 7) % v.len()]});
    body
}

fn has_marker(config: &Value, marker: usize) -> bool {
    let want = format!("w{marker}");
    config["config"]["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| t["keys"].as_array().into_iter().flatten().any(|k| k == &want))
}

/// Makes every change, retrying each until the server acknowledged it.
/// `acked` counts acknowledged changes; returns how many attempts failed.
async fn write_all(admin: Admin, acked: Arc<AtomicUsize>) -> usize {
    let deadline = Instant::now() + 3 * DEADLINE;
    let mut failures = 0;
    let mut retry = |what: String| {
        assert!(Instant::now() < deadline, "the writer gave up on {what}");
        failures += 1;
    };
    for i in 0..CHANGES {
        match change(i) {
            Change::Toggle { flag, on } => loop {
                let path = format!("{}/toggle", flag_path(&format!("f{flag}")));
                match admin
                    .try_call(Method::POST, &path, Some(json!({"on": on, "reason": format!("change {i}")})))
                    .await
                {
                    Ok((status, _)) if status == 200 => break,
                    other => retry(format!("change {i}: {other:?}")),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            },
            Change::Config { flag, marker } => loop {
                let path = flag_path(&format!("f{flag}"));
                // Read first: a previous attempt may have committed even
                // though its response was lost.
                let current = match admin.try_call(Method::GET, &path, None).await {
                    Ok((status, body)) if status == 200 => body,
                    other => {
                        retry(format!("reading before change {i}: {other:?}"));
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                if has_marker(&current, marker) {
                    break;
                }
                match admin.try_call(Method::PUT, &path, Some(config_body(flag, marker, &current))).await {
                    Ok((status, _)) if status == 200 => break,
                    // Stale version: re-read (maybe our own lost write).
                    Ok((status, _)) if status == 409 => continue,
                    other => retry(format!("change {i}: {other:?}")),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            },
        }
        acked.fetch_add(1, Ordering::SeqCst);
    }
    failures
}

/// The state the writer's changes leave each flag in: (on, last marker).
fn expected_final() -> Vec<(bool, Option<usize>)> {
    let mut state = vec![(false, None); FLAGS];
    for i in 0..CHANGES {
        match change(i) {
            Change::Toggle { flag, on } => state[flag].0 = on,
            Change::Config { flag, marker } => state[flag].1 = Some(marker),
        }
    }
    state
}

/// What happens mid-way.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Disruption {
    /// Stop the server gracefully; start a new one on the same port.
    Restart,
    /// Cut every connection at once (as `SIGKILL`); start a new one on the same port.
    Crash,
    /// Terminate every Postgres backend of the database (two replicas:
    /// the writer on A, the SDK on B, so that B depends on LISTEN).
    TerminateBackends,
}

async fn converges_despite(db: TestDb, disruption: Disruption) {
    eprintln!("--- store: {}, disruption: {disruption:?}", db.label());
    let url = db.url();
    let a = Server::start(&url).await;
    let replica = match disruption {
        Disruption::TerminateBackends => Some(Server::start(&url).await),
        _ => None,
    };
    let writer_admin = a.admin();
    let seeded = seed(&writer_admin, &flag_specs()).await;
    let sdk_base = replica.as_ref().map_or(a.base.clone(), |b| b.base.clone());
    let client = sdk(&sdk_base, &seeded.sdk_key);
    client.wait_until_ready(Duration::from_secs(30)).await.expect("SDK ready");
    let watch = RevisionWatch::start(&client);

    let acked = Arc::new(AtomicUsize::new(0));
    let writer = tokio::spawn(write_all(writer_admin.clone(), Arc::clone(&acked)));
    eventually("half of the changes are acknowledged", || async { acked.load(Ordering::SeqCst) >= CHANGES / 2 }).await;

    let addr: SocketAddr = a.addr;
    let (a, during) = match disruption {
        Disruption::Restart | Disruption::Crash => {
            if disruption == Disruption::Restart {
                a.stop().await;
            } else {
                a.crash().await;
            }
            let during = acked.load(Ordering::SeqCst);
            (Server::start_on(&url, addr).await, during)
        }
        Disruption::TerminateBackends => {
            let terminated = terminate_backends(pg_name(&db).expect("postgres")).await;
            assert!(terminated > 0, "no backend was terminated");
            (a, acked.load(Ordering::SeqCst))
        }
    };
    assert_eq!(a.addr, addr);
    let failures = writer.await.expect("writer");
    eprintln!("    disrupted after {during} changes; {failures} failed attempts were retried");
    assert!(during < CHANGES, "the disruption happened after the writer finished; nothing was tested");

    // The server holds exactly the writer's changes (none lost, none doubled).
    let admin = a.admin();
    for (flag, (on, marker)) in expected_final().into_iter().enumerate() {
        let cfg = admin.config(&format!("f{flag}")).await;
        assert_eq!(cfg["config"]["on"], on, "f{flag}: {cfg}");
        let marker = marker.expect("every flag got a config write");
        assert!(has_marker(&cfg, marker), "f{flag} should carry change {marker}: {cfg}");
    }
    if let Some(b) = &replica {
        // B's change listener reconnected (readiness says so).
        let http = reqwest::Client::new();
        eventually("replica B is ready again", || async {
            http.get(b.url("/readyz")).send().await.is_ok_and(|r| r.status() == 200)
        })
        .await;
        assert_eq!(server_snapshot(&a.base, &seeded.sdk_key).await, server_snapshot(&b.base, &seeded.sdk_key).await);
    }

    // The SDK serves exactly the final state, reached in order.
    let snapshot = wait_converged(&client, &sdk_base, &seeded.sdk_key).await;
    let report = watch.finish(snapshot.revision, false).await;
    eprintln!("    SDK at revision {} after {} flag updates", snapshot.revision, report.changes);

    drop(client);
    a.stop().await;
    if let Some(b) = replica {
        b.stop().await;
    }
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_restart_on_the_same_port() {
    converges_despite(TestDb::sqlite(), Disruption::Restart).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_crash_and_restart_on_the_same_port() {
    converges_despite(TestDb::sqlite(), Disruption::Crash).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_on_the_same_port() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    converges_despite(db, Disruption::Restart).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_crash_and_restart_on_the_same_port() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    converges_despite(db, Disruption::Crash).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connection_loss() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    converges_despite(db, Disruption::TerminateBackends).await;
}
