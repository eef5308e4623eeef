//! Incident timelines end to end, on SQLite and Postgres: an Alertmanager
//! notification for INC-42 fires a trigger while real SDK clients are
//! connected, the kill's receipt lands, a responder restores for INC-42;
//! `GET …/incidents/INC-42` lists every event in order (the changes before,
//! the alert's start, the trigger's kill, its receipt, the restore, its
//! receipt) and its times are the receipts' figures (compared field by
//! field: no timing assertion).

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use switchyard::{Client, Context};
use switchyard_e2e::{FlagSpec, Server, TestDb, flag_path, sdk, seed};

const CLIENTS: usize = 5;
const INCIDENTS: &str = "/api/v1/projects/shop/incidents";

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a time")).expect("RFC 3339").with_timezone(&Utc)
}

fn ms_between(from: &Value, to: &Value) -> f64 {
    (at(to) - at(from)).num_milliseconds() as f64
}

/// An Alertmanager notification for INC-42 whose alert started at `starts_at`.
fn alert(status: &str, starts_at: DateTime<Utc>) -> Value {
    json!({"version": "4", "status": status, "receiver": "switchyard",
        "commonLabels": {"alertname": "CheckoutErrors", "incident": "INC-42"},
        "commonAnnotations": {"summary": "5xx above 5%"},
        "alerts": [{"status": status, "startsAt": starts_at.to_rfc3339(), "labels": {}, "annotations": {}}]})
}

async fn connected(server: &Server, key: &str) -> Vec<Client> {
    let clients: Vec<Client> = (0..CLIENTS).map(|_| sdk(&server.base, key)).collect();
    for ready in join_all(clients.iter().map(|c| c.wait_until_ready(Duration::from_secs(60)))).await {
        ready.expect("SDK ready");
    }
    clients
}

/// The receipt a `?wait=` answer carried: every client applied it.
fn complete(receipt: &Value) -> f64 {
    assert_eq!((receipt["connected"].as_u64(), receipt["applied"].as_u64()), (Some(5), Some(5)), "{receipt}");
    receipt["max_ms"].as_f64().expect("a slowest acknowledgement")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_triggered_incident_reads_in_order_with_its_receipts_times() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = Server::start(&db.url()).await;
        let admin = server.admin();
        let seeded = seed(&admin, &[FlagSpec::boolean("checkout"), FlagSpec::boolean("search")]).await;
        admin.toggle("checkout", true).await.expect("a revision");
        admin.toggle("search", true).await.expect("a change before the incident");
        let trigger = admin
            .post(&format!("{}/triggers", flag_path("checkout")), json!({"name": "errors", "action": "kill"}))
            .await;
        let hook = trigger["path"].as_str().expect("the trigger's path").to_string();
        let clients = connected(&server, &seeded.sdk_key).await;

        // The alert fires the trigger: a kill for INC-42, answered with its receipt.
        let starts_at = Utc::now() - chrono::Duration::minutes(2);
        let url = server.url(&format!("{hook}?wait=30s"));
        let fired: Value = reqwest::Client::new()
            .post(url)
            .json(&alert("firing", starts_at))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!((fired["action"].as_str(), fired["changed"].as_bool()), (Some("kill"), Some(true)), "{fired}");
        let kill_max = complete(&fired["receipt"]);
        assert!(clients.iter().all(|c| !c.bool_value("checkout", &Context::new("u"), true)), "killed everywhere");

        // A responder restores for the same incident, waiting for the fleet.
        let responder = admin.with_token(&admin.create_token("oncall", "responder").await);
        let body = json!({"reason": "errors back to normal", "incident": "INC-42"});
        let restored = responder
            .expect(Method::DELETE, &format!("{}/kill?wait=30s", flag_path("checkout")), Some(body), 200)
            .await;
        let restore_max = complete(&restored["receipt"]);
        assert!(clients.iter().all(|c| c.bool_value("checkout", &Context::new("u"), false)), "restored everywhere");

        let t = responder.get(&format!("{INCIDENTS}/INC-42")).await;
        check_timeline(
            &t,
            starts_at,
            (fired["revision"].as_u64(), kill_max),
            (restored["revision"].as_u64(), restore_max),
        );
        let list = responder.get(INCIDENTS).await;
        assert_eq!((list[0]["incident"].as_str(), list[0]["events"].as_u64()), (Some("INC-42"), Some(4)), "{list}");
        let (status, _) = responder.call(Method::GET, &format!("{INCIDENTS}/INC-0"), None).await;
        assert_eq!(status, 404);
        // The typed client decodes the same timeline.
        let typed = admin.client().incident("shop", "INC-42", Some(5)).await.expect("the typed timeline");
        assert_eq!(
            (typed.before_minutes, typed.times.time_to_mitigate_ms),
            (5, t["times"]["time_to_mitigate_ms"].as_f64())
        );
        drop(clients);
        server.stop().await;
        db.cleanup().await;
    }
}

fn check_timeline(t: &Value, starts_at: DateTime<Utc>, kill: (Option<u64>, f64), restore: (Option<u64>, f64)) {
    let events = t["events"].as_array().expect("events");
    let times: Vec<DateTime<Utc>> = events.iter().map(|e| at(&e["at"])).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in time order: {t:#}");
    let own: Vec<&Value> = events.iter().filter(|e| e["kind"] != "change").collect();
    let kinds: Vec<&str> = own.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["alert", "trigger", "applied", "restore", "applied"], "{t:#}");
    let (alert, killed, kill_applied, restored, restore_applied) = (own[0], own[1], own[2], own[3], own[4]);
    assert_eq!(at(&alert["at"]).timestamp(), starts_at.timestamp(), "the alert's own start");
    assert_eq!((killed["actor"].as_str(), killed["actor_kind"].as_str()), (Some("errors"), Some("trigger")));
    assert_eq!((killed["revision"].as_u64(), kill_applied["revision"].as_u64()), (kill.0, kill.0));
    assert_eq!(
        (kill_applied["applied_to"].as_str(), kill_applied["receipt"]["applied"].as_u64()),
        (Some("kill"), Some(5))
    );
    assert_eq!((restored["actor"].as_str(), restored["revision"].as_u64()), (Some("oncall"), restore.0));
    assert_eq!(restore_applied["applied_to"], "restore");
    assert_eq!(restore_applied["receipt"]["max_ms"].as_f64(), Some(restore.1));
    let changes: Vec<&str> =
        events.iter().filter(|e| e["kind"] == "change").filter_map(|e| e["action"].as_str()).collect();
    assert!(changes.contains(&"flag.toggle") && changes.contains(&"trigger.create"), "changes before: {changes:?}");
    assert_eq!((t["flags"].clone(), t["environments"].clone()), (json!(["checkout"]), json!(["production"])));

    // The times are the receipts' figures.
    let times = &t["times"];
    assert_eq!((times["started_by"].as_str(), times["first_kill_at"].clone()), (Some("alert"), killed["at"].clone()));
    let start = &times["started_at"];
    assert_eq!(times["time_to_mitigate_ms"].as_f64(), Some(ms_between(start, &killed["at"]) + kill.1), "{times}");
    assert_eq!(times["mitigation"]["max_ms"].as_f64(), Some(kill.1));
    assert_eq!(times["time_to_restore_ms"].as_f64(), Some(ms_between(start, &restored["at"])));
    assert_eq!(times["time_to_restore_applied_ms"].as_f64(), Some(ms_between(start, &restored["at"]) + restore.1));
    assert_eq!(times["restored_at"], restored["at"]);
}
