//! The warehouse over Arrow Flight SQL (`datafusion-flight-sql-server` on tonic), for ADBC
//! clients: a query's answer arrives as Arrow record batches.
//!
//! Every request is authorized here before the crate plans anything: while the warehouse has
//! users or tokens, a request must carry an API token as `authorization: Bearer …` (the Flight
//! SQL handshake is not offered). Statements are checked read-only ([`super::read_only`]), their
//! text by [`check_text`] (Substrait plans are refused: they would bypass it), and run in the live
//! catalog's memory pool. A request is planned within the time limit (tonic's), and a query's
//! batches ([`Limited`]) are produced by a task of their own that holds a computation permit and
//! stops at the limit whether or not the client reads them (`DEADLINE_EXCEEDED` for a client
//! that reads on).
//!
//! Connections hold a slot of the port from the moment they are accepted ([`Slots`]: at most
//! `--max-connections`, three quarters of them from one address; one more is closed at once) and
//! are closed when silent ([`Idle`]: 10 s before the first byte, the time limit and 10 s after).

use super::bounds::{MAX_STATEMENT_BYTES, check_text};
use super::slots::{Idle, Slots};
use super::{Live, read_only};
use crate::serve::access::Principal;
use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::sql::Command;
use arrow_flight::{
    Action, Criteria, Empty, FlightData, FlightDescriptor, FlightInfo, HandshakeRequest, PollInfo, SchemaResult, Ticket,
};
use async_trait::async_trait;
use datafusion::execution::context::SessionState;
use datafusion_flight_sql_server::service::FlightSqlService;
use datafusion_flight_sql_server::session::SessionStateProvider;
use datafusion_flight_sql_server::state::{CommandTicket, QueryHandle};
use futures::{Stream, StreamExt};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::net::TcpStream;
use tonic::transport::server::{Connected, TcpConnectInfo};
use tonic::transport::{Identity, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};

/// Hands each request the live catalog's session, once it is authorized.
struct Authorized {
    live: Arc<Live>,
}

impl Authorized {
    fn principal(&self, request: &Request<()>) -> Result<Principal, Status> {
        let gate = &self.live.state.gate;
        if !gate.required() {
            return Ok(Principal::Open);
        }
        let bearer = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
        gate.authenticate(bearer.map(str::trim), None)
            .ok_or_else(|| Status::unauthenticated("an API token is required: send `authorization: Bearer <token>`"))
    }
}

#[async_trait]
impl SessionStateProvider for Authorized {
    async fn new_context(&self, request: &Request<()>) -> Result<SessionState, Status> {
        let principal = self.principal(request);
        let peer = request.remote_addr().map(|a| a.to_string()).unwrap_or_default();
        match &principal {
            Ok(who) => tracing::info!(target: "shoplens::flight", %peer, principal = ?who, "request"),
            Err(_) => tracing::warn!(target: "shoplens::flight", %peer, "request refused: no valid token"),
        }
        principal?;
        // the catalog's tables read the version served now; pinning it is the scans' job
        Ok(self.live.context().state())
    }
}

/// Serves Flight SQL on `listener` until `shutdown`, over TLS when `tls` names a PEM certificate
/// chain and key.
///
/// # Errors
/// The TLS files cannot be read or used, or the server fails.
pub async fn serve(
    listener: TcpListener,
    live: Arc<Live>,
    tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    max_connections: usize,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let timeout = live.timeout;
    let service =
        FlightSqlService::new_with_provider(Box::new(Authorized { live: live.clone() })).with_sql_options(read_only());
    let service = Limited { inner: service, live };
    let mut builder = tonic::transport::Server::builder().timeout(timeout).concurrency_limit_per_connection(8);
    if let Some((cert, key)) = tls {
        let identity = Identity::from_pem(std::fs::read(&cert)?, std::fs::read(&key)?);
        builder = builder.tls_config(ServerTlsConfig::new().identity(identity))?;
    }
    // silent connections go once a statement could have ended
    let idle = timeout + Duration::from_secs(10);
    let incoming = incoming(listener, Slots::new(max_connections), idle);
    builder.add_service(FlightServiceServer::new(service)).serve_with_incoming_shutdown(incoming, shutdown).await?;
    Ok(())
}

