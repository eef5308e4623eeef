//! Acknowledgements on request, end to end: the server asks for an ack
//! after every change (an `ack` event with the hold it advises), real SDK
//! clients answer after that hold, and receipts stay exact: every
//! connected SDK counted, and the apply times exclude the hold (the SDK
//! reports it as `held_ms`). Changes that arrive while an ack is held are
//! acknowledged together. Both stores.

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

        // Two changes in a row: the second arrives while the first one's
        // ack is held; one ack per SDK answers both.
        admin.toggle("checkout", true).await.expect("a revision");
        let path = format!("{}/toggle?wait=30s", flag_path("checkout"));
        let toggled = admin.expect(Method::POST, &path, Some(json!({"on": false})), 200).await;
        let revision = toggled["revision"].as_u64().expect("revision");
        let receipt = &toggled["receipt"];
        assert_eq!(receipt["revision"], revision, "{toggled}");
        assert_eq!((receipt["connected"].as_u64(), receipt["applied"].as_u64()), (Some(5), Some(5)), "{toggled}");
        assert_eq!(receipt["pending"], 0, "{toggled}");
        // Each SDK held its ack at least half the advised hold (2 s) and
        // said so: the receipt's apply times are the SDKs', not the acks'.
        let max = receipt["max_ms"].as_f64().expect("max_ms");
        assert!(max < HOLD.as_secs_f64() * 1e3 / 2.0, "the hold is not in the apply time: {toggled}");

        // Both revisions count as applied (the first through the second's ack).
        let earlier = admin.get(&format!("{}/receipts/{}", switchyard_e2e::ENV_PATH, revision - 1)).await;
        assert_eq!((earlier["connected"].as_u64(), earlier["applied"].as_u64()), (Some(5), Some(5)), "{earlier}");
        drop(clients);
        server.stop().await;
        db.cleanup().await;
    }
}
