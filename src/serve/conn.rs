//! Connections: the accept loop (with a cap on open connections), optional TLS, hyper's HTTP/1
//! with header-read and idle timeouts and a bounded read buffer, and graceful shutdown.
//!
//! hyper answers requests it cannot parse (a request line or headers too large, bytes that are not
//! HTTP) itself, with an empty body; [`JsonErrors`] rewrites those answers into the API's
//! `{"error": …}` shape, which hyper offers no hook for.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// The most connections open at once; one more is answered 503 and closed.
pub const MAX_CONNECTIONS: usize = 256;
/// How long a client may take to send a request's headers (and a TLS handshake).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may stay without a byte in either direction.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// hyper's read buffer: the largest request head it accepts (bounds each connection's memory).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The peer's address, put in each request's extensions.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

/// Serves `app` on `listener` until `shutdown` completes, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // out of file descriptors and the like: wait a little rather than spin
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            let service =
                TowerToHyperService::new(app.map_request(move |req: hyper::Request<hyper::body::Incoming>| {
                    let mut req = req.map(axum::body::Body::new);
                    req.extensions_mut().insert(Peer(peer));
                    req
                }));
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT).max_buf_size(MAX_HEAD_BYTES);
            match tls {
                None => {
                    let io = TokioIo::new(JsonErrors::new(Idle::new(stream)));
                    let _ = watcher.watch(http.serve_connection(io, service)).await;
                }
                Some(acceptor) => {
                    let Ok(Ok(stream)) = tokio::time::timeout(HEADER_READ_TIMEOUT, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let io = TokioIo::new(JsonErrors::new(Idle::new(stream)));
                    let _ = watcher.watch(http.serve_connection(io, service)).await;
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Answers a connection over the cap with a 503 and closes it.
async fn refuse(mut stream: TcpStream) {
    let body = r#"{"error":"the server has too many open connections; try again shortly"}"#;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(response.as_bytes())).await;
}

/// Closes a connection after [`IDLE_TIMEOUT`] without a byte read or written.
struct Idle<S> {
    inner: S,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl<S> Idle<S> {
    fn new(inner: S) -> Idle<S> {
        Idle { inner, deadline: Box::pin(tokio::time::sleep(IDLE_TIMEOUT)) }
    }

    fn touch(&mut self) {
        self.deadline.as_mut().reset(tokio::time::Instant::now() + IDLE_TIMEOUT);
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the connection was idle too long")
}

impl<S: AsyncRead + Unpin> AsyncRead for Idle<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.touch();
                }
                Poll::Ready(r)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Idle<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                self.touch();
                Poll::Ready(r)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Rewrites the body-less error answers hyper writes for unparsable requests (400, 414, 431) into
/// the API's JSON error shape. Only the connection's first response can be one of those (hyper
/// closes the connection after it), so only that one is inspected.
struct JsonErrors<S> {
    inner: S,
    state: Rewrite,
}

enum Rewrite {
    /// Collecting the first response's head.
    Head(Vec<u8>),
    /// Writing out `bytes[at..]`, then passing through.
    Flush {
        bytes: Vec<u8>,
        at: usize,
    },
    Through,
}

/// Longest first-response head looked at; hyper's error heads are far shorter.
const HEAD_PROBE: usize = 1024;

impl<S> JsonErrors<S> {
    fn new(inner: S) -> JsonErrors<S> {
        JsonErrors { inner, state: Rewrite::Head(Vec::new()) }
    }
}

/// hyper's automatic answer for `head`, rewritten with a JSON body; `None` for any other response.
fn rewritten(head: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(head).ok()?;
    let (status, message) = if text.starts_with("HTTP/1.1 400 ") {
        ("400 Bad Request", "the request is not valid HTTP")
    } else if text.starts_with("HTTP/1.1 414 ") {
        ("414 URI Too Long", "the request's address is too long")
    } else if text.starts_with("HTTP/1.1 431 ") {
        ("431 Request Header Fields Too Large", "the request's headers are too large")
    } else {
        return None;
    };
    // only hyper's own answers: a body-less head with no content type (ours all have one)
    let lower = text.to_ascii_lowercase();
    if lower.contains("content-type:") || !lower.contains("content-length: 0\r\n") {
        return None;
    }
    let body = format!(r#"{{"error":"{message}"}}"#);
    Some(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             x-content-type-options: nosniff\r\ncontent-security-policy: default-src 'none'\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl<S: AsyncWrite + Unpin> JsonErrors<S> {
    /// Writes out a pending rewrite; ready when nothing is pending.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Rewrite::Flush { bytes, at } = &mut self.state {
            if *at >= bytes.len() {
                self.state = Rewrite::Through;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*at..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *at += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonErrors<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonErrors<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if let Rewrite::Head(head) = &mut this.state {
            head.extend_from_slice(buf);
            let end = head.windows(4).position(|w| w == b"\r\n\r\n");
            if end.is_none() && head.len() < HEAD_PROBE {
                // accepted into the probe; it goes out once the head is complete or flushed
                return Poll::Ready(Ok(buf.len()));
            }
            let bytes = match end.and_then(|e| rewritten(&head[..e + 4])) {
                Some(json) => json,
                None => std::mem::take(head),
            };
            this.state = Rewrite::Flush { bytes, at: 0 };
            return match this.drain(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                // the bytes are ours now; later writes and flushes push them out
                _ => Poll::Ready(Ok(buf.len())),
            };
        }
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Rewrite::Head(head) = &mut this.state
            && !head.is_empty()
        {
            // a flush before anything was written leaves the probe waiting for the first response
            let bytes = std::mem::take(head);
            let bytes = bytes
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .and_then(|e| if e + 4 == bytes.len() { rewritten(&bytes) } else { None })
                .unwrap_or(bytes);
            this.state = Rewrite::Flush { bytes, at: 0 };
        }
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::rewritten;

    #[test]
    fn only_hypers_bodyless_error_heads_are_rewritten() {
        let hyper = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(rewritten(hyper).unwrap()).unwrap();
        assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
        assert!(out.ends_with(r#"{"error":"the request's headers are too large"}"#), "{out}");
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n";
        assert!(rewritten(ours).is_none());
        assert!(rewritten(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
    }
}
