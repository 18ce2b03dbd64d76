//! `serve`, `demo` and `cluster`: the processes that stay up.

use super::args::{EngineArg, shop_currency};
use super::format;
use crate::generate::{GenerateOptions, generate};
use crate::import::RejectLimit;
use crate::model::text::terminal_safe;
use crate::model::{Currency, Filter, MemoryLimit};
use crate::warehouse::{Store, Warehouse};
use anyhow::Result;
use clap::{Args, Subcommand};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub(super) struct ServeArgs {
    /// The warehouse folder.
    #[arg(long)]
    pub(super) warehouse: PathBuf,
    /// Address to listen on: IP:PORT, localhost:PORT or a PORT alone (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8080", value_parser = listen_addr)]
    pub(super) addr: SocketAddr,
    /// Currency the page shows money in (ISO 4217 code, any case); by default the one the
    /// import recorded.
    #[arg(long)]
    pub(super) currency: Option<Currency>,
    #[command(flatten)]
    pub(super) sharing: SharingArgs,
    #[command(flatten)]
    pub(super) live: LiveArgs,
    #[command(flatten)]
    pub(super) engine: EngineArg,
    /// Run this schedule beside the server: imports, digests, alerts (default:
    /// WAREHOUSE/schedule.toml when it exists).
    #[arg(long)]
    pub(super) schedule: Option<PathBuf>,
    /// Start the schedule's clock at this instant (RFC 3339), running at the usual pace: to try
    /// a schedule's times out.
    #[arg(long, hide = true)]
    pub(super) clock_start: Option<chrono::DateTime<chrono::Utc>>,
}

/// The live SQL servers beside (or instead of) the dashboard.
#[derive(Args, Debug)]
pub(super) struct LiveArgs {
    /// Serve the warehouse over the PostgreSQL wire protocol here (psql, Metabase, Superset,
    /// Grafana, DBeaver): IP:PORT, localhost:PORT or a PORT alone.
    #[arg(long, value_parser = listen_addr)]
    pg_addr: Option<SocketAddr>,
    /// Serve the warehouse over Arrow Flight SQL here (ADBC clients).
    #[arg(long, value_parser = listen_addr)]
    flight_addr: Option<SocketAddr>,
    /// Do not serve the dashboard, only live SQL.
    #[arg(long)]
    no_dashboard: bool,
    /// Most connections at once on each live SQL port (PostgreSQL, Flight SQL), three quarters
    /// of them from one address.
    #[arg(long, default_value_t = 128)]
    max_connections: usize,
    /// Stop a live SQL statement after this many seconds.
    #[arg(long, default_value_t = 60)]
    sql_timeout: u64,
}

#[derive(Args, Debug)]
pub(super) struct DemoArgs {
    /// Folder for the demo shop and its warehouse.
    #[arg(long, default_value = "shoplens-demo")]
    pub(super) dir: PathBuf,
    /// How many orders.
    #[arg(long, default_value_t = 100_000)]
    pub(super) orders: u64,
    /// Address to serve the dashboard on: IP:PORT, localhost:PORT or a PORT alone.
    #[arg(long, default_value = "127.0.0.1:8080", value_parser = listen_addr)]
    pub(super) addr: SocketAddr,
    /// Import and print only; do not serve.
    #[arg(long)]
    pub(super) no_serve: bool,
}

pub(super) async fn serve_cmd(args: ServeArgs, memory: MemoryLimit) -> Result<()> {
    let ServeArgs { warehouse, addr, currency, sharing, live, engine, schedule, clock_start } = args;
    let schedule = match schedule {
        Some(path) => Some(super::notify::load_schedule(&warehouse, Some(&path))?),
        None if warehouse.join("schedule.toml").exists() => Some(super::notify::load_schedule(&warehouse, None)?),
        None => None,
    };
    let clock = clock_start.map(crate::schedule::Clock::starting_at).unwrap_or_default();
    if let Some(s) = &schedule {
        eprintln!(
            "running the schedule {}: {} source(s), {} digest(s){}",
            s.path.display(),
            s.sources.len(),
            s.digests.len(),
            if s.alerts.is_some() { ", alerts" } else { "" }
        );
    }
    let options = crate::serve::ServeOptions {
        currency: shop_currency(&warehouse, currency),
        memory,
        hosts: sharing.hosts,
        insecure_no_auth: sharing.insecure_no_auth,
        tls: sharing.tls_cert.zip(sharing.tls_key),
        secure_cookie: sharing.secure_cookie,
        engine: engine.engine,
        trust_proxy: sharing.trust_proxy,
        dashboard: !live.no_dashboard,
        live: crate::serve::live::LiveOptions {
            pg: live.pg_addr,
            flight: live.flight_addr,
            max_connections: live.max_connections.max(1),
            timeout: std::time::Duration::from_secs(live.sql_timeout.max(1)),
        },
        schedule: schedule.map(|s| (s, clock)),
    };
    serve(&warehouse, addr, options).await?;
    Ok(())
}

