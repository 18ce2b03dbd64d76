//! The command line: parses arguments, calls the core, formats what it returns. No logic of its own.

mod format;
mod progress;
mod sandbox;

use crate::forecast::{Series, revenue_series};
use crate::generate::{GenerateOptions, generate};
use crate::import::flat::{MappingSource, import_flat};
use crate::import::stage::Scratch;
use crate::import::{ImportOptions, RejectLimit, import_export};
use crate::metrics::compare::Versus;
use crate::model::filter::FilterParams;
use crate::model::text::terminal_safe;
use crate::model::{Currency, Filter, MemoryLimit, ShopTz};
use crate::source::{flat, olist, postgres};
use crate::warehouse::{Engine, Store, Warehouse, query, schema};
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// shoplens: an e-commerce export in, a star-schema warehouse and its KPIs out.
#[derive(Parser, Debug)]
#[command(name = "shoplens", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Memory the command's queries, sorts and spills may hold (e.g. 512M, 2G); what does not fit
    /// spills to disk. `serve` shares it among the computations it runs at once.
    #[arg(long, global = true, default_value_t = MemoryLimit::DEFAULT)]
    memory_limit: MemoryLimit,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a realistic demo shop in the canonical export format.
    Generate {
        /// Folder to write the five CSV files into.
        #[arg(long)]
        out: PathBuf,
        /// How many orders.
        #[arg(long, default_value_t = 100_000)]
        orders: u64,
        /// Random seed: the same seed gives the same bytes.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Validate an export and load it into a warehouse, replacing its current version atomically.
    Import {
        /// The export folder (customers.csv, products.csv, orders.csv, order_items.csv,
        /// payments.csv), or a PostgreSQL database: postgres://user@host:port/db (a password in
        /// the URL or PGPASSWORD; the PG* variables fill in what the URL leaves out).
        dir: PathBuf,
        /// For a PostgreSQL source: a TOML file naming each record set's table or query
        /// (`[orders]` then `table = "shop.orders"` or `query = "SELECT …"`); by default the
        /// tables named like the record sets.
        #[arg(long)]
        query_file: Option<PathBuf>,
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
        /// The shop's time zone (IANA name) for timestamps with an offset.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// Print the per-file counts as JSON.
        #[arg(long)]
        json: bool,
        /// Add to the warehouse instead of replacing it: new orders are added, an order seen
        /// before is replaced by its newer version (its lines and payments too when the export
        /// lists them), dimensions keep their keys; importing the same export again changes nothing.
        #[arg(long)]
        append: bool,
        /// The files' encoding: utf-8 (the format's) or latin1 (ISO-8859-1, converted while reading).
        #[arg(long, default_value = "utf-8")]
        encoding: crate::source::Encoding,
        /// DIR is a flat export (one CSV, a row per order line) read with this TOML mapping.
        #[arg(long, conflicts_with = "preset")]
        map: Option<PathBuf>,
        /// DIR is an export in a known format: online-retail-ii or shopify (one CSV file), olist
        /// (the dataset's folder).
        #[arg(long)]
        preset: Option<String>,
        /// Print a mapping proposed from the flat file's header and values, to check and pass
        /// with --map.
        #[arg(long)]
        detect: bool,
        /// A dry run: read, check and count everything, show the first orders as they would
        /// load, and publish nothing.
        #[arg(long)]
        check: bool,
        /// Publish even if up to this percentage of a file's rows are rejected (default 5); the
        /// import is refused, and the warehouse kept as it was, beyond it.
        #[arg(long, value_name = "PERCENT", default_value_t = RejectLimit::DEFAULT)]
        max_rejects: RejectLimit,
        /// The shop's currency (ISO 4217, any case), recorded for every surface; by default the
        /// mapping's, or the previous import's.
        #[arg(long)]
        currency: Option<Currency>,
    },
    /// Publish again the version the last import replaced (a second rollback undoes the first).
    Rollback {
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
    },
    /// Show the warehouse's current version and every import into it.
    Status {
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
        /// Print the import records as JSON.
        #[arg(long)]
        json: bool,
        /// Read every file of the current version and check it against the checksums recorded
        /// when it was published; exit 1 if any changed, went missing or appeared.
        #[arg(long)]
        verify: bool,
    },
    /// Print every dashboard KPI.
    Kpi {
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
        #[command(flatten)]
        filter: FilterArgs,
        /// Print the JSON of kpis.md instead of tables.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        engine: EngineArg,
    },
    /// Run a read-only SQL query on the star schema.
    Sql {
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
        /// The query: SELECT, WITH or EXPLAIN.
        query: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        /// Stop the query after this many seconds.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
        #[command(flatten)]
        engine: EngineArg,
    },
    /// The process `sql` runs a statement in (read from standard input), under OS limits.
    #[command(hide = true)]
    SqlWorker {
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
        /// Output format.
        #[arg(long, value_enum)]
        format: OutputFormat,
        #[command(flatten)]
        engine: EngineArg,
    },
    /// Forecast next month's revenue (or any monthly series) with 80 % and 95 % intervals.
    Forecast {
        /// The warehouse folder (or use --series).
        #[arg(long, required_unless_present = "series", conflicts_with = "series")]
        warehouse: Option<PathBuf>,
        /// A CSV with header month,value (YYYY-MM, consecutive months) instead of a warehouse.
        #[arg(long)]
        series: Option<PathBuf>,
        /// How many months ahead (the JSON then has a path).
        #[arg(long, default_value_t = 1)]
        horizon: usize,
        #[command(flatten)]
        filter: FilterArgs,
        /// Print the JSON of kpis.md.
        #[arg(long)]
        json: bool,
    },
    /// Why revenue moved: the change between a range and another split into its drivers.
    Explain {
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
        #[command(flatten)]
        filter: FilterArgs,
        /// What to compare with: previous_period, previous_year, or FROM:TO (two days); without
        /// it and without dates, the default range (the last 12 complete months against the 12
        /// before, or the last complete month against a year or a month before).
        #[arg(long)]
        vs: Option<String>,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Where the current month will end: a projection from the month so far.
    Projection {
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
        /// The day to project from (default: the latest order's day).
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        segment: SegmentArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Segments whose last complete month fell outside their forecast's 95 % interval.
    Alerts {
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Benchmark the forecast on monthly series files (rolling origin over the last 12 months).
    Backtest {
        /// CSV files with header month,value.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write the dashboard (overview and customers) for one selection as a self-contained HTML file.
    Report {
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
        /// The HTML file to write.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        filter: FilterArgs,
        /// Currency the page shows money in (ISO 4217 code, any case); by default the one the
        /// import recorded.
        #[arg(long)]
        currency: Option<Currency>,
    },
    /// Serve the dashboard and its JSON API.
    Serve {
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
        /// Address to listen on: IP:PORT, localhost:PORT or a PORT alone (loopback by default).
        #[arg(long, default_value = "127.0.0.1:8080", value_parser = listen_addr)]
        addr: SocketAddr,
        /// Currency the page shows money in (ISO 4217 code, any case); by default the one the
        /// import recorded.
        #[arg(long)]
        currency: Option<Currency>,
        #[command(flatten)]
        sharing: SharingArgs,
        #[command(flatten)]
        engine: EngineArg,
    },
    /// Start a process of a Ballista cluster (a build with `--features ballista`): one
    /// scheduler, then executors, for `kpi`, `sql` and `serve --engine ballista://HOST:PORT`.
    Cluster {
        #[command(subcommand)]
        role: ClusterCmd,
    },
    /// Customer analytics: cohorts, returning rate, RFM segments, lifetime value.
    Customers {
        #[command(subcommand)]
        analysis: CustomersCmd,
    },
    /// Manage who may sign in to the served dashboard.
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// Manage API tokens (`Authorization: Bearer …`) for scripts.
    Tokens {
        #[command(subcommand)]
        action: TokensAction,
    },
    /// Print the star schema as SQL DDL.
    Schema {
        /// The database the DDL is for: duckdb or postgres.
        #[arg(long, default_value = "duckdb")]
        dialect: String,
    },
    /// Copy the warehouse's tables into a PostgreSQL schema (replacing its tables of the same
    /// names), for a BI tool to read.
    Export {
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
        /// The database: postgres://user@host:port/db (PG* variables fill in the rest).
        #[arg(long)]
        to: String,
        /// The schema to create or replace the tables in.
        #[arg(long, default_value = "shoplens")]
        schema: String,
    },
    /// Generate a demo shop, import it and print its KPIs.
    Demo {
        /// Folder for the demo shop and its warehouse.
        #[arg(long, default_value = "shoplens-demo")]
        dir: PathBuf,
        /// How many orders.
        #[arg(long, default_value_t = 100_000)]
        orders: u64,
        /// Address to serve the dashboard on: IP:PORT, localhost:PORT or a PORT alone.
        #[arg(long, default_value = "127.0.0.1:8080", value_parser = listen_addr)]
        addr: SocketAddr,
        /// Import and print only; do not serve.
        #[arg(long)]
        no_serve: bool,
    },
}

/// What to do about an error whose message is not enough by itself.
pub fn hint(message: &str) -> Option<&'static str> {
    // the shoplens scheduler cancels the running jobs when an executor is lost (src/cluster.rs)
    message.contains("failed: Cancelled").then_some(
        "the Ballista cluster cancelled the query: it does so when an executor is lost while a query \
         runs, rather than risk a wrong result. Run the command again.",
    )
}

/// Where a command's queries run.
#[derive(Args, Debug, Default)]
struct EngineArg {
    /// `local` (this process), or a Ballista scheduler: ballista://HOST:PORT (a build with
    /// `--features ballista`; every executor must read the warehouse at the same path).
    #[arg(long, default_value = "local", value_parser = engine)]
    engine: Engine,
}

fn engine(s: &str) -> Result<Engine, String> {
    s.parse()
}

/// The processes of a Ballista cluster.
#[derive(Subcommand, Debug)]
enum ClusterCmd {
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
struct SharingArgs {
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

#[derive(Subcommand, Debug)]
enum CustomersCmd {
    /// Cohort retention by month of first purchase (--from/--to choose the cohorts).
    Cohorts {
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
        #[command(flatten)]
        filter: FilterArgs,
        /// Print the JSON of customers.md.
        #[arg(long)]
        json: bool,
    },
    /// The returning-customer rate of a range, beside the repeat-customer rate.
    Returning {
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
        #[command(flatten)]
        filter: FilterArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// RFM scores and the ten segments as of a day.
    Rfm {
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
        /// The day recency is measured from (default: the last order's day); RFM reads every order
        /// up to it, so it takes no --from, --to or --top.
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        segment: SegmentArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// List every customer with scores and segment instead of the segments.
        #[arg(long)]
        customers: bool,
        /// Output format of --customers.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Lifetime value: BG/NBD and Gamma-Gamma fitted by maximum likelihood.
    Clv {
        /// The warehouse folder (or --summary).
        #[arg(long, required_unless_present = "summary", conflicts_with = "summary")]
        warehouse: Option<PathBuf>,
        /// A summary CSV (header ID,x,t_x,T,zbar) instead of a warehouse.
        #[arg(long)]
        summary: Option<PathBuf>,
        /// Only purchases on or before this day count (default: the last order's day).
        #[arg(long)]
        calibration_end: Option<String>,
        /// Weeks ahead the expected purchases cover.
        #[arg(long, default_value_t = 52)]
        horizon_weeks: u32,
        /// Annual discount rate for the CLV (e.g. 0.1); undiscounted without it.
        #[arg(long)]
        discount_rate: Option<f64>,
        /// Also write the per-customer summary (ID,x,t_x,T,zbar, in weeks) to this CSV file.
        #[arg(long, conflicts_with = "summary")]
        write_summary: Option<PathBuf>,
        /// List every customer (--top N lists the first N by CLV, default 10).
        #[arg(long)]
        customers: bool,
        #[command(flatten)]
        filter: FilterArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum UsersAction {
    /// Add a user (the password is asked for, or read from standard input with --password-stdin).
    Add {
        /// The user's name.
        name: String,
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
        /// Read the password from standard input's first line.
        #[arg(long)]
        password_stdin: bool,
        /// Set a new password for an existing user.
        #[arg(long)]
        replace: bool,
    },
    /// Remove a user; their sessions end at once.
    Remove {
        /// The user's name.
        name: String,
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
    },
    /// List the users.
    List {
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum TokensAction {
    /// Issue a token; it is printed once and only its hash is kept.
    Add {
        /// A name for the token (what it is for).
        name: String,
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
    },
    /// Revoke a token.
    Revoke {
        /// The token's name.
        name: String,
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
    },
    /// List the tokens (names and dates, never the secrets).
    List {
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
    },
}

fn day(flag: &str, value: Option<&str>) -> Result<Option<chrono::NaiveDate>> {
    value.map(|v| crate::model::time::parse_date(v).map_err(|m| anyhow::anyhow!("{flag}: {m}"))).transpose()
}

async fn customers(analysis: CustomersCmd, memory: MemoryLimit) -> Result<()> {
    use crate::customers;
    let open = |path: &Path| {
        let store = Store::new(path);
        async move { Warehouse::open_limited(&store, memory, 1).await }
    };
    match analysis {
        CustomersCmd::Cohorts { warehouse, filter, json } => {
            let c = customers::cohorts(&open(&warehouse).await?, &filter.parse()?).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&c)?);
            } else {
                print!("{}", terminal_safe(&format::cohorts(&c)));
            }
        }
        CustomersCmd::Returning { warehouse, filter, json } => {
            let filter = filter.parse()?;
            let wh = open(&warehouse).await?;
            let r = customers::returning(&wh, &filter).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "{} customers ordered in the range; {} of them are returning (2+ orders since their first ever): \
                     returning-customer rate {:.1} % (repeat-customer rate, 2+ orders inside the range: {:.1} %)",
                    crate::metrics::grouped(r.customers),
                    crate::metrics::grouped(r.returning),
                    r.returning_customer_rate * 100.0,
                    r.repeat_customer_rate * 100.0
                );
            }
        }
        CustomersCmd::Rfm { warehouse, as_of, segment, json, customers: list, format: fmt } => {
            let as_of = day("--as-of", as_of.as_deref())?;
            let r = customers::rfm(&open(&warehouse).await?, &Filter::parse(segment.params())?, as_of).await?;
            match (list, json, fmt) {
                (true, _, OutputFormat::Csv) => print!("{}", String::from_utf8(customers::rfm::csv(&r.customers))?),
                (true, true, _) | (true, _, OutputFormat::Json) => {
                    println!("{}", serde_json::to_string_pretty(&r.customers)?)
                }
                (true, false, _) => print!("{}", terminal_safe(&format::rfm_customers(&r.customers))),
                (false, true, _) => println!("{}", serde_json::to_string_pretty(&r)?),
                (false, false, _) => print!("{}", terminal_safe(&format::rfm(&r))),
            }
        }
        CustomersCmd::Clv {
            warehouse,
            summary,
            calibration_end,
            horizon_weeks,
            discount_rate,
            write_summary,
            customers: list,
            filter,
            json,
        } => {
            let filter = filter.parse()?;
            if !(1..=520).contains(&horizon_weeks) {
                bail!("--horizon-weeks: {horizon_weeks} is not a whole number from 1 to 520");
            }
            if discount_rate.is_some_and(|r| !(0.0..=10.0).contains(&r)) {
                bail!("--discount-rate: a yearly rate from 0 to 10 (e.g. 0.1 for 10 %)");
            }
            let options = customers::ClvOptions {
                calibration_end: day("--calibration-end", calibration_end.as_deref())?,
                horizon_weeks,
                discount_rate,
                top: if list { usize::MAX } else { filter.top() },
                deadline: None,
            };
            let c = match (summary, warehouse) {
                (Some(file), _) => {
                    let rows = customers::clv::read_summary(&file).map_err(|m| anyhow::anyhow!(m))?;
                    let options = options.clone();
                    tokio::task::spawn_blocking(move || customers::clv::model(&rows, options.calibration_end, &options))
                        .await?
                }
                (None, Some(wh)) if write_summary.is_some() => {
                    let wh = open(&wh).await?;
                    let end = match options.calibration_end {
                        Some(d) => d,
                        None => {
                            crate::metrics::dimensions(&wh).await?.last_date.context("the warehouse has no orders")?
                        }
                    };
                    let rows = customers::clv::summary(&wh, &filter, end).await?;
                    let path = write_summary.as_deref().expect("checked by the guard");
                    customers::clv::write_summary(&rows, path)
                        .with_context(|| format!("writing {}", path.display()))?;
                    let options = options.clone();
                    tokio::task::spawn_blocking(move || customers::clv::model(&rows, Some(end), &options)).await?
                }
                (None, Some(wh)) => customers::clv(&open(&wh).await?, &filter, &options).await?,
                (None, None) => unreachable!("clap requires one"),
            };
            for w in &c.warnings {
                eprintln!("warning: {}", terminal_safe(w));
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&c)?);
            } else {
                print!("{}", terminal_safe(&format::clv(&c)));
            }
        }
    }
    Ok(())
}

/// Loads the warehouse's users and tokens, applies `change`, saves them.
fn edit_access<T>(
    warehouse: &Path,
    change: impl FnOnce(&mut crate::serve::access::Credentials) -> Result<T, crate::serve::access::AccessError>,
) -> Result<T> {
    let mut c = crate::serve::access::Credentials::load(warehouse)?;
    let out = change(&mut c)?;
    c.save(warehouse)?;
    Ok(out)
}

fn users(action: UsersAction) -> Result<()> {
    use crate::serve::access::Credentials;
    match action {
        UsersAction::Add { name, warehouse, password_stdin, replace } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_string()
            } else {
                let first = rpassword::prompt_password(format!("password for {name}: "))?;
                if rpassword::prompt_password("again: ")? != first {
                    bail!("the passwords differ");
                }
                first
            };
            edit_access(&warehouse, |c| c.add_user(&name, &password, replace))?;
            eprintln!("user {name} can sign in to the dashboard of {}", warehouse.display());
        }
        UsersAction::Remove { name, warehouse } => edit_access(&warehouse, |c| c.remove_user(&name))?,
        UsersAction::List { warehouse } => {
            for (name, u) in Credentials::load(&warehouse)?.users {
                println!("{name}\tadded {}", u.created_at);
            }
        }
    }
    Ok(())
}

fn tokens(action: TokensAction) -> Result<()> {
    use crate::serve::access::Credentials;
    match action {
        TokensAction::Add { name, warehouse } => {
            let secret = edit_access(&warehouse, |c| c.add_token(&name))?;
            eprintln!("token {name} issued; it is shown only now. Send it as 'Authorization: Bearer <token>':");
            println!("{secret}");
        }
        TokensAction::Revoke { name, warehouse } => edit_access(&warehouse, |c| c.revoke_token(&name))?,
        TokensAction::List { warehouse } => {
            for (name, t) in Credentials::load(&warehouse)?.tokens {
                println!("{name}\tissued {}", t.created_at);
            }
        }
    }
    Ok(())
}

/// A listening address: `IP:PORT`, `[v6]:PORT`, `localhost:PORT` (loopback) or a port alone
/// (loopback). No other name is resolved: the address bound must be the one the user meant.
fn listen_addr(s: &str) -> Result<SocketAddr, String> {
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

/// The currency a surface shows: the flag's, else the one the warehouse's import recorded, else
/// none (amounts without a currency sign, rather than a wrong one).
fn shop_currency(warehouse: &Path, flag: Option<Currency>) -> String {
    flag.or_else(|| Store::new(warehouse).current().ok().and_then(|v| v.manifest.currency))
        .map(|c| c.to_string())
        .unwrap_or_default()
}

async fn serve(warehouse: &Path, addr: SocketAddr, options: crate::serve::ServeOptions) -> Result<()> {
    let scheme = if options.tls.is_some() { "https" } else { "http" };
    let server = crate::serve::Server::start(Store::new(warehouse), addr, &options).await?;
    if !addr.ip().is_loopback() && !server.auth_required {
        eprintln!(
            "WARNING: serving {addr} without sign-in (--insecure-no-auth): anyone who reaches it reads the shop's figures"
        );
    }
    let auth = if server.auth_required { "sign-in required" } else { "no sign-in: loopback only" };
    eprintln!("serving the dashboard at {scheme}://{}/ ({auth}; Ctrl-C stops)", server.addr());
    server
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// The KPI filter as command-line options.
#[derive(Args, Debug, Default)]
struct FilterArgs {
    /// First day (YYYY-MM-DD), included.
    #[arg(long)]
    from: Option<String>,
    /// Last day (YYYY-MM-DD), included.
    #[arg(long)]
    to: Option<String>,
    #[command(flatten)]
    segment: SegmentArgs,
    /// Length of the top-products and top-customers lists.
    #[arg(long)]
    top: Option<String>,
}

/// The filters that pick a segment of the shop rather than a range of days.
#[derive(Args, Debug, Default)]
struct SegmentArgs {
    /// Only this product category.
    #[arg(long)]
    category: Option<String>,
    /// Only customers of this country.
    #[arg(long)]
    country: Option<String>,
    /// Only orders with a payment of this method.
    #[arg(long)]
    method: Option<String>,
}

impl SegmentArgs {
    fn params(&self) -> FilterParams<'_> {
        FilterParams {
            category: self.category.as_deref(),
            country: self.country.as_deref(),
            method: self.method.as_deref(),
            ..Default::default()
        }
    }
}

impl FilterArgs {
    fn parse(&self) -> Result<Filter> {
        Ok(Filter::parse(FilterParams {
            from: self.from.as_deref(),
            to: self.to.as_deref(),
            top: self.top.as_deref(),
            ..self.segment.params()
        })?)
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum OutputFormat {
    Table,
    Csv,
    Json,
}

/// Runs the command line; the binary's `main` is only this.
pub async fn run(cli: Cli) -> Result<()> {
    // Diagnostics on standard error: the server's access log, and with `RUST_LOG=shoplens=debug`
    // the time of each KPI query.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // Ballista's own messages only when something is wrong; not its warning, for
                // every stage, that the executors send no per-operator metrics (src/cluster.rs)
                .unwrap_or_else(|_| {
                    tracing_subscriber::EnvFilter::new(
                        "shoplens=info,ballista=warn,ballista_core=warn,ballista_scheduler=warn,\
                         ballista_scheduler::state::execution_stage=error,ballista_executor=warn",
                    )
                }),
        )
        .try_init();
    let memory = cli.memory_limit;
    let open = |path: &Path| {
        let store = Store::new(path);
        async move { Warehouse::open_limited(&store, memory, 1).await }
    };
    match cli.command {
        Command::Generate { out, orders, seed } => {
            let started = Instant::now();
            let r = generate(&out, &GenerateOptions { orders, seed, ..Default::default() })?;
            eprintln!(
                "wrote {} orders, {} order lines, {} payments, {} customers, {} products to {} in {:.1} s",
                r.orders,
                r.order_items,
                r.payments,
                r.customers,
                r.products,
                out.display(),
                started.elapsed().as_secs_f64()
            );
        }
        Command::Import {
            dir,
            query_file,
            warehouse,
            timezone,
            json,
            append,
            encoding,
            map,
            preset,
            detect,
            check,
            max_rejects,
            currency,
        } => {
            let settings = ImportSettings {
                timezone: &timezone,
                json,
                append,
                encoding,
                memory,
                source_name: None,
                watermark: None,
                check,
                max_rejects,
                currency,
            };
            if let Some(url) = dir.to_str().filter(|s| postgres::is_url(s)) {
                let queries = match &query_file {
                    Some(f) => Some(std::fs::read_to_string(f).with_context(|| format!("{}", f.display()))?),
                    None => None,
                };
                let pg = postgres::PgSource::new(url, queries.as_deref())?;
                // an append reads what changed since this database's last recorded watermark
                let since = if append {
                    Store::new(&warehouse).current().ok().and_then(|v| {
                        v.manifest
                            .imports
                            .iter()
                            .rev()
                            .find(|r| r.source == pg.name())
                            .and_then(|r| r.watermark.clone())
                    })
                } else {
                    None
                };
                let scratch = Scratch::new("postgres").context("a scratch folder for the database's rows")?;
                let staged = pg.stage(scratch.path(), since.as_deref()).await?;
                let rows: Vec<String> = staged.counts.iter().map(|(set, n)| format!("{set} {n}")).collect();
                let how = match (&since, staged.incremental) {
                    (Some(s), true) => format!(" (orders changed after {s})"),
                    _ => String::new(),
                };
                eprintln!(
                    "{}: read {}{how} (COPY); a reject names the record set's CSV and line",
                    pg.name(),
                    rows.join(", ")
                );
                let settings = ImportSettings { source_name: Some(pg.name()), watermark: staged.watermark, ..settings };
                return import(scratch.path(), &warehouse, settings).await;
            }
            if query_file.is_some() {
                bail!("--query-file is for a PostgreSQL source (postgres://…)");
            }
            if !dir.exists() {
                bail!("{}: not found", dir.display());
            }
            if detect {
                if !dir.is_file() {
                    bail!("{}: --detect reads a flat export, one CSV file", dir.display());
                }
                let detected = flat::detect::detect_file(&dir)?;
                print!("{}", detected.toml);
                if !detected.undecided.is_empty() {
                    eprintln!(
                        "{} field(s) left for you to decide, marked UNDECIDED in the mapping",
                        detected.undecided.len()
                    );
                }
                return Ok(());
            }
            if preset.as_deref() == Some("olist") {
                if !dir.is_dir() {
                    bail!("{}: the olist preset reads the dataset's folder", dir.display());
                }
                let scratch = Scratch::new("olist").context("a scratch folder for the converted files")?;
                let n = olist::convert(&dir, scratch.path())?;
                eprintln!("{}: {n} Olist orders", dir.display());
                return import(scratch.path(), &warehouse, settings).await;
            }
            let (mapping, name, text) = match (map, preset) {
                (Some(m), _) => {
                    let text = std::fs::read_to_string(&m).with_context(|| format!("{}", m.display()))?;
                    let mapping = flat::Mapping::parse(&text).with_context(|| format!("{}", m.display()))?;
                    (mapping, m.display().to_string(), text)
                }
                (None, Some(p)) => {
                    let text = flat::PRESETS.iter().find(|(n, _)| *n == p).map_or("", |(_, t)| *t).to_string();
                    (flat::Mapping::preset(&p)?, format!("preset {p}"), text)
                }
                (None, None) if dir.is_file() => bail!(
                    "{}: a single file is a flat export; import it with a mapping: --detect prints one to \
                     check and pass with --map FILE, or --preset online-retail-ii|shopify",
                    dir.display()
                ),
                (None, None) => return import(&dir, &warehouse, settings).await,
            };
            if !dir.is_file() {
                bail!("{}: a flat export is one CSV file (the olist preset reads a folder)", dir.display());
            }
            import_flat_file(&dir, MappingSource { mapping: &mapping, name, text: &text }, &warehouse, settings)
                .await?;
        }
        Command::Rollback { warehouse } => {
            let store = Store::new(&warehouse);
            let lock = store.lock()?;
            let from = store.current()?.manifest.version;
            let to = lock.rollback()?;
            println!("{}: version {} published again in place of {from}", warehouse.display(), to.version);
        }
        Command::Status { warehouse, json, verify } => {
            let version = Store::new(&warehouse).current()?;
            if verify {
                let v = crate::warehouse::checksums::verify(&version.dir)
                    .with_context(|| format!("verifying {}", version.dir.display()))?;
                let mut problems = Vec::new();
                for (what, files) in [("changed", &v.changed), ("missing", &v.missing), ("not recorded", &v.unexpected)]
                {
                    problems.extend(files.iter().map(|f| format!("{what}: {f}")));
                }
                if !problems.is_empty() {
                    bail!(
                        "version {}: {} of {} files do not match their checksums recorded at publish:\n  {}",
                        version.manifest.version,
                        problems.len(),
                        v.checked + v.missing.len() + v.unexpected.len(),
                        problems.join("\n  ")
                    );
                }
                println!("version {}: all {} files match their checksums", version.manifest.version, v.checked);
            } else if json {
                println!("{}", serde_json::to_string_pretty(&version.manifest.imports)?);
            } else {
                print!("{}", terminal_safe(&format::status(&version.manifest, &version.dir)));
            }
        }
        Command::Kpi { warehouse, filter, json, engine } => {
            let filter = filter.parse()?;
            let wh = Warehouse::open_on(&Store::new(&warehouse), memory, 1, engine.engine).await?;
            let kpis = crate::metrics::compute(&wh, &filter).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&kpis)?);
            } else {
                let currency = shop_currency(&warehouse, None);
                if !currency.is_empty() {
                    println!("Amounts in {currency}.");
                }
                print!("{}", terminal_safe(&format::kpis(&kpis)));
            }
            if kpis.summary.orders == 0 && (filter.from().is_some() || filter.to().is_some()) {
                // zeros for a range outside the data are true, but say why
                let d = crate::metrics::dimensions(&wh).await?;
                if let (Some(first), Some(last)) = (d.first_date, d.last_date) {
                    eprintln!("no revenue orders in the range; the data covers {first} to {last}");
                }
            }
        }
        Command::Sql { warehouse, query, format: fmt, timeout, engine } => {
            let fmt = fmt.to_possible_value().expect("every format has a name").get_name().to_string();
            let memory = memory.bytes() as u64;
            let engine = engine.engine;
            tokio::task::spawn_blocking(move || {
                sandbox::run(&warehouse, &engine, &query, &fmt, memory, Duration::from_secs(timeout.max(1)))
            })
            .await??;
        }
        Command::SqlWorker { warehouse, format: fmt, engine } => {
            let mut query = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut query)?;
            let wh = Warehouse::open_on(&Store::new(&warehouse), memory, 1, engine.engine).await?;
            // the parent enforces the time limit; this one only ends a forgotten worker
            let batches =
                tokio::spawn(async move { query::read_only(&wh, &query, Duration::from_secs(24 * 3600)).await })
                    .await
                    .map_err(|e| anyhow::anyhow!("the query engine failed: {e}"))??;
            let out = match fmt {
                OutputFormat::Table => terminal_safe(&format::table(&batches)?).into_owned(),
                OutputFormat::Csv => format::csv(&batches)?,
                OutputFormat::Json => format::json(&batches)?,
            };
            print!("{out}");
        }
        Command::Explain { warehouse, filter, vs, json } => {
            let filter = filter.parse()?;
            let wh = open(&warehouse).await?;
            let dims = crate::metrics::dimensions(&wh).await?;
            let (filter, vs) = match vs {
                Some(v) => (filter, v.parse::<Versus>().map_err(|e| anyhow::anyhow!("--vs: {e}"))?),
                // without dates or --vs, the default range and its comparison
                None => crate::metrics::compare::with_default(&filter, &dims),
            };
            if let (Some(first), Some(last)) = (dims.first_date, dims.last_date) {
                let (from, to) = (filter.from().unwrap_or(first), filter.to().unwrap_or(last));
                let (a, b) = crate::metrics::compare::comparison_range(from, to, vs);
                let why = if crate::metrics::compare::overlaps(from, to, vs) {
                    Some(format!("{a} to {b} shares days with {from} to {to}"))
                } else if b < first || a > last {
                    Some(format!("{a} to {b} has no orders"))
                } else {
                    None
                };
                if let Some(why) = why {
                    bail!("nothing to compare with: {why} (the data covers {first} to {last}); give --from and --to");
                }
            }
            let Some(e) = crate::insights::explain(&wh, &filter, vs).await? else {
                bail!("the warehouse has no orders to explain");
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&e)?);
            } else {
                print!("{}", terminal_safe(&format::explanation(&e)));
            }
        }
        Command::Projection { warehouse, as_of, segment, json } => {
            let filter = Filter::parse(segment.params())?;
            let as_of = as_of
                .map(|d| crate::model::time::parse_date(&d).map_err(|e| anyhow::anyhow!("--as-of: {e}")))
                .transpose()?;
            let wh = open(&warehouse).await?;
            let Some(p) = crate::insights::projection(&wh, &filter, as_of).await? else {
                bail!("the warehouse has no orders to project from");
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&p)?);
            } else {
                print!("{}", terminal_safe(&format::projection(&p)));
            }
        }
        Command::Alerts { warehouse, json } => {
            let wh = open(&warehouse).await?;
            let a = crate::insights::alerts(&wh).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&a)?);
            } else {
                print!("{}", terminal_safe(&format::alerts(&a)));
            }
        }
        Command::Forecast { warehouse, series, horizon, filter, json } => {
            if !(1..=24).contains(&horizon) {
                bail!("--horizon: {horizon} is not a whole number from 1 to 24");
            }
            let series = match (series, warehouse) {
                (Some(file), _) => Series::read_csv(&file)?,
                (None, Some(wh)) => {
                    let wh = open(&wh).await?;
                    let (monthly, last) = crate::metrics::monthly(&wh, &filter.parse()?).await?;
                    revenue_series(&monthly, last)
                        .unwrap_or(Series { start: "2000-01".parse().expect("valid"), values: vec![] })
                }
                (None, None) => bail!("give --warehouse or --series"),
            };
            let f = crate::forecast::forecast(&series, horizon)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&f)?);
            } else {
                print!("{}", terminal_safe(&format::forecast(&f)));
            }
        }
        Command::Backtest { files } => {
            let mut results = Vec::new();
            for file in &files {
                let series = Series::read_csv(file)?;
                if series.values.len() < 15 {
                    bail!("{}: the backtest needs at least 15 months", file.display());
                }
                let name =
                    file.file_stem().map_or_else(|| file.display().to_string(), |s| s.to_string_lossy().into_owned());
                results.push(crate::forecast::backtest::evaluate(&name, &series));
            }
            print!("{}", terminal_safe(&format::backtest(&results)));
        }
        Command::Schema { dialect } => {
            let dialect: schema::Dialect = dialect.parse().map_err(|e| anyhow::anyhow!("--dialect: {e}"))?;
            print!("{}", schema::ddl(dialect));
        }
        Command::Export { warehouse, to, schema } => {
            if !postgres::is_url(&to) {
                bail!("--to: give a PostgreSQL URL (postgres://user@host:port/db)");
            }
            let pg = crate::pg::Database::new(&to)?;
            let wh = open(&warehouse).await?;
            let counts = crate::warehouse::export::to_postgres(&wh, &pg, &schema).await?;
            let rows: Vec<String> = counts.iter().map(|(t, n)| format!("{t} {n}")).collect();
            eprintln!("{}: schema {schema}: {}", pg.name(), rows.join(", "));
        }
        Command::Report { warehouse, out, filter, currency } => {
            let filter = filter.parse()?;
            let wh = open(&warehouse).await?;
            // without dates, the report opens where the dashboard does: a range with one to compare
            let (filter, vs) = crate::metrics::compare::with_default(&filter, &crate::metrics::dimensions(&wh).await?);
            let data = crate::report::gather(&wh, &filter, vs).await?;
            let generated = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
            let html = crate::report::render(&data, &filter, &vs, &generated, &shop_currency(&warehouse, currency));
            std::fs::write(&out, html).with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote {}", out.display());
        }
        Command::Serve { warehouse, addr, currency, sharing, engine } => {
            let options = crate::serve::ServeOptions {
                currency: shop_currency(&warehouse, currency),
                memory,
                hosts: sharing.hosts,
                insecure_no_auth: sharing.insecure_no_auth,
                tls: sharing.tls_cert.zip(sharing.tls_key),
                secure_cookie: sharing.secure_cookie,
                engine: engine.engine,
                trust_proxy: sharing.trust_proxy,
            };
            serve(&warehouse, addr, options).await?
        }
        Command::Cluster { role } => cluster(role, memory).await?,
        Command::Users { action } => users(action)?,
        Command::Customers { analysis } => customers(analysis, memory).await?,
        Command::Tokens { action } => tokens(action)?,
        Command::Demo { dir, orders, addr, no_serve } => {
            let shop = dir.join("shop");
            let wh = dir.join("warehouse");
            eprintln!("generating a demo shop of {orders} orders in {}", shop.display());
            generate(&shop, &GenerateOptions { orders, ..Default::default() })?;
            import(
                &shop,
                &wh,
                ImportSettings {
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
        }
    }
    Ok(())
}

