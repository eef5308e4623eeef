//! Scheduled changes over real sockets, on SQLite and Postgres: a change
//! scheduled for a time is applied by the durable scheduler as one
//! audited configuration write (actor `scheduler`, the scheduling user as
//! requester); fields it does not set, and a kill, are kept; pending
//! changes can be edited and cancelled, finished ones not; bad changes are
//! refused with their paths; a change whose flag is archived is cancelled
//! without a write. `schedule/crash.rs`: a restart, a `kill -9` while the job is
//! claimed, and two replicas each apply a change exactly once.

mod schedule {
    pub mod crash;
    pub mod fields;
    pub mod requester;
    pub mod support;
}

use reqwest::Method;
use serde_json::json;
use switchyard_server::testing::for_each_store;

use schedule::support::{FLAG, PROD, admin, audit, call, in_secs, ok, scheduler_writes, seed, wait_state};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_toggle_is_applied_by_the_scheduler_and_audited_with_its_requester() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        let body = json!({"at": in_secs(1), "change": {"on": false}, "reason": "end of the campaign"});
        let created = ok(&api, Method::POST, &format!("{FLAG}/schedule"), Some(body), 201).await;
        assert_eq!((created["state"].as_str(), created["requested_by"].as_str()), (Some("pending"), Some("admin")));
        let id = created["id"].as_i64().unwrap();
        let listed = ok(&api, Method::GET, &format!("{PROD}/scheduled"), None, 200).await;
        assert_eq!(listed[0]["id"], id, "{listed}");

        let applied = wait_state(&api, id, "applied").await;
        let config = ok(&api, Method::GET, FLAG, None, 200).await;
        assert_eq!(config["config"]["on"], false, "{config}");
        assert_eq!(applied["revision"], config_revision(&api).await, "{applied}");

        let events = audit(&api).await;
        let write =
            events.iter().find(|e| e["action"] == "flag.toggle" && e["actor"] == "scheduler").expect("the write");
        assert_eq!(write["actor_kind"], "system", "{write}");
        assert_eq!(write["after"]["scheduled"]["requested_by"], "admin", "{write}");
        assert_eq!(write["after"]["scheduled"]["id"], id, "{write}");
        assert_eq!(write["reason"], "end of the campaign", "{write}");
        assert_eq!(write["revision"], applied["revision"], "{write}");
        let asked = events.iter().find(|e| e["action"] == "flag.schedule").expect("the scheduling");
        assert_eq!((asked["actor"].as_str(), asked["after"]["scheduled"]["id"].as_i64()), (Some("admin"), Some(id)));
        assert_eq!(scheduler_writes(&api).await, 1);
        server
    })
    .await;
}

