//! A private Postgres cluster for one test, to restart for real (stop,
//! start: same data directory, same port) without disturbing the shared
//! Postgres every other test uses.
//!
//! The server binaries come from `/usr/lib/postgresql/<version>/bin` (the
//! newest version there), else from `pg_config --bindir`. Postgres refuses
//! to run as root: when the effective uid is 0 every binary runs through
//! `runuser -u postgres --` and the temporary directory is handed to
//! `postgres`. Without the binaries [`PgCluster::start`] returns `None` with
//! a loud message — or panics when `CI` is set (`.ci/run` installs them).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// How long `pg_ctl` may wait for a start or stop (a loaded 2-core machine).
const PG_CTL_WAIT_SECS: &str = "120";

/// A running (or stopped) private Postgres cluster: trust authentication,
/// TCP on `127.0.0.1:port`, its unix socket inside its own directory.
/// Dropping it stops Postgres (immediate mode) and removes the directory.
pub struct PgCluster {
    /// The temporary directory: `data/`, `sock/`, `postgres.log`.
    dir: PathBuf,
    /// The directory of `initdb`, `pg_ctl`, `postgres`.
    bin: PathBuf,
    /// The TCP port, kept across restarts.
    port: u16,
    /// Run the binaries as `postgres` (we are root).
    as_postgres: bool,
}

impl PgCluster {
    /// Creates and starts a cluster on a free loopback port, or `None`
    /// (after a loud message) when the Postgres server binaries are not
    /// installed; panics instead when `CI` is set.
    pub async fn start() -> Option<PgCluster> {
        let Some(bin) = server_bindir() else {
            let why =
                "no Postgres server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin or `pg_config --bindir`";
            if std::env::var_os("CI").is_some() {
                panic!("CI is set but there are {why}: install the `postgresql` package");
            }
            eprintln!("SKIPPING the real Postgres restart test: {why}");
            return None;
        };
        let as_postgres = effective_uid_is_root().await;
        let dir = unique_temp_dir(as_postgres);
        std::fs::create_dir_all(dir.join("sock")).expect("creating the cluster directory");
        let mut cluster = PgCluster { dir, bin, port: 0, as_postgres };
        if as_postgres {
            let owner = cluster.dir.display().to_string();
            let mut chown = Command::new("chown");
            chown.args(["-R", "postgres:postgres", &owner]);
            run(chown, "chown the cluster directory").await;
        }
        let data = cluster.data_dir();
        let mut initdb = cluster.command("initdb");
        initdb.args(["-D", &data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"]);
        run(initdb, "initdb").await;
        // The port is free when we look; another process may take it before
        // Postgres binds it, so retry with a new one.
        for attempt in 1..=3 {
            cluster.port = free_port();
            match cluster.try_start().await {
                Ok(()) => return Some(cluster),
                Err(err) if attempt < 3 => eprintln!("starting the private Postgres failed, retrying: {err}"),
                Err(err) => panic!("starting the private Postgres failed: {err}"),
            }
        }
        unreachable!("the loop returns or panics")
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops Postgres (`pg_ctl stop -m fast`: sessions are terminated, a
    /// checkpoint is written) and waits until it is down.
    pub async fn stop(&self) {
        let data = self.data_dir();
        let mut stop = self.command("pg_ctl");
        stop.args(["stop", "-D", &data, "-m", "fast", "-w", "-t", PG_CTL_WAIT_SECS]);
        run(stop, "pg_ctl stop").await;
    }

    /// Starts the stopped cluster again, on the same port, and waits until
    /// it accepts connections.
    pub async fn start_again(&self) {
        // While it was down, another socket may have taken the port for a
        // moment (as an outgoing connection's local port): retry a little.
        for attempt in 1..=5 {
            match self.try_start().await {
                Ok(()) => return,
                Err(err) if attempt < 5 => {
                    eprintln!("restarting the private Postgres failed, retrying: {err}");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                Err(err) => panic!("restarting the private Postgres on port {} failed: {err}", self.port),
            }
        }
    }

    /// A real restart: [`PgCluster::stop`], then [`PgCluster::start_again`].
    pub async fn restart(&self) {
        self.stop().await;
        self.start_again().await;
    }

    async fn try_start(&self) -> Result<(), String> {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c max_connections=100",
            self.port,
            self.dir.join("sock").display()
        );
        let (data, log) = (self.data_dir(), self.dir.join("postgres.log").display().to_string());
        let mut start = self.command("pg_ctl");
        start.args(["start", "-D", &data, "-l", &log, "-w", "-t", PG_CTL_WAIT_SECS, "-o", &options]);
        let out = tokio::process::Command::from(start).output().await.map_err(|e| format!("running pg_ctl: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
        Err(format!("{}\n--- postgres.log:\n{log}", describe(&out)))
    }

    fn data_dir(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// A command running `program` from the cluster's binaries (as
    /// `postgres` when we are root).
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // Best effort: a panicking test must still not leave Postgres running.
        let data = self.data_dir();
        let _ = self.command("pg_ctl").args(["stop", "-D", &data, "-m", "immediate", "-w"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb` and
/// `pg_ctl`, else `pg_config --bindir` if it holds them.
fn server_bindir() -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_server(bin))
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let out = Command::new("pg_config").arg("--bindir").output().ok().filter(|o| o.status.success())?;
    let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    has_server(&bin).then_some(bin)
}

async fn effective_uid_is_root() -> bool {
    let out = tokio::process::Command::new("id").arg("-u").output().await.expect("running `id -u`");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// A new, unique path under the temp directory (short: the unix socket
/// path inside it must stay under ~100 bytes); under `/tmp` when the
/// cluster runs as `postgres`, who may not reach root's `TMPDIR`.
fn unique_temp_dir(as_postgres: bool) -> PathBuf {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let name = format!("sy-pg-{}-{}-{nanos}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
    let base = if as_postgres { PathBuf::from("/tmp") } else { std::env::temp_dir() };
    base.join(name)
}

/// A loopback port that was free a moment ago (bound to port 0, released).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding port 0");
    listener.local_addr().expect("local address").port()
}

/// Runs `cmd`; panics with its output unless it succeeds.
async fn run(cmd: Command, what: &str) {
    let out = tokio::process::Command::from(cmd).output().await.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(out.status.success(), "{what} failed: {}", describe(&out));
}

fn describe(out: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    )
}
