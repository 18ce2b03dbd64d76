//! The warehouse over Arrow Flight SQL (`datafusion-flight-sql-server` on tonic), for ADBC
//! clients: a query's answer arrives as Arrow record batches.
//!
//! Every request is authorized here before the crate plans anything: while the warehouse has
//! users or tokens, a request must carry an API token as `authorization: Bearer …` (the Flight
//! SQL handshake is not offered). Statements are checked read-only ([`super::read_only`]), run
//! in the live catalog's memory pool, and a request stops at the time limit.

use super::{Live, read_only};
use crate::serve::access::Principal;
use arrow_flight::flight_service_server::FlightServiceServer;
use async_trait::async_trait;
use datafusion::execution::context::SessionState;
use datafusion_flight_sql_server::service::FlightSqlService;
use datafusion_flight_sql_server::session::SessionStateProvider;
use std::sync::Arc;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, ServerTlsConfig};
use tonic::{Request, Status};

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
    let service = FlightSqlService::new_with_provider(Box::new(Authorized { live })).with_sql_options(read_only());
    let mut builder = tonic::transport::Server::builder().timeout(timeout).concurrency_limit_per_connection(8);
    if let Some((cert, key)) = tls {
        let identity = Identity::from_pem(std::fs::read(&cert)?, std::fs::read(&key)?);
        builder = builder.tls_config(ServerTlsConfig::new().identity(identity))?;
    }
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    builder.add_service(FlightServiceServer::new(service)).serve_with_incoming_shutdown(incoming, shutdown).await?;
    Ok(())
}
