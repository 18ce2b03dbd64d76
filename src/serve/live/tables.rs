//! The live catalog's tables: each a [`CurrentTable`] that resolves to the served version's table
//! when a statement's plan is executed, and the views defined over them.

use crate::metrics::revenue_frames;
use crate::model::Filter;
use crate::serve::state::AppState;
use crate::warehouse::schema::{ORDER_LINES_VIEW, TABLES};
use async_trait::async_trait;
use datafusion::arrow::array::{AsArray, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{Int32Type, SchemaRef};
use datafusion::catalog::{SchemaProvider, Session, TableProvider};
use datafusion::datasource::{MemTable, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::setup_pg_catalog;
use std::collections::HashMap;
use std::sync::Arc;

/// The catalog DataFusion names the warehouse's schema `public` in; clients see it as the
/// database (`current_database()`), whatever database name they connect with.
pub(super) const CATALOG: &str = "datafusion";

/// A warehouse table by name, read from whichever version is served when a plan runs: a plan
/// made before an import (a client's prepared statement) reads the new version after it. Every
/// version has the same schema, so a plan stays valid.
pub(super) struct CurrentTable {
    state: Arc<AppState>,
    name: &'static str,
    schema: SchemaRef,
}

impl std::fmt::Debug for CurrentTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CurrentTable({})", self.name)
    }
}

impl CurrentTable {
    async fn provider(&self) -> Result<Arc<dyn TableProvider>> {
        let (loaded, _) = self.state.current().await.map_err(|e| DataFusionError::External(Box::new(e)))?;
        loaded
            .warehouse
            .table(self.name)
            .ok_or_else(|| DataFusionError::Plan(format!("the served warehouse version has no table {}", self.name)))
    }
}

#[async_trait]
impl TableProvider for CurrentTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        // the Parquet scan prunes with them and the filter stays above it: right for any version
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.provider().await?.scan(state, projection, filters, limit).await
    }
}

/// A session over `state`'s served warehouse: every table as a [`CurrentTable`], the
/// `order_lines` view, the revenue lines and orders of the default filter (all time, nothing
/// filtered) as the views `revenue_lines`, `revenue_orders`, `revenue_returns` and
/// `revenue_customers`, and the
/// PostgreSQL catalog. Its
/// memory pool is one computation's share of the server's limit.
pub(super) async fn catalog(state: Arc<AppState>) -> Result<SessionContext> {
    let loaded = state.loaded().await;
    // every plan's operators check what their expressions would build (`bounds`)
    let session = datafusion::execution::SessionStateBuilder::new_from_existing(loaded.warehouse.session_state())
        .with_physical_optimizer_rule(Arc::new(super::bounds::GuardInputs))
        .build();
    let ctx = SessionContext::new_with_state(session);
    for t in TABLES {
        let provider = loaded
            .warehouse
            .table(t.name)
            .ok_or_else(|| DataFusionError::Plan(format!("the served warehouse version has no table {}", t.name)))?;
        let table = CurrentTable { state: state.clone(), name: t.name, schema: provider.schema() };
        ctx.register_table(t.name, Arc::new(table))?;
    }
    ctx.sql(ORDER_LINES_VIEW).await?;
    let (_, orders) = revenue_frames(&ctx, &Filter::default()).await.map_err(|e| e.source)?;
    ctx.register_table("revenue_orders", orders.into_view())?;
    let customers = ctx.sql(crate::metrics::sql::REVENUE_CUSTOMERS).await?;
    ctx.register_table("revenue_customers", customers.into_view())?;
    setup_pg_catalog(&ctx, CATALOG, EmptyContextProvider).map_err(|e| *e)?;
    describe(&ctx).await?;
    Ok(ctx)
}

/// The OID PostgreSQL's catalogs give `pg_class` itself: `pg_description.classoid` of a table's
/// or column's comment, unless this catalog names `pg_class` otherwise.
const PG_CLASS_OID: i32 = 1259;

