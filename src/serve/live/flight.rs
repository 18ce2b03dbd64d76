//! The warehouse over Arrow Flight SQL (`datafusion-flight-sql-server` on tonic), for ADBC
//! clients: a query's answer arrives as Arrow record batches.
//!
//! Every request is authorized here before the crate plans anything: while the warehouse has
//! users or tokens, a request must carry an API token as `authorization: Bearer …` (the Flight
//! SQL handshake is not offered). Statements are checked read-only ([`super::read_only`]) and run
//! in the live catalog's memory pool. A request is planned within the time limit (tonic's), and
//! a query's stream of batches ([`Limited`]) holds a computation permit and ends with
//! `DEADLINE_EXCEEDED` at the limit: the crate's streams run the plan as the client reads, out
//! of tonic's reach.

use super::{Live, read_only};
use crate::serve::access::Principal;
use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::{
    Action, Criteria, Empty, FlightData, FlightDescriptor, FlightInfo, HandshakeRequest, PollInfo, SchemaResult, Ticket,
};
use async_trait::async_trait;
use datafusion::execution::context::SessionState;
use datafusion_flight_sql_server::service::FlightSqlService;
use datafusion_flight_sql_server::session::SessionStateProvider;
use futures::Stream;
use futures::stream::BoxStream;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
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
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    builder.add_service(FlightServiceServer::new(service)).serve_with_incoming_shutdown(incoming, shutdown).await?;
    Ok(())
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

/// A stream of batches that ends with `DEADLINE_EXCEEDED` once its time is up, dropping the
/// query's execution (and its permit) then.
struct Deadlined {
    inner: Option<BoxStream<'static, Result<FlightData, Status>>>,
    sleep: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
    permit: Option<Permit>,
}

impl Stream for Deadlined {
    type Item = Result<FlightData, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(inner) = self.inner.as_mut() else { return Poll::Ready(None) };
        match inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(item)) => return Poll::Ready(Some(item)),
            Poll::Ready(None) => {
                self.inner = None;
                self.permit = None;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.inner = None;
            self.permit = None;
            let limit = self.limit;
            return Poll::Ready(Some(Err(Status::deadline_exceeded(format!(
                "the query ran past the time limit ({} s) and was stopped",
                limit.as_secs_f64()
            )))));
        }
        Poll::Pending
    }
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
        self.inner.get_flight_info(request).await
    }

    async fn poll_flight_info(&self, request: Request<FlightDescriptor>) -> Result<Response<PollInfo>, Status> {
        self.inner.poll_flight_info(request).await
    }

    async fn get_schema(&self, request: Request<FlightDescriptor>) -> Result<Response<SchemaResult>, Status> {
        self.inner.get_schema(request).await
    }

    async fn do_get(&self, request: Request<Ticket>) -> Result<Response<Self::DoGetStream>, Status> {
        let limit = self.live.timeout;
        let sleep = Box::pin(tokio::time::sleep(limit));
        let permit = Permit::take(&self.live).await?;
        let response = self.inner.do_get(request).await?;
        let (metadata, stream, extensions) = response.into_parts();
        let stream = Deadlined { inner: Some(Box::pin(stream)), sleep, limit, permit: Some(permit) };
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
        self.inner.do_action(request).await
    }

    async fn list_actions(&self, request: Request<Empty>) -> Result<Response<Self::ListActionsStream>, Status> {
        self.inner.list_actions(request).await
    }
}
