//! `switchyard incident` (and `restore --incident`) against a running
//! server: the real binary, token via the environment. The CLI only speaks
//! HTTP, so one store (SQLite) is enough here; the timeline itself is
//! tested on both stores with real SDKs in `tests/tests/incident.rs`.

use serde_json::{Value, json};
use switchyard_server::testing::{TestDb, TestServer};

mod cli_support;
use cli_support::cli;

const PROD: &str = "/api/v1/projects/shop/environments/production";

async fn seed(server: &TestServer) -> String {
    use reqwest::Method;
    server.admin(Method::POST, "/api/v1/projects", json!({"key": "shop"})).await;
    server.admin(Method::POST, "/api/v1/projects/shop/environments", json!({"key": "production"})).await;
    server.admin(Method::POST, "/api/v1/projects/shop/environments", json!({"key": "staging"})).await;
    server.admin(Method::POST, "/api/v1/projects/shop/flags", json!({"key": "checkout", "kind": "boolean"})).await;
    let token = server.admin(Method::POST, "/api/v1/tokens", json!({"name": "pager", "role": "responder"})).await;
    token["secret"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_prints_the_timeline_of_a_kill_and_restore() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    let token = seed(&server).await;
    server.admin(reqwest::Method::POST, &format!("{PROD}/flags/checkout/toggle"), json!({"on": true})).await;

    let kill = ["kill", "checkout", "-e", "production", "-r", "errors", "--incident", "INC-5", "--wait", "5s"];
    let (code, out, err) = cli(&server, &token, &kill).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let restore = ["restore", "checkout", "-e", "production", "-r", "fixed", "--incident", "INC-5", "--wait", "5s"];
    let (code, out, err) = cli(&server, &token, &restore).await;
    assert_eq!(code, 0, "{out}\n{err}");

    let (code, out, err) = cli(&server, &token, &["incident", "INC-5"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("incident INC-5 in shop: environments production; flags checkout\n"), "{out}");
    // No SDK connected: the fleet had it at once (0/0), so mitigated when written.
    assert!(out.contains("(0/0 SDKs applied the first kill)"), "{out}");
    assert!(out.contains("(restore written); fleet: +"), "{out}");
    // The EVENT column: after the time (24) and the offset from the start (11), two spaces apart.
    let kinds: Vec<&str> = out.lines().skip(6).filter_map(|l| l.get(38..48)).map(str::trim).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k != "change").copied().collect::<Vec<_>>(),
        ["kill", "applied", "restore", "applied"],
        "{out}"
    );
    assert!(out.contains("flag.toggle"), "the change before is shown: {out}");

    let (code, out, _) = cli(&server, &token, &["incident", "INC-5", "--json"]).await;
    assert_eq!(code, 0);
    let t: Value = serde_json::from_str(&out).expect("--json output is JSON");
    assert_eq!(t["times"]["started_by"], "kill");
    assert_eq!(t["times"]["time_to_mitigate_ms"], 0.0);

    let (code, out, _) = cli(&server, &token, &["incident"]).await;
    assert_eq!(code, 0);
    assert!(out.lines().nth(1).is_some_and(|l| l.starts_with("INC-5 ") && l.trim_end().ends_with(" 4")), "{out}");
    let (code, _, err) = cli(&server, &token, &["incident", "INC-404"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("INC-404"), "{err}");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_reports_both_steps_and_refuses_production() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    let token = seed(&server).await;

    let (code, out, err) =
        cli(&server, &token, &["drill", "-e", "staging", "-f", "checkout", "--incident", "DRILL-1"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.starts_with("drill of checkout in staging (incident DRILL-1)\n"), "{out}");
    assert!(out.contains("kill     revision") && out.contains("restore  revision"), "{out}");
    assert!(out.contains("applied by 0/0 SDKs") && !out.contains("WARNING"), "{out}");
    assert!(out.ends_with("timeline: switchyard incident DRILL-1\n"), "{out}");

    let (code, _, err) = cli(&server, &token, &["drill", "-e", "production", "-f", "checkout"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("force"), "{err}");
    let (code, out, err) =
        cli(&server, &token, &["drill", "-e", "production", "-f", "checkout", "--force", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).expect("--json output is JSON");
    assert!(report["incident"].as_str().is_some_and(|i| i.starts_with("DRILL-")), "{report}");
    let (code, _, err) = cli(&server, &token, &["drill", "-e", "stagign", "-f", "checkout"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("did you mean `staging`"), "{err}");
    server.stop().await;
    db.cleanup().await;
}
