//! [`Server`]: a real Switchyard server in its own thread and tokio runtime.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use switchyard_server::config::ServeConfig;
use switchyard_server::testing::{ADMIN_PASSWORD, login};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::{Admin, DEADLINE};

/// How a [`Server`] ends.
enum Stop {
    /// `SIGTERM`: stop accepting, `goaway` to streams, finish requests.
    Graceful,
    /// `SIGKILL`: the runtime is dropped; every socket closes at once.
    Crash,
}

/// A real Switchyard server on a loopback port, in its own thread and
/// tokio runtime (so that stopping it really closes every connection, as
/// a process exit would; `TestServer::stop` aborts only the accept loop).
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The bound address (to start a successor on the same port).
    pub addr: SocketAddr,
    /// A session token of `admin`.
    pub admin_token: String,
    stop: Option<oneshot::Sender<Stop>>,
    done: Option<oneshot::Receiver<()>>,
}

impl Server {
    /// Starts a server on `database_url`, on a fresh port.
    pub async fn start(database_url: &str) -> Server {
        Self::start_on(database_url, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a server on `database_url` bound to `addr` (e.g. the address
    /// of a server that just stopped: tokio sets `SO_REUSEADDR`, and a
    /// bind that still fails with `AddrInUse` is retried until
    /// [`DEADLINE`]).
    pub async fn start_on(database_url: &str, addr: SocketAddr) -> Server {
        Self::launch(ServeConfig::for_tests(database_url), addr).await
    }

    /// Starts a server with a custom configuration (start from
    /// [`ServeConfig::for_tests`]; its `listen` is ignored: a fresh port).
    pub async fn start_with(config: ServeConfig) -> Server {
        Self::launch(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    async fn launch(config: ServeConfig, addr: SocketAddr) -> Server {
        let (ready_tx, ready_rx) = oneshot::channel::<Result<SocketAddr, String>>();
        let (stop_tx, stop_rx) = oneshot::channel::<Stop>();
        let (done_tx, done_rx) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("switchyard-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("switchyard-server")
                    .enable_all()
                    .build()
                    .expect("server runtime");
                rt.block_on(run_server(config, addr, ready_tx, stop_rx));
                // Cancels every task left (connections, hub, listener) and
                // closes their sockets and database connections.
                drop(rt);
                let _ = done_tx.send(());
            })
            .expect("server thread");
        let addr = match ready_rx.await {
            Ok(Ok(addr)) => addr,
            Ok(Err(err)) => panic!("server failed to start: {err}"),
            Err(_) => panic!("server thread died while starting"),
        };
        let base = format!("http://{addr}");
        let admin_token = login(&base, "admin", ADMIN_PASSWORD).await;
        Server { base, addr, admin_token, stop: Some(stop_tx), done: Some(done_rx) }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An [`Admin`] client with the admin session.
    pub fn admin(&self) -> Admin {
        Admin::new(&self.base, &self.admin_token)
    }

    /// Graceful stop, as on `SIGTERM`: streams get `goaway`, in-flight
    /// requests finish; returns once the port is free and every task ended.
    pub async fn stop(mut self) {
        self.end(Stop::Graceful).await;
    }

    /// Hard stop, as on `SIGKILL`: every connection is cut at once.
    pub async fn crash(mut self) {
        self.end(Stop::Crash).await;
    }

    async fn end(&mut self, how: Stop) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(how);
        }
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A panicking test: make the server thread exit (without waiting).
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(Stop::Crash);
        }
    }
}

async fn run_server(
    config: ServeConfig,
    addr: SocketAddr,
    ready: oneshot::Sender<Result<SocketAddr, String>>,
    stop: oneshot::Receiver<Stop>,
) {
    let deadline = Instant::now() + DEADLINE;
    let listener = loop {
        match TcpListener::bind(addr).await {
            Ok(listener) => break listener,
            Err(err) if err.kind() == std::io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(err) => {
                let _ = ready.send(Err(format!("bind {addr}: {err}")));
                return;
            }
        }
    };
    let bound = listener.local_addr().expect("local addr");
    let built = match switchyard_server::build(config).await {
        Ok(built) => built,
        Err(err) => {
            let _ = ready.send(Err(format!("{err:#}")));
            return;
        }
    };
    let state = built.state.clone();
    let (graceful_tx, graceful_rx) = oneshot::channel::<()>();
    let serve = switchyard_server::serve::serve(built.app, listener, state, async move {
        let _ = graceful_rx.await;
    });
    tokio::pin!(serve);
    let _ = ready.send(Ok(bound));
    tokio::select! {
        result = &mut serve => {
            if let Err(err) = result {
                eprintln!("server on {bound} ended: {err:#}");
            }
        }
        how = stop => match how {
            Ok(Stop::Graceful) => {
                let _ = graceful_tx.send(());
                let _ = serve.await;
            }
            Ok(Stop::Crash) | Err(_) => {}
        },
    }
}
