//! docker-compose.yml, deploy/nginx.conf and the Dockerfile, checked without
//! a Docker engine (none runs here): the properties an operator relies on,
//! read from the files themselves; and `switchyard health`, the probe the
//! compose healthchecks run, against a real server.

use std::path::PathBuf;

use serde_yaml::Value;
use switchyard_server::testing::{TestDb, TestServer};

fn repo_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn compose() -> Value {
    let mut doc: Value = serde_yaml::from_str(&repo_file("docker-compose.yml")).expect("valid YAML");
    doc.apply_merge().expect("merge keys resolve");
    doc
}

fn services(doc: &Value) -> Vec<(String, Value)> {
    doc["services"]
        .as_mapping()
        .expect("services")
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_string(), v.clone()))
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence().map(|s| s.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

#[test]
fn compose_has_no_obsolete_version_key() {
    assert!(compose().get("version").is_none(), "Compose v2 ignores `version:` and warns about it");
}

#[test]
fn every_switchyard_service_builds_and_is_health_checked_by_the_binary() {
    let doc = compose();
    let replicas: Vec<_> = services(&doc).into_iter().filter(|(name, _)| name.starts_with("switchyard")).collect();
    assert_eq!(replicas.len(), 2, "two replicas");
    let entrypoint = repo_file("Dockerfile")
        .lines()
        .find_map(|l| l.strip_prefix("ENTRYPOINT [\"").map(|r| r.split('"').next().unwrap().to_string()))
        .expect("Dockerfile ENTRYPOINT");
    for (name, service) in replicas {
        assert!(service.get("build").is_some(), "{name} has build:");
        let test = strings(&service["healthcheck"]["test"]);
        assert_eq!(test.first().map(String::as_str), Some("CMD"), "{name}: exec form, no shell or curl in the image");
        assert_eq!(test.get(1), Some(&entrypoint), "{name}: probes with the image's binary");
        assert_eq!(test.get(2).map(String::as_str), Some("health"), "{name}");
    }
}

#[test]
fn published_ports_bind_to_loopback_by_default() {
    for (name, service) in services(&compose()) {
        for port in strings(&service["ports"]) {
            let host = match port.strip_prefix("${SWITCHYARD_BIND:-") {
                Some(rest) => rest.split('}').next().unwrap(),
                None => port.split(':').next().unwrap(),
            };
            assert_eq!(host, "127.0.0.1", "{name}: `{port}` publishes on every interface by default");
        }
    }
}

#[test]
fn the_database_password_never_goes_into_a_url() {
    for (name, service) in services(&compose()) {
        let env = &service["environment"];
        if let Some(url) = env.get("SWITCHYARD_DATABASE_URL") {
            panic!("{name}: a password with @ / : # breaks `{url:?}`; use SWITCHYARD_DB_* settings");
        }
        if name.starts_with("switchyard") {
            for key in ["SWITCHYARD_DB_HOST", "SWITCHYARD_DB_USER", "SWITCHYARD_DB_PASSWORD", "SWITCHYARD_DB_NAME"] {
                assert!(env.get(key).is_some(), "{name}: {key}");
            }
        }
    }
}

#[test]
fn one_address_in_front_of_both_replicas_keeps_streams_unbuffered() {
    let doc = compose();
    let lb = services(&doc).into_iter().find(|(name, _)| name == "lb").expect("a load balancer service").1;
    let mounts = strings(&lb["volumes"]);
    assert!(mounts.iter().any(|m| m.starts_with("./deploy/nginx.conf:")), "{mounts:?}");
    let conf = repo_file("deploy/nginx.conf");
    for needed in
        ["server switchyard-a:8080", "server switchyard-b:8080", "proxy_buffering off", "proxy_http_version 1.1"]
    {
        assert!(conf.contains(needed), "nginx.conf lacks `{needed}`");
    }
    // Longer than the SSE heartbeat, or the proxy cuts idle streams.
    assert!(conf.contains("proxy_read_timeout 1h"), "nginx.conf: read timeout");
}

#[test]
fn the_image_builds_with_the_toolchain_the_tests_run_on() {
    let dockerfile = repo_file("Dockerfile");
    let image = dockerfile.lines().find_map(|l| l.strip_prefix("FROM rust:")).expect("a rust build stage");
    let version = image.split('-').next().unwrap();
    let minor: u32 = version.split('.').nth(1).and_then(|m| m.parse().ok()).expect("rust:1.N");
    assert!(minor >= 95, "rust:{version} is older than the toolchain CI builds Cargo.lock with (1.95)");
}

async fn health(server: &str) -> (i32, String) {
    health_with(&["--server", server], &[]).await
}

/// `switchyard health` with these arguments and environment (nothing
/// inherited that names a server).
async fn health_with(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("health")
        .args(args)
        .args(["--timeout", "5s"])
        .env_remove("SWITCHYARD_URL")
        .env_remove("SWITCHYARD_HEALTH_URL")
        .envs(env.iter().copied())
        .output()
        .await
        .expect("run switchyard health");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_zero_for_a_ready_server_and_one_otherwise() {
    for db in TestDb::all().await {
        let server = TestServer::start(&db.url()).await;
        let (code, out) = health(&server.base).await;
        assert_eq!(code, 0, "{}: {out}", db.label());
        let base = server.base.clone();
        server.stop().await;
        let (code, out) = health(&base).await;
        assert_eq!(code, 1, "{}: a stopped server: {out}", db.label());
        assert!(out.contains("not ready"), "{out}");
        db.cleanup().await;
    }
}

/// A new-user review: `SWITCHYARD_URL=… switchyard health` probed the
/// default address instead (every other command honours the variable);
/// SWITCHYARD_HEALTH_URL, for a replica's probe of itself, still wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_honours_switchyard_url() {
    for db in TestDb::all().await {
        let server = TestServer::start(&db.url()).await;
        let (code, out) = health_with(&[], &[("SWITCHYARD_URL", &server.base)]).await;
        assert_eq!(code, 0, "{}: {out}", db.label());
        assert!(out.contains(&server.base), "{out}");
        let nowhere = "http://127.0.0.1:9";
        let (code, out) =
            health_with(&[], &[("SWITCHYARD_URL", nowhere), ("SWITCHYARD_HEALTH_URL", &server.base)]).await;
        assert_eq!(code, 0, "{}: SWITCHYARD_HEALTH_URL first: {out}", db.label());
        let (code, out) = health_with(&["--server", nowhere], &[("SWITCHYARD_URL", &server.base)]).await;
        assert_eq!(code, 1, "{}: --server first: {out}", db.label());
        server.stop().await;
        db.cleanup().await;
    }
}
