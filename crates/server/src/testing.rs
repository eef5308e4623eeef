//! Test support shared by this crate's tests, the end-to-end tests and the
//! load harnesses: fresh databases and real servers on port 0.
//!
//! Postgres tests use a uniquely named database created on
//! `SWITCHYARD_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! When Postgres is unreachable they are skipped with a message, except when
//! `CI` is set: then they fail, loudly.

use std::path::PathBuf;

use sqlx::Connection;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::client::Client;
use crate::config::ServeConfig;
use crate::state::AppState;

/// The admin URL of the test Postgres.
pub fn pg_admin_url() -> String {
    std::env::var("SWITCHYARD_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh database for one test.
#[derive(Debug)]
pub enum TestDb {
    /// A SQLite file in its own temporary directory.
    Sqlite {
        /// The directory (removed by [`TestDb::cleanup`]).
        dir: PathBuf,
    },
    /// A uniquely named Postgres database.
    Postgres {
        /// Its name.
        name: String,
    },
}

impl TestDb {
    /// A new SQLite database.
    pub fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(format!("switchyard-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("creating a temp dir");
        TestDb::Sqlite { dir }
    }

    /// A new Postgres database, or `None` (with a message) when Postgres is
    /// unreachable outside CI. Panics in CI when unreachable.
    pub async fn postgres() -> Option<TestDb> {
        let admin = pg_admin_url();
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(conn) => conn,
            Err(err) if std::env::var_os("CI").is_some() => {
                panic!("CI is set but Postgres is unreachable at {admin}: {err}")
            }
            Err(err) => {
                eprintln!("SKIPPING Postgres tests: cannot connect to {admin}: {err}");
                return None;
            }
        };
        let name = format!("switchyard_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("CREATE DATABASE");
        Some(TestDb::Postgres { name })
    }

    /// SQLite always, plus Postgres when reachable (always in CI).
    pub async fn all() -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite()];
        dbs.extend(TestDb::postgres().await);
        dbs
    }

    /// The connection URL.
    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite { dir } => format!("sqlite://{}", dir.join("switchyard.db").display()),
            TestDb::Postgres { name } => {
                let admin = pg_admin_url();
                match admin.rfind('/') {
                    Some(i) if admin[..i].contains("://") && i > admin.find("://").unwrap_or(0) + 2 => {
                        format!("{}/{name}", &admin[..i])
                    }
                    _ => format!("{admin}/{name}"),
                }
            }
        }
    }

    /// `"sqlite"` or `"postgres"`, for test messages.
    pub fn label(&self) -> &'static str {
        match self {
            TestDb::Sqlite { .. } => "sqlite",
            TestDb::Postgres { .. } => "postgres",
        }
    }

    /// Removes the database (best effort).
    pub async fn cleanup(self) {
        match self {
            TestDb::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            TestDb::Postgres { name } => {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await;
                }
            }
        }
    }
}

/// The metrics token of test servers (`GET /metrics` needs it).
pub const METRICS_TOKEN: &str = crate::config::TEST_METRICS_TOKEN;

/// The admin password of test servers.
pub const ADMIN_PASSWORD: &str = "test-admin-password";

