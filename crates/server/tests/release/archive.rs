//! Archiving a flag stops what would change it later: its running release
//! plan is aborted (reason `flag archived`, its stage entry closed) and its
//! pending scheduled changes are cancelled (`result` saying why), in the
//! archive's transaction, each audited by whoever archived it; the archive's
//! dry run lists both first. (Before, the plan kept running and its next
//! step got 409 `archived`.)

use reqwest::Method;
use serde_json::json;
use switchyard_server::testing::for_each_store;

use super::support::{FLAG, RELEASE, admin, ok, seed, stages, unguarded, wait_for};

const ARCHIVE: &str = "/api/v1/projects/shop/flags/checkout/archive";
const PROD: &str = "/api/v1/projects/shop/environments/production";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archiving_a_flag_stops_its_plan_and_cancels_its_scheduled_changes() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        let body = json!({"stages": stages(&[10.0, 100.0], 3600), "guards": unguarded()});
        let plan = ok(&api, Method::POST, RELEASE, Some(body), 201).await["id"].as_i64().unwrap();
        wait_for(&api, "the first stage", |p| p["stage"] == 0).await;
        let body =
            json!({"at": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339(), "change": {"on": false}});
        let change = ok(&api, Method::POST, &format!("{FLAG}/schedule"), Some(body), 201).await["id"].as_i64().unwrap();

        let preview = ok(&api, Method::POST, ARCHIVE, Some(json!({"dry_run": true})), 200).await;
        let env = &preview["environments"][0];
        assert_eq!(
            (env["release_plan"].as_i64(), &env["scheduled_changes"]),
            (Some(plan), &json!([change])),
            "{preview}"
        );
        assert_eq!(ok(&api, Method::GET, RELEASE, None, 200).await["state"], "running", "a dry run changes nothing");

        let archived = ok(&api, Method::POST, ARCHIVE, Some(json!({"confirm": true, "reason": "retired"})), 200).await;
        assert_eq!(archived["archived"], true, "{archived}");
        let stopped = ok(&api, Method::GET, RELEASE, None, 200).await;
        assert_eq!(stopped["state"], "aborted", "{stopped}");
        assert!(stopped["summary"].as_str().is_some_and(|s| s.contains("flag archived")), "{stopped}");
        assert_eq!(stopped["history"][0]["verdict"], "aborted", "{stopped}");
        let cancelled = ok(&api, Method::GET, &format!("{PROD}/scheduled/{change}"), None, 200).await;
        assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
        assert!(cancelled["result"].as_str().is_some_and(|r| r.contains("flag archived")), "{cancelled}");

        let audit = ok(&api, Method::GET, "/api/v1/projects/shop/audit?flag=checkout&limit=100", None, 200).await;
        let events = audit["items"].as_array().unwrap();
        for action in ["release.abort", "flag.schedule.cancel"] {
            let event = events.iter().find(|e| e["action"] == action).unwrap_or_else(|| panic!("{action}: {audit}"));
            assert_eq!((event["actor"].as_str(), event["reason"].as_str()), (Some("admin"), Some("flag archived")));
        }
        let archive = events.iter().find(|e| e["action"] == "flag.archive").expect("the archive");
        assert_eq!(
            (&archive["after"]["stopped_plans"], &archive["after"]["cancelled_changes"]),
            (&json!([plan]), &json!([change]))
        );

        // Restored from the archive, nothing comes back running; a new plan may start.
        ok(&api, Method::POST, "/api/v1/projects/shop/flags/checkout/unarchive", Some(json!({})), 200).await;
        assert_eq!(ok(&api, Method::GET, RELEASE, None, 200).await["state"], "aborted");
        ok(&api, Method::POST, RELEASE, Some(json!({"stages": stages(&[100.0], 0)})), 201).await;
        server
    })
    .await;
}

/// Archiving a flag cancels its open change requests in the archive's
/// transaction (audited `change_request.cancel` with reason `flag
/// archived`), and the dry run lists them first; a plan awaiting approval
/// is aborted with its request. (Before, they stayed open, and applying one
/// later was 409 `archived`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archiving_a_flag_cancels_its_open_change_requests() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        ok(&api, Method::PUT, &format!("{PROD}/approval-policy"), Some(json!({"approvals": 1})), 200).await;
        let body = json!({"change": {"on": false}, "reason": "later"});
        let request =
            ok(&api, Method::POST, &format!("{FLAG}/change-requests"), Some(body), 201).await["id"].as_i64().unwrap();
        let body = json!({"stages": stages(&[10.0, 100.0], 0), "guards": unguarded()});
        let plan = ok(&api, Method::POST, RELEASE, Some(body), 201).await;
        let waits = plan["change_request"].as_i64().unwrap();

        let preview = ok(&api, Method::POST, ARCHIVE, Some(json!({"dry_run": true})), 200).await;
        let env = &preview["environments"][0];
        assert_eq!(env["change_requests"], json!([request, waits]), "{preview}");
        let archived = ok(&api, Method::POST, ARCHIVE, Some(json!({"confirm": true, "reason": "retired"})), 200).await;
        assert_eq!(archived["archived"], true, "{archived}");
        for id in [request, waits] {
            let one = ok(&api, Method::GET, &format!("{PROD}/change-requests/{id}"), None, 200).await;
            assert_eq!(one["state"], "cancelled", "{one}");
        }
        assert_eq!(ok(&api, Method::GET, RELEASE, None, 200).await["state"], "aborted");
        let audit = ok(&api, Method::GET, "/api/v1/projects/shop/audit?flag=checkout&limit=100", None, 200).await;
        let items = audit["items"].as_array().unwrap();
        let cancels = items.iter().filter(|e| e["action"] == "change_request.cancel" && e["reason"] == "flag archived");
        assert_eq!(cancels.count(), 2, "{audit}");
        let archive = items.iter().find(|e| e["action"] == "flag.archive").unwrap();
        assert_eq!(archive["after"]["cancelled_requests"], json!([request, waits]), "{archive}");
        server
    })
    .await;
}
