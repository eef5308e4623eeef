//! A release plan in an environment with approvals on goes through them:
//! starting it opens a change request for its first stage (the diff shows
//! the split it will serve) and leaves the plan `awaiting_approval`, writing
//! nothing; once the request is approved and applied, the plan starts, and
//! its later steps (the scheduler's writes as `plan:<id>`) need no approval
//! of their own. Cancelling the request aborts the waiting plan. (Before,
//! starting a plan there was refused with 409 `approval_required`.)

use reqwest::Method;
use serde_json::json;
use switchyard_server::client::Client;
use switchyard_server::testing::for_each_store;

use super::support::{FLAG, RELEASE, admin, current_share, ok, seed, stage_writes, stages, unguarded, wait_for};

const PROD: &str = "/api/v1/projects/shop/environments/production";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_under_approvals_starts_once_its_change_request_is_applied() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        ok(&api, Method::PUT, &format!("{PROD}/approval-policy"), Some(json!({"approvals": 1})), 200).await;
        let body = json!({"name": "reviewer", "role": "editor"});
        let secret = ok(&api, Method::POST, "/api/v1/tokens", Some(body), 201).await["secret"].clone();
        let reviewer = Client::new(&server.base).with_token(secret.as_str().unwrap());

        let before = ok(&api, Method::GET, FLAG, None, 200).await;
        let body = json!({"stages": stages(&[10.0, 100.0], 0), "guards": unguarded(), "reason": "ship it"});
        let plan = ok(&api, Method::POST, RELEASE, Some(body), 201).await;
        assert_eq!(plan["state"], "awaiting_approval", "{plan}");
        let id = plan["id"].as_i64().unwrap();
        let requests = ok(&api, Method::GET, &format!("{PROD}/change-requests"), None, 200).await;
        let request = &requests[0];
        assert_eq!(
            (request["state"].as_str(), request["flag"].as_str()),
            (Some("open"), Some("checkout")),
            "{requests}"
        );
        assert_eq!(request["diff"][0]["field"], "fallthrough", "the first stage's split: {request}");
        assert!(
            request["reason"].as_str().is_some_and(|r| r.contains("release plan") && r.contains("ship it")),
            "{request}"
        );
        assert!(
            plan["summary"].as_str().is_some_and(|s| s.contains(&format!("change request {}", request["id"]))),
            "{plan}"
        );
        assert_eq!(ok(&api, Method::GET, FLAG, None, 200).await["version"], before["version"], "nothing written yet");
        // A second start while it waits is refused.
        let again = json!({"stages": stages(&[100.0], 0)});
        let (status, problem) = super::support::post(&api, RELEASE, again).await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("plan_active")), "{problem}");

        let one = format!("{PROD}/change-requests/{}", request["id"]);
        ok(&reviewer, Method::POST, &format!("{one}/approve"), Some(json!({})), 200).await;
        ok(&api, Method::POST, &format!("{one}/apply"), Some(json!({})), 200).await;
        let done = wait_for(&api, "completion", |p| p["state"] == "completed").await;
        assert_eq!(done["id"], id, "{done}");
        assert_eq!(current_share(&api).await, 100.0);
        assert_eq!(
            stage_writes(&api, id).await,
            vec![100.0],
            "stage 1 written by the plan, unapproved; stage 0 by the request"
        );
        let audit = ok(&api, Method::GET, "/api/v1/projects/shop/audit?flag=checkout&limit=100", None, 200).await;
        let items = audit["items"].as_array().unwrap();
        assert!(items.iter().any(|e| e["action"] == "release.approved" && e["after"]["plan"] == id), "{audit}");
        let first =
            items.iter().find(|e| e["after"]["change_request"]["id"] == request["id"]).expect("the request's write");
        assert_eq!(first["after"]["change_request"]["approvers"], json!(["reviewer"]), "{first}");

        // Cancelling the request of a waiting plan aborts the plan; nothing is written.
        let body = json!({"stages": stages(&[50.0], 0), "guards": unguarded()});
        let waiting = ok(&api, Method::POST, RELEASE, Some(body), 201).await;
        let requests = ok(&api, Method::GET, &format!("{PROD}/change-requests"), None, 200).await;
        let open = requests.as_array().unwrap().iter().find(|r| r["state"] == "open").expect("its request").clone();
        ok(&api, Method::POST, &format!("{PROD}/change-requests/{}/cancel", open["id"]), Some(json!({})), 200).await;
        let aborted = ok(&api, Method::GET, RELEASE, None, 200).await;
        assert_eq!(
            (aborted["id"].clone(), aborted["state"].as_str()),
            (waiting["id"].clone(), Some("aborted")),
            "{aborted}"
        );
        assert_eq!(current_share(&api).await, 100.0, "nothing written");
        server
    })
    .await;
}

/// A kill stops a plan awaiting approval too: the kill answers at once, and
/// then the plan is aborted and its change request cancelled, so approving
/// it later cannot start what the kill stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_withdraws_a_plan_awaiting_approval() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        ok(&api, Method::PUT, &format!("{PROD}/approval-policy"), Some(json!({"approvals": 1})), 200).await;
        let body = json!({"stages": stages(&[10.0, 100.0], 0), "guards": unguarded()});
        let plan = ok(&api, Method::POST, RELEASE, Some(body), 201).await;
        assert_eq!(plan["state"], "awaiting_approval", "{plan}");
        // Killed by a token whose name looks like the plan's own actor
        // (`plan:<id>`): token names are free text, so only the server's
        // own plan writes may skip the halt (found in review: the halt
        // was skipped by name alone).
        let body = json!({"name": format!("plan:{}", plan["id"]), "role": "editor"});
        let secret = ok(&api, Method::POST, "/api/v1/tokens", Some(body), 201).await["secret"].clone();
        let responder = Client::new(&server.base).with_token(secret.as_str().unwrap());
        let kill = json!({"reason": "errors", "incident": "INC-3"});
        ok(&responder, Method::POST, &format!("{FLAG}/kill"), Some(kill), 200).await;
        let aborted = wait_for(&api, "the withdrawal", |p| p["state"] == "aborted").await;
        assert_eq!(aborted["id"], plan["id"], "{aborted}");
        let requests = ok(&api, Method::GET, &format!("{PROD}/change-requests"), None, 200).await;
        assert_eq!(requests[0]["state"], "cancelled", "{requests}");
        let killed = ok(&api, Method::GET, FLAG, None, 200).await;
        assert!(killed["config"]["kill"].is_object(), "still killed: {killed}");
        server
    })
    .await;
}
