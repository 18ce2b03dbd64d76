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
pub mod live;
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
        .route("/api/status", get(api::status))
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
    /// Serve the dashboard and its API (not only live SQL).
    pub dashboard: bool,
    /// The live SQL servers (PostgreSQL wire protocol, Flight SQL), if any.
    pub live: live::LiveOptions,
    /// The schedule run beside the server (imports, digests, alerts), and its clock.
    pub schedule: Option<(crate::schedule::config::Schedule, crate::schedule::Clock)>,
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
            dashboard: true,
            live: live::LiveOptions::default(),
            schedule: None,
        }
    }
}

/// A bound server, not yet running: its addresses are known, so tests can use port 0.
pub struct Server {
    listener: Option<tokio::net::TcpListener>,
    app: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    tls_files: Option<(PathBuf, PathBuf)>,
    pg: Option<tokio::net::TcpListener>,
    flight: Option<tokio::net::TcpListener>,
    live: Option<Arc<live::Live>>,
    max_connections: usize,
    scheduler: Option<crate::schedule::Scheduler>,
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
    /// A live SQL server on a non-loopback address without TLS: its rows would cross the network
    /// in clear.
    #[error(
        "refusing to serve {0} without TLS: the warehouse's rows would cross the network unencrypted. \
         Pass --tls-cert and --tls-key, or bind a loopback address"
    )]
    PlainPublic(SocketAddr),
    /// Nothing to serve.
    #[error("nothing to serve: give --pg-addr or --flight-addr when the dashboard is off")]
    Nothing,
    /// The schedule cannot be started.
    #[error("the schedule: {0}")]
    Schedule(String),
    /// The live SQL catalog cannot be set up.
    #[error("cannot set up the live SQL catalog: {0}")]
    Live(datafusion::error::DataFusionError),
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
        let live_addrs = [options.live.pg, options.live.flight];
        if !options.dashboard && live_addrs.iter().all(Option::is_none) {
            return Err(ServeError::Nothing);
        }
        let tls = options.tls.as_ref().map(|(cert, key)| tls_acceptor(cert, key)).transpose()?;
        for a in live_addrs.into_iter().flatten() {
            if !a.ip().is_loopback() && tls.is_none() {
                return Err(ServeError::PlainPublic(a));
            }
        }
        let public_http = options.dashboard && !addr.ip().is_loopback() && !options.insecure_no_auth;
        let public_live = live_addrs.iter().flatten().any(|a| !a.ip().is_loopback());
        let mut gate = Gate::open(store.root(), public_http || public_live, options.secure_cookie || tls.is_some())?;
        gate.trust_proxy = options.trust_proxy;
        if gate.required() && gate.credentials().is_empty() {
            let exposed = if public_http {
                addr
            } else {
                live_addrs.into_iter().flatten().find(|a| !a.ip().is_loopback()).unwrap_or(addr)
            };
            return Err(ServeError::Unprotected(exposed));
        }
        let auth_required = gate.required();
        let hosts = Hosts::new(addr.ip(), &options.hosts);
        let store_for_schedule = store.clone();
        let state = AppState::open_on(store, options.currency.clone(), options.memory, options.engine.clone())
            .await?
            .with_access(gate, hosts);
        let scheduler = match &options.schedule {
            Some((schedule, clock)) => Some(
                crate::schedule::Scheduler::new(schedule.clone(), store_for_schedule, options.memory, *clock)
                    .map_err(ServeError::Schedule)?,
            ),
            None => None,
        };
        let state = match &scheduler {
            Some(s) => state.with_schedule(s.status.clone()),
            None => state,
        };
        let state = Arc::new(state);
        let bind = |addr: SocketAddr| async move {
            tokio::net::TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })
        };
        let listener = if options.dashboard {
            tokio::spawn(api::warm(state.clone(), state.loaded().await));
            Some(bind(addr).await?)
        } else {
            None
        };
        let live = if live_addrs.iter().any(Option::is_some) {
            Some(Arc::new(live::Live::new(state.clone(), options.live.timeout).await.map_err(ServeError::Live)?))
        } else {
            None
        };
        let pg = match options.live.pg {
            Some(a) => Some(bind(a).await?),
            None => None,
        };
        let flight = match options.live.flight {
            Some(a) => Some(bind(a).await?),
            None => None,
        };
        Ok(Server {
            listener,
            app: router(state),
            tls,
            tls_files: options.tls.clone(),
            pg,
            flight,
            live,
            max_connections: options.live.max_connections,
            scheduler,
            auth_required,
        })
    }

    /// The dashboard's bound address.
    ///
    /// # Panics
    /// The server was started without the dashboard (use [`Server::dashboard_addr`]).
    pub fn addr(&self) -> SocketAddr {
        self.dashboard_addr().expect("the dashboard is served")
    }

    /// The dashboard's bound address, if it is served.
    pub fn dashboard_addr(&self) -> Option<SocketAddr> {
        self.listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The PostgreSQL wire protocol's bound address, if it is served.
    pub fn pg_addr(&self) -> Option<SocketAddr> {
        self.pg.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The Flight SQL service's bound address, if it is served.
    pub fn flight_addr(&self) -> Option<SocketAddr> {
        self.flight.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` completes.
    ///
    /// # Errors
    /// A listener fails.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop.send(true);
        });
        let until = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let mut tasks = tokio::task::JoinSet::new();
        // Live SQL runs on a runtime of its own: a hundred busy SQL connections then compete
        // with the dashboard for the cores through the OS scheduler, which lets a waking
        // `/healthz` run at once, instead of queueing behind them in one runtime's task queues.
        let runtime = LiveRuntime::for_live(self.live.is_some())?;
        let on_live = runtime.handle();
        if let (Some(listener), Some(live)) = (self.pg, self.live.clone()) {
            let (tls, max, stop) = (self.tls.clone(), self.max_connections, until(stopped.clone()));
            let serve = async move {
                live::pg::serve(listener, live, tls, max, stop).await;
                Ok(())
            };
            tasks.spawn_on(serve, &on_live);
        }
        if let (Some(listener), Some(live)) = (self.flight, self.live) {
            let (tls, max, stop) = (self.tls_files, self.max_connections, until(stopped.clone()));
            let serve =
                async move { live::flight::serve(listener, live, tls, max, stop).await.map_err(std::io::Error::other) };
            tasks.spawn_on(serve, &on_live);
        }
        if let Some(scheduler) = self.scheduler {
            let stop = until(stopped.clone());
            tasks.spawn(async move {
                scheduler.run(stop).await;
                Ok(())
            });
        }
        if let Some(listener) = self.listener {
            let stop = until(stopped);
            tasks.spawn(conn::serve(listener, self.app, self.tls, stop));
        }
        while let Some(done) = tasks.join_next().await {
            done.map_err(std::io::Error::other)??;
        }
        Ok(())
    }
}

/// The live SQL servers' own runtime (two workers), shut down without waiting when dropped, or
/// the current runtime's handle when nothing is served live.
struct LiveRuntime(Option<tokio::runtime::Runtime>);

impl LiveRuntime {
    fn for_live(live: bool) -> std::io::Result<LiveRuntime> {
        if !live {
            return Ok(LiveRuntime(None));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("shoplens-live")
            .enable_all()
            .build()?;
        Ok(LiveRuntime(Some(runtime)))
    }

    fn handle(&self) -> tokio::runtime::Handle {
        self.0.as_ref().map_or_else(tokio::runtime::Handle::current, |r| r.handle().clone())
    }
}

impl Drop for LiveRuntime {
    fn drop(&mut self) {
        // dropping a runtime blocks, which a runtime's own thread must not do
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
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
