//! A scheduled change is its requester's change: when it is due, the user
//! or token that asked must still be allowed to make it. A revoked token,
//! a user demoted below editor in the project, and a user who lost their
//! membership there each make their change `failed`, nothing written, the
//! reason on the change (API, CLI, UI) and in the audit (`flag.schedule.failed`
//! by the scheduler, naming the requester); a requester still allowed has
//! theirs applied.

use reqwest::Method;
use serde_json::{Value, json};
use switchyard_server::client::Client;
use switchyard_server::testing::{TestServer, for_each_store, login};

use super::support::{Api, FLAG, PROD, admin, audit, in_secs, ok, scheduler_writes, seed, wait_state};

const MEMBERS: &str = "/api/v1/projects/shop/members";

/// A user with a global `role`, editor in `shop` by membership, logged in.
async fn member(server: &TestServer, api: &Api, name: &str, role: &str) -> Api {
    let body = json!({"username": name, "password": "a-long-password", "role": role});
    ok(api, Method::POST, "/api/v1/users", Some(body), 201).await;
    ok(api, Method::PUT, &format!("{MEMBERS}/{name}"), Some(json!({"role": "editor"})), 200).await;
    Client::new(&server.base).with_token(&login(&server.base, name, "a-long-password").await)
}

/// An editor API token named `name`, as a client, and its id.
async fn editor_token(server: &TestServer, api: &Api, name: &str) -> (Api, i64) {
    let body = json!({"name": name, "role": "editor"});
    let created = ok(api, Method::POST, "/api/v1/tokens", Some(body), 201).await;
    let id = created["token"]["id"].as_i64().unwrap();
    (Client::new(&server.base).with_token(created["secret"].as_str().unwrap()), id)
}

/// Schedules `change` by `api`, due in `secs`; its id.
async fn schedule(api: &Api, change: Value, secs: i64) -> i64 {
    let body = json!({"at": in_secs(secs), "change": change, "reason": "later"});
    let created = ok(api, Method::POST, &format!("{FLAG}/schedule"), Some(body), 201).await;
    assert!(created["requester"]["id"].is_i64(), "{created}");
    created["id"].as_i64().unwrap()
}

fn failed_event(events: &[Value], id: i64) -> &Value {
    let found = events.iter().find(|e| e["action"] == "flag.schedule.failed" && e["after"]["scheduled"]["id"] == id);
    found.unwrap_or_else(|| panic!("no failure event for {id}: {events:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_requester_lost_its_authority_fails_when_due_and_says_why() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        let (ci, token_id) = editor_token(&server, &api, "ci").await;
        let (demoted, removed, kept) = (
            member(&server, &api, "dee", "viewer").await,
            member(&server, &api, "rex", "viewer").await,
            member(&server, &api, "kim", "viewer").await,
        );
        let off = json!({"on": false});
        let by_token = schedule(&ci, off.clone(), 4).await;
        let by_demoted = schedule(&demoted, off.clone(), 4).await;
        let by_removed = schedule(&removed, off, 4).await;
        let by_kept = schedule(&kept, json!({"fallthrough": {"variant": "off"}}), 5).await;
        ok(&api, Method::DELETE, &format!("/api/v1/tokens/{token_id}"), None, 200).await;
        ok(&api, Method::PUT, &format!("{MEMBERS}/dee"), Some(json!({"role": "viewer"})), 200).await;
        ok(&api, Method::DELETE, &format!("{MEMBERS}/rex"), None, 200).await;

        let cases = [
            (by_token, "ci", "was revoked"),
            (by_demoted, "dee", "is now viewer"),
            (by_removed, "rex", "is now viewer"),
        ];
        for (id, name, why) in cases {
            let failed = wait_state(&api, id, "failed").await;
            let result = failed["result"].as_str().unwrap_or_default();
            assert!(result.contains(name) && result.contains(why), "{name}: {failed}");
        }
        wait_state(&api, by_kept, "applied").await;
        let config = ok(&api, Method::GET, FLAG, None, 200).await;
        let written = (&config["config"]["on"], &config["config"]["fallthrough"]["variant"]);
        assert_eq!(written, (&json!(true), &json!("off")), "only kim's change was written: {config}");

        let events = audit(&api).await;
        for (id, name, why) in cases {
            let event = failed_event(&events, id);
            assert_eq!((event["actor"].as_str(), event["actor_kind"].as_str()), (Some("scheduler"), Some("system")));
            assert_eq!(event["after"]["scheduled"]["requested_by"], name, "{event}");
            assert!(event["reason"].as_str().is_some_and(|r| r.contains(why)), "{event}");
        }
        assert_eq!(scheduler_writes(&api).await, 1);
        let listed = ok(&api, Method::GET, &format!("{PROD}/scheduled"), None, 200).await;
        assert_eq!(listed.as_array().map(Vec::len), Some(4), "{listed}");
        server
    })
    .await;
}

/// Moving a change (its time or reason) leaves it its requester's: it
/// still fails when due if that requester lost its authority. Replacing
/// what it does makes it the editor's. (Found in review: any edit made the
/// editor the requester, so rescheduling a revoked token's change let its
/// content apply under the editor's authority.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_a_change_keeps_its_requester_and_rewriting_it_takes_it_over() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        let (ci, token_id) = editor_token(&server, &api, "ci").await;
        let moved = schedule(&ci, json!({"on": false}), 600).await;
        let rewritten = schedule(&ci, json!({"on": false}), 600).await;
        ok(&api, Method::DELETE, &format!("/api/v1/tokens/{token_id}"), None, 200).await;

        let body = json!({"at": in_secs(3), "reason": "sooner"});
        let edited = ok(&api, Method::PATCH, &format!("{PROD}/scheduled/{moved}"), Some(body), 200).await;
        assert_eq!(edited["requested_by"], "ci", "moved, still ci's: {edited}");
        let body = json!({"at": in_secs(4), "change": {"fallthrough": {"variant": "off"}}});
        let edited = ok(&api, Method::PATCH, &format!("{PROD}/scheduled/{rewritten}"), Some(body), 200).await;
        assert_ne!(edited["requested_by"], "ci", "rewritten, the editor's: {edited}");

        let failed = wait_state(&api, moved, "failed").await;
        assert!(failed["result"].as_str().is_some_and(|r| r.contains("ci") && r.contains("was revoked")), "{failed}");
        wait_state(&api, rewritten, "applied").await;
        let config = ok(&api, Method::GET, FLAG, None, 200).await;
        let written = (&config["config"]["on"], &config["config"]["fallthrough"]["variant"]);
        assert_eq!(written, (&json!(true), &json!("off")), "only the rewritten change was written: {config}");
        server
    })
    .await;
}
