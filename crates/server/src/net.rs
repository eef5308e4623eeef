//! A connection's socket, shared by hyper, which reads requests and writes
//! responses through [`PeerIo`], and by the SSE stream the connection
//! carries, which learns from [`Peer::closed`] that the client went away.
//!
//! Owns the socket I/O of served connections; must not touch HTTP.
//!
//! Why hand-written: while it writes a response, hyper reads the connection
//! only to notice EOF, and for that read it reserves a fresh 8 KiB buffer
//! (the request still holds the first one). An SDK stream is one response
//! that lasts for hours, so that buffer is 8 KiB of each idle stream's
//! ~20 KiB (heaptrack, 10,000 streams). The server therefore serves with
//! `half_close(true)`, so hyper does not read mid-response, and the stream
//! watches the socket itself: a 1-byte `peek`, no buffer and no copy. A
//! client that closes is still noticed when it closes, not at the next
//! write (`tests/fleet.rs`: `a_closed_stream_leaves_the_fleet_before_any_write`).

use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

/// The socket as a served connection's I/O (hyper reads and writes here).
pub struct PeerIo(Arc<TcpStream>);

/// The same socket, for a response that wants to know when the client
/// closes it (a request extension).
#[derive(Clone, Debug)]
pub struct Peer(Arc<TcpStream>);

impl PeerIo {
    /// Wraps an accepted socket; the [`Peer`] watches the same one.
    pub fn new(stream: TcpStream) -> (PeerIo, Peer) {
        let stream = Arc::new(stream);
        (PeerIo(Arc::clone(&stream)), Peer(stream))
    }
}

impl Peer {
    /// Resolves when the client closes the connection (EOF) or it fails.
    /// Bytes sent while a response streams (a pipelined request) are left
    /// for hyper; a dead peer is then noticed by the next write.
    pub async fn closed(&self) {
        let mut byte = [0u8; 1];
        match self.0.peek(&mut byte).await {
            Ok(0) | Err(_) => {}
            Ok(_) => std::future::pending().await,
        }
    }
}

/// [`Peer::closed`] of a response's socket, if it has one (else never: a
/// connection not served by [`crate::serve`], whose hyper reads for EOF).
pub async fn closed(peer: Option<&Peer>) {
    match peer {
        Some(peer) => peer.closed().await,
        None => std::future::pending().await,
    }
}

impl AsyncRead for PeerIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.0.poll_read_ready(cx))?;
            // SAFETY: `recv` only writes to the slice, and only the `n`
            // bytes it reports written are marked initialised and filled.
            let unfilled: &mut [MaybeUninit<u8>] = unsafe { buf.unfilled_mut() };
            match self.0.try_io(Interest::READABLE, || SockRef::from(&*self.0).recv(unfilled)) {
                Ok(n) => {
                    // SAFETY: see above; `recv` wrote `n` bytes.
                    unsafe { buf.assume_init(n) };
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }
}

impl AsyncWrite for PeerIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write(buf) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                written => return Poll::Ready(written),
            }
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write_vectored(bufs) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                written => return Poll::Ready(written),
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(SockRef::from(&*self.0).shutdown(Shutdown::Write))
    }
}
