//! Serve: the dashboard and its JSON API over a warehouse (axum on tokio). Binds loopback by
//! default; every parameter is validated; results are cached per warehouse version, gzip-compressed
//! and carry an ETag; a newly published warehouse version is picked up without a restart.

pub mod api;
mod page;
pub mod state;

use crate::model::MemoryLimit;
use crate::warehouse::{OpenError, Store};
use axum::Router;
use axum::routing::get;
use state::AppState;
use std::net::SocketAddr;
use std::sync::Arc;
use tower_http::compression::CompressionLayer;

/// The application's routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/assets/{*file}", get(page::asset))
        .route("/api/kpis", get(api::kpis))
        .route("/api/kpis/compare", get(api::compare))
        .route("/api/kpis/{section}", get(api::section))
        .route("/api/dimensions", get(api::dimensions))
        .route("/api/forecast", get(api::forecast))
        .route("/api/openapi.json", get(api::openapi))
        .route("/healthz", get(api::health))
        .fallback(api::not_found)
        .layer(CompressionLayer::new())
        .with_state(state)
}

/// A bound server, not yet running: its address is known, so tests can use port 0.
pub struct Server {
    listener: tokio::net::TcpListener,
    app: Router,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The warehouse cannot be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

impl Server {
    /// Opens the warehouse and binds `addr`; the page shows money in `currency` (ISO 4217); the
    /// computations running at once share `memory`.
    ///
    /// # Errors
    /// No warehouse, or the address is taken.
    pub async fn bind(
        store: Store,
        addr: SocketAddr,
        currency: &str,
        memory: MemoryLimit,
    ) -> Result<Server, ServeError> {
        let state = Arc::new(AppState::open(store, currency.to_string(), memory).await?);
        tokio::spawn(api::warm(state.clone(), state.loaded().await));
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
        Ok(Server { listener, app: router(state) })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes.
    ///
    /// # Errors
    /// The listener fails.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        axum::serve(self.listener, self.app).with_graceful_shutdown(shutdown).await
    }
}
