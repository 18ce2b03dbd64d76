//! The live catalog's tables: each a [`CurrentTable`] that resolves to the served version's table
//! when a statement's plan is executed, and the views defined over them.

use crate::metrics::revenue_frames;
use crate::model::Filter;
use crate::serve::state::AppState;
use crate::warehouse::schema::{ORDER_LINES_VIEW, TABLES};
use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int32Type, SchemaRef};
use datafusion::catalog::{SchemaProvider, Session, TableProvider};
use datafusion::datasource::{MemTable, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TableProviderFilterPushDown,
    TypeSignature, Volatility,
};
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
/// filtered) as the views `revenue_lines` and `revenue_orders`, and the PostgreSQL catalog. Its
/// memory pool is one computation's share of the server's limit.
pub(super) async fn catalog(state: Arc<AppState>) -> Result<SessionContext> {
    let loaded = state.loaded().await;
    let ctx = SessionContext::new_with_state(loaded.warehouse.session_state());
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
    let described = Described { inner: pg, description };
    catalog.register_schema("pg_catalog", Arc::new(described))?;
    ctx.register_udf(ScalarUDF::from(Version::default()));
    ctx.register_udf(ScalarUDF::from(ToRegtype::read(ctx).await?));
    ctx.register_udf(ScalarUDF::from(JsonBuildObject { signature: Signature::variadic_any(Volatility::Immutable) }));
    ctx.register_udf(ScalarUDF::from(Visible { signature: Signature::any(1, Volatility::Stable) }));
    ctx.register_udf(ScalarUDF::from(SizePretty { signature: Signature::any(1, Volatility::Immutable) }));
    // sizes of relations are not reported: NULL, which psql's `\dt+` shows as empty
    ctx.register_udf(ScalarUDF::from(NoSize { signature: Signature::any(1, Volatility::Stable) }));
    // the warehouse has no sequences
    ctx.register_udf(ScalarUDF::from(NoText {
        name: "pg_get_serial_sequence",
        signature: Signature::any(2, Volatility::Stable),
    }));
    ctx.register_udf(ScalarUDF::from(Comment::new("col_description", comments.clone(), true)));
    ctx.register_udf(ScalarUDF::from(Comment::new("obj_description", comments, false)));
    Ok(())
}

/// `pg_catalog` with the schema's comments among `pg_description`'s rows.
#[derive(Debug)]
struct Described {
    inner: Arc<dyn SchemaProvider>,
    description: Arc<dyn TableProvider>,
}

#[async_trait]
impl SchemaProvider for Described {
    fn table_names(&self) -> Vec<String> {
        self.inner.table_names()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if name.eq_ignore_ascii_case("pg_description") {
            return Ok(Some(self.description.clone()));
        }
        self.inner.table(name).await
    }

    fn table_exist(&self, name: &str) -> bool {
        self.inner.table_exist(name)
    }
}

/// `col_description(table_oid, column_number)` (`column` is true) or
/// `obj_description(oid[, catalog])`: the comment, or NULL.
#[derive(Debug)]
struct Comment {
    name: &'static str,
    column: bool,
    comments: Arc<HashMap<(i32, i32), String>>,
    signature: Signature,
}

impl Comment {
    fn new(name: &'static str, comments: Arc<HashMap<(i32, i32), String>>, column: bool) -> Comment {
        let signature = if column {
            Signature::any(2, Volatility::Stable)
        } else {
            Signature::one_of(vec![TypeSignature::Any(1), TypeSignature::Any(2)], Volatility::Stable)
        };
        Comment { name, column, comments, signature }
    }
}

