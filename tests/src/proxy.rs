//! [`StallProxy`]: a TCP proxy whose server→client direction can be paused.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;

/// A TCP proxy to one upstream whose server→client direction can be
/// paused: a consumer behind a paused proxy is "slow" (its stream stops
/// draining). The proxy's sockets use small buffers so that the backlog
/// piles up in the server, not in the proxy.
pub struct StallProxy {
    /// `http://127.0.0.1:PORT` of the proxy.
    pub base: String,
    paused: watch::Sender<bool>,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

const PROXY_BUFFER: u32 = 8 * 1024;

impl StallProxy {
    /// Proxies to `upstream`.
    pub async fn start(upstream: SocketAddr) -> StallProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
        let base = format!("http://{}", listener.local_addr().expect("proxy addr"));
        let (paused, _) = watch::channel(false);
        let accepted = Arc::new(AtomicUsize::new(0));
        let (pause_rx, count) = (paused.subscribe(), Arc::clone(&accepted));
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((down, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::Relaxed);
                connections.spawn(proxy_connection(down, upstream, pause_rx.clone()));
            }
        });
        StallProxy { base, paused, accepted, task }
    }

    /// Stops forwarding server→client bytes.
    pub fn pause(&self) {
        self.paused.send_replace(true);
    }

    /// Forwards again.
    pub fn resume(&self) {
        self.paused.send_replace(false);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for StallProxy {
    fn drop(&mut self) {
        // Dropping the accept task drops its JoinSet: every connection closes.
        self.task.abort();
    }
}

async fn proxy_connection(down: TcpStream, upstream: SocketAddr, mut paused: watch::Receiver<bool>) {
    let _ = down.set_nodelay(true);
    let sock = TcpSocket::new_v4().expect("socket");
    let _ = sock.set_recv_buffer_size(PROXY_BUFFER);
    let Ok(up) = sock.connect(upstream).await else {
        return;
    };
    let _ = up.set_nodelay(true);
    let (mut down_r, mut down_w) = down.into_split();
    let (mut up_r, mut up_w) = up.into_split();
    let to_server = async {
        let _ = tokio::io::copy(&mut down_r, &mut up_w).await;
    };
    let to_client = async {
        let mut buf = vec![0u8; PROXY_BUFFER as usize];
        loop {
            if paused.wait_for(|p| !*p).await.is_err() {
                return;
            }
            match up_r.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    // A read that was already waiting when the pause began
                    // holds its bytes until the resume: nothing passes while
                    // paused, not even the first frame after the pause.
                    if paused.wait_for(|p| !*p).await.is_err() || down_w.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    // Either side closing ends the connection (all halves dropped).
    tokio::select! {
        () = to_server => {}
        () = to_client => {}
    }
}
