//! A release plan started where approvals are on and the change request it
//! waits for are made in one transaction, linked by the plan's
//! `change_request` (migration 0019; before, two transactions and a link in
//! the first job's payload).

use reqwest::Method;
use serde_json::json;
use switchyard_server::testing::for_each_store;

use super::support::{RELEASE, admin, ok, seed, stages, unguarded};

const PROD: &str = "/api/v1/projects/shop/environments/production";

/// A plan and the change request it waits for are made in one transaction
/// and linked by the plan's `change_request`: starts racing each other make
/// one plan and one request (before, each start opened its request in a
/// transaction of its own, and a start whose plan was then refused left a
/// request behind), and the audit's `change_request.open` and
/// `release.start` carry the same time, that transaction's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_and_its_change_request_are_made_together() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        ok(&api, Method::PUT, &format!("{PROD}/approval-policy"), Some(json!({"approvals": 1})), 200).await;
        let starts = (0..6).map(|_| {
            let body = json!({"stages": stages(&[10.0, 100.0], 0), "guards": unguarded()});
            super::support::post(&api, RELEASE, body)
        });
        let answers = futures_util::future::join_all(starts).await;
        let created: Vec<_> = answers.iter().filter(|(status, _)| *status == 201).collect();
        assert_eq!(created.len(), 1, "{answers:?}");
        for (status, problem) in answers.iter().filter(|(status, _)| *status != 201) {
            assert_eq!((*status, problem["code"].as_str()), (409, Some("plan_active")), "{problem}");
        }
        let plan = &created[0].1;
        let requests = ok(&api, Method::GET, &format!("{PROD}/change-requests"), None, 200).await;
        assert_eq!(requests.as_array().unwrap().len(), 1, "one request, no orphan: {requests}");
        assert_eq!(plan["change_request"], requests[0]["id"], "the link: {plan}");
        assert_eq!(ok(&api, Method::GET, RELEASE, None, 200).await["change_request"], requests[0]["id"]);
        let audit = ok(&api, Method::GET, "/api/v1/projects/shop/audit?flag=checkout&limit=100", None, 200).await;
        let at = |action: &str| {
            let items = audit["items"].as_array().unwrap();
            items.iter().find(|e| e["action"] == action).map(|e| e["at"].clone()).expect(action)
        };
        assert_eq!(at("change_request.open"), at("release.start"), "one transaction: {audit}");
        server
    })
    .await;
}