/// A real server on a loopback port.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `http://127.0.0.1:PORT` of the separate metrics listener, when configured.
    pub metrics_base: Option<String>,
    /// The server's state (store, hub).
    pub state: AppState,
    /// A session token of `admin`.
    pub admin_token: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    /// Starts a server on `database_url` with the test configuration.
    pub async fn start(database_url: &str) -> TestServer {
        Self::start_with(ServeConfig::for_tests(database_url)).await
    }

    /// Starts a server with a custom configuration (its `listen` is ignored:
    /// port 0 on loopback).
    pub async fn start_with(config: ServeConfig) -> TestServer {
        Self::start_on(config, TcpListener::bind("127.0.0.1:0").await.expect("bind")).await
    }

    /// Starts a server on `listener` (e.g. the address of a stopped one, so
    /// that clients reconnect to the same URL).
    pub async fn start_on(config: ServeConfig, listener: TcpListener) -> TestServer {
        Self::start_on_as(config, listener, ADMIN_PASSWORD).await
    }

    /// Starts a server whose `admin` logs in with `admin_password` (e.g. on
    /// a database where it was reset).
    pub async fn start_with_admin(config: ServeConfig, admin_password: &str) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Self::start_on_as(config, listener, admin_password).await
    }

    async fn start_on_as(config: ServeConfig, listener: TcpListener, admin_password: &str) -> TestServer {
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let built = crate::build(config).await.expect("building the server");
        let state = built.state.clone();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(crate::serve::serve(built.app, listener, state.clone(), async move {
            let _ = rx.await;
        }));
        let metrics_base =
            crate::start_metrics_listener(&state).await.expect("metrics listener").map(|a| format!("http://{a}"));
        let admin_token = login(&base, "admin", admin_password).await;
        TestServer { base, metrics_base, state, admin_token, shutdown: Some(tx), task: Some(task) }
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        self.state.stopping.cancel();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
        // The goodbye a graceful shutdown ends with.
        self.state.fleet.leave().await;
    }

    /// Stops the server as SIGTERM does and waits for the whole graceful
    /// shutdown (streams told `goaway`, in-flight work finished).
    pub async fn stop_gracefully(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let result = tokio::time::timeout(std::time::Duration::from_secs(30), task).await;
            assert!(result.is_ok(), "the graceful shutdown did not finish in 30 s");
        }
    }

    /// Stops the server as a crash would: no goodbye, its Postgres
    /// connections simply drop.
    pub async fn crash(mut self) {
        self.shutdown.take();
        self.state.fleet.abort();
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a JSON request as the bootstrap admin and asserts a 2xx; the
    /// body (`null` when empty).
    pub async fn admin(&self, method: reqwest::Method, path: &str, body: serde_json::Value) -> serde_json::Value {
        let reply = Client::new(&self.base)
            .with_token(&self.admin_token)
            .exchange(method.clone(), path, Some(&body))
            .await
            .expect("request");
        assert!(reply.status.is_success(), "{method} {path}: {} {}", reply.status, reply.body);
        reply.body
    }

    /// Scrapes `/metrics` (with the test metrics token).
    pub async fn metrics(&self) -> String {
        let url = format!("{}/metrics", self.metrics_base.as_deref().unwrap_or(&self.base));
        let response = reqwest::Client::new().get(url).bearer_auth(METRICS_TOKEN).send().await.expect("metrics");
        assert_eq!(response.status(), 200, "scraping /metrics");
        response.text().await.expect("metrics body")
    }
}

/// Runs `test` on a fresh server on each store (SQLite, then Postgres
/// when reachable; see [`TestDb::all`]), stopping it and dropping the
/// database afterwards.
pub async fn for_each_store<F, Fut>(test: F)
where
    F: Fn(TestServer) -> Fut,
    Fut: std::future::Future<Output = TestServer>,
{
    for db in TestDb::all().await {
        eprintln!("--- store: {}", db.label());
        let server = TestServer::start(&db.url()).await;
        let server = test(server).await;
        server.stop().await;
        db.cleanup().await;
    }
}

/// Logs in and returns the session token.
pub async fn login(base: &str, username: &str, password: &str) -> String {
    match Client::new(base).login(username, password).await {
        Ok(session) => session.token,
        Err(err) => panic!("login as {username}: {err}"),
    }
}

/// A small JSON client bound to one credential, for tests: the typed
/// [`Client`]'s raw exchange, with statuses to assert on.
#[derive(Clone)]
pub struct Api {
    client: Client,
}

impl Api {
    /// A client of `server` with `token` (or anonymous).
    pub fn new(server: &TestServer, token: Option<&str>) -> Api {
        let client = Client::new(&server.base);
        Api { client: token.map_or_else(|| client.clone(), |t| client.with_token(t)) }
    }

    /// The typed client behind it.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sends a request; returns the status and the body (JSON, or a JSON string of the text).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let reply = self.client.exchange(method, path, body.as_ref()).await.expect("request");
        (reply.status, reply.body)
    }

    /// `GET`.
    pub async fn get(&self, path: &str) -> (reqwest::StatusCode, serde_json::Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// `POST` with a JSON body.
    pub async fn post(&self, path: &str, body: serde_json::Value) -> (reqwest::StatusCode, serde_json::Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// `PUT` with a JSON body.
    pub async fn put(&self, path: &str, body: serde_json::Value) -> (reqwest::StatusCode, serde_json::Value) {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    /// Sends a request and asserts its status; returns the body.
    pub async fn ok(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
        want: u16,
    ) -> serde_json::Value {
        let (status, body) = self.call(method.clone(), path, body).await;
        assert_eq!(status.as_u16(), want, "{method} {path} → {body}");
        body
    }
}
