//! The command line: parses arguments, calls the core, formats what it returns. No logic of its own.

mod admin;
mod analyses;
mod args;
mod format;
mod imports;
mod notify;
mod progress;
mod sandbox;
mod serving;

use admin::{TokensAction, UsersAction};
use analyses::CustomersCmd;
use serving::ClusterCmd;

use crate::model::MemoryLimit;
use anyhow::Result;
use clap::{Parser, Subcommand};

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
    Generate(imports::GenerateArgs),
    /// Validate an export and load it into a warehouse, replacing its current version atomically.
    Import(imports::ImportArgs),
    /// Publish again the version the last import replaced (a second rollback undoes the first).
    Rollback(admin::RollbackArgs),
    /// Show the warehouse's current version and every import into it.
    Status(admin::StatusArgs),
    /// Print every dashboard KPI.
    Kpi(analyses::KpiArgs),
    /// Run a read-only SQL query on the star schema.
    Sql(admin::SqlArgs),
    /// The process `sql` runs a statement in (read from standard input), under OS limits.
    #[command(hide = true)]
    SqlWorker(admin::SqlWorkerArgs),
    /// Forecast next month's revenue (or any monthly series) with 80 % and 95 % intervals.
    Forecast(analyses::ForecastArgs),
    /// Why revenue moved: the change between a range and another split into its drivers.
    Explain(analyses::ExplainArgs),
    /// Where the current month will end: a projection from the month so far.
    Projection(analyses::ProjectionArgs),
    /// Segments whose last complete month fell outside their forecast's 95 % interval.
    Alerts(analyses::AlertsArgs),
    /// Benchmark the forecast on monthly series files (rolling origin over the last 12 months).
    Backtest(analyses::BacktestArgs),
    /// Write the dashboard (overview and customers) for one selection as a self-contained HTML file.
    Report(analyses::ReportArgs),
    /// Serve the dashboard and its JSON API.
    Serve(serving::ServeArgs),
    /// Start a process of a Ballista cluster (a build with `--features ballista`): one
    /// scheduler, then executors, for `kpi`, `sql` and `serve --engine ballista://HOST:PORT`.
    Cluster {
        #[command(subcommand)]
        role: ClusterCmd,
    },
    /// Product analytics: performance and trends, items bought together, the product journey.
    Products {
        #[command(subcommand)]
        analysis: analyses::ProductsCmd,
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
    Schema(admin::SchemaArgs),
    /// Copy the warehouse's tables into a PostgreSQL schema (replacing its tables of the same
    /// names), for a BI tool to read.
    Export(admin::ExportArgs),
    /// Generate a demo shop, import it and print its KPIs.
    Demo(serving::DemoArgs),
    /// A schedule's digests: send one now, or preview it.
    Notify {
        #[command(subcommand)]
        action: notify::NotifyCmd,
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
    match cli.command {
        Command::Generate(args) => imports::generate_cmd(args)?,
        Command::Import(args) => imports::import_cmd(args, memory).await?,
        Command::Rollback(args) => admin::rollback(args)?,
        Command::Status(args) => admin::status(args)?,
        Command::Kpi(args) => analyses::kpi(args, memory).await?,
        Command::Sql(args) => admin::sql(args, memory).await?,
        Command::SqlWorker(args) => admin::sql_worker(args, memory).await?,
        Command::Forecast(args) => analyses::forecast(args, memory).await?,
        Command::Explain(args) => analyses::explain(args, memory).await?,
        Command::Projection(args) => analyses::projection(args, memory).await?,
        Command::Alerts(args) => analyses::alerts(args, memory).await?,
        Command::Backtest(args) => analyses::backtest(args)?,
        Command::Report(args) => analyses::report(args, memory).await?,
        Command::Serve(args) => serving::serve_cmd(args, memory).await?,
        Command::Cluster { role } => serving::cluster(role, memory).await?,
        Command::Products { analysis } => analyses::products(analysis, memory).await?,
        Command::Customers { analysis } => analyses::customers(analysis, memory).await?,
        Command::Users { action } => admin::users(action)?,
        Command::Tokens { action } => admin::tokens(action)?,
        Command::Schema(args) => admin::schema(args)?,
        Command::Export(args) => admin::export(args, memory).await?,
        Command::Demo(args) => serving::demo(args, memory).await?,
        Command::Notify { action } => notify::notify(action, memory).await?,
    }
    Ok(())
}
