//! Release plans over real sockets, on SQLite and Postgres: a plan
//! advances through its stages by the durable scheduler, each stage one
//! audited configuration write by `plan:<id>`; pause, resume, abort and
//! promote; a server stopped mid-plan and started again neither skips nor
//! doubles a stage; on Postgres, a server process killed with SIGKILL
//! between a stage's write and its record, and two replicas sharing one
//! database, apply every stage exactly once.

mod release {
    pub mod approval;
    pub mod approval_link;
    pub mod archive;
    pub mod crash;
    pub mod guarded;
    pub mod support;
}

use reqwest::Method;
use serde_json::json;
use switchyard_server::config::ServeConfig;
use switchyard_server::testing::{TestDb, TestServer, for_each_store};

use release::support::{
    FLAG, RELEASE, admin, current_share, get, ok, post, seed, stage_writes, stages, unguarded, wait_for,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_advances_through_its_stages_as_audited_writes() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        let body = json!({"stages": stages(&[10.0, 50.0, 100.0], 0), "guards": unguarded(), "reason": "ship it"});
        let plan = ok(&api, Method::POST, RELEASE, Some(body), 201).await;
        assert_eq!(plan["state"], "running");
        assert_eq!((plan["control"].as_str(), plan["treatment"].as_str()), (Some("off"), Some("on")));
        let id = plan["id"].as_i64().unwrap();
        let done = wait_for(&api, "completion", |p| p["state"] == "completed").await;
        assert_eq!(done["stage"], 2, "{done}");
        assert_eq!(stage_writes(&api, id).await, vec![10.0, 50.0, 100.0]);
        assert_eq!(current_share(&api).await, 100.0);
        // Each stage's reason is the plan's summary line.
        let audit = ok(&api, Method::GET, "/api/v1/projects/shop/audit?flag=checkout&limit=100", None, 200).await;
        let reasons: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["actor"] == format!("plan:{id}"))
            .filter_map(|e| e["reason"].as_str())
            .collect();
        assert!(reasons.iter().any(|r| r.contains("stage 2/3, 50% on")), "{reasons:?}");
        assert!(audit["items"].as_array().unwrap().iter().any(|e| e["action"] == "release.complete"));
        // A finished plan does not block the next one.
        ok(&api, Method::POST, RELEASE, Some(json!({"stages": stages(&[100.0], 0)})), 201).await;
        server
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_promote_and_abort() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        // Long stages: only a promote moves it on.
        let plan =
            ok(&api, Method::POST, RELEASE, Some(json!({"stages": stages(&[5.0, 50.0, 100.0], 3600)})), 201).await;
        let id = plan["id"].as_i64().unwrap();
        wait_for(&api, "the first stage", |p| p["stage"] == 0).await;
        let (status, body) = post(&api, RELEASE, json!({"stages": stages(&[100.0], 0)})).await;
        assert_eq!((status, body["code"].as_str()), (409, Some("plan_active")), "{body}");

        let promoted = ok(&api, Method::POST, &format!("{RELEASE}/promote"), Some(json!({})), 200).await;
        assert_eq!(promoted["stage"], 1, "{promoted}");
        assert_eq!(current_share(&api).await, 50.0);

        let paused = ok(&api, Method::POST, &format!("{RELEASE}/pause"), Some(json!({"reason": "look"})), 200).await;
        assert_eq!(paused["state"], "paused");
        let (status, body) = post(&api, &format!("{RELEASE}/promote"), json!({})).await;
        assert_eq!((status, body["code"].as_str()), (409, Some("plan_state")), "{body}");
        let (status, _) = post(&api, &format!("{RELEASE}/pause"), json!({})).await;
        assert_eq!(status, 409);
        let resumed = ok(&api, Method::POST, &format!("{RELEASE}/resume"), Some(json!({})), 200).await;
        assert_eq!(resumed["state"], "running");

        let (status, body) = post(&api, &format!("{RELEASE}/abort"), json!({})).await;
        assert_eq!((status, body["errors"][0]["path"].as_str()), (422, Some("reason")), "{body}");
        let aborted =
            ok(&api, Method::POST, &format!("{RELEASE}/abort"), Some(json!({"reason": "errors up"})), 200).await;
        assert_eq!(aborted["state"], "aborted");
        assert_eq!(current_share(&api).await, 0.0, "an abort serves the control to everyone");
        assert_eq!(stage_writes(&api, id).await, vec![5.0, 50.0], "no stage after the abort");
        let (status, _) = post(&api, &format!("{RELEASE}/resume"), json!({})).await;
        assert_eq!(status, 409);
        server
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_plans_are_refused_with_their_paths() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        let cases = [
            (json!({}), "stages", "required"),
            (json!({"stages": stages(&[50.0, 10.0], 0)}), "stages[1].percent", "not_increasing"),
            (json!({"stages": stages(&[150.0], 0)}), "stages[0].percent", "out_of_range"),
            (json!({"stages": stages(&[10.0], 0), "treatment": "blue"}), "treatment", "unknown_variant"),
            (json!({"stages": stages(&[10.0], 0), "treatment": "off"}), "treatment", "same_as_control"),
            (json!({"stages": stages(&[10.0], 0), "guards": {"alpha": 0.9}}), "guards.alpha", "out_of_range"),
        ];
        for (body, path, code) in cases {
            let (status, problem) = post(&api, RELEASE, body.clone()).await;
            assert_eq!(status, 422, "{body} → {problem}");
            assert_eq!(
                (problem["errors"][0]["path"].as_str(), problem["errors"][0]["code"].as_str()),
                (Some(path), Some(code)),
                "{body}"
            );
        }
        let (status, problem) = post(&api, RELEASE, json!({"template": "nope"})).await;
        assert_eq!(status, 404, "{problem}");
        let (status, _) = get(&api, RELEASE).await;
        assert_eq!(status, 404, "no plan was stored");
        // A template serves several flags.
        let template = json!({"key": "standard", "stages": stages(&[1.0, 100.0], 0)});
        ok(&api, Method::POST, "/api/v1/projects/shop/release-templates", Some(template), 201).await;
        let plan = ok(&api, Method::POST, RELEASE, Some(json!({"template": "standard"})), 201).await;
        assert_eq!(plan["stages"].as_array().unwrap().len(), 2);
        assert_eq!(plan["template"], "standard");
        server
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_plan_neither_skips_nor_doubles_a_stage() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = TestServer::start(&db.url()).await;
        let api = admin(&server);
        seed(&api).await;
        let percents = [10.0, 20.0, 30.0, 40.0, 100.0];
        let plan =
            ok(&api, Method::POST, RELEASE, Some(json!({"stages": stages(&percents, 1), "guards": unguarded()})), 201)
                .await;
        let id = plan["id"].as_i64().unwrap();
        wait_for(&api, "the second stage", |p| p["stage"].as_u64().is_some_and(|s| s >= 1)).await;
        server.stop().await;
        let server = TestServer::start_with(ServeConfig::for_tests(db.url())).await;
        let api = admin(&server);
        wait_for(&api, "completion after the restart", |p| p["state"] == "completed").await;
        assert_eq!(stage_writes(&api, id).await, percents.to_vec());
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_per_state_and_guard_checks_are_on_the_metrics_endpoint() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        let metrics = server.metrics().await;
        for state in ["running", "paused", "aborted", "completed", "rolled_back"] {
            let line = format!("switchyard_release_plans{{state=\"{state}\"}} 0");
            assert!(metrics.contains(&line), "{line} before any plan: {metrics}");
        }
        // One completed (its guard checked once, before completing), one aborted, one running.
        let quick = json!({"stages": stages(&[100.0], 0), "guards": unguarded()});
        ok(&api, Method::POST, RELEASE, Some(quick), 201).await;
        wait_for(&api, "completion", |p| p["state"] == "completed").await;
        let long = json!({"stages": stages(&[5.0, 100.0], 3600)});
        ok(&api, Method::POST, RELEASE, Some(long.clone()), 201).await;
        ok(&api, Method::POST, &format!("{RELEASE}/abort"), Some(json!({"reason": "metrics"})), 200).await;
        ok(&api, Method::POST, RELEASE, Some(long), 201).await;
        let metrics = server.metrics().await;
        for (state, n) in [("running", 1), ("paused", 0), ("aborted", 1), ("completed", 1), ("rolled_back", 0)] {
            let line = format!("switchyard_release_plans{{state=\"{state}\"}} {n}");
            assert!(metrics.contains(&line), "{line}: {metrics}");
        }
        let checks = metrics.lines().find_map(|l| l.strip_prefix("switchyard_guard_evaluations_total "));
        assert!(checks.and_then(|n| n.parse::<u64>().ok()).is_some_and(|n| n >= 1), "{metrics}");
        server
    })
    .await;
}

