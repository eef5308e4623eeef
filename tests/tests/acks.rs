//! Acknowledgements on request, end to end: the server asks for an ack
//! after every change (an `ack` event with the hold it advises), real SDK
//! clients answer after that hold, and receipts stay exact: every
//! connected SDK counted, and the apply times exclude the hold (the SDK
//! reports it as `held_ms`). Changes that arrive while an ack is held are
//! acknowledged together. Kills, restores and writes whose caller waits
//! for the receipt are never held. Both stores.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::json;
use switchyard::Client;
use switchyard_e2e::{FlagSpec, ServeConfig, Server, TestDb, flag_path, sdk, seed};

const CLIENTS: usize = 5;

/// The least hold the server advises in this test: long, so that a
/// receipt whose latencies included it could not pass.
const HOLD: Duration = Duration::from_secs(4);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdks_acknowledge_when_asked_after_the_advised_hold_and_receipts_exclude_it() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let mut config = ServeConfig::for_tests(db.url());
        config.ack_hold = HOLD;
        let server = Server::start_with(config).await;
        let admin = server.admin();
        let seeded = seed(&admin, &[FlagSpec::boolean("checkout")]).await;
        let clients: Vec<Client> = (0..CLIENTS).map(|_| sdk(&server.base, &seeded.sdk_key)).collect();
        for result in join_all(clients.iter().map(|c| c.wait_until_ready(Duration::from_secs(60)))).await {
            result.expect("SDK ready");
        }

        // Two ordinary changes in a row (nobody waits, so the acks are
        // held): the second arrives while the first one's ack is held; one
        // ack per SDK answers both.
        admin.toggle("checkout", true).await.expect("a revision");
        let revision = admin.toggle("checkout", false).await.expect("a revision");
        let path = format!("{}/receipts/{revision}", switchyard_e2e::ENV_PATH);
        // Polled: the acks arrive after the advised hold (2-4 s).
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let receipt = loop {
            let receipt = admin.get(&path).await;
            if receipt["applied"].as_u64() == Some(5) || std::time::Instant::now() > deadline {
                break receipt;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(
            (receipt["revision"].as_u64(), receipt["connected"].as_u64()),
            (Some(revision), Some(5)),
            "{receipt}"
        );
        assert_eq!(receipt["pending"], 0, "{receipt}");
        // Each SDK held its ack at least half the advised hold (2 s) and
        // said so: the receipt's apply times are the SDKs', not the acks'.
        let max = receipt["max_ms"].as_f64().expect("max_ms");
        assert!(max < HOLD.as_secs_f64() * 1e3 / 2.0, "the hold is not in the apply time: {receipt}");

        // Both revisions count as applied (the first through the second's ack).
        let earlier = admin.get(&format!("{}/receipts/{}", switchyard_e2e::ENV_PATH, revision - 1)).await;
        assert_eq!((earlier["connected"].as_u64(), earlier["applied"].as_u64()), (Some(5), Some(5)), "{earlier}");
        drop(clients);
        server.stop().await;
        db.cleanup().await;
    }
}

/// A long least hold: the server caps what it advises at 10 s
/// (`delivery::channel::MAX_HOLD`), and SDKs hold 50-100 % of it, so an
/// ack held at all arrives after 5 s at the earliest, and a 3 s wait
/// cannot see it. (Unheld, five SDKs ack in milliseconds.)
const LONG_HOLD: Duration = Duration::from_secs(60);

/// The emergency path is never held: a kill (and any write whose caller
/// waits for its receipt) asks for acks at once, and a shorter request
/// cuts short the hold an SDK is already sitting in (here: the ack of an
/// ordinary toggle just before, held for 5-10 s). Without both,
/// `kill?wait=3s` would answer "applied by 0/5".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_and_waited_writes_are_acknowledged_without_the_hold() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let mut config = ServeConfig::for_tests(db.url());
        config.ack_hold = LONG_HOLD;
        let server = Server::start_with(config).await;
        let admin = server.admin();
        let seeded = seed(&admin, &[FlagSpec::boolean("checkout"), FlagSpec::boolean("search")]).await;
        let clients: Vec<Client> = (0..CLIENTS).map(|_| sdk(&server.base, &seeded.sdk_key)).collect();
        for result in join_all(clients.iter().map(|c| c.wait_until_ready(Duration::from_secs(60)))).await {
            result.expect("SDK ready");
        }

        emergency_writes_are_not_held(&admin).await;
        drop(clients);
        server.stop().await;
        db.cleanup().await;
    }
}

/// After an ordinary toggle (every SDK now holds its ack for 5-10 s),
/// `kill?wait=3s`, a waited restore and a waited toggle, each through
/// `admin`, are applied by all five SDKs before their wait ends.
async fn emergency_writes_are_not_held(admin: &switchyard_e2e::Admin) {
    // An ordinary toggle: every SDK now holds its ack for 5-10 s.
    admin.toggle("search", true).await.expect("a revision");
    let body = json!({"reason": "checkout errors", "incident": "INC-7"});
    let killed = admin.expect(Method::POST, &format!("{}/kill?wait=3s", flag_path("checkout")), Some(body), 200).await;
    let receipt = &killed["receipt"];
    eprintln!("    kill receipt: {receipt}");
    assert_eq!(receipt["revision"], killed["revision"], "{killed}");
    assert_eq!((receipt["connected"].as_u64(), receipt["applied"].as_u64()), (Some(5), Some(5)), "{killed}");

    // A restore with a wait, and a waited toggle: not held either.
    let restore = format!("{}/kill?wait=3s", flag_path("checkout"));
    let restored = admin.expect(Method::DELETE, &restore, Some(json!({"reason": "fixed"})), 200).await;
    assert_eq!(restored["receipt"]["applied"].as_u64(), Some(5), "{restored}");
    let toggle = format!("{}/toggle?wait=3s", flag_path("search"));
    let toggled = admin.expect(Method::POST, &toggle, Some(json!({"on": false})), 200).await;
    assert_eq!(toggled["receipt"]["applied"].as_u64(), Some(5), "{toggled}");
}

/// On Postgres, across replicas: the SDKs stream from replica B, the
/// writes go to replica A. A kill is urgent by its content; a waited
/// restore or toggle is urgent because A's notification says so
/// (`<env>:<revision>:<origin>:u`). Without that mark, B would advise the
/// long hold and the waited restore would answer "applied by 0/5".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urgency_crosses_replicas() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let start = || {
        let mut config = ServeConfig::for_tests(db.url());
        config.ack_hold = LONG_HOLD;
        Server::start_with(config)
    };
    let (a, b) = (start().await, start().await);
    let admin = a.admin();
    let seeded = seed(&admin, &[FlagSpec::boolean("checkout"), FlagSpec::boolean("search")]).await;
    let clients: Vec<Client> = (0..CLIENTS).map(|_| sdk(&b.base, &seeded.sdk_key)).collect();
    for result in join_all(clients.iter().map(|c| c.wait_until_ready(Duration::from_secs(60)))).await {
        result.expect("SDK ready");
    }
    emergency_writes_are_not_held(&admin).await;
    drop(clients);
    a.stop().await;
    b.stop().await;
    db.cleanup().await;
}
