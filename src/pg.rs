//! A PostgreSQL database: its URL (with the standard `PG*` environment variables for what the
//! URL leaves out), its name without the password, connecting, and the server's errors. Below
//! both of its users: `source::postgres`, which reads the record sets of a shop from one, and
//! `warehouse::export`, which copies the star schema into one.

use std::str::FromStr;
use tokio_postgres::config::Host;

/// Why the database could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PgError {
    /// A URL or query file that is not acceptable.
    #[error("{0}")]
    Config(String),
    /// The server refused, or the connection failed or dropped.
    #[error("{source_name}: {message}")]
    Server {
        /// The database, without its password.
        source_name: String,
        /// What happened (record set and the server's words).
        message: String,
    },
    /// The scratch folder could not be written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Whether `source` names a PostgreSQL database rather than a folder.
pub(crate) fn is_url(source: &str) -> bool {
    source.starts_with("postgres://") || source.starts_with("postgresql://")
}

/// A PostgreSQL database to connect to.
#[derive(Clone, Debug)]
pub(crate) struct Database {
    config: tokio_postgres::Config,
}

impl Database {
    /// Reads the URL, with the standard `PG*` environment variables for what it leaves out.
    ///
    /// # Errors
    /// A malformed URL.
    pub(crate) fn new(url: &str) -> Result<Database, PgError> {
        // the URL's own words are not repeated: it may hold a password
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| PgError::Config(format!("the PostgreSQL URL cannot be read: {e}")))?;
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if config.get_hosts().is_empty() {
            config.host(env("PGHOST").as_deref().unwrap_or("localhost"));
        }
        if config.get_ports().is_empty()
            && let Some(p) = env("PGPORT")
        {
            config.port(p.parse().map_err(|_| PgError::Config(format!("PGPORT '{p}' is not a port")))?);
        }
        if config.get_user().is_none() {
            config.user(env("PGUSER").or_else(|| env("USER")).as_deref().unwrap_or("postgres"));
        }
        if config.get_password().is_none()
            && let Some(p) = env("PGPASSWORD")
        {
            config.password(p);
        }
        if config.get_dbname().is_none()
            && let Some(d) = env("PGDATABASE")
        {
            config.dbname(d);
        }
        Ok(Database { config })
    }

    /// The database as `user@host:port/db`: never its password.
    pub(crate) fn name(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        format!(
            "postgres://{}@{host}:{port}/{}",
            self.config.get_user().unwrap_or(""),
            self.config.get_dbname().or(self.config.get_user()).unwrap_or("")
        )
    }

    /// An error of the server or connection, with the database's name (no password) and `what`
    /// was being done.
    pub(crate) fn server_error(&self, what: &str, e: tokio_postgres::Error) -> PgError {
        // the server's own words ("relation … does not exist") rather than "db error"
        let said = match e.as_db_error() {
            Some(db) => db.message().to_string(),
            None => {
                let mut s = e.to_string();
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    s.push_str(&format!(": {c}"));
                    cause = c.source();
                }
                s
            }
        };
        PgError::Server { source_name: self.name(), message: format!("{what}: {said}") }
    }

    /// Connects, with the connection's task spawned on the runtime.
    ///
    /// # Errors
    /// The server cannot be reached or refuses.
    pub(crate) async fn connect(&self) -> Result<tokio_postgres::Client, PgError> {
        let (client, connection) =
            self.config.connect(tokio_postgres::NoTls).await.map_err(|e| self.server_error("cannot connect", e))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }
}
