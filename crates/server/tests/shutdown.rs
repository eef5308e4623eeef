//! SIGTERM to the real binary: with 100 SDK streams open and writes in
//! flight, the process exits within its bound, no acknowledged write is
//! lost, and the SDK clients reconnect — through a load balancer (a small
//! TCP proxy here) — to a second replica and converge on it.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchyard_server::testing::{TestDb, login};
use tokio::net::{TcpListener, TcpStream};

const PASSWORD: &str = "shutdown-test-password";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn replica(db_url: &str, port: u16) -> tokio::process::Child {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("serve")
        .env("SWITCHYARD_LISTEN", format!("127.0.0.1:{port}"))
        .env("SWITCHYARD_DATABASE_URL", db_url)
        .env("SWITCHYARD_ADMIN_PASSWORD", PASSWORD)
        .env("SWITCHYARD_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn switchyard");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/readyz")).await
            && r.status().is_success()
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("replica on {port} never became ready");
}

/// A load balancer stand-in: forwards each new connection to the current target port.
async fn proxy(target: Arc<AtomicU16>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let port = target.load(Ordering::SeqCst);
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", port)).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_open_streams_and_writes_in_flight() {
    let Some(db) = TestDb::postgres().await else { return };
    let (port_a, port_b) = (free_port(), free_port());
    let mut a = replica(&db.url(), port_a).await;
    let _b = replica(&db.url(), port_b).await;
    let (base_a, base_b) = (format!("http://127.0.0.1:{port_a}"), format!("http://127.0.0.1:{port_b}"));
    let token = login(&base_a, "admin", PASSWORD).await;
    let http = reqwest::Client::new();
    for (path, body) in [
        ("/api/v1/projects", json!({"key": "shop"})),
        ("/api/v1/projects/shop/environments", json!({"key": "prod"})),
        ("/api/v1/projects/shop/flags", json!({"key": "checkout", "kind": "boolean"})),
    ] {
        assert!(
            http.post(format!("{base_a}{path}"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .is_success()
        );
    }
    let key: Value = http
        .post(format!("{base_a}/api/v1/projects/shop/environments/prod/sdk-keys"))
        .bearer_auth(&token)
        .json(&json!({"name": "svc"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sdk_key = key["secret"].as_str().unwrap().to_string();

    let target = Arc::new(AtomicU16::new(port_a));
    let lb = proxy(Arc::clone(&target)).await;
    let shared = reqwest::Client::new();
    let mut clients = Vec::new();
    for _ in 0..100 {
        let c = switchyard::Client::builder(sdk_key.clone())
            .base_url(format!("http://127.0.0.1:{lb}"))
            .http_client(shared.clone())
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(500))
            .build()
            .unwrap();
        clients.push(c);
    }
    for c in &clients {
        c.wait_until_ready(Duration::from_secs(30)).await.unwrap();
    }

    // A writer toggling through replica A, then B once A is gone; it
    // records every acknowledged (200) write.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, http, token) = (Arc::clone(&stop), http.clone(), token.clone());
        let (base_a, base_b) = (base_a.clone(), base_b.clone());
        tokio::spawn(async move {
            let mut acked: Vec<(u64, bool)> = Vec::new();
            let mut base = base_a;
            let mut i = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let on = i.is_multiple_of(2);
                let sent = http
                    .post(format!("{base}/api/v1/projects/shop/environments/prod/flags/checkout/toggle"))
                    .bearer_auth(&token)
                    .json(&json!({"on": on}))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => {
                        let body: Value = r.json().await.unwrap();
                        acked.push((body["value"]["version"].as_u64().unwrap(), on));
                        i += 1;
                    }
                    _ => base = base_b.clone(),
                }
            }
            acked
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    // SIGTERM replica A; the balancer stops sending new connections to it.
    let pid = a.id().unwrap();
    let sigterm = Instant::now();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
    target.store(port_b, Ordering::SeqCst);
    let status = tokio::time::timeout(Duration::from_secs(15), a.wait()).await.expect("exited within 15 s").unwrap();
    let took = sigterm.elapsed();
    assert!(status.success(), "clean exit, got {status:?}");
    eprintln!("replica A exited {took:?} after SIGTERM");

    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let acked = writer.await.unwrap();
    assert!(acked.len() >= 2, "writes were made: {}", acked.len());

    // No acknowledged write lost: every acknowledged version is in the history on B.
    let history: Vec<Value> = http
        .get(format!("{base_b}/api/v1/projects/shop/environments/prod/flags/checkout/history"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (version, on) in &acked {
        let row = history.iter().find(|h| h["version"].as_u64() == Some(*version));
        assert_eq!(row.map(|h| h["config"]["on"].as_bool()), Some(Some(*on)), "acknowledged version {version} lost");
    }
    let final_on = acked.last().unwrap().1;

    // Every SDK reconnected (to B, through the balancer) and converged.
    let snapshot: Value =
        http.get(format!("{base_b}/sdk/v1/snapshot")).bearer_auth(&sdk_key).send().await.unwrap().json().await.unwrap();
    let revision = snapshot["revision"].as_u64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let ctx = switchyard::Context::new("u1");
    loop {
        let behind = clients.iter().filter(|c| c.revision() != Some(revision)).count();
        if behind == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{behind} of 100 SDK clients did not converge on replica B");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(clients.iter().all(|c| c.bool_value("checkout", &ctx, !final_on) == final_on));
    drop(clients);
    db.cleanup().await;
}

/// Fleet membership with real processes: a replica killed with SIGKILL
/// (no goodbye possible) and one stopped with SIGTERM (goodbye) both leave
/// the live set as soon as their process is gone, so the next receipt on a
/// surviving replica neither waits for them nor misses them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_stopped_replicas_leave_the_fleet_at_once() {
    let Some(db) = TestDb::postgres().await else { return };
    let (port_a, port_b, port_c) = (free_port(), free_port(), free_port());
    let _a = replica(&db.url(), port_a).await;
    let mut b = replica(&db.url(), port_b).await;
    let mut c = replica(&db.url(), port_c).await;
    let base_a = format!("http://127.0.0.1:{port_a}");
    let token = login(&base_a, "admin", PASSWORD).await;
    let http = reqwest::Client::new();
    for (path, body) in
        [("/api/v1/projects", json!({"key": "shop"})), ("/api/v1/projects/shop/environments", json!({"key": "prod"}))]
    {
        let status =
            http.post(format!("{base_a}{path}")).bearer_auth(&token).json(&body).send().await.unwrap().status();
        assert!(status.is_success(), "{path}: {status}");
    }
    let receipt = || async {
        let url = format!("{base_a}/api/v1/projects/shop/environments/prod/receipts/1");
        let started = Instant::now();
        let r: Value = http.get(&url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        (r, started.elapsed())
    };
    let until_replicas = |want: u64, what: &'static str| {
        let receipt = &receipt;
        async move {
            let since = Instant::now();
            loop {
                let (r, took) = receipt().await;
                // Until Postgres has seen the socket close (milliseconds), a
                // killed replica is still listed: named in `unanswered`.
                if r["replicas"].as_u64() == Some(want) && r["unanswered"] == json!([]) {
                    eprintln!(
                        "{what}: {want} replica(s) counted {:?} later; that receipt took {took:?}",
                        since.elapsed()
                    );
                    return since.elapsed();
                }
                assert!(since.elapsed() < Duration::from_secs(10), "{what}: {r}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    until_replicas(3, "all up").await;

    b.start_kill().unwrap();
    b.wait().await.unwrap();
    let after_kill = until_replicas(2, "after SIGKILL of B").await;

    let pid = c.id().unwrap();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(15), c.wait()).await.expect("C exited").unwrap();
    assert!(status.success(), "{status:?}");
    let after_term = until_replicas(1, "after SIGTERM of C").await;
    // Generous bounds (heartbeat designs needed ~7 s): the process exit is the signal.
    assert!(after_kill < Duration::from_secs(3) && after_term < Duration::from_secs(3));
    db.cleanup().await;
}
