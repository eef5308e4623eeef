//! The accept loop: hyper's HTTP/1 connection builder driven directly, so
//! that a timer backs the header-read timeout (with `axum::serve` a client
//! sending half a request holds a socket forever), TCP keepalive and
//! `TCP_USER_TIMEOUT` reap dead peers in seconds, and shutdown is graceful:
//! stop accepting, end SSE streams with a `goaway` event (SDKs reconnect,
//! to another replica if one is up), let in-flight requests and webhook
//! attempts finish, and give up after a bound.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};

use crate::state::AppState;

/// How long shutdown waits for background kill receipts to be recorded.
const BACKGROUND_GRACE: Duration = Duration::from_secs(3);

/// How long shutdown waits for in-flight requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Dead peers are reaped after this long without ACKs or keepalive replies.
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(20);

fn tune(stream: &TcpStream) {
    let _ = stream.set_nodelay(true);
    let sock = socket2::SockRef::from(stream);
    let keepalive =
        socket2::TcpKeepalive::new().with_time(Duration::from_secs(15)).with_interval(Duration::from_secs(5));
    let _ = sock.set_tcp_keepalive(&keepalive);
    #[cfg(target_os = "linux")]
    let _ = sock.set_tcp_user_timeout(Some(TCP_USER_TIMEOUT));
}

/// Serves `app` on `listener` until `shutdown` resolves, then shuts down
/// gracefully within [`SHUTDOWN_GRACE`].
pub async fn serve(
    app: axum::Router,
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let graceful = accept(app, &listener, state.config.header_read_timeout, shutdown).await;
    drop(listener);
    // Kill receipts awaited in the background record what they have now,
    // before the streams close (their SDKs still count as connected).
    state.stopping.cancel();
    state.background.close();
    if tokio::time::timeout(BACKGROUND_GRACE, state.background.wait()).await.is_err() {
        tracing::warn!("background kill receipts did not finish in the grace period");
    }
    tracing::info!("shutting down: closing streams, finishing in-flight requests");
    state.hub.shutdown();
    let (http, ()) =
        tokio::join!(tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()), state.webhooks.stop(SHUTDOWN_GRACE));
    if http.is_err() {
        tracing::warn!("shutdown grace period over; closing remaining connections");
    }
    // Last, once its streams are gone: leave the fleet (other replicas stop
    // counting this one at once).
    state.fleet.leave().await;
    Ok(())
}

/// Serves `/metrics` alone on its own listener (`--metrics-listen`) until
/// `shutdown` resolves.
pub async fn serve_metrics(
    app: axum::Router,
    listener: TcpListener,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let graceful = accept(app, &listener, header_read_timeout, shutdown).await;
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}

/// The accept loop, until `shutdown` resolves; returns the connections still open.
async fn accept(
    app: axum::Router,
    listener: &TcpListener,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> GracefulShutdown {
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_read_timeout).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // e.g. EMFILE: back off instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        tune(&stream);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            tower::ServiceExt::oneshot(app.clone(), req)
        });
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(err) = conn.await {
                tracing::debug!(error = %err, %peer, "connection ended with an error");
            }
        });
    }
    graceful
}
