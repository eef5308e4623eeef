//! What the real `switchyard serve` says when it cannot start: an empty
//! SWITCHYARD_DATABASE_URL means the embedded default, a missing database
//! and a busy port are explained with the fix, each cause once, and a
//! misspelled SWITCHYARD_* variable gets the closest real name.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};

/// Starts `switchyard serve` with `env`; returns (exit code or None if it
/// came up, stdout up to the banner + stderr).
async fn serve(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!("switchyard-startup-{}", uuid::Uuid::new_v4().simple()));
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"));
    cmd.arg("serve")
        .env_remove("SWITCHYARD_DATABASE_URL")
        .env("SWITCHYARD_DATA_DIR", &dir)
        .env("SWITCHYARD_LISTEN", "127.0.0.1:0")
        .env("SWITCHYARD_ADMIN_PASSWORD", "a-long-admin-password")
        .env("SWITCHYARD_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("starting switchyard serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut out = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let code = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, lines.next_line()).await.expect("output within 60 s") {
            Ok(Some(line)) if line.contains("is running at") => {
                out.push_str(&line);
                child.kill().await.unwrap();
                break None;
            }
            Ok(Some(line)) => out.push_str(&line),
            _ => break child.wait().await.unwrap().code(),
        }
    };
    let mut err = String::new();
    let _ = tokio::io::AsyncReadExt::read_to_string(child.stderr.as_mut().unwrap(), &mut err).await;
    let _ = std::fs::remove_dir_all(&dir);
    (code, format!("{out}\n{err}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_database_url_means_the_embedded_default() {
    let (code, out) = serve(&[("SWITCHYARD_DATABASE_URL", "")]).await;
    assert_eq!(code, None, "{out}");
    assert!(out.contains("store: Sqlite"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_postgres_database_is_named_with_how_to_create_it_once() {
    let url = "postgres://postgres:hunter2@127.0.0.1:5432/switchyard_no_such_db";
    let (code, out) = serve(&[("SWITCHYARD_DATABASE_URL", url)]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("switchyard_no_such_db") && out.contains("createdb"), "{out}");
    assert!(!out.contains("hunter2") && out.contains("postgres:***@"), "no password: {out}");
    assert_eq!(out.matches("does not exist").count(), 1, "each cause once: {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_port_is_named_with_how_to_change_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, out) = serve(&[("SWITCHYARD_LISTEN", &addr)]).await;
    assert_eq!(code, Some(1), "{out}");
    let port = addr.rsplit(':').next().unwrap();
    assert!(out.contains(&format!("port {port} is already in use")) && out.contains("SWITCHYARD_LISTEN"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelled_variable_gets_the_closest_name() {
    let (code, out) = serve(&[("SWITCHYARD_HEARTBEET", "5s")]).await;
    assert_eq!(code, None, "{out}");
    assert!(out.contains("SWITCHYARD_HEARTBEET") && out.contains("did you mean SWITCHYARD_HEARTBEAT?"), "{out}");
}

/// A new-user review: `SWITCHYARD_HEARTBEAT=0s` started a server whose
/// heartbeat task would spin. Zero and absurd durations are refused at
/// start, naming the variable (the value came from the environment, so
/// naming only `--heartbeat` would not help).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_or_absurd_durations_are_refused_naming_the_variable() {
    for (var, value) in
        [("SWITCHYARD_HEARTBEAT", "0s"), ("SWITCHYARD_SCHEDULER_TICK", "0ms"), ("SWITCHYARD_SESSION_TTL", "400years")]
    {
        let (code, out) = serve(&[(var, value)]).await;
        assert_eq!(code, Some(2), "{var}={value}: {out}");
        assert!(out.contains(var) && out.contains(value), "{var}={value}: {out}");
    }
    let (code, out) = serve(&[("SWITCHYARD_HEARTBEAT", "1s"), ("SWITCHYARD_STREAM_MAX_AGE", "0")]).await;
    assert_eq!(code, None, "sane values still start: {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_logins_kills_and_restores_are_logged_without_secrets() {
    let dir = std::env::temp_dir().join(format!("switchyard-logs-{}", uuid::Uuid::new_v4().simple()));
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("serve")
        .env_remove("SWITCHYARD_DATABASE_URL")
        .env("SWITCHYARD_DATA_DIR", &dir)
        .env("SWITCHYARD_LISTEN", "127.0.0.1:0")
        .env("SWITCHYARD_ADMIN_PASSWORD", "a-long-admin-password")
        .env("SWITCHYARD_LOG", "info")
        .env("SWITCHYARD_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = next_line(&mut lines).await;
        if let Some(rest) = line.split("is running at ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let http = reqwest::Client::new();
    let body = serde_json::json!({"username": "admin", "password": "wrong-secret-password"});
    let resp = http.post(format!("{base}/api/v1/auth/login")).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let (mut saw_request, mut saw_failure) = (false, false);
    while !(saw_request && saw_failure) {
        let line = next_line(&mut lines).await;
        assert!(!line.contains("wrong-secret-password"), "a password in the log: {line}");
        saw_failure |= line.contains("login failed") && line.contains("\"username\":\"admin\"");
        saw_request |= line.contains("\"route\":\"/api/v1/auth/login\"")
            && line.contains("\"status\":401")
            && line.contains("\"method\":\"POST\"")
            && line.contains("latency_ms");
    }
    // A kill and a restore each leave one line with the actor and the flag.
    let body = serde_json::json!({"username": "admin", "password": "a-long-admin-password"});
    let login: serde_json::Value =
        http.post(format!("{base}/api/v1/auth/login")).json(&body).send().await.unwrap().json().await.unwrap();
    let token = login["token"].as_str().expect("a session").to_string();
    let env = format!("{base}/api/v1/projects/shop/environments/production");
    let steps = [
        (reqwest::Method::POST, format!("{base}/api/v1/projects"), serde_json::json!({"key": "shop"})),
        (
            reqwest::Method::POST,
            format!("{base}/api/v1/projects/shop/environments"),
            serde_json::json!({"key": "production"}),
        ),
        (
            reqwest::Method::POST,
            format!("{base}/api/v1/projects/shop/flags"),
            serde_json::json!({"key": "checkout", "kind": "boolean"}),
        ),
        (reqwest::Method::POST, format!("{env}/flags/checkout/kill"), serde_json::json!({"reason": "5xx spike"})),
        (reqwest::Method::DELETE, format!("{env}/flags/checkout/kill"), serde_json::json!({"reason": "fixed"})),
    ];
    for (method, url, body) in steps {
        let resp = http.request(method, &url).bearer_auth(&token).json(&body).send().await.unwrap();
        assert!(resp.status().is_success(), "{url}: {}", resp.status());
    }
    let (mut saw_kill, mut saw_restore) = (false, false);
    while !(saw_kill && saw_restore) {
        let line = next_line(&mut lines).await;
        assert!(!line.contains(&token), "a session token in the log: {line}");
        let about_it = line.contains("\"actor\":\"admin\"") && line.contains("checkout");
        saw_kill |= about_it && line.contains("flag killed");
        saw_restore |= about_it && line.contains("flag restored");
    }
    child.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The log line of a failed login from a real `switchyard serve` (pretty
/// format), its stdout a pipe, or with `tty` a terminal (util-linux
/// `script` gives it one).
async fn a_log_line(tty: bool, env: &[(&str, &str)]) -> String {
    let dir = std::env::temp_dir().join(format!("switchyard-colour-{}", uuid::Uuid::new_v4().simple()));
    let bin = env!("CARGO_BIN_EXE_switchyard");
    let mut cmd = tokio::process::Command::new(if tty { "script" } else { bin });
    match tty {
        true => cmd.args(["-qec", &format!("{bin} serve"), "/dev/null"]),
        false => cmd.arg("serve"),
    };
    let mut child = cmd
        .env_remove("SWITCHYARD_DATABASE_URL")
        .env_remove("NO_COLOR")
        .env_remove("SWITCHYARD_LOG_FORMAT")
        .env("SWITCHYARD_DATA_DIR", &dir)
        .env("SWITCHYARD_LISTEN", "127.0.0.1:0")
        .env("SWITCHYARD_ADMIN_PASSWORD", "a-long-admin-password")
        .env("SWITCHYARD_LOG", "info")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = next_line(&mut lines).await;
        if let Some(rest) = line.split("is running at ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let body = serde_json::json!({"username": "admin", "password": "wrong-secret-password"});
    let resp = reqwest::Client::new().post(format!("{base}/api/v1/auth/login")).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let line = loop {
        let line = next_line(&mut lines).await;
        if line.contains("login failed") {
            break line;
        }
    };
    child.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    line
}

/// A new-user review: `switchyard serve > file` filled the file with
/// escape codes. Colour only on a terminal, and never with NO_COLOR.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_coloured_only_on_a_terminal_without_no_color() {
    let piped = a_log_line(false, &[]).await;
    assert!(!piped.contains('\u{1b}'), "escape codes in a piped log: {piped:?}");
    let tty = a_log_line(true, &[]).await;
    assert!(tty.contains('\u{1b}'), "a terminal gets colour: {tty:?}");
    let no_color = a_log_line(true, &[("NO_COLOR", "1")]).await;
    assert!(!no_color.contains('\u{1b}'), "NO_COLOR: {no_color:?}");
}

async fn next_line(lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>) -> String {
    tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await.expect("output").unwrap().expect("line")
}