/// The environment's current revision.
async fn config_revision(api: &schedule::support::Api) -> serde_json::Value {
    let env = ok(api, Method::GET, PROD, None, 200).await;
    env["revision"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_rollout_keeps_what_it_does_not_set_and_never_undoes_a_kill() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        let rollout = json!({"rollout": {"variations": [{"variant": "on", "weight": 25000}, {"variant": "off", "weight": 75000}]}});
        let body = json!({"at": in_secs(2), "change": {"fallthrough": rollout}});
        let id = ok(&api, Method::POST, &format!("{FLAG}/schedule"), Some(body), 201).await["id"].as_i64().unwrap();
        // Before it is due: an edit of the rules, and a kill (neither waits for anything).
        let mut config = ok(&api, Method::GET, FLAG, None, 200).await;
        let rule = json!({"id": "se", "clauses": [{"attribute": "country", "op": "in", "values": ["SE"]}], "serve": {"variant": "on"}});
        config["config"]["rules"] = json!([rule]);
        let mut put = config["config"].clone();
        put["version"] = config["version"].clone();
        ok(&api, Method::PUT, FLAG, Some(put), 200).await;
        ok(&api, Method::POST, &format!("{FLAG}/kill"), Some(json!({"reason": "errors", "incident": "INC-9"})), 200).await;

        wait_state(&api, id, "applied").await;
        let after = ok(&api, Method::GET, FLAG, None, 200).await["config"].clone();
        assert_eq!(after["fallthrough"], rollout, "{after}");
        assert_eq!(after["rules"][0]["id"], "se", "the rule written in between is kept: {after}");
        assert_eq!(after["kill"]["reason"], "errors", "the flag stays killed: {after}");
        let write = audit(&api).await.into_iter().find(|e| e["actor"] == "scheduler").expect("the write");
        assert_eq!(write["action"], "flag.config.update", "{write}");
        server
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_changes_can_be_edited_and_cancelled_finished_ones_not() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        let body = json!({"at": in_secs(3600), "change": {"on": false}});
        let id = ok(&api, Method::POST, &format!("{FLAG}/schedule"), Some(body), 201).await["id"].as_i64().unwrap();
        let one = format!("{PROD}/scheduled/{id}");
        let edit = json!({"at": in_secs(7200), "change": {"fallthrough": {"variant": "off"}}, "reason": "later"});
        let edited = ok(&api, Method::PATCH, &one, Some(edit), 200).await;
        assert_eq!(
            (edited["change"]["fallthrough"]["variant"].as_str(), edited["reason"].as_str()),
            (Some("off"), Some("later"))
        );
        let cancelled = ok(&api, Method::POST, &format!("{one}/cancel"), Some(json!({"reason": "no need"})), 200).await;
        assert_eq!(cancelled["state"], "cancelled");
        for (method, path, body) in [
            (Method::POST, format!("{one}/cancel"), json!({})),
            (Method::PATCH, one.clone(), json!({"at": in_secs(60)})),
        ] {
            let (status, problem) = call(&api, method, &path, Some(body)).await;
            assert_eq!((status, problem["code"].as_str()), (409, Some("schedule_state")), "{problem}");
        }
        let actions: Vec<String> =
            audit(&api).await.iter().filter_map(|e| e["action"].as_str().map(String::from)).collect();
        for action in ["flag.schedule", "flag.schedule.edit", "flag.schedule.cancel"] {
            assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
        }

        // An edit moves the job: a change moved to now is applied now.
        let body = json!({"at": in_secs(3600), "change": {"on": false}});
        let id = ok(&api, Method::POST, &format!("{FLAG}/schedule"), Some(body), 201).await["id"].as_i64().unwrap();
        ok(&api, Method::PATCH, &format!("{PROD}/scheduled/{id}"), Some(json!({"at": in_secs(0)})), 200).await;
        wait_state(&api, id, "applied").await;
        assert_eq!(ok(&api, Method::GET, FLAG, None, 200).await["config"]["on"], false);
        assert_eq!(scheduler_writes(&api).await, 1, "the cancelled change never ran");
        server
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_changes_are_refused_with_their_paths_and_nothing_is_stored() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        let cases = [
            (json!({"at": in_secs(-3600), "change": {"on": false}}), "at", "in_the_past"),
            (json!({"at": in_secs(60), "change": {}}), "change", "empty"),
            (json!({"at": in_secs(60), "change": {"fallthrough": {"variant": "blue"}}}), "change.fallthrough", ""),
        ];
        for (body, path, code) in cases {
            let (status, problem) = call(&api, Method::POST, &format!("{FLAG}/schedule"), Some(body.clone())).await;
            assert_eq!(status, 422, "{body} → {problem}");
            let error = &problem["errors"][0];
            assert!(error["path"].as_str().is_some_and(|p| p.starts_with(path)), "{body} → {problem}");
            assert!(code.is_empty() || error["code"] == code, "{body} → {problem}");
        }
        let (status, _) = call(
            &api,
            Method::POST,
            &format!("{PROD}/flags/nope/schedule"),
            Some(json!({"at": in_secs(60), "change": {"on": true}})),
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(ok(&api, Method::GET, &format!("{PROD}/scheduled"), None, 200).await, json!([]));
        // An id of another environment is not found there.
        ok(&api, Method::POST, "/api/v1/projects/shop/environments", Some(json!({"key": "staging"})), 201).await;
        let body = json!({"at": in_secs(3600), "change": {"on": false}});
        let id = ok(&api, Method::POST, &format!("{FLAG}/schedule"), Some(body), 201).await["id"].as_i64().unwrap();
        let staging = format!("/api/v1/projects/shop/environments/staging/scheduled/{id}");
        assert_eq!(call(&api, Method::GET, &staging, None).await.0, 404);
        assert_eq!(call(&api, Method::POST, &format!("{staging}/cancel"), Some(json!({}))).await.0, 404);
        server
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_flag_is_archived_is_cancelled_without_a_write() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        let body = json!({"at": in_secs(1), "change": {"on": false}});
        let id = ok(&api, Method::POST, &format!("{FLAG}/schedule"), Some(body), 201).await["id"].as_i64().unwrap();
        let archive = json!({"confirm": true, "reason": "retired"});
        ok(&api, Method::POST, "/api/v1/projects/shop/flags/checkout/archive", Some(archive), 200).await;
        let cancelled = ok(&api, Method::GET, &format!("{PROD}/scheduled/{id}"), None, 200).await;
        assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
        assert!(cancelled["result"].as_str().is_some_and(|r| r.contains("flag archived")), "{cancelled}");
        // Nothing can be scheduled on an archived flag; deleting it leaves the record.
        let body = json!({"at": in_secs(60), "change": {"on": false}});
        let (status, problem) = call(&api, Method::POST, &format!("{FLAG}/schedule"), Some(body)).await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("archived")), "{problem}");
        ok(&api, Method::DELETE, "/api/v1/projects/shop/flags/checkout?reason=cleanup", None, 204).await;
        let events = audit(&api).await;
        let cancel = events.iter().find(|e| e["action"] == "flag.schedule.cancel").expect("the cancellation");
        assert_eq!((cancel["actor"].as_str(), cancel["reason"].as_str()), (Some("admin"), Some("flag archived")));
        assert_eq!(scheduler_writes(&api).await, 0);
        server
    })
    .await;
}
