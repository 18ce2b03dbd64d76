//! A live PostgreSQL database as a source: the five canonical record sets, each a table or a
//! query, streamed with `COPY … TO STDOUT (FORMAT csv)` into the canonical CSV files of a
//! scratch folder, which the ordinary import then validates and loads. Nothing holds a whole
//! table in memory, every rule and reject of a file import applies, and a connection that fails
//! or drops before the last row leaves the warehouse untouched: the import has not begun.

pub(crate) use crate::pg::{Database, PgError, is_url};
use futures::StreamExt;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// The record sets, in the order they are read, and their canonical file names.
pub(crate) const RECORD_SETS: [&str; 5] = ["customers", "products", "orders", "order_items", "payments"];
/// The record set a database may have: read from the query file's `[refunds]`, or from a table
/// `refunds` when there is one.
pub(crate) const REFUNDS: &str = "refunds";

/// Where one record set comes from, as written in the query file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetSource {
    /// A table (or view) name, `schema.table` allowed.
    pub table: Option<String>,
    /// A query whose columns are the canonical ones.
    pub query: Option<String>,
    /// For `[orders]`: the column that says when an order last changed (default `updated_at`
    /// when the orders have such a column), which makes `--append` read only what changed.
    pub updated_at: Option<String>,
}

/// What [`PgSource::stage`] read.
#[derive(Clone, Debug)]
pub(crate) struct Staged {
    /// Rows per record set, in [`RECORD_SETS`] order.
    pub counts: Vec<(&'static str, u64)>,
    /// The latest change time of the orders (as PostgreSQL prints it), when they have one.
    pub watermark: Option<String>,
    /// Whether only the orders changed after the previous watermark were read.
    pub(crate) incremental: bool,
}

/// A PostgreSQL database and the query of each record set.
#[derive(Clone, Debug)]
pub(crate) struct PgSource {
    database: Database,
    queries: BTreeMap<&'static str, String>,
    updated_at: Option<String>,
}

fn quote_ident(name: &str) -> Result<String, PgError> {
    // `schema.table`: each part quoted, so any name is read as a name and never as SQL
    let parts: Vec<&str> = name.split('.').collect();
    if parts.is_empty() || parts.len() > 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(PgError::Config(format!("'{name}' is not a table name (table or schema.table)")));
    }
    Ok(parts.iter().map(|p| format!("\"{}\"", p.replace('"', "\"\""))).collect::<Vec<_>>().join("."))
}

/// `value` as a PostgreSQL string literal that reads the same under either setting of
/// `standard_conforming_strings`. `COPY` takes no bound parameters, so the watermark (stored in
/// the warehouse, where anyone who can write it could change it) is written into the query: as an
/// escape string (`E'…'`), where a backslash escapes in both settings, with every backslash and
/// quote doubled. A plain `'…'` with doubled quotes broke out when the setting was off (`\'`).
///
/// # Errors
/// `value` holds a NUL, which no PostgreSQL text can.
pub(crate) fn quote_literal(value: &str) -> Result<String, PgError> {
    if value.contains('\0') {
        return Err(PgError::Config("the stored watermark holds a NUL character".into()));
    }
    Ok(format!("E'{}'", value.replace('\\', "\\\\").replace('\'', "''")))
}

