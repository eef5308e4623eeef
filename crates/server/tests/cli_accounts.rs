//! Account commands of the real `switchyard` binary: `admin reset-password`
//! on the server host (straight on the store, API down), the remote
//! `users reset-password` and `passwd`, and what start-up says about
//! `SWITCHYARD_ADMIN_PASSWORD` on an existing database.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use switchyard_server::testing::{Api, TestDb, TestServer, login};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Runs `switchyard <args>` with `env` and `stdin`; returns (code, stdout, stderr).
async fn run(args: &[&str], env: &[(&str, &str)], stdin: &str) -> (i32, String, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"));
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    for var in ["SWITCHYARD_DATABASE_URL", "SWITCHYARD_ADMIN_PASSWORD", "SWITCHYARD_TOKEN", "SWITCHYARD_URL"] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let mut child = cmd.spawn().expect("running the switchyard binary");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output()).await.expect("finishes").unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().expect("exit code"), text(&out.stdout), text(&out.stderr))
}

async fn login_status(base: &str, username: &str, password: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_reset_password_works_on_the_store_with_the_api_down() {
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let url = db.url();
        let server = TestServer::start(&url).await;
        let admin = Api::new(&server, Some(&server.admin_token));
        let body = json!({"username": "vera", "password": "a-long-password", "role": "viewer"});
        admin.ok(reqwest::Method::POST, "/api/v1/users", Some(body), 201).await;
        let old_session = login(&server.base, "vera", "a-long-password").await;
        server.stop().await;

        let env = [("SWITCHYARD_DATABASE_URL", url.as_str())];
        let reset = ["admin", "reset-password", "vera", "--password-stdin"];
        let (code, out, err) = run(&reset, &env, "short\n").await;
        assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
        assert!(err.contains("at least 12 characters"), "{err}");
        let (code, out, err) = run(&reset, &env, "reset-on-the-host\n").await;
        assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
        assert!(out.contains("vera") && !out.contains("reset-on-the-host"), "{out}");
        let (code, _, err) = run(&["admin", "reset-password", "nobody"], &env, "").await;
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("no user `nobody`") && err.contains("admin, vera"), "{err}");

        // without --password-stdin a password is generated and shown once
        let (code, out, err) = run(&["admin", "reset-password", "admin"], &env, "").await;
        assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
        let generated = out.split('`').nth(3).expect("the password in backticks").to_string();
        assert!(generated.len() >= 12, "{out}");

        let server =
            TestServer::start_with_admin(switchyard_server::config::ServeConfig::for_tests(&url), &generated).await;
        assert_eq!(login_status(&server.base, "vera", "a-long-password").await, 401);
        assert_eq!(login_status(&server.base, "vera", "reset-on-the-host").await, 200);
        let (status, _) = Api::new(&server, Some(&old_session)).get("/api/v1/me").await;
        assert_eq!(status, 401, "sessions from before the reset end");
        server.stop().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_users_reset_password_and_passwd() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db.url()).await;
    let admin = Api::new(&server, Some(&server.admin_token));
    let body = json!({"username": "vera", "password": "a-long-password", "role": "viewer"});
    admin.ok(reqwest::Method::POST, "/api/v1/users", Some(body), 201).await;
    let token = admin
        .ok(reqwest::Method::POST, "/api/v1/tokens", Some(json!({"name": "ops", "role": "admin"})), 201)
        .await["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let env = [("SWITCHYARD_URL", server.base.as_str()), ("SWITCHYARD_TOKEN", token.as_str())];

    let (code, out, err) = run(&["users", "list"], &env, "").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("USER") && out.contains("vera") && out.contains("viewer"), "{out}");
    let (code, _, err) = run(&["users", "reset-password", "vera", "--password-stdin"], &env, "tiny\n").await;
    assert_eq!(code, 1);
    assert!(err.contains("422") && err.contains("password") && err.contains("12"), "{err}");
    let (code, out, err) =
        run(&["users", "reset-password", "vera", "--password-stdin"], &env, "reset-by-the-cli\n").await;
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert_eq!(login_status(&server.base, "vera", "reset-by-the-cli").await, 200);

    // passwd: the user's own change, current and new password on stdin; no token needed
    let env = [("SWITCHYARD_URL", server.base.as_str())];
    let (code, _, err) = run(&["passwd", "--user", "vera"], &env, "wrong-password!\nchanged-by-vera\n").await;
    assert_eq!(code, 1);
    assert!(err.contains("401") || err.contains("user name or password"), "{err}");
    let (code, out, err) = run(&["passwd", "--user", "vera"], &env, "reset-by-the-cli\nchanged-by-vera!\n").await;
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert_eq!(login_status(&server.base, "vera", "changed-by-vera!").await, 200);
    server.stop().await;
    db.cleanup().await;
}

/// Starts `switchyard serve` on a data dir and returns what it printed before it was ready.
async fn start_and_read_banner(data_dir: &std::path::Path, admin_password: &str) -> (Option<i32>, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"));
    cmd.arg("serve")
        .env_remove("SWITCHYARD_DATABASE_URL")
        .env("SWITCHYARD_DATA_DIR", data_dir)
        .env("SWITCHYARD_LISTEN", "127.0.0.1:0")
        .env("SWITCHYARD_ADMIN_PASSWORD", admin_password)
        .env("SWITCHYARD_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("starting switchyard serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, lines.next_line()).await.expect("banner within 60 s") {
            Ok(Some(line)) => {
                banner.push_str(&line);
                banner.push('\n');
                if line.contains("single-instance") {
                    break;
                }
            }
            _ => {
                let mut err = String::new();
                let _ = tokio::io::AsyncReadExt::read_to_string(child.stderr.as_mut().unwrap(), &mut err).await;
                let status = child.wait().await.unwrap();
                return (status.code(), format!("{banner}{err}"));
            }
        }
    }
    child.kill().await.unwrap();
    (None, banner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_tells_the_truth_about_the_admin_password() {
    let dir = std::env::temp_dir().join(format!("switchyard-banner-{}", std::process::id()));
    let (code, banner) = start_and_read_banner(&dir, "first-long-password").await;
    assert_eq!(code, None, "{banner}");
    assert!(banner.contains("Log in as `admin` with the password from SWITCHYARD_ADMIN_PASSWORD"), "{banner}");

    let (code, banner) = start_and_read_banner(&dir, "second-long-password").await;
    assert_eq!(code, None, "{banner}");
    assert!(
        banner.contains("admin user already exists; SWITCHYARD_ADMIN_PASSWORD ignored")
            && banner.contains("switchyard admin reset-password admin"),
        "{banner}"
    );
    assert!(!banner.contains("with the password from SWITCHYARD_ADMIN_PASSWORD"), "{banner}");
    let _ = std::fs::remove_dir_all(&dir);

    // too short on a fresh database: one clear line, exit 1
    let dir = std::env::temp_dir().join(format!("switchyard-banner-short-{}", std::process::id()));
    let (code, out) = start_and_read_banner(&dir, "short").await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("SWITCHYARD_ADMIN_PASSWORD") && out.contains("at least 12 characters"), "{out}");
    assert_eq!(out.matches("at least 12").count(), 1, "said once: {out}");
    let _ = std::fs::remove_dir_all(&dir);
}