pub(super) async fn demo(args: DemoArgs, memory: MemoryLimit) -> Result<()> {
    let DemoArgs { dir, orders, addr, no_serve } = args;
    let open = |path: &Path| {
        let store = Store::new(path);
        async move { Warehouse::open_limited(&store, memory, 1).await }
    };
    let shop = dir.join("shop");
    let wh = dir.join("warehouse");
    eprintln!("generating a demo shop of {orders} orders in {}", shop.display());
    generate(&shop, &GenerateOptions { orders, books: true, ..Default::default() })?;
    super::imports::import(
        &shop,
        &wh,
        super::imports::ImportSettings {
            timezone: "UTC",
            json: false,
            append: false,
            encoding: Default::default(),
            memory,
            source_name: None,
            watermark: None,
            check: false,
            max_rejects: RejectLimit::DEFAULT,
            currency: Some(Currency::parse("EUR").expect("a valid code")),
            taxes_included: false,
        },
    )
    .await?;
    let warehouse = open(&wh).await?;
    let kpis = crate::metrics::compute(&warehouse, &Filter::default()).await?;
    print!("{}", terminal_safe(&format::kpis(&kpis)));
    eprintln!(
        "\nthe warehouse is in {}; try: shoplens sql --warehouse {} \"SELECT * FROM order_lines LIMIT 5\"",
        wh.display(),
        wh.display()
    );
    if !no_serve {
        serve(&wh, addr, crate::serve::ServeOptions { memory, ..Default::default() }).await?;
    }
    Ok(())
}

/// The processes of a Ballista cluster.
#[derive(Subcommand, Debug)]
pub(super) enum ClusterCmd {
    /// The scheduler: plans queries and hands their tasks to the executors.
    Scheduler {
        /// Address its gRPC service listens on.
        #[arg(long, default_value = "127.0.0.1:50050")]
        bind: SocketAddr,
        /// Seconds an executor may be silent before it counts as lost; the queries that were
        /// running then fail (and can be run again).
        #[arg(long, default_value_t = 20)]
        executor_timeout: u64,
    },
    /// An executor: runs tasks; `--memory-limit` is what its tasks share.
    Executor {
        /// The scheduler: HOST:PORT.
        #[arg(long, default_value = "127.0.0.1:50050")]
        scheduler: String,
        /// Address its Arrow Flight service (shuffle data) listens on; its gRPC service listens
        /// on the next port unless --grpc-port says otherwise.
        #[arg(long, default_value = "127.0.0.1:50051")]
        bind: SocketAddr,
        /// Port of its gRPC service (tasks from the scheduler).
        #[arg(long)]
        grpc_port: Option<u16>,
        /// The host name the scheduler and other executors reach it by, if not the bound address.
        #[arg(long)]
        external_host: Option<String>,
        /// How many tasks it runs at once (default: one per core).
        #[arg(long, default_value_t = 0)]
        concurrency: usize,
        /// Folder for its shuffle files (default: a new one in the temporary folder).
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// Seconds between its heartbeats to the scheduler.
        #[arg(long, default_value_t = 5)]
        heartbeat: u64,
    },
}

/// How a served dashboard is shared beyond this machine.
#[derive(Args, Debug, Default)]
pub(super) struct SharingArgs {
    /// A host name the server answers to (besides loopback and the bound IP); repeat for several.
    #[arg(long = "host")]
    hosts: Vec<String>,
    /// Serve a non-loopback address without sign-in: only on a network you trust.
    #[arg(long)]
    insecure_no_auth: bool,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Mark the session cookie Secure although this server speaks HTTP (behind a TLS proxy).
    #[arg(long)]
    secure_cookie: bool,
    /// Take the client's address (for the sign-in limits) from the last hop of X-Forwarded-For:
    /// only behind a reverse proxy (nginx, Caddy) that sets it, or clients could name any address.
    #[arg(long)]
    trust_proxy: bool,
}

