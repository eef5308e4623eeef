//! Postgres only: a real server process killed with SIGKILL inside a step
//! (after the stage's configuration write, before its record), and two
//! replicas on one database; in both, every stage is written exactly once.

use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use switchyard_server::client::Client;
use switchyard_server::config::ServeConfig;
use switchyard_server::testing::{ADMIN_PASSWORD, TestDb, TestServer, login};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::ChildStdout;

use super::support::{RELEASE, admin, ok, seed, stage_writes, stages, unguarded, wait_for};

async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> String {
    match tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await {
        Ok(Ok(Some(line))) => line,
        other => panic!("the server process said nothing more: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_step_neither_skips_nor_doubles_a_stage() {
    let Some(db) = TestDb::postgres().await else { return };
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("serve")
        .env("SWITCHYARD_DATABASE_URL", db.url())
        .env("SWITCHYARD_LISTEN", "127.0.0.1:0")
        .env("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("SWITCHYARD_SCHEDULER_TICK", "100ms")
        .env("SWITCHYARD_TEST_HANG_AFTER_STAGE", "1")
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
    let percents = [10.0, 20.0, 30.0, 100.0];
    let plan =
        ok(&api, Method::POST, RELEASE, Some(json!({"stages": stages(&percents, 0), "guards": unguarded()})), 201)
            .await;
    let id = plan["id"].as_i64().unwrap();
    while !next_line(&mut lines).await.contains("failpoint: stage 1 written") {}
    // Inside the step: stage 2's split is written, its record is not.
    child.kill().await.expect("SIGKILL");
    let server = TestServer::start_with(ServeConfig::for_tests(db.url())).await;
    let api = admin(&server);
    assert_eq!(stage_writes(&api, id).await, vec![10.0, 20.0], "the killed step wrote its stage");
    // The dead claim lapses; this server takes the step over and goes on.
    wait_for(&api, "completion after the kill", |p| p["state"] == "completed").await;
    assert_eq!(stage_writes(&api, id).await, percents.to_vec(), "each stage exactly once");
    server.stop().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_apply_each_stage_once() {
    let Some(db) = TestDb::postgres().await else { return };
    let config = || ServeConfig { scheduler_tick: Duration::from_millis(10), ..ServeConfig::for_tests(db.url()) };
    let a = TestServer::start_with(config()).await;
    let b = TestServer::start_with(config()).await;
    let api = admin(&a);
    seed(&api).await;
    let percents = [1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0];
    let plan =
        ok(&api, Method::POST, RELEASE, Some(json!({"stages": stages(&percents, 0), "guards": unguarded()})), 201)
            .await;
    let id = plan["id"].as_i64().unwrap();
    wait_for(&admin(&b), "completion", |p| p["state"] == "completed").await;
    assert_eq!(stage_writes(&api, id).await, percents.to_vec(), "each stage exactly once");
    // Every step was claimed exactly once, by one of the two.
    for stage in 0..=percents.len() {
        let job = a.state.store.job(&format!("release:{id}:{stage}")).await.unwrap().expect("the step's job");
        assert_eq!((job.state.as_str(), job.attempts), ("done", 1), "step {stage}: {job:?}");
    }
    a.stop().await;
    b.stop().await;
    db.cleanup().await;
}