/// The connections `listener` accepts, each holding a slot of `slots` from the moment it is
/// accepted and closed after `idle` without traffic; a connection over the limits is closed at
/// once (it would hold a file descriptor the dashboard needs).
fn incoming(
    listener: TcpListener,
    slots: Arc<Slots>,
    idle: Duration,
) -> impl Stream<Item = Result<Conn, std::io::Error>> + Send + 'static {
    futures::stream::unfold((listener, slots), move |(listener, slots)| async move {
        loop {
            match listener.accept().await {
                Ok((socket, peer)) => {
                    let Some(slot) = slots.take(peer.ip()) else {
                        tracing::warn!(target: "shoplens::flight", %peer, "connection closed: too many");
                        continue;
                    };
                    let _ = socket.set_nodelay(true);
                    return Some((Ok(Conn(Idle::new(socket, idle, slot))), (listener, slots)));
                }
                Err(e) => {
                    // out of file descriptors, say: wait rather than spin
                    tracing::warn!(target: "shoplens::flight", error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    })
}

/// One accepted Flight connection ([`Idle`] over TCP).
pub struct Conn(Idle<TcpStream>);

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.0.get_ref().connect_info()
    }
}

impl AsyncRead for Conn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// Refuses a Flight SQL command whose SQL [`check_text`] refuses, and Substrait plans (they
/// would bypass the statement checks, which read SQL).
fn check_command(command: &Command) -> Result<(), Status> {
    let sql = match command {
        Command::CommandStatementQuery(q) => q.query.clone(),
        Command::ActionCreatePreparedStatementRequest(q) => q.query.clone(),
        Command::CommandPreparedStatementQuery(p) => {
            match QueryHandle::try_decode(p.prepared_statement_handle.clone()) {
                Ok(handle) => handle.query().to_string(),
                // the crate refuses a handle it cannot read
                Err(_) => return Ok(()),
            }
        }
        Command::CommandStatementSubstraitPlan(_) | Command::ActionCreatePreparedSubstraitPlanRequest(_) => {
            return Err(Status::invalid_argument("Substrait plans are not accepted here: send SQL"));
        }
        _ => return Ok(()),
    };
    check_text(&sql).map_err(|(_, message)| Status::invalid_argument(message))
}

/// [`check_command`] on the bytes of a command (a descriptor's, an action's body) or, with
/// `ticket`, of a ticket the crate issued.
fn check_bytes(bytes: &bytes::Bytes, ticket: bool) -> Result<(), Status> {
    if bytes.len() > MAX_STATEMENT_BYTES + 64 * 1024 {
        return Err(Status::invalid_argument(format!(
            "the request is too long ({} bytes): statements are at most {MAX_STATEMENT_BYTES} bytes here",
            bytes.len()
        )));
    }
    let decoded = if ticket {
        CommandTicket::try_decode(bytes.clone())
    } else {
        CommandTicket::try_decode_command(bytes.clone())
    };
    match decoded {
        Ok(t) => check_command(&t.command),
        // not a Flight SQL command: the crate answers it
        Err(_) => Ok(()),
    }
}

/// The crate's service with a limit on each query's stream: `do_get` (the call that runs a
/// query and streams its batches) holds a computation permit while its stream lives and ends it
/// with `DEADLINE_EXCEEDED` at the time limit. Every other call is passed through.
struct Limited<S> {
    inner: S,
    live: Arc<Live>,
}

/// A computation permit held by a stream that outlives the call that took it.
struct Permit(Arc<Live>);

impl Permit {
    async fn take(live: &Arc<Live>) -> Result<Permit, Status> {
        let permit = live.state.permits.acquire().await.map_err(|_| Status::unavailable("the server is stopping"))?;
        permit.forget();
        Ok(Permit(live.clone()))
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.state.permits.add_permits(1);
    }
}

/// A query's batches as the client reads them. A task of its own runs the query into a channel
/// of two batches and stops at the deadline whether or not the client reads: the query is
/// dropped (cancelled) and its permit given back then, and a client that reads on is told
/// `DEADLINE_EXCEEDED` after the batches already sent.
struct Deadlined {
    rx: tokio::sync::mpsc::Receiver<Result<FlightData, Status>>,
    finished: Arc<AtomicBool>,
    limit: Duration,
    ended: bool,
}

impl Stream for Deadlined {
    type Item = Result<FlightData, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(item)) => Poll::Ready(Some(item)),
            Poll::Ready(None) => {
                self.ended = true;
                if self.finished.load(Ordering::Acquire) {
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Err(past_deadline(self.limit))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

fn past_deadline(limit: Duration) -> Status {
    Status::deadline_exceeded(format!("the query ran past the time limit ({} s) and was stopped", limit.as_secs_f64()))
}

#[async_trait]
impl<S: FlightService> FlightService for Limited<S> {
    type HandshakeStream = S::HandshakeStream;
    type ListFlightsStream = S::ListFlightsStream;
    type DoGetStream = Deadlined;
    type DoPutStream = S::DoPutStream;
    type DoExchangeStream = S::DoExchangeStream;
    type DoActionStream = S::DoActionStream;
    type ListActionsStream = S::ListActionsStream;

    async fn handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        self.inner.handshake(request).await
    }

    async fn list_flights(&self, request: Request<Criteria>) -> Result<Response<Self::ListFlightsStream>, Status> {
        self.inner.list_flights(request).await
    }

    async fn get_flight_info(&self, request: Request<FlightDescriptor>) -> Result<Response<FlightInfo>, Status> {
        check_bytes(&request.get_ref().cmd, false)?;
        self.inner.get_flight_info(request).await
    }

    async fn poll_flight_info(&self, request: Request<FlightDescriptor>) -> Result<Response<PollInfo>, Status> {
        check_bytes(&request.get_ref().cmd, false)?;
        self.inner.poll_flight_info(request).await
    }

    async fn get_schema(&self, request: Request<FlightDescriptor>) -> Result<Response<SchemaResult>, Status> {
        check_bytes(&request.get_ref().cmd, false)?;
        self.inner.get_schema(request).await
    }

    async fn do_get(&self, request: Request<Ticket>) -> Result<Response<Self::DoGetStream>, Status> {
        check_bytes(&request.get_ref().ticket, true)?;
        let limit = self.live.timeout;
        let deadline = tokio::time::Instant::now() + limit;
        let permit =
            tokio::time::timeout_at(deadline, Permit::take(&self.live)).await.map_err(|_| past_deadline(limit))??;
        let response =
            tokio::time::timeout_at(deadline, self.inner.do_get(request)).await.map_err(|_| past_deadline(limit))??;
        let (metadata, stream, extensions) = response.into_parts();
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let finished = Arc::new(AtomicBool::new(false));
        let done = finished.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut stream = Box::pin(stream);
            let drive = async {
                while let Some(item) = stream.next().await {
                    if tx.send(item).await.is_err() {
                        // the client went away
                        return;
                    }
                }
                done.store(true, Ordering::Release);
            };
            // a timer, not the client's next read: the query and its permit end at the deadline
            let _ = tokio::time::timeout_at(deadline, drive).await;
        });
        let stream = Deadlined { rx, finished, limit, ended: false };
        Ok(Response::from_parts(metadata, stream, extensions))
    }

    async fn do_put(&self, request: Request<Streaming<FlightData>>) -> Result<Response<Self::DoPutStream>, Status> {
        self.inner.do_put(request).await
    }

    async fn do_exchange(
        &self,
        request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        self.inner.do_exchange(request).await
    }

    async fn do_action(&self, request: Request<Action>) -> Result<Response<Self::DoActionStream>, Status> {
        check_bytes(&request.get_ref().body, false)?;
        self.inner.do_action(request).await
    }

    async fn list_actions(&self, request: Request<Empty>) -> Result<Response<Self::ListActionsStream>, Status> {
        self.inner.list_actions(request).await
    }
}
