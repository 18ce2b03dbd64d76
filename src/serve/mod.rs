//! Serve: the dashboard and its JSON API over a warehouse (axum on hyper and tokio). Binds loopback
//! by default and requires sign-in anywhere else; every parameter is validated; results are cached
//! per warehouse version (bounded in bytes), gzip-compressed and carry an ETag; a newly published
//! warehouse version is picked up without a restart.

pub mod access;
pub mod api;
pub mod conn;
pub mod error;
pub mod guard;
pub mod hosts;
pub(crate) mod page;
mod signin;
pub mod state;

use crate::model::MemoryLimit;
use crate::warehouse::{Engine, OpenError, Store};
use access::{AccessError, Gate};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use hosts::Hosts;
use state::AppState;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::compression::CompressionLayer;

/// The largest request body accepted (only the sign-in form has one).
pub const MAX_BODY_BYTES: usize = 4 * 1024;

/// The application's routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    api::routes(Router::new())
        .route("/", get(page::index))
        .route("/assets/{*file}", get(page::asset))
        .route("/api/openapi.json", get(api::openapi))
        .route("/healthz", get(api::health))
        .route("/signin", get(signin::form).post(signin::sign_in))
        .route("/signout", post(signin::sign_out))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::guard))
        .with_state(state)
}

/// How a server is set up beyond its warehouse and address.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The ISO 4217 code the page formats money in.
    pub currency: String,
    /// Memory the computations running at once share.
    pub memory: MemoryLimit,
    /// Host names (besides loopback and the bound IP) the server answers to.
    pub hosts: Vec<String>,
    /// Serve a non-loopback address without sign-in (only for a trusted network).
    pub insecure_no_auth: bool,
    /// PEM certificate chain and private key: serve HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Mark the session cookie `Secure` although this server speaks plain HTTP (behind a TLS proxy).
    pub secure_cookie: bool,
    /// Where the queries run.
    pub engine: Engine,
    /// Take the client's address (for the sign-in limits) from the last hop of
    /// `X-Forwarded-For`: only behind a reverse proxy that sets it.
    pub trust_proxy: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            currency: "EUR".into(),
            memory: MemoryLimit::DEFAULT,
            hosts: Vec::new(),
            insecure_no_auth: false,
            tls: None,
            secure_cookie: false,
            engine: Engine::Local,
            trust_proxy: false,
        }
    }
}

/// A bound server, not yet running: its address is known, so tests can use port 0.
pub struct Server {
    listener: tokio::net::TcpListener,
    app: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    /// Whether requests must be authenticated.
    pub auth_required: bool,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The warehouse cannot be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The users and tokens cannot be read.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// A non-loopback address without anybody who could sign in.
    #[error(
        "refusing to serve {0} without sign-in: anyone who reaches it could read the shop's figures. \
         Add a user (`shoplens users add NAME --warehouse WH`) or a token, or pass --insecure-no-auth \
         if the network is trusted"
    )]
    Unprotected(SocketAddr),
    /// The TLS certificate or key cannot be used.
    #[error("TLS: {0}")]
    Tls(String),
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
        Server::start(store, addr, &ServeOptions { currency: currency.to_string(), memory, ..Default::default() }).await
    }

    /// Opens the warehouse and binds `addr` as `options` say. Sign-in is required when the
    /// warehouse has users or tokens, and whenever the address is not loopback (which is refused
    /// if nobody could sign in, unless `insecure_no_auth`).
    ///
    /// # Errors
    /// No warehouse, an unprotected public address, unusable TLS files, or the address is taken.
    pub async fn start(store: Store, addr: SocketAddr, options: &ServeOptions) -> Result<Server, ServeError> {
        let public = !addr.ip().is_loopback();
        let tls = options.tls.as_ref().map(|(cert, key)| tls_acceptor(cert, key)).transpose()?;
        let mut gate =
            Gate::open(store.root(), public && !options.insecure_no_auth, options.secure_cookie || tls.is_some())?;
        gate.trust_proxy = options.trust_proxy;
        if gate.required() && gate.credentials().is_empty() {
            return Err(ServeError::Unprotected(addr));
        }
        let auth_required = gate.required();
        let hosts = Hosts::new(addr.ip(), &options.hosts);
        let state = AppState::open_on(store, options.currency.clone(), options.memory, options.engine.clone())
            .await?
            .with_access(gate, hosts);
        let state = Arc::new(state);
        tokio::spawn(api::warm(state.clone(), state.loaded().await));
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
        Ok(Server { listener, app: router(state), tls, auth_required })
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
        conn::serve(self.listener, self.app, self.tls, shutdown).await
    }
}

/// A TLS acceptor (rustls, ring) from PEM files.
fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<tokio_rustls::TlsAcceptor, ServeError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| ServeError::Tls(format!("{}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(ServeError::Tls(format!("{}: no certificate in it", cert.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| ServeError::Tls(format!("{}: {e}", key.display())))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServeError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ServeError::Tls(e.to_string()))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