/// A responder's kill stops a running plan: no stage is written under the
/// kill, the plan is aborted (by itself, saying who killed the flag), and
/// the restore serves the control, not a stage the plan would have reached
/// meanwhile. (Before, the plan went on to 100 % under the kill, and the
/// restore served the treatment to everyone.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_stops_the_plan_and_the_restore_serves_the_control() {
    for_each_store(|server| async move {
        let api = admin(&server);
        seed(&api).await;
        let body = json!({"stages": stages(&[5.0, 50.0, 100.0], 1), "guards": unguarded(), "reason": "ship it"});
        let plan = ok(&api, Method::POST, RELEASE, Some(body), 201).await;
        let id = plan["id"].as_i64().unwrap();
        wait_for(&api, "the first stage", |p| p["stage"] == 0).await;
        ok(&api, Method::POST, &format!("{FLAG}/kill"), Some(json!({"reason": "errors up"})), 200).await;

        let stopped = wait_for(&api, "the plan to stop", |p| p["state"] != "running").await;
        assert_eq!(stopped["state"], "aborted", "{stopped}");
        let summary = stopped["history"][0]["summary"].as_str().unwrap_or_default();
        assert!(summary.contains("killed by admin: errors up"), "{stopped}");
        // Longer than every stage's minimum duration: nothing more happens.
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        assert_eq!(stage_writes(&api, id).await, vec![5.0, 0.0], "stage 1, then the control under the kill");
        assert_eq!(get(&api, RELEASE).await.1["state"], "aborted");

        ok(&api, Method::DELETE, &format!("{FLAG}/kill"), Some(json!({"reason": "fixed"})), 200).await;
        assert_eq!(current_share(&api).await, 0.0, "the restore serves the control");
        let audit = ok(&api, Method::GET, "/api/v1/projects/shop/audit?flag=checkout&limit=100", None, 200).await;
        let abort = audit["items"].as_array().unwrap().iter().find(|e| e["action"] == "release.abort");
        assert_eq!(abort.map(|e| e["actor"].clone()), Some(json!(format!("plan:{id}"))), "{audit}");
        server
    })
    .await;
}
