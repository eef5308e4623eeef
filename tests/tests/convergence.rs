//! Convergence under disruption: while a writer makes 500 changes
//! (toggles and configuration writes, round-robin over 10 flags), the
//! server is stopped mid-way and a new one started on the same database
//! and the same port (gracefully, and as a crash), or — on Postgres —
//! Postgres itself is restarted, twice, or every backend of the database
//! is terminated. The writer retries each change until it is acknowledged;
//! afterwards the server holds exactly the writer's changes, the SDK serves
//! exactly the server's final snapshot, and the SDK's update stream never
//! went backwards, skipped or repeated a revision.
//!
//! The Postgres restart runs a private cluster ([`PgCluster`]: its own data
//! directory and port), stopped with `pg_ctl stop -m fast` and started
//! again: a real outage, during which both replicas must report not ready.
//! The shared test Postgres is never restarted (other tests use it).
//! Terminating the backends (on the shared Postgres) is the other case: the
//! connections die but the database stays up, so reconnecting succeeds at
//! once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_e2e::{
    Admin, DEADLINE, FlagSpec, PgCluster, RevisionWatch, Server, TestDb, eventually, flag_path, pg_name, sdk, seed,
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
#[derive(Clone, Copy)]
enum Disruption<'a> {
    /// Stop the server gracefully; start a new one on the same port.
    Restart,
    /// Cut every connection at once (as `SIGKILL`); start a new one on the same port.
    Crash,
    /// Terminate every Postgres backend of the database named.
    TerminateBackends(&'a str),
    /// Stop this private Postgres cluster and start it again, at a third
    /// and at two thirds of the changes.
    PostgresRestart(&'a PgCluster),
}

impl Disruption<'_> {
    /// Postgres-level disruptions run two replicas: the writer on A, the
    /// SDK on B, so that B's stream depends on its LISTEN connection.
    fn two_replicas(self) -> bool {
        matches!(self, Disruption::TerminateBackends(_) | Disruption::PostgresRestart(_))
    }
}

async fn not_ready(http: &reqwest::Client, server: &Server) -> bool {
    http.get(server.url("/readyz")).send().await.is_ok_and(|r| r.status() == 503)
}

async fn converges_despite(url: &str, label: &str, disruption: Disruption<'_>) {
    let a = Server::start(url).await;
    let replica = if disruption.two_replicas() { Some(Server::start(url).await) } else { None };
    let writer_admin = a.admin();
    let seeded = seed(&writer_admin, &flag_specs()).await;
    let sdk_base = replica.as_ref().map_or(a.base.clone(), |b| b.base.clone());
    let client = sdk(&sdk_base, &seeded.sdk_key);
    client.wait_until_ready(Duration::from_secs(30)).await.expect("SDK ready");
    let watch = RevisionWatch::start(&client);

    let acked = Arc::new(AtomicUsize::new(0));
    let writer = tokio::spawn(write_all(writer_admin.clone(), Arc::clone(&acked)));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client");
    let mut during = Vec::new();
    let addr: SocketAddr = a.addr;
    let a = match disruption {
        Disruption::Restart | Disruption::Crash => {
            eventually("half of the changes are acknowledged", || async {
                acked.load(Ordering::SeqCst) >= CHANGES / 2
            })
            .await;
            if matches!(disruption, Disruption::Restart) {
                a.stop().await;
            } else {
                a.crash().await;
            }
            during.push(acked.load(Ordering::SeqCst));
            Server::start_on(url, addr).await
        }
        Disruption::TerminateBackends(name) => {
            eventually("half of the changes are acknowledged", || async {
                acked.load(Ordering::SeqCst) >= CHANGES / 2
            })
            .await;
            let terminated = terminate_backends(name).await;
            assert!(terminated > 0, "no backend was terminated");
            during.push(acked.load(Ordering::SeqCst));
            a
        }
        Disruption::PostgresRestart(cluster) => {
            let b = replica.as_ref().expect("two replicas");
            for k in 1..=2 {
                let at = k * CHANGES / 3;
                eventually(&format!("{at} changes are acknowledged"), || async { acked.load(Ordering::SeqCst) >= at })
                    .await;
                cluster.stop().await;
                during.push(acked.load(Ordering::SeqCst));
                // Down for as long as it takes both replicas to notice:
                // readiness must say so (a balancer stops sending traffic).
                eventually("both replicas report not ready while Postgres is down", || async {
                    not_ready(&http, &a).await && not_ready(&http, b).await
                })
                .await;
                cluster.start_again().await;
            }
            a
        }
    };
    assert_eq!(a.addr, addr);
    let failures = writer.await.expect("writer");
    eprintln!("    {label}: disrupted after {during:?} changes; {failures} failed attempts were retried");
    assert!(during.iter().all(|d| *d < CHANGES), "a disruption happened after the writer finished; nothing was tested");

    // The server holds exactly the writer's changes (none lost, none doubled).
    let admin = a.admin();
    for (flag, (on, marker)) in expected_final().into_iter().enumerate() {
        let cfg = admin.config(&format!("f{flag}")).await;
        assert_eq!(cfg["config"]["on"], on, "f{flag}: {cfg}");
        let marker = marker.expect("every flag got a config write");
        assert!(has_marker(&cfg, marker), "f{flag} should carry change {marker}: {cfg}");
    }
    if let Some(b) = &replica {
        // Both replicas' change listeners reconnected (readiness says so).
        for server in [&a, b] {
            eventually("the replica is ready again", || async {
                http.get(server.url("/readyz")).send().await.is_ok_and(|r| r.status() == 200)
            })
            .await;
        }
        assert_eq!(server_snapshot(&a.base, &seeded.sdk_key).await, server_snapshot(&b.base, &seeded.sdk_key).await);
    }

    // The SDK serves exactly the final state, reached in order: every
    // revision applied once, none skipped (no resync either).
    let snapshot = wait_converged(&client, &sdk_base, &seeded.sdk_key).await;
    let report = watch.finish(snapshot.revision, false).await;
    eprintln!("    {label}: SDK at revision {} after {} flag updates", snapshot.revision, report.changes);

    drop(client);
    a.stop().await;
    if let Some(b) = replica {
        b.stop().await;
    }
}

async fn on_test_db(db: TestDb, disruption: Disruption<'_>) {
    eprintln!("--- store: {}", db.label());
    converges_despite(&db.url(), db.label(), disruption).await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_restart_on_the_same_port() {
    on_test_db(TestDb::sqlite(), Disruption::Restart).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_crash_and_restart_on_the_same_port() {
    on_test_db(TestDb::sqlite(), Disruption::Crash).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_on_the_same_port() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    on_test_db(db, Disruption::Restart).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_crash_and_restart_on_the_same_port() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    on_test_db(db, Disruption::Crash).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backends_terminated() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let name = pg_name(&db).expect("postgres").to_string();
    on_test_db(db, Disruption::TerminateBackends(&name)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_itself_restarted_twice_mid_write() {
    let Some(cluster) = PgCluster::start().await else {
        return;
    };
    eprintln!("--- store: private Postgres cluster on port {}", cluster.port());
    converges_despite(&cluster.url(), "postgres restarted", Disruption::PostgresRestart(&cluster)).await;
}