#[cfg(feature = "ballista")]
async fn cluster(role: ClusterCmd, memory: MemoryLimit) -> Result<()> {
    use crate::cluster;
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
async fn cluster(_role: ClusterCmd, _memory: MemoryLimit) -> Result<()> {
    bail!("{}", crate::warehouse::engine::NO_BALLISTA)
}

/// The import command's options.
struct ImportSettings<'a> {
    timezone: &'a str,
    json: bool,
    append: bool,
    encoding: crate::source::Encoding,
    memory: MemoryLimit,
    /// What the import record calls the source (default: the folder).
    source_name: Option<String>,
    /// Where an incremental read of a database stopped, to record.
    watermark: Option<String>,
    /// A dry run.
    check: bool,
    max_rejects: RejectLimit,
    currency: Option<Currency>,
}

impl ImportSettings<'_> {
    /// The core's options, drawing progress on `bar`.
    fn options(&self, bar: &progress::Bar) -> Result<ImportOptions> {
        let tz: ShopTz = self.timezone.parse().map_err(anyhow::Error::msg).context("--timezone")?;
        Ok(ImportOptions {
            timezone: tz,
            progress: Some(Arc::new(bar.clone())),
            append: self.append,
            encoding: self.encoding,
            memory: self.memory,
            key_chunk: None,
            source_name: self.source_name.clone(),
            watermark: self.watermark.clone(),
            origin: None,
            max_rejects: self.max_rejects,
            dry_run: self.check,
            currency: self.currency.clone(),
        })
    }

    /// Prints what an import did (or, for a dry run, would do).
    fn print(&self, report: &crate::import::ImportReport, took: Duration) -> Result<()> {
        if self.json && self.check {
            let out = serde_json::json!({
                "published": false,
                "files": report.files,
                "reasons": report.reasons,
                "preview": report.preview,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else if self.json {
            println!("{}", serde_json::to_string_pretty(&report.files)?);
        } else {
            print!("{}", terminal_safe(&format::import_report(report, took)));
        }
        Ok(())
    }
}

async fn import(dir: &Path, warehouse: &Path, settings: ImportSettings<'_>) -> Result<()> {
    if !dir.is_dir() {
        bail!("{}: not a folder (an export is a folder of five CSV files)", dir.display());
    }
    let bar = progress::Bar::new();
    let opts = settings.options(&bar)?;
    let started = Instant::now();
    let report = import_export(dir, &Store::new(warehouse), &opts).await;
    bar.finish();
    settings.print(&report?, started.elapsed())
}

/// Imports a flat file by its mapping.
async fn import_flat_file(
    file: &Path,
    mapping: MappingSource<'_>,
    warehouse: &Path,
    settings: ImportSettings<'_>,
) -> Result<()> {
    let bar = progress::Bar::new();
    let opts = settings.options(&bar)?;
    let started = Instant::now();
    let result = import_flat(file, mapping, &Store::new(warehouse), &opts).await;
    bar.finish();
    let (converted, report) = result?;
    let missing = if converted.missing.is_empty() {
        String::new()
    } else {
        format!(" (not in the file, left empty: {})", converted.missing.join(", "))
    };
    eprintln!("{}: {} rows, {} orders{missing}", file.display(), converted.rows, converted.orders);
    settings.print(&report, started.elapsed())
}
