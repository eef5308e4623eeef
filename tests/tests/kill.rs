//! Kill switches end to end: a `responder` token kills a flag and 100
//! connected SDK clients (real `switchyard::Client`s) serve its off
//! variant; the kill's `?wait=` receipt counts them; the responder cannot
//! edit rules; a kill racing with 50 concurrent edits stays killed.
//!
//! Waits use the longest `?wait=` (30 s): the server answers as soon as
//! every SDK acknowledged, so a long wait costs nothing unless something
//! is wrong, and a loaded machine cannot turn it into a flaky failure.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use switchyard::{Client, Context, Reason};
use switchyard_e2e::{Admin, ENV_PATH, FlagSpec, Server, TestDb, eventually, flag_path, sdk, seed, wait_converged};

const CLIENTS: usize = 100;

/// Asserts a `?wait=` receipt: every one of the `CLIENTS` connected SDKs
/// applied `revision`, with timings.
fn assert_complete_receipt(body: &Value, revision: u64) {
    let r = &body["receipt"];
    assert_eq!(r["revision"], revision, "{body}");
    assert_eq!(r["connected"], CLIENTS, "{body}");
    assert_eq!(r["applied"], CLIENTS, "{body}");
    assert_eq!(r["pending"], 0, "{body}");
    for timing in ["p50_ms", "max_ms"] {
        assert!(r[timing].as_f64().is_some_and(|ms| ms >= 0.0), "{timing} missing: {body}");
    }
    assert!(r["p50_ms"].as_f64() <= r["max_ms"].as_f64(), "{body}");
}

/// Every client serves `flag`'s off variant because it is killed.
fn assert_all_killed(clients: &[Client], flag: &str, at_least: u64) {
    for (i, client) in clients.iter().enumerate() {
        let d = client.bool_detail(flag, &Context::new(format!("user-{i}")), true);
        assert_eq!(
            (d.value, d.variant.as_deref(), &d.reason),
            (false, Some("off"), &Reason::Killed),
            "client {i}: {d:?}"
        );
        assert!(d.revision >= at_least, "client {i} at {} < {at_least}", d.revision);
    }
}

/// An editor's change of `flag`: toggles and rule edits (a 409 from a
/// concurrent edit is fine; anything else is not).
async fn edit(editor: &Admin, flag: &str, j: usize) {
    if j.is_multiple_of(2) {
        let (status, body) = editor
            .call(Method::POST, &format!("{}/toggle", flag_path(flag)), Some(json!({"on": j.is_multiple_of(4)})))
            .await;
        assert_eq!(status, 200, "toggle: {body}");
        return;
    }
    let current = editor.config(flag).await;
    let mut body = current["config"].clone();
    body["version"] = current["version"].clone();
    body["kill"] = Value::Null; // ignored by the server: an edit never un-kills
    body["rules"] = json!([{"id": format!("edit-{j}"), "clauses": [], "serve": {"variant": "on"}}]);
    let (status, resp) = editor.call(Method::PUT, &flag_path(flag), Some(body)).await;
    assert!(status == 200 || status == 409, "edit {j}: {status} {resp}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_responder_kill_reaches_every_connected_sdk() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = Server::start(&db.url()).await;
        let admin = server.admin();
        let seeded = seed(&admin, &[FlagSpec::boolean("checkout"), FlagSpec::boolean("search")]).await;
        for flag in ["checkout", "search"] {
            admin.toggle(flag, true).await.expect("a revision");
        }
        let responder = admin.with_token(&admin.create_token("oncall", "responder").await);
        let editor = admin.with_token(&admin.create_token("dev", "editor").await);

        let clients: Vec<Client> = (0..CLIENTS).map(|_| sdk(&server.base, &seeded.sdk_key)).collect();
        for result in join_all(clients.iter().map(|c| c.wait_until_ready(Duration::from_secs(60)))).await {
            result.expect("SDK ready");
        }
        let ctx = Context::new("user-1");
        assert!(clients.iter().all(|c| c.bool_value("checkout", &ctx, false)), "checkout is on everywhere");

        // The responder kills; the receipt says all 100 applied it.
        let path = format!("{}/kill?wait=30s", flag_path("checkout"));
        let body = json!({"reason": "checkout errors spiking", "incident": "INC-7"});
        let killed = responder.expect(Method::POST, &path, Some(body), 200).await;
        assert_eq!(killed["changed"], true);
        let revision = killed["revision"].as_u64().expect("revision");
        let kill = &killed["value"][0]["config"]["kill"];
        assert_eq!(
            (kill["by"].as_str(), kill["reason"].as_str(), kill["incident"].as_str()),
            (Some("oncall"), Some("checkout errors spiking"), Some("INC-7"))
        );
        assert_complete_receipt(&killed, revision);
        eprintln!("    kill receipt: {}", killed["receipt"]);
        // Applied means served: no waiting needed.
        assert_all_killed(&clients, "checkout", revision);

        // A responder may kill, never edit.
        let cfg = admin.config("checkout").await;
        let mut edit_body = cfg["config"].clone();
        edit_body["version"] = cfg["version"].clone();
        edit_body["rules"] = json!([]);
        assert_eq!(responder.call(Method::PUT, &flag_path("checkout"), Some(edit_body)).await.0, 403);
        let toggle = responder
            .call(Method::POST, &format!("{}/toggle", flag_path("checkout")), Some(json!({"on": false})))
            .await;
        assert_eq!(toggle.0, 403);
        let audit = admin.get("/api/v1/projects/shop/audit?flag=checkout&environment=production").await;
        // Newest first: the kill's delivery receipt, then the kill itself.
        let (applied, kill_event) = (&audit["items"][0], &audit["items"][1]);
        assert_eq!((kill_event["action"].as_str(), kill_event["actor"].as_str()), (Some("flag.kill"), Some("oncall")));
        assert_eq!(
            (applied["action"].as_str(), applied["actor"].as_str()),
            (Some("flag.kill.applied"), Some("oncall"))
        );
        assert_eq!(applied["revision"].as_u64(), Some(revision));
        assert_eq!(applied["after"]["applied"], killed["receipt"]["applied"]);
        assert_eq!(applied["after"]["complete"], true);

        // A kill racing with 50 concurrent edits stays killed.
        let edits = (0..50).map(|j| edit(&editor, "search", j));
        let kill = async {
            let body = json!({"reason": "search melting down"});
            responder.expect(Method::POST, &format!("{}/kill", flag_path("search")), Some(body), 200).await
        };
        let (_, killed) = tokio::join!(join_all(edits), kill);
        assert_eq!(killed["changed"], true, "{killed}");
        // More edits after the kill cannot un-kill it either.
        for j in 50..54 {
            edit(&editor, "search", j).await;
        }
        let cfg = admin.config("search").await;
        assert_eq!(cfg["config"]["kill"]["reason"], "search melting down", "{cfg}");
        let final_revision = admin.revision().await;
        for client in &clients {
            eventually("every SDK reaches the final revision", || async { client.revision() >= Some(final_revision) })
                .await;
        }
        wait_converged(&clients[0], &server.base, &seeded.sdk_key).await;
        assert_all_killed(&clients, "search", final_revision);

        // Restoring is receipted the same way; the flags serve their rules again.
        let restored = responder
            .expect(
                Method::DELETE,
                &format!("{}/kill?wait=30s", flag_path("checkout")),
                Some(json!({"reason": "fixed"})),
                200,
            )
            .await;
        assert_complete_receipt(&restored, restored["revision"].as_u64().expect("revision"));
        for (i, client) in clients.iter().enumerate() {
            let d = client.bool_detail("checkout", &Context::new(format!("user-{i}")), false);
            assert_eq!((d.value, &d.reason), (true, &Reason::Fallthrough), "client {i}");
        }
        let receipts = admin.get(&format!("{ENV_PATH}/receipts/{final_revision}")).await;
        assert_eq!((receipts["connected"].as_u64(), receipts["pending"].as_u64()), (Some(CLIENTS as u64), Some(0)));

        drop(clients);
        server.stop().await;
        db.cleanup().await;
    }
}