// one function of each name exists: the name is its identity
impl PartialEq for Comment {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Comment {}

impl std::hash::Hash for Comment {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for Comment {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let oid = cast(&arrays[0], &DataType::Int32)?;
        let oid = oid.as_primitive::<Int32Type>();
        let sub = if self.column { Some(cast(&arrays[1], &DataType::Int32)?) } else { None };
        let out: StringArray = (0..rows)
            .map(|r| {
                if oid.is_null(r) {
                    return None;
                }
                let n = match &sub {
                    Some(s) if s.is_null(r) => return None,
                    Some(s) => s.as_primitive::<Int32Type>().value(r),
                    None => 0,
                };
                self.comments.get(&(oid.value(r), n)).map(String::as_str)
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// `version()` as PostgreSQL words it: clients read the server's version off it (SQLAlchemy
/// refuses a server whose version it cannot parse).
#[derive(Debug, PartialEq, Eq, Hash)]
struct Version {
    signature: Signature,
}

impl Default for Version {
    fn default() -> Self {
        Version { signature: Signature::nullary(Volatility::Stable) }
    }
}

/// The text of [`Version`]: the PostgreSQL release whose catalog `datafusion-pg-catalog` copies.
pub(super) const VERSION: &str = concat!(
    "PostgreSQL 16.6 (shoplens ",
    env!("CARGO_PKG_VERSION"),
    " on Apache DataFusion 55, datafusion-postgres 0.19)"
);

impl ScalarUDFImpl for Version {
    fn name(&self) -> &str {
        "version"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(datafusion::common::ScalarValue::Utf8(Some(VERSION.into()))))
    }
}

/// `to_regtype(name)`: the OID of the type named so, or NULL (psycopg asks it for `hstore` when
/// SQLAlchemy connects). The names and OIDs are `pg_catalog.pg_type`'s, with SQL's long names.
#[derive(Debug)]
struct ToRegtype {
    oids: HashMap<String, i32>,
    signature: Signature,
}

impl PartialEq for ToRegtype {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ToRegtype {}

impl std::hash::Hash for ToRegtype {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        "to_regtype".hash(state);
    }
}

impl ToRegtype {
    async fn read(ctx: &SessionContext) -> Result<ToRegtype> {
        let batches = ctx.sql("SELECT typname, CAST(oid AS INT) FROM pg_catalog.pg_type").await?.collect().await?;
        let mut oids = HashMap::new();
        for b in &batches {
            let (names, ids) = (b.column(0).as_string::<i32>(), b.column(1).as_primitive::<Int32Type>());
            for r in 0..b.num_rows() {
                oids.insert(names.value(r).to_string(), ids.value(r));
            }
        }
        const ALIASES: &[(&str, &str)] = &[
            ("integer", "int4"),
            ("int", "int4"),
            ("bigint", "int8"),
            ("smallint", "int2"),
            ("boolean", "bool"),
            ("real", "float4"),
            ("double precision", "float8"),
            ("character varying", "varchar"),
            ("character", "bpchar"),
            ("decimal", "numeric"),
            ("timestamp without time zone", "timestamp"),
            ("timestamp with time zone", "timestamptz"),
        ];
        for (alias, name) in ALIASES {
            if let Some(oid) = oids.get(*name).copied() {
                oids.insert((*alias).to_string(), oid);
            }
        }
        Ok(ToRegtype { oids, signature: Signature::exact(vec![DataType::Utf8], Volatility::Stable) })
    }
}

impl ScalarUDFImpl for ToRegtype {
    fn name(&self) -> &str {
        "to_regtype"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let names = ColumnarValue::values_to_arrays(&args.args)?;
        let names = names[0].as_string::<i32>();
        let out: Int32Array = (0..args.number_rows)
            .map(|r| {
                let name = names.is_valid(r).then(|| names.value(r).trim().trim_matches('"').to_ascii_lowercase())?;
                self.oids.get(name.strip_prefix("pg_catalog.").unwrap_or(&name)).copied()
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// A catalog function whose answer is always NULL text here (`pg_get_serial_sequence`: no column
/// is filled from a sequence).
#[derive(Debug, PartialEq, Eq, Hash)]
struct NoText {
    name: &'static str,
    signature: Signature,
}

impl ScalarUDFImpl for NoText {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(datafusion::common::ScalarValue::Utf8(None)))
    }
}

/// `json_build_object(key, value, …)`: a JSON object's text (SQLAlchemy's column reflection asks
/// it of identity columns and collations; a NULL key is an error in PostgreSQL, here NULL).
#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonBuildObject {
    signature: Signature,
}

impl ScalarUDFImpl for JsonBuildObject {
    fn name(&self) -> &str {
        "json_build_object"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        if arrays.len() % 2 == 1 {
            return Err(DataFusionError::Plan("json_build_object takes keys and values in pairs".into()));
        }
        let texts = arrays.iter().map(|a| cast(a, &DataType::Utf8)).collect::<Result<Vec<_>, _>>()?;
        let out: StringArray = (0..args.number_rows)
            .map(|r| {
                let mut object = serde_json::Map::new();
                for pair in 0..arrays.len() / 2 {
                    let (k, v) = (texts[2 * pair].as_string::<i32>(), texts[2 * pair + 1].as_string::<i32>());
                    if k.is_null(r) {
                        return None;
                    }
                    let value = if v.is_null(r) {
                        serde_json::Value::Null
                    } else {
                        let text = v.value(r);
                        let kind = arrays[2 * pair + 1].data_type();
                        if kind.is_numeric() || *kind == DataType::Boolean {
                            serde_json::from_str(text).unwrap_or_else(|_| text.into())
                        } else {
                            text.into()
                        }
                    };
                    object.insert(k.value(r).to_string(), value);
                }
                Some(serde_json::Value::Object(object).to_string())
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// `pg_collation_is_visible(oid)`: true, the catalog has one schema of collations.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Visible {
    signature: Signature,
}

impl ScalarUDFImpl for Visible {
    fn name(&self) -> &str {
        "pg_collation_is_visible"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(datafusion::common::ScalarValue::Boolean(Some(true))))
    }
}

/// `pg_table_size(oid)`: NULL (sizes are not reported over the wire).
#[derive(Debug, PartialEq, Eq, Hash)]
struct NoSize {
    signature: Signature,
}

impl ScalarUDFImpl for NoSize {
    fn name(&self) -> &str {
        "pg_table_size"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(datafusion::common::ScalarValue::Int64(None)))
    }
}

/// `pg_size_pretty(bytes)`, worded as PostgreSQL words it: bytes below 10 kB, then kB, MB, GB,
/// TB, PB, each rounded half up from the unit below.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SizePretty {
    signature: Signature,
}

/// `bytes` as `pg_size_pretty` shows it.
pub(super) fn size_pretty(bytes: i64) -> String {
    const LIMIT: i64 = 10 * 1024;
    if bytes.abs() < LIMIT {
        return format!("{bytes} bytes");
    }
    let mut size = bytes;
    for unit in ["kB", "MB", "GB", "TB"] {
        // half-round the division by 1024
        let half = size / 512;
        let next = (half + half.signum() * (half % 2).abs()) / 2;
        if next.abs() < LIMIT || unit == "TB" {
            return format!("{next} {unit}");
        }
        size /= 1024;
    }
    unreachable!("the loop returns at TB")
}

impl ScalarUDFImpl for SizePretty {
    fn name(&self) -> &str {
        "pg_size_pretty"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let bytes = cast(&arrays[0], &DataType::Int64)?;
        let bytes = bytes.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        let out: StringArray = bytes.iter().map(|b| b.map(size_pretty)).collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::size_pretty;

    #[test]
    fn sizes_are_worded_as_postgresql_words_them() {
        // PostgreSQL 16: SELECT pg_size_pretty(x::bigint)
        assert_eq!(size_pretty(0), "0 bytes");
        assert_eq!(size_pretty(10239), "10239 bytes");
        assert_eq!(size_pretty(10240), "10 kB");
        assert_eq!(size_pretty(1_000_000), "977 kB");
        assert_eq!(size_pretty(10_485_760), "10 MB");
        assert_eq!(size_pretty(1_500_000_000), "1431 MB");
        assert_eq!(size_pretty(-20480), "-20 kB");
    }
}
