//! The warehouse's administration: `rollback`, `status`, `schema`, `export`, `sql` (and its
//! worker process), and who may sign in (`users`, `tokens`).

use super::args::{EngineArg, OutputFormat};
use super::{format, sandbox};
use crate::model::MemoryLimit;
use crate::model::text::terminal_safe;
use crate::source::postgres;
use crate::warehouse::{Store, Warehouse, query, schema};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args, Debug)]
pub(super) struct RollbackArgs {
    /// The warehouse folder.
    #[arg(long)]
    pub(super) warehouse: PathBuf,
}

#[derive(Args, Debug)]
pub(super) struct StatusArgs {
    /// The warehouse folder.
    #[arg(long)]
    pub(super) warehouse: PathBuf,
    /// Print the import records as JSON.
    #[arg(long)]
    pub(super) json: bool,
    /// Read every file of the current version and check it against the checksums recorded
    /// when it was published; exit 1 if any changed, went missing or appeared.
    #[arg(long)]
    pub(super) verify: bool,
}

#[derive(Args, Debug)]
pub(super) struct SqlArgs {
    /// The warehouse folder.
    #[arg(long)]
    pub(super) warehouse: PathBuf,
    /// The query: SELECT, WITH or EXPLAIN.
    pub(super) query: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub(super) format: OutputFormat,
    /// Stop the query after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub(super) timeout: u64,
    #[command(flatten)]
    pub(super) engine: EngineArg,
}

#[derive(Args, Debug)]
pub(super) struct SqlWorkerArgs {
    /// The warehouse folder.
    #[arg(long)]
    pub(super) warehouse: PathBuf,
    /// Output format.
    #[arg(long, value_enum)]
    pub(super) format: OutputFormat,
    #[command(flatten)]
    pub(super) engine: EngineArg,
}

#[derive(Args, Debug)]
pub(super) struct SchemaArgs {
    /// The database the DDL is for: duckdb or postgres.
    #[arg(long, default_value = "duckdb")]
    pub(super) dialect: String,
}

#[derive(Args, Debug)]
pub(super) struct ExportArgs {
    /// The warehouse folder.
    #[arg(long)]
    pub(super) warehouse: PathBuf,
    /// The database: postgres://user@host:port/db (PG* variables fill in the rest).
    #[arg(long)]
    pub(super) to: String,
    /// The schema to create or replace the tables in.
    #[arg(long, default_value = "shoplens")]
    pub(super) schema: String,
}

pub(super) fn rollback(args: RollbackArgs) -> Result<()> {
    let RollbackArgs { warehouse } = args;
    let store = Store::new(&warehouse);
    let lock = store.lock()?;
    let from = store.current()?.manifest.version;
    let to = lock.rollback()?;
    println!("{}: version {} published again in place of {from}", warehouse.display(), to.version);
    Ok(())
}

pub(super) fn status(args: StatusArgs) -> Result<()> {
    let StatusArgs { warehouse, json, verify } = args;
    let version = Store::new(&warehouse).current()?;
    if verify {
        let v = crate::warehouse::checksums::verify(&version.dir)
            .with_context(|| format!("verifying {}", version.dir.display()))?;
        let mut problems = Vec::new();
        for (what, files) in [("changed", &v.changed), ("missing", &v.missing), ("not recorded", &v.unexpected)] {
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
    Ok(())
}

pub(super) async fn sql(args: SqlArgs, memory: MemoryLimit) -> Result<()> {
    let SqlArgs { warehouse, query, format: fmt, timeout, engine } = args;
    let fmt = fmt.to_possible_value().expect("every format has a name").get_name().to_string();
    let memory = memory.bytes() as u64;
    let engine = engine.engine;
    tokio::task::spawn_blocking(move || {
        sandbox::run(&warehouse, &engine, &query, &fmt, memory, Duration::from_secs(timeout.max(1)))
    })
    .await??;
    Ok(())
}

pub(super) async fn sql_worker(args: SqlWorkerArgs, memory: MemoryLimit) -> Result<()> {
    let SqlWorkerArgs { warehouse, format: fmt, engine } = args;
    let mut query = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut query)?;
    let wh = Warehouse::open_on(&Store::new(&warehouse), memory, 1, engine.engine).await?;
    // the parent enforces the time limit; this one only ends a forgotten worker
    let batches = tokio::spawn(async move { query::read_only(&wh, &query, Duration::from_secs(24 * 3600)).await })
        .await
        .map_err(|e| anyhow::anyhow!("the query engine failed: {e}"))??;
    let out = match fmt {
        OutputFormat::Table => terminal_safe(&format::table(&batches)?).into_owned(),
        OutputFormat::Csv => format::csv(&batches)?,
        OutputFormat::Json => format::json(&batches)?,
    };
    print!("{out}");
    Ok(())
}

pub(super) fn schema(args: SchemaArgs) -> Result<()> {
    let SchemaArgs { dialect } = args;
    let dialect: schema::Dialect = dialect.parse().map_err(|e| anyhow::anyhow!("--dialect: {e}"))?;
    print!("{}", schema::ddl(dialect));
    Ok(())
}

pub(super) async fn export(args: ExportArgs, memory: MemoryLimit) -> Result<()> {
    let ExportArgs { warehouse, to, schema } = args;
    let open = |path: &Path| {
        let store = Store::new(path);
        async move { Warehouse::open_limited(&store, memory, 1).await }
    };
    if !postgres::is_url(&to) {
        bail!("--to: give a PostgreSQL URL (postgres://user@host:port/db)");
    }
    let pg = crate::pg::Database::new(&to)?;
    let wh = open(&warehouse).await?;
    let counts = crate::warehouse::export::to_postgres(&wh, &pg, &schema).await?;
    let rows: Vec<String> = counts.iter().map(|(t, n)| format!("{t} {n}")).collect();
    eprintln!("{}: schema {schema}: {}", pg.name(), rows.join(", "));
    Ok(())
}

#[derive(Subcommand, Debug)]
pub(super) enum UsersAction {
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
pub(super) enum TokensAction {
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

pub(super) fn users(action: UsersAction) -> Result<()> {
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

pub(super) fn tokens(action: TokensAction) -> Result<()> {
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
