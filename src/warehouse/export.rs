//! Export: the warehouse's star schema copied into a PostgreSQL schema, so that an analyst's own
//! BI tool can read it. One transaction: the schema's tables are replaced (PostgreSQL DDL of
//! `schema.rs`, with keys and comments), each filled with `COPY … FROM STDIN (FORMAT csv)`
//! streamed from the Parquet files batch by batch, and the `order_lines` view created; readers
//! see the old tables or the new, never half of them.

use super::Warehouse;
use super::schema::{Dialect, TABLES, ddl};
use crate::pg::{Database, PgError};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};

/// Why an export failed (the PostgreSQL schema is then as it was).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExportError {
    /// The database refused or the connection failed.
    #[error(transparent)]
    Postgres(#[from] PgError),
    /// The warehouse could not be read.
    #[error("reading the warehouse: {0}")]
    Warehouse(#[from] datafusion::error::DataFusionError),
    /// A batch could not be written as CSV.
    #[error("writing rows: {0}")]
    Csv(#[from] datafusion::arrow::error::ArrowError),
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Copies every table of `wh` into `schema` of the database `pg` names (created if missing;
/// its tables of the same names replaced). Returns the rows copied per table.
///
/// # Errors
/// The database refuses, the connection drops, or the warehouse cannot be read; nothing is
/// changed in the database then.
pub(crate) async fn to_postgres(
    wh: &Warehouse,
    pg: &Database,
    schema: &str,
) -> Result<Vec<(&'static str, u64)>, ExportError> {
    let client = pg.connect().await?;
    let fail = |what: &str, e: tokio_postgres::Error| ExportError::Postgres(pg.server_error(what, e));
    let s = quote_ident(schema);
    let mut setup = format!("BEGIN;\nCREATE SCHEMA IF NOT EXISTS {s};\nSET LOCAL search_path TO {s};\n");
    setup.push_str("DROP VIEW IF EXISTS order_lines;\n");
    for t in TABLES.iter().rev() {
        setup.push_str(&format!("DROP TABLE IF EXISTS {} CASCADE;\n", t.name));
    }
    setup.push_str(&ddl(Dialect::Postgres));
    client.batch_execute(&setup).await.map_err(|e| fail("creating the schema", e))?;
    let ctx = wh.session().await?;
    let mut counts = Vec::new();
    for t in TABLES {
        let sink =
            client.copy_in(&format!("COPY {} FROM STDIN (FORMAT csv)", t.name)).await.map_err(|e| fail(t.name, e))?;
        futures::pin_mut!(sink);
        let mut stream = ctx.sql(&format!("SELECT * FROM {}", t.name)).await?.execute_stream().await?;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let mut buf = Vec::with_capacity(batch.get_array_memory_size());
            {
                let mut w = datafusion::arrow::csv::WriterBuilder::new().with_header(false).build(&mut buf);
                w.write(&batch)?;
            }
            sink.send(Bytes::from(buf)).await.map_err(|e| fail(t.name, e))?;
        }
        let rows = sink.as_mut().finish().await.map_err(|e| fail(t.name, e))?;
        counts.push((t.name, rows));
    }
    client.batch_execute("COMMIT").await.map_err(|e| fail("committing", e))?;
    Ok(counts)
}