/// A listening address: `IP:PORT`, `[v6]:PORT`, `localhost:PORT` (loopback) or a port alone
/// (loopback). No other name is resolved: the address bound must be the one the user meant.
pub(super) fn listen_addr(s: &str) -> Result<SocketAddr, String> {
    let t = s.trim();
    if let Ok(a) = t.parse::<SocketAddr>() {
        return Ok(a);
    }
    let port = t.strip_prefix("localhost:").unwrap_or(t);
    match port.parse::<u16>() {
        Ok(p) => Ok(SocketAddr::from(([127, 0, 0, 1], p))),
        Err(_) => Err(format!("'{s}' is not an address: give IP:PORT (127.0.0.1:8080), localhost:PORT or a port")),
    }
}

pub(super) async fn serve(warehouse: &Path, addr: SocketAddr, options: crate::serve::ServeOptions) -> Result<()> {
    let options_tls = options.tls.is_some();
    let scheme = if options_tls { "https" } else { "http" };
    let server = crate::serve::Server::start(Store::new(warehouse), addr, &options).await?;
    if options.dashboard && !addr.ip().is_loopback() && !server.auth_required {
        eprintln!(
            "WARNING: serving {addr} without sign-in (--insecure-no-auth): anyone who reaches it reads the shop's figures"
        );
    }
    let auth = if server.auth_required { "sign-in required" } else { "no sign-in: loopback only" };
    if let Some(a) = server.dashboard_addr() {
        eprintln!("serving the dashboard at {scheme}://{a}/ ({auth}; Ctrl-C stops)");
    }
    if let Some(a) = server.pg_addr() {
        let ssl = if options_tls { " sslmode=require" } else { "" };
        eprintln!(
            "serving the PostgreSQL protocol at {a} ({auth}): psql \"host={} port={} dbname=shop{ssl}\"",
            a.ip(),
            a.port()
        );
    }
    if let Some(a) = server.flight_addr() {
        eprintln!("serving Arrow Flight SQL at grpc{}://{a} ({auth})", if options_tls { "+tls" } else { "" });
    }
    server
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

#[cfg(feature = "ballista")]
pub(super) async fn cluster(role: ClusterCmd, memory: MemoryLimit) -> Result<()> {
    use crate::cluster;
    use anyhow::Context;
    use std::time::Duration;
    match role {
        ClusterCmd::Scheduler { bind, executor_timeout } => {
            eprintln!(
                "Ballista scheduler on {bind}: point shoplens at it with --engine ballista://{bind} (Ctrl-C stops)"
            );
            let options = cluster::SchedulerOptions { bind, executor_timeout: Duration::from_secs(executor_timeout) };
            tokio::select! {
                r = cluster::run_scheduler(options) => r?,
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        ClusterCmd::Executor { scheduler, bind, grpc_port, external_host, concurrency, work_dir, heartbeat } => {
            let (host, port) = crate::warehouse::engine::split_host_port(&scheduler)
                .and_then(|(h, p)| Some((h.to_string(), p?.parse::<u16>().ok()?)))
                .with_context(|| format!("--scheduler: {scheduler:?} is not HOST:PORT"))?;
            let grpc_port = match grpc_port {
                Some(p) => p,
                None => bind.port().checked_add(1).context("--bind: give --grpc-port for port 65535")?,
            };
            eprintln!(
                "Ballista executor on {bind} (gRPC port {grpc_port}, {} of memory) for the scheduler at {scheduler}",
                memory
            );
            let options = cluster::ExecutorOptions {
                scheduler_host: host,
                scheduler_port: port,
                bind,
                grpc_port,
                external_host,
                concurrency,
                memory,
                work_dir,
                heartbeat: Duration::from_secs(heartbeat),
            };
            cluster::run_executor(options).await?;
        }
    }
    Ok(())
}

#[cfg(not(feature = "ballista"))]
pub(super) async fn cluster(_role: ClusterCmd, _memory: MemoryLimit) -> Result<()> {
    anyhow::bail!("{}", crate::warehouse::engine::NO_BALLISTA)
}
