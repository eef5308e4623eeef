//! Rollback drills end to end, on SQLite and Postgres: a responder drills
//! a flag in `staging` while real SDK clients are connected there; the
//! report's receipts count every client for the kill and for the restore,
//! the clients end restored, and the drill has an incident timeline whose
//! time to mitigate is the kill receipt's figure. Production is refused
//! unless forced; a killed flag is never drilled; a viewer may not drill.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use switchyard::{Client, Context};
use switchyard_e2e::{FlagSpec, Server, TestDb, flag_path, sdk, seed};

const CLIENTS: usize = 5;
const STAGING: &str = "/api/v1/projects/shop/environments/staging";

fn assert_step(step: &Value) {
    let r = &step["receipt"];
    assert_eq!(
        (r["connected"].as_u64(), r["applied"].as_u64(), r["pending"].as_u64()),
        (Some(5), Some(5), Some(0)),
        "{step}"
    );
    assert_eq!(step["complete"], true, "{step}");
    assert!(r["max_ms"].as_f64().is_some() && step["elapsed_ms"].as_f64().is_some(), "{step}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_kills_waits_restores_and_reports_the_fleets_receipts() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = Server::start(&db.url()).await;
        let admin = server.admin();
        seed(&admin, &[FlagSpec::boolean("checkout")]).await;
        admin.expect(Method::POST, "/api/v1/projects/shop/environments", Some(json!({"key": "staging"})), 201).await;
        let key = admin.expect(Method::POST, &format!("{STAGING}/sdk-keys"), Some(json!({"name": "drill"})), 201).await;
        admin.post(&format!("{STAGING}/flags/checkout/toggle"), json!({"on": true})).await;
        let clients: Vec<Client> = (0..CLIENTS).map(|_| sdk(&server.base, key["secret"].as_str().unwrap())).collect();
        for ready in join_all(clients.iter().map(|c| c.wait_until_ready(Duration::from_secs(60)))).await {
            ready.expect("SDK ready");
        }
        let responder = admin.with_token(&admin.create_token("oncall", "responder").await);

        let report = responder.post(&format!("{STAGING}/flags/checkout/drill"), json!({})).await;
        assert_step(&report["kill"]);
        assert_step(&report["restore"]);
        assert_eq!(report["restore"]["revision"].as_u64(), report["kill"]["revision"].as_u64().map(|r| r + 1));
        let incident = report["incident"].as_str().expect("an incident id");
        assert!(incident.starts_with("DRILL-"), "{report}");
        let ctx = Context::new("u");
        assert!(clients.iter().all(|c| c.bool_value("checkout", &ctx, false)), "restored everywhere");
        let cfg = responder.get(&format!("{STAGING}/flags/checkout")).await;
        assert!(cfg["config"]["kill"].is_null() && cfg["config"]["on"] == true, "{cfg}");

        // The drill's timeline: its two writes and their receipts; the times are the receipts'.
        let t = responder.get(&format!("/api/v1/projects/shop/incidents/{incident}")).await;
        let kinds: Vec<&str> = t["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] != "change")
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["kill", "applied", "restore", "applied"], "{t:#}");
        assert_eq!(t["times"]["time_to_mitigate_ms"].as_f64(), report["kill"]["receipt"]["max_ms"].as_f64(), "{t:#}");
        assert_eq!(t["times"]["restoration"]["applied"], 5);

        // Production is refused unless forced (no SDK there: 0/0, complete).
        let (status, problem) =
            responder.call(Method::POST, &format!("{}/drill", flag_path("checkout")), Some(json!({}))).await;
        assert_eq!((status.as_u16(), problem["code"].as_str()), (422, Some("validation_failed")), "{problem}");
        assert_eq!(
            (problem["errors"][0]["path"].as_str(), problem["errors"][0]["code"].as_str()),
            (Some("force"), Some("production_environment"))
        );
        let forced = responder
            .post(&format!("{}/drill?wait=5s", flag_path("checkout")), json!({"force": true, "incident": "DRILL-PROD"}))
            .await;
        assert_eq!(
            (forced["incident"].as_str(), forced["kill"]["receipt"]["connected"].as_u64()),
            (Some("DRILL-PROD"), Some(0))
        );

        // A killed flag is never drilled; a viewer may not drill.
        responder.post(&format!("{STAGING}/flags/checkout/kill?wait=30s"), json!({"reason": "real"})).await;
        let (status, problem) =
            responder.call(Method::POST, &format!("{STAGING}/flags/checkout/drill"), Some(json!({}))).await;
        assert_eq!((status.as_u16(), problem["code"].as_str()), (409, Some("already_killed")), "{problem}");
        assert!(clients.iter().all(|c| !c.bool_value("checkout", &ctx, true)), "the real kill stays");
        let viewer = admin.with_token(&admin.create_token("looker", "viewer").await);
        let (status, _) = viewer.call(Method::POST, &format!("{STAGING}/flags/checkout/drill"), Some(json!({}))).await;
        assert_eq!(status, 403);
        drop(clients);
        server.stop().await;
        db.cleanup().await;
    }
}
