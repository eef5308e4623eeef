//! A scheduled change survives a restart, a server process killed with
//! SIGKILL while it holds the change's job (both stores), and two replicas
//! on one database (Postgres): each change is applied exactly once.

use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use switchyard_server::client::Client;
use switchyard_server::config::ServeConfig;
use switchyard_server::testing::{ADMIN_PASSWORD, TestDb, TestServer, login};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::ChildStdout;

use super::support::{FLAG, admin, in_secs, ok, scheduler_writes, seed, wait_state};

async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> String {
    match tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await {
        Ok(Ok(Some(line))) => line,
        other => panic!("the server process said nothing more: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_due_while_no_server_runs_is_applied_once_after_the_restart() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = TestServer::start(&db.url()).await;
        let api = admin(&server);
        seed(&api).await;
        let body = json!({"at": in_secs(2), "change": {"on": false}});
        let id = ok(&api, Method::POST, &format!("{FLAG}/schedule"), Some(body), 201).await["id"].as_i64().unwrap();
        server.stop().await;
        // Due while no server runs (a pause past the due time, not a wait for a server).
        tokio::time::sleep(Duration::from_secs(3)).await;
        let server = TestServer::start_with(ServeConfig::for_tests(db.url())).await;
        let api = admin(&server);
        wait_state(&api, id, "applied").await;
        assert_eq!(ok(&api, Method::GET, FLAG, None, 200).await["config"]["on"], false);
        assert_eq!(scheduler_writes(&api).await, 1, "{}", db.label());
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_holding_the_job_applies_nothing_and_the_next_one_applies_it_once() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .arg("serve")
            .env("SWITCHYARD_DATABASE_URL", db.url())
            .env("SWITCHYARD_LISTEN", "127.0.0.1:0")
            .env("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("SWITCHYARD_SCHEDULER_TICK", "100ms")
            .env("SWITCHYARD_TEST_HANG_BEFORE_APPLY", "1")
            .env("SWITCHYARD_LOG", "warn")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawning the server");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = next_line(&mut lines).await;
            if let Some(rest) = line.split("is running at ").nth(1) {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        let api = Client::new(&base).with_token(&login(&base, "admin", ADMIN_PASSWORD).await);
        seed(&api).await;
        let body = json!({"at": in_secs(0), "change": {"on": false}, "reason": "crash me"});
        let id = ok(&api, Method::POST, &format!("{FLAG}/schedule"), Some(body), 201).await["id"].as_i64().unwrap();
        let claimed = format!("failpoint: scheduled change {id} claimed");
        while !next_line(&mut lines).await.contains(&claimed) {}
        child.kill().await.expect("SIGKILL");

        let server = TestServer::start_with(ServeConfig::for_tests(db.url())).await;
        let api = admin(&server);
        assert_eq!(
            ok(&api, Method::GET, FLAG, None, 200).await["config"]["on"],
            true,
            "the killed server wrote nothing"
        );
        // The dead claim lapses (10 s); this server takes the job over.
        wait_state(&api, id, "applied").await;
        assert_eq!(ok(&api, Method::GET, FLAG, None, 200).await["config"]["on"], false);
        assert_eq!(scheduler_writes(&api).await, 1, "{}: applied exactly once", db.label());
        let job = server.state.store.job(&format!("change:{id}")).await.unwrap().expect("the change's job");
        assert_eq!((job.state.as_str(), job.attempts), ("done", 2), "{}: {job:?}", db.label());
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_apply_each_change_once() {
    let Some(db) = TestDb::postgres().await else { return };
    let config = || ServeConfig { scheduler_tick: Duration::from_millis(10), ..ServeConfig::for_tests(db.url()) };
    let a = TestServer::start_with(config()).await;
    let b = TestServer::start_with(config()).await;
    let api = admin(&a);
    seed(&api).await;
    // Twenty rollout steps due together, each a different split: each one is a write.
    let mut ids = Vec::new();
    for k in 1..=20u32 {
        let split = json!({"rollout": {"variations": [{"variant": "on", "weight": k * 1000}, {"variant": "off", "weight": 100_000 - k * 1000}]}});
        let body = json!({"at": in_secs(1), "change": {"fallthrough": split}});
        ids.push(ok(&api, Method::POST, &format!("{FLAG}/schedule"), Some(body), 201).await["id"].as_i64().unwrap());
    }
    let api_b = admin(&b);
    for id in &ids {
        wait_state(&api_b, *id, "applied").await;
    }
    assert_eq!(scheduler_writes(&api).await, ids.len(), "each change written exactly once");
    for id in ids {
        let job = a.state.store.job(&format!("change:{id}")).await.unwrap().expect("the change's job");
        assert_eq!((job.state.as_str(), job.attempts), ("done", 1), "change {id}: {job:?}");
    }
    a.stop().await;
    b.stop().await;
    db.cleanup().await;
}