/// Gives clients the schema's comments (`schema.rs`: a table's grain, a column's meaning) as
/// PostgreSQL does: rows of `pg_description` (Metabase and DBeaver join it), and the functions
/// `col_description(table oid, column number)` and `obj_description(oid, catalog)` (psql's `\d+`
/// and `\dt+`). The catalog keeps the OIDs it gave each table and column by name, and no version
/// changes the names, so they are read once here.
async fn describe(ctx: &SessionContext) -> Result<()> {
    let columns = ctx
        .sql(
            "SELECT CAST(c.oid AS INT) AS oid, c.relname, CAST(a.attnum AS INT) AS attnum, a.attname \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid WHERE n.nspname = 'public'",
        )
        .await?
        .collect()
        .await?;
    let mut comments = HashMap::new();
    for batch in &columns {
        let oid = batch.column(0).as_primitive::<Int32Type>();
        let table = batch.column(1).as_string::<i32>();
        let attnum = batch.column(2).as_primitive::<Int32Type>();
        let column = batch.column(3).as_string::<i32>();
        for r in 0..batch.num_rows() {
            let Some(t) = TABLES.iter().find(|t| t.name == table.value(r)) else { continue };
            comments.insert((oid.value(r), 0), t.grain.to_string());
            if let Some((_, _, _, comment)) = t.columns.iter().find(|c| c.0 == column.value(r)) {
                comments.insert((oid.value(r), attnum.value(r)), comment.to_string());
            }
        }
    }
    let comments = Arc::new(comments);
    let catalog = ctx.catalog(CATALOG).ok_or_else(|| DataFusionError::Plan(format!("no catalog {CATALOG}")))?;
    let pg = catalog.schema("pg_catalog").ok_or_else(|| DataFusionError::Plan("no pg_catalog".into()))?;
    let static_rows = pg.table("pg_description").await?;
    let description = match static_rows {
        Some(rows) => {
            let state = ctx.state();
            let plan = rows.scan(&state, None, &[], None).await?;
            let mut batches = datafusion::physical_plan::collect(plan, ctx.task_ctx()).await?;
            let schema = rows.schema();
            let mut entries: Vec<_> = comments.iter().collect();
            entries.sort();
            // the OID this catalog's `'pg_catalog.pg_class'::regclass` gives (one row per comment:
            // clients join on the object and column alone), else PostgreSQL's
            let mut class = PG_CLASS_OID;
            let resolved = ctx
                .sql(
                    "SELECT CAST(c.oid AS INT) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n \
                     ON c.relnamespace = n.oid WHERE c.relname = 'pg_class' AND n.nspname = 'pg_catalog'",
                )
                .await?
                .collect()
                .await?;
            if let Some(b) = resolved.first().filter(|b| b.num_rows() == 1) {
                class = b.column(0).as_primitive::<Int32Type>().value(0);
            }
            batches.push(RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int32Array::from_iter_values(entries.iter().map(|((oid, _), _)| *oid))),
                    Arc::new(Int32Array::from_iter_values(entries.iter().map(|_| class))),
                    Arc::new(Int32Array::from_iter_values(entries.iter().map(|((_, sub), _)| *sub))),
                    Arc::new(StringArray::from_iter_values(entries.iter().map(|(_, v)| v.as_str()))),
                ],
            )?);
            Arc::new(MemTable::try_new(schema, vec![batches])?) as Arc<dyn TableProvider>
        }
        None => return Err(DataFusionError::Plan("pg_catalog has no pg_description".into())),
    };
    let mut overrides = super::keys::tables(ctx, &pg).await?;
    overrides.insert("pg_description", description);
    let described = Described { inner: pg, overrides };
    catalog.register_schema("pg_catalog", Arc::new(described))?;
    super::functions::register(ctx, comments).await?;
    Ok(())
}

/// `pg_catalog` with the schema's comments among `pg_description`'s rows, and its keys in
/// `pg_class`, `pg_index` and `pg_constraint` (`keys.rs`).
#[derive(Debug)]
struct Described {
    inner: Arc<dyn SchemaProvider>,
    overrides: HashMap<&'static str, Arc<dyn TableProvider>>,
}

#[async_trait]
impl SchemaProvider for Described {
    fn table_names(&self) -> Vec<String> {
        self.inner.table_names()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if let Some(table) = self.overrides.get(name.to_ascii_lowercase().as_str()) {
            return Ok(Some(table.clone()));
        }
        self.inner.table(name).await
    }

    fn table_exist(&self, name: &str) -> bool {
        self.inner.table_exist(name)
    }
}
