//! Shared pieces of the load harnesses: a real `switchyard` server process,
//! an admin client, percentiles, process memory.
//!
//! The server runs as its own process (the binary from `cargo build
//! --release -p switchyard-server`), so that 10,000 client sockets and
//! 10,000 server sockets do not share one process's descriptor limit, and
//! so that memory per connection can be read from its `/proc` entry.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use switchyard_server::client::Client;
use switchyard_server::store::{NewEnvironment, NewProject};

pub mod fanout;

/// A server process on a free loopback port.
pub struct ServerProcess {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    child: tokio::process::Child,
}

/// The admin password the harness starts servers with.
pub const ADMIN_PASSWORD: &str = "bench-admin-password";

/// The metrics token the benchmark servers are started with.
pub const METRICS_TOKEN: &str = "bench-metrics-token";

/// The server binary: `$SWITCHYARD_BIN`, else `target/release/switchyard`.
pub fn server_binary() -> String {
    std::env::var("SWITCHYARD_BIN").unwrap_or_else(|_| "target/release/switchyard".into())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl ServerProcess {
    /// Starts `switchyard serve` on `database_url` and waits for `/readyz`.
    pub async fn start(database_url: &str, data_dir: &std::path::Path) -> anyhow::Result<ServerProcess> {
        ServerProcess::start_with(database_url, data_dir, &[]).await
    }

    /// [`ServerProcess::start`] with more `SWITCHYARD_*` settings (`env`: name, value).
    pub async fn start_with(
        database_url: &str,
        data_dir: &std::path::Path,
        env: &[(&str, &str)],
    ) -> anyhow::Result<ServerProcess> {
        let port = free_port()?;
        // The server's log (warnings and errors) outlives the run: a 5xx
        // seen by the harness is explained there.
        let log_path = std::env::temp_dir().join(format!("switchyard-bench-server-{port}.log"));
        let log = std::fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
        eprintln!("server log: {}", log_path.display());
        let child = tokio::process::Command::new(server_binary())
            .envs(env.iter().copied())
            .arg("serve")
            .env("SWITCHYARD_LISTEN", format!("127.0.0.1:{port}"))
            .env("SWITCHYARD_DATABASE_URL", database_url)
            .env("SWITCHYARD_DATA_DIR", data_dir)
            .env("SWITCHYARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("SWITCHYARD_LOGIN_RATE", "100000")
            .env("SWITCHYARD_METRICS_TOKEN", METRICS_TOKEN)
            .env("SWITCHYARD_LOG", "warn")
            .stdout(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!("starting {} (build it with cargo build --release -p switchyard-server)", server_binary())
            })?;
        let server = ServerProcess { base: format!("http://127.0.0.1:{port}"), child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if Client::new(&server.base).is_ready().await {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("server did not become ready")
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Resident memory of the server process, KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
    }
}

/// The typed admin client ([`switchyard_server::client`]) logged in as
/// `admin`, with the calls the harnesses make.
#[derive(Clone)]
pub struct Admin {
    /// Base URL.
    pub base: String,
    client: Client,
}

impl Admin {
    /// Logs in as admin.
    pub async fn login(base: &str) -> anyhow::Result<Admin> {
        let client = Client::new(base).logged_in("admin", ADMIN_PASSWORD).await.context("login failed")?;
        Ok(Admin { base: base.into(), client })
    }

    /// The typed client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// POSTs JSON, failing on a non-2xx status.
    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.client.post(path, &body).await.with_context(|| format!("POST {path}"))
    }

    /// Toggles `flag` of project `bench`, environment `prod`; returns the
    /// new revision (`None`: it was already in that state).
    pub async fn toggle(&self, flag: &str, on: bool) -> anyhow::Result<Option<u64>> {
        let path = format!("/api/v1/projects/bench/environments/prod/flags/{flag}/toggle");
        Ok(self.post(&path, json!({ "on": on })).await?["revision"].as_u64())
    }

    /// Creates project `bench`, environment `prod`, `flags` boolean flags
    /// (`flag-0`…) and an SDK key; returns the key.
    pub async fn seed(&self, flags: usize) -> anyhow::Result<String> {
        let project = NewProject { key: "bench".into(), name: None, description: None, environments: None };
        self.client.create_project(&project).await?;
        self.client
            .create_environment("bench", &NewEnvironment { key: "prod".into(), name: None, ..Default::default() })
            .await?;
        for i in 0..flags {
            let flag = serde_json::from_value(json!({"key": format!("flag-{i}"), "kind": "boolean"}))?;
            self.client.create_flag("bench", &flag).await?;
        }
        Ok(self.client.create_sdk_key("bench", "prod", "bench").await?.secret)
    }
}

/// A fresh temporary data directory for one run.
pub fn data_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("switchyard-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A server of one store, seeded by [`Admin::seed`].
pub struct Seeded {
    /// The server process.
    pub server: ServerProcess,
    /// Its admin.
    pub admin: Admin,
    /// The SDK key of `bench`/`prod`.
    pub sdk_key: String,
    /// The server's database.
    pub database_url: String,
}

impl Seeded {
    /// Starts a server on `store` (`postgres`: a fresh database; anything
    /// else: SQLite in `data_dir`) and seeds `flags` flags.
    pub async fn start(store: &str, data_dir: &Path, flags: usize) -> anyhow::Result<Seeded> {
        let url = match store {
            "postgres" => fresh_postgres().await?,
            _ => format!("sqlite://{}/bench-{}.db", data_dir.display(), uuid::Uuid::new_v4().simple()),
        };
        let server = ServerProcess::start(&url, data_dir).await?;
        let admin = Admin::login(&server.base).await?;
        let sdk_key = admin.seed(flags).await?;
        Ok(Seeded { server, admin, sdk_key, database_url: url })
    }
}

/// Percentile (0..=100) of sorted samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// `p50 / p99 / max` of milliseconds, sorted in place.
pub fn summary(ms: &mut [f64]) -> String {
    ms.sort_by(f64::total_cmp);
    format!(
        "p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  (n={})",
        percentile(ms, 50.0),
        percentile(ms, 99.0),
        ms.last().copied().unwrap_or(f64::NAN),
        ms.len()
    )
}

/// A fresh Postgres database for a run (on `SWITCHYARD_TEST_PG_URL`'s server).
pub async fn fresh_postgres() -> anyhow::Result<String> {
    let admin = std::env::var("SWITCHYARD_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("switchyard_bench_{}", uuid::Uuid::new_v4().simple());
    let status = tokio::process::Command::new("psql")
        .arg(&admin)
        .arg("-qc")
        .arg(format!("CREATE DATABASE {name}"))
        .status()
        .await?;
    if !status.success() {
        bail!("could not create the database (is psql installed and Postgres up?)");
    }
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_string();
    Ok(format!("{base}/{name}"))
}