impl PgSource {
    /// Reads the URL (with the standard `PG*` environment variables for what it leaves out)
    /// and the optional query file: a TOML table per record set with `table` or `query`;
    /// record sets it does not name are read from the table of their name.
    ///
    /// # Errors
    /// A malformed URL or query file.
    pub(crate) fn new(url: &str, query_file: Option<&str>) -> Result<PgSource, PgError> {
        let database = Database::new(url)?;
        let sets: BTreeMap<String, SetSource> = match query_file {
            None => BTreeMap::new(),
            Some(text) => toml::from_str(text).map_err(|e| PgError::Config(format!("query file: {e}")))?,
        };
        if let Some(unknown) = sets.keys().find(|k| !RECORD_SETS.contains(&k.as_str()) && k.as_str() != REFUNDS) {
            return Err(PgError::Config(format!(
                "query file: [{unknown}] is not a record set ({}, {REFUNDS})",
                RECORD_SETS.join(", ")
            )));
        }
        let mut queries = BTreeMap::new();
        let updated_at = sets.get("orders").and_then(|s| s.updated_at.clone());
        if let Some((set, _)) = sets.iter().find(|(k, s)| k.as_str() != "orders" && s.updated_at.is_some()) {
            return Err(PgError::Config(format!("query file: [{set}]: updated_at belongs to [orders]")));
        }
        for set in RECORD_SETS.into_iter().chain([REFUNDS]) {
            if set == REFUNDS && !sets.contains_key(set) {
                // read from a table of its name only when the database has one (`stage`)
                continue;
            }
            let s = sets.get(set).cloned().unwrap_or_default();
            let query = match (s.table, s.query) {
                (Some(_), Some(_)) => {
                    return Err(PgError::Config(format!("query file: [{set}] has both table and query")));
                }
                (None, Some(q)) => q,
                (t, None) => format!("SELECT * FROM {}", quote_ident(t.as_deref().unwrap_or(set))?),
            };
            queries.insert(set, query);
        }
        Ok(PgSource { database, queries, updated_at })
    }

    /// The database as `user@host:port/db`: never its password.
    pub(crate) fn name(&self) -> String {
        self.database.name()
    }

    /// The query that reads `set` (what the tests check).
    #[cfg(test)]
    fn query(&self, set: &str) -> Option<&str> {
        self.queries.get(set).map(String::as_str)
    }

    /// An error of the server or connection, with the database's name (no password) and `what`
    /// was being done.
    pub(crate) fn server_error(&self, what: &str, e: tokio_postgres::Error) -> PgError {
        self.database.server_error(what, e)
    }

    /// Connects, with the connection's task spawned on the runtime.
    ///
    /// # Errors
    /// The server cannot be reached or refuses.
    pub(crate) async fn connect(&self) -> Result<tokio_postgres::Client, PgError> {
        self.database.connect().await
    }

    /// The orders' change-time column: the query file's, or `updated_at` when the orders
    /// query has it.
    async fn change_column(&self, client: &tokio_postgres::Client) -> Result<Option<String>, PgError> {
        let statement = client.prepare(&self.queries["orders"]).await.map_err(|e| self.server_error("orders", e))?;
        let has = |name: &str| statement.columns().iter().any(|c| c.name() == name);
        match &self.updated_at {
            Some(c) if has(c) => Ok(Some(c.clone())),
            Some(c) => Err(PgError::Config(format!("[orders] updated_at: the orders have no column '{c}'"))),
            None => Ok(has("updated_at").then(|| "updated_at".to_string())),
        }
    }