/// "Is the fleet on the killed state?": repeating a kill (a no-op) asks
/// for the receipt of the current revision. SDKs that reconnected since
/// (here: the server restarted; they resume with `Last-Event-ID` and get
/// nothing new to apply or acknowledge) must still count as applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_kill_after_sdks_reconnected_reports_the_fleet() {
    const FLEET: usize = 10;
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = Server::start(&db.url()).await;
        let admin = server.admin();
        let seeded = seed(&admin, &[FlagSpec::boolean("checkout")]).await;
        let clients: Vec<Client> = (0..FLEET).map(|_| sdk(&server.base, &seeded.sdk_key)).collect();
        for result in join_all(clients.iter().map(|c| c.wait_until_ready(Duration::from_secs(60)))).await {
            result.expect("SDK ready");
        }
        let path = format!("{}/kill?wait=30s", flag_path("checkout"));
        let killed = admin.expect(Method::POST, &path, Some(json!({"reason": "incident"})), 200).await;
        let revision = killed["revision"].as_u64().expect("revision");
        assert_eq!(killed["receipt"]["applied"], FLEET, "{killed}");

        // Restart: every SDK reconnects and resumes at `revision`.
        let addr = server.addr;
        server.stop().await;
        let server = Server::start_on(&db.url(), addr).await;
        let admin = server.admin();
        let receipt_path = format!("{ENV_PATH}/receipts/{revision}");
        let http = admin.clone();
        eventually("every SDK reconnected", || async { http.get(&receipt_path).await["connected"] == FLEET }).await;

        let again = admin.expect(Method::POST, &path, Some(json!({"reason": "incident"})), 200).await;
        assert_eq!(again["changed"], false, "{again}");
        let r = &again["receipt"];
        assert_eq!(
            (r["revision"].as_u64(), r["connected"].as_u64(), r["applied"].as_u64(), r["pending"].as_u64()),
            (Some(revision), Some(FLEET as u64), Some(FLEET as u64), Some(0)),
            "{again}"
        );
        assert_all_killed(&clients, "checkout", revision);

        drop(clients);
        server.stop().await;
        db.cleanup().await;
    }
}
