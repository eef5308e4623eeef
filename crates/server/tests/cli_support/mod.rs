//! The CLI tests' runner: the real `switchyard` binary against a test
//! server, as a responder's shell runs it.

use std::process::Output;

use switchyard_server::testing::TestServer;

/// Runs `switchyard <args>` with the server, token and project in the environment.
pub async fn cli(server: &TestServer, token: &str, args: &[&str]) -> (i32, String, String) {
    let Output { status, stdout, stderr } = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .env("SWITCHYARD_URL", &server.base)
        .env("SWITCHYARD_TOKEN", token)
        .env("SWITCHYARD_PROJECT", "shop")
        .env_remove("SWITCHYARD_ENV")
        .kill_on_drop(true)
        .output()
        .await
        .expect("running the switchyard binary");
    let (stdout, stderr) =
        (String::from_utf8_lossy(&stdout).into_owned(), String::from_utf8_lossy(&stderr).into_owned());
    (status.code().expect("exit code"), stdout, stderr)
}