    /// Streams every record set into `dir` as its canonical CSV file, in one read-only snapshot.
    /// With `since` (the previous import's watermark) and a change-time column, only the orders
    /// changed after it are read, with their lines and payments (customers and products whole).
    ///
    /// # Errors
    /// The connection fails or drops, a query fails, or `dir` cannot be written.
    pub(crate) async fn stage(&self, dir: &Path, since: Option<&str>) -> Result<Staged, PgError> {
        std::fs::create_dir_all(dir)?;
        let client = self.connect().await?;
        // one snapshot for the five sets, so that lines and payments match their orders
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(|e| self.server_error("cannot start a read-only transaction", e))?;
        let column = self.change_column(&client).await?;
        let watermark = match &column {
            None => None,
            Some(c) => {
                let q = format!("SELECT max(o.{})::text FROM ({}) o", quote_ident(c)?, self.queries["orders"]);
                let row = client.query_one(q.as_str(), &[]).await.map_err(|e| self.server_error("orders", e))?;
                row.get::<_, Option<String>>(0)
            }
        };
        // the changed orders, when reading incrementally
        let changed = match (&column, since) {
            (Some(c), Some(since)) => Some(format!(
                "SELECT o.order_id FROM ({}) o WHERE o.{} > {}",
                self.queries["orders"],
                quote_ident(c)?,
                quote_literal(since)?
            )),
            _ => None,
        };
        let mut counts = Vec::new();
        // refunds: the query file's, else a table `refunds` if the database has one
        let refunds = match self.queries.get(REFUNDS) {
            Some(q) => Some(q.clone()),
            None => {
                let row = client
                    .query_one("SELECT to_regclass('refunds') IS NOT NULL", &[])
                    .await
                    .map_err(|e| self.server_error(REFUNDS, e))?;
                row.get::<_, bool>(0).then(|| "SELECT * FROM refunds".to_string())
            }
        };
        let sets = RECORD_SETS.into_iter().map(|s| (s, self.queries[s].clone())).chain(refunds.map(|q| (REFUNDS, q)));
        for (set, query) in sets {
            let query = match (&changed, set) {
                (Some(ids), "orders" | "order_items" | "payments" | REFUNDS) => {
                    format!("SELECT * FROM ({query}) s WHERE s.order_id IN ({ids})")
                }
                _ => query,
            };
            let copy = format!("COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)");
            let stream = client.copy_out(copy.as_str()).await.map_err(|e| self.server_error(set, e))?;
            let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join(format!("{set}.csv")))?);
            let mut lines = 0u64;
            futures::pin_mut!(stream);
            while let Some(chunk) = stream.next().await {
                let chunk =
                    chunk.map_err(|e| self.server_error(&format!("{set}: the connection failed while reading"), e))?;
                lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
                out.write_all(&chunk)?;
            }
            out.flush()?;
            counts.push((set, lines.saturating_sub(1)));
        }
        let _ = client.batch_execute("COMMIT").await;
        Ok(Staged { counts, watermark, incremental: changed.is_some() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads an escape string literal the way PostgreSQL does: its value, and the rest of the text
    /// after its closing quote.
    fn read_escape_string(sql: &str) -> (String, &str) {
        let body = sql.strip_prefix("E'").expect("an escape string");
        let (mut value, mut chars) = (String::new(), body.char_indices().peekable());
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => value.push(chars.next().expect("an escaped character").1),
                '\'' if chars.peek().map(|p| p.1) == Some('\'') => {
                    chars.next();
                    value.push('\'');
                }
                '\'' => return (value, &body[i + 1..]),
                c => value.push(c),
            }
        }
        panic!("unterminated: {sql}")
    }

    #[test]
    fn watermarks_are_one_literal_under_either_string_setting() {
        let attack = "zz\\' OR (SELECT count(*) FROM pg_sleep(4)) = 1)) TO STDOUT --";
        for value in [attack, "2024-05-01 10:00:00+00", "a'b", "\\", "\\\\'", "'; DROP TABLE orders; --", "é\\x27"] {
            let quoted = quote_literal(value).unwrap();
            let (read, rest) = read_escape_string(&quoted);
            assert_eq!((read.as_str(), rest), (value, ""), "{quoted}");
        }
        assert!(quote_literal("a\0b").is_err());
    }

    #[test]
    fn record_sets_default_to_their_tables_and_names_are_quoted() {
        let s = PgSource::new("postgres://ann:secret@db.example:5433/shop", None).unwrap();
        assert_eq!(s.query("orders"), Some("SELECT * FROM \"orders\""));
        assert_eq!(s.name(), "postgres://ann@db.example:5433/shop");
        assert!(!format!("{s:?}").is_empty());
        let file = "[orders]\ntable = 'sales.\"Orders\"'\n[payments]\nquery = 'SELECT 1'\n";
        let s = PgSource::new("postgres://ann@h/shop", Some(file)).unwrap();
        assert_eq!(s.query("orders"), Some("SELECT * FROM \"sales\".\"\"\"Orders\"\"\""));
        assert_eq!(s.query("payments"), Some("SELECT 1"));
        for (bad, says) in [
            ("[returns]\ntable = 'x'\n", "[returns] is not a record set"),
            ("[orders]\ntable = 'x'\nquery = 'y'\n", "both table and query"),
            ("[orders]\ntable = 'a.b.c'\n", "is not a table name"),
            ("[orders]\ncolumns = 1\n", "query file"),
        ] {
            let e = PgSource::new("postgres://h/db", Some(bad)).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
        let e = PgSource::new("postgres://ann:secret@h:notaport/db", None).unwrap_err().to_string();
        assert!(!e.contains("secret"), "{e}");
    }
}
