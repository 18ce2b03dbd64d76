//! The star schema's keys as PostgreSQL's catalog shows them, so that pgjdbc (Metabase's sync,
//! DBeaver's table and diagram views), psql's `\d` and SQLAlchemy's inspector see each table's
//! primary key and the joins between facts and dimensions.
//!
//! Every table with a key (`schema.rs`) gets a unique index `<table>_pkey` (a `pg_class` row of
//! kind `i` and a `pg_index` row) and a primary-key constraint; every reference a foreign-key
//! constraint to the referenced table's key. `pg_index`'s and `pg_constraint`'s column lists
//! (`indkey`, `conkey`, …) are arrays of numbers, as PostgreSQL's are, so that clients can
//! subscript and unnest them (`datafusion-pg-catalog` keeps them as text). The functions that
//! read them are here too: `_pg_expandarray` (pgjdbc's, through the rewrite in `compat.rs`),
//! `pg_get_indexdef` and `pg_get_constraintdef`, with `pg_get_viewdef` for the views (psql's
//! `\d+`) and `relation_name` for a `regclass` printed; and the settings pgjdbc reads
//! (`max_index_keys`, …) join `pg_settings`.

use crate::warehouse::schema::TABLES;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, ListArray, RecordBatch, StringArray, StructArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Int32Type, Schema, SchemaRef};
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use datafusion::prelude::SessionContext;
use std::collections::HashMap;
use std::sync::Arc;

/// The first OID given to the keys' indexes and constraints: far above the OIDs the catalog
/// gives tables and columns (from 16384 up), so none is given twice.
const FIRST_OID: i32 = 1_000_000_000;

/// PostgreSQL's OID of the btree access method (`pg_am`) and of the `int4_ops` operator class.
const BTREE: i32 = 403;
const INT4_OPS: i32 = 1978;

/// The settings pgjdbc and other clients read from `pg_settings`, as PostgreSQL 16 has them.
const SETTINGS: &[(&str, &str)] = &[
    ("max_index_keys", "32"),
    ("max_identifier_length", "63"),
    ("server_version", "16.6"),
    ("server_version_num", "160006"),
    ("server_encoding", "UTF8"),
    ("client_encoding", "UTF8"),
    ("integer_datetimes", "on"),
    ("DateStyle", "ISO, MDY"),
    ("search_path", "public"),
    ("transaction_read_only", "on"),
    ("default_transaction_read_only", "on"),
];

/// A unique index of the catalog: its table and columns.
#[derive(Debug, Clone)]
struct Index {
    table: String,
    columns: Vec<String>,
}

/// The keys' and views' definitions, for `pg_get_indexdef`, `pg_get_constraintdef` and
/// `pg_get_viewdef`.
#[derive(Debug, Default)]
struct Definitions {
    indexes: HashMap<i32, Index>,
    constraints: HashMap<i32, String>,
    views: HashMap<i32, String>,
}

/// The live catalog's views and their SQL (`tables.rs` defines them so).
fn view_sql(name: &str) -> Option<String> {
    use crate::metrics::sql;
    // the revenue views run their SQL with the parameters of no filter
    let unfiltered = |text: &str| {
        format!("-- as the live catalog runs it: with the parameters of no filter (all time, every value)\n{text}")
    };
    match name {
        "order_lines" => {
            let text = crate::warehouse::schema::ORDER_LINES_VIEW;
            Some(
                text.split_once(" AS\n").or_else(|| text.split_once(" AS ")).map_or(text, |(_, body)| body).to_string(),
            )
        }
        "revenue_lines" => Some(unfiltered(sql::REVENUE_LINES)),
        "revenue_orders" => Some(unfiltered(sql::REVENUE_ORDERS)),
        "revenue_returns" => Some(unfiltered(sql::REVENUE_RETURNS)),
        "revenue_customers" => Some(sql::REVENUE_CUSTOMERS.to_string()),
        _ => None,
    }
}

/// `pg_class`, `pg_index`, `pg_constraint` and `pg_settings` with the keys' rows, by name, for
/// the `pg_catalog` schema to answer with; the functions are registered on `ctx`.
///
/// # Errors
/// A catalog table cannot be read.
pub(super) async fn tables(
    ctx: &SessionContext,
    pg: &Arc<dyn SchemaProvider>,
) -> Result<HashMap<&'static str, Arc<dyn TableProvider>>> {
    let public = one_int(ctx, "SELECT CAST(oid AS INT) FROM pg_catalog.pg_namespace WHERE nspname = 'public'").await?;
    let mut oids: HashMap<String, i32> = HashMap::new();
    let mut attnums: HashMap<(String, String), i32> = HashMap::new();
    let columns = ctx
        .sql(
            "SELECT CAST(c.oid AS INT), c.relname, CAST(a.attnum AS INT), a.attname FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid WHERE n.nspname = 'public'",
        )
        .await?
        .collect()
        .await?;
    for b in &columns {
        let (oid, table) = (b.column(0).as_primitive::<Int32Type>(), b.column(1).as_string::<i32>());
        let (num, column) = (b.column(2).as_primitive::<Int32Type>(), b.column(3).as_string::<i32>());
        for r in 0..b.num_rows() {
            oids.insert(table.value(r).to_string(), oid.value(r));
            attnums.insert((table.value(r).to_string(), column.value(r).to_string()), num.value(r));
        }
    }

    let mut defs = Definitions::default();
    for (name, oid) in &oids {
        if let Some(text) = view_sql(name) {
            defs.views.insert(*oid, text);
        }
    }
    let mut next = FIRST_OID;
    let mut oid = || {
        next += 1;
        next
    };
    // per keyed table: its index's OID
    let mut index_of: HashMap<&str, i32> = HashMap::new();
    let (mut class_rows, mut index_rows, mut constraint_rows) = (Vec::new(), Vec::new(), Vec::new());
    let list = |nums: Vec<i32>| ScalarValue::List(ScalarValue::new_list_nullable(&ints(nums), &DataType::Int16));
    for t in TABLES.iter().filter(|t| !t.key.is_empty()) {
        let Some(&table_oid) = oids.get(t.name) else { continue };
        let nums: Option<Vec<i32>> =
            t.key.iter().map(|c| attnums.get(&(t.name.into(), (*c).into())).copied()).collect();
        let Some(nums) = nums else { continue };
        let (index, constraint) = (oid(), oid());
        let name = format!("{}_pkey", t.name);
        index_of.insert(t.name, index);
        let columns: Vec<String> = t.key.iter().map(|c| c.to_string()).collect();
        defs.constraints.insert(constraint, format!("PRIMARY KEY ({})", columns.join(", ")));
        defs.indexes.insert(index, Index { table: t.name.to_string(), columns });
        let n = ScalarValue::Int16(Some(nums.len() as i16));
        class_rows.push((
            t.name,
            HashMap::from([
                ("oid", ScalarValue::Int32(Some(index))),
                ("relname", ScalarValue::from(name.as_str())),
                ("relkind", ScalarValue::from("i")),
                ("relam", ScalarValue::Int32(Some(BTREE))),
                ("relnatts", n.clone()),
                ("reltype", ScalarValue::Int32(Some(0))),
                ("relhasindex", ScalarValue::Boolean(Some(false))),
            ]),
        ));
        index_rows.push(HashMap::from([
            ("indexrelid", ScalarValue::Int32(Some(index))),
            ("indrelid", ScalarValue::Int32(Some(table_oid))),
            ("indnatts", n.clone()),
            ("indnkeyatts", n),
            ("indisunique", ScalarValue::Boolean(Some(true))),
            ("indnullsnotdistinct", ScalarValue::Boolean(Some(false))),
            ("indisprimary", ScalarValue::Boolean(Some(true))),
            ("indisexclusion", ScalarValue::Boolean(Some(false))),
            ("indimmediate", ScalarValue::Boolean(Some(true))),
            ("indisclustered", ScalarValue::Boolean(Some(false))),
            ("indisvalid", ScalarValue::Boolean(Some(true))),
            ("indcheckxmin", ScalarValue::Boolean(Some(false))),
            ("indisready", ScalarValue::Boolean(Some(true))),
            ("indislive", ScalarValue::Boolean(Some(true))),
            ("indisreplident", ScalarValue::Boolean(Some(false))),
            ("indkey", list(nums.clone())),
            ("indcollation", list(vec![0; nums.len()])),
            ("indclass", list(vec![INT4_OPS; nums.len()])),
            ("indoption", list(vec![0; nums.len()])),
        ]));
        constraint_rows.push(constraint_row(constraint, &name, public, "p", table_oid, index, list(nums), None));
    }
    let mut in_foreign_key: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for t in TABLES {
        let Some(&table_oid) = oids.get(t.name) else { continue };
        for (column, referenced) in t.references {
            let target = TABLES.iter().find(|r| r.name == *referenced);
            let (Some(target), Some(&index)) = (target, index_of.get(referenced)) else { continue };
            let ([key], Some(&target_oid)) = (target.key, oids.get(*referenced)) else { continue };
            let from = attnums.get(&(t.name.into(), (*column).into())).copied();
            let to = attnums.get(&((*referenced).into(), (*key).into())).copied();
            let (Some(from), Some(to)) = (from, to) else { continue };
            let constraint = oid();
            in_foreign_key.insert(t.name);
            in_foreign_key.insert(referenced);
            let name = format!("{}_{column}_fkey", t.name);
            defs.constraints.insert(constraint, format!("FOREIGN KEY ({column}) REFERENCES {referenced}({key})"));
            let foreign = Some((target_oid, list(vec![to])));
            constraint_rows.push(constraint_row(
                constraint,
                &name,
                public,
                "f",
                table_oid,
                index,
                list(vec![from]),
                foreign,
            ));
        }
    }

    let mut out: HashMap<&'static str, Arc<dyn TableProvider>> = HashMap::new();
    // pg_class: the tables with keys have indexes, each index a row like its table's; a table in
    // a foreign key "has triggers" (PostgreSQL's foreign keys are triggers, and psql's `\d` lists
    // them only then); no relation has storage options (`reloptions`, which psql's `\d+` reads)
    let class = read(ctx, pg, "pg_class").await?;
    let mut fields: Vec<Field> = class.0.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("reloptions", DataType::new_list(DataType::Utf8, true), true));
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let flag = |b: &RecordBatch, column: &str, on: &dyn Fn(&str) -> bool| -> Option<ArrayRef> {
        let names = b.column_by_name("relname")?.as_string::<i32>();
        let old = b.column_by_name(column)?.as_boolean();
        let flags: datafusion::arrow::array::BooleanArray =
            (0..b.num_rows()).map(|r| Some(on(names.value(r)) || (old.is_valid(r) && old.value(r)))).collect();
        Some(Arc::new(flags))
    };
    let mut batches = Vec::new();
    for b in &class.1 {
        let mut cols = b.columns().to_vec();
        if let (Some(at), Some(flags)) =
            (b.schema().index_of("relhasindex").ok(), flag(b, "relhasindex", &|n| index_of.contains_key(n)))
        {
            cols[at] = flags;
        }
        if let (Some(at), Some(flags)) =
            (b.schema().index_of("relhastriggers").ok(), flag(b, "relhastriggers", &|n| in_foreign_key.contains(n)))
        {
            cols[at] = flags;
        }
        cols.push(datafusion::arrow::array::new_null_array(&DataType::new_list(DataType::Utf8, true), b.num_rows()));
        batches.push(RecordBatch::try_new(schema.clone(), cols)?);
    }
    let mut index_classes = Vec::new();
    for (table, values) in class_rows {
        let mut row = row_of(&class.1, "relname", table)?;
        row.extend(values);
        row.insert("relnamespace", ScalarValue::Int32(Some(public)));
        index_classes.push(row);
    }
    batches.push(rows(&schema, &index_classes)?);
    let mut names = HashMap::new();
    for b in &batches {
        let (Some(oid), Some(name)) = (b.column_by_name("oid"), b.column_by_name("relname")) else { continue };
        let (oid, name) = (oid.as_primitive::<Int32Type>(), name.as_string::<i32>());
        for r in (0..b.num_rows()).filter(|&r| oid.is_valid(r) && name.is_valid(r)) {
            names.insert(oid.value(r), name.value(r).to_string());
        }
    }
    ctx.register_udf(ScalarUDF::from(RelationName { names, signature: Signature::any(1, Volatility::Stable) }));
    out.insert("pg_class", Arc::new(MemTable::try_new(schema, vec![batches])?));

    let arrays = |names: &[&str], element: &DataType, schema: &SchemaRef| -> SchemaRef {
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| match names.contains(&f.name().as_str()) {
                true => Field::new(f.name(), DataType::new_list(element.clone(), true), true),
                false => f.as_ref().clone(),
            })
            .collect();
        Arc::new(Schema::new(fields))
    };
    // psql's `\d+` asks `'d' = any(stxkind)` of the (empty) extended statistics
    for (name, lists, element, own) in [
        ("pg_index", &["indkey", "indcollation", "indclass", "indoption"][..], DataType::Int16, index_rows),
        ("pg_constraint", &["conkey", "confkey"][..], DataType::Int16, constraint_rows),
        ("pg_statistic_ext", &["stxkind"][..], DataType::Utf8, Vec::new()),
    ] {
        let (old, batches) = read(ctx, pg, name).await?;
        let schema = arrays(lists, &element, &old);
        let mut converted: Vec<RecordBatch> = batches.iter().map(|b| as_lists(b, &schema)).collect::<Result<_>>()?;
        converted.push(rows(&schema, &own)?);
        out.insert(name, Arc::new(MemTable::try_new(schema, vec![converted])?));
    }

    let (schema, mut batches) = read(ctx, pg, "pg_settings").await?;
    let settings: Vec<HashMap<&str, ScalarValue>> = SETTINGS
        .iter()
        .map(|(n, v)| HashMap::from([("name", ScalarValue::from(*n)), ("setting", ScalarValue::from(*v))]))
        .collect();
    batches.push(rows(&schema, &settings)?);
    out.insert("pg_settings", Arc::new(MemTable::try_new(schema, vec![batches])?));

    let defs = Arc::new(defs);
    ctx.register_udf(ScalarUDF::from(ExpandArray::new()));
    ctx.register_udf(ScalarUDF::from(Definition::new("pg_get_indexdef", defs.clone())));
    ctx.register_udf(ScalarUDF::from(Definition::new("pg_get_constraintdef", defs.clone())));
    ctx.register_udf(ScalarUDF::from(Definition::new("pg_get_viewdef", defs)));
    Ok(out)
}

/// A `pg_constraint` row.
#[allow(clippy::too_many_arguments)]
fn constraint_row(
    oid: i32,
    name: &str,
    namespace: i32,
    kind: &str,
    table: i32,
    index: i32,
    key: ScalarValue,
    foreign: Option<(i32, ScalarValue)>,
) -> HashMap<&'static str, ScalarValue> {
    let (foreign_table, foreign_key) = foreign.map_or((0, None), |(t, k)| (t, Some(k)));
    let action = if kind == "f" { ScalarValue::from("a") } else { ScalarValue::from(" ") };
    let mut row = HashMap::from([
        ("oid", ScalarValue::Int32(Some(oid))),
        ("conname", ScalarValue::from(name)),
        ("connamespace", ScalarValue::Int32(Some(namespace))),
        ("contype", ScalarValue::from(kind)),
        ("condeferrable", ScalarValue::Boolean(Some(false))),
        ("condeferred", ScalarValue::Boolean(Some(false))),
        ("convalidated", ScalarValue::Boolean(Some(true))),
        ("conrelid", ScalarValue::Int32(Some(table))),
        ("contypid", ScalarValue::Int32(Some(0))),
        ("conindid", ScalarValue::Int32(Some(index))),
        ("conparentid", ScalarValue::Int32(Some(0))),
        ("confrelid", ScalarValue::Int32(Some(foreign_table))),
        ("confupdtype", action.clone()),
        ("confdeltype", action),
        ("confmatchtype", ScalarValue::from(if kind == "f" { "s" } else { " " })),
        ("conislocal", ScalarValue::Boolean(Some(true))),
        ("coninhcount", ScalarValue::Int16(Some(0))),
        ("connoinherit", ScalarValue::Boolean(Some(true))),
        ("conkey", key),
    ]);
    if let Some(k) = foreign_key {
        row.insert("confkey", k);
    }
    row
}

/// The numbers as `Int16` values.
fn ints(nums: Vec<i32>) -> Vec<ScalarValue> {
    nums.into_iter().map(|n| ScalarValue::Int16(Some(n as i16))).collect()
}

/// One integer a catalog query answers.
async fn one_int(ctx: &SessionContext, sql: &str) -> Result<i32> {
    let batches = ctx.sql(sql).await?.collect().await?;
    batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(|b| b.column(0).as_primitive::<Int32Type>().value(0))
        .ok_or_else(|| DataFusionError::Plan(format!("the catalog has no answer to {sql}")))
}

/// A catalog table's schema and rows, as `pg_catalog` has them now.
async fn read(ctx: &SessionContext, pg: &Arc<dyn SchemaProvider>, name: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let table = pg.table(name).await?.ok_or_else(|| DataFusionError::Plan(format!("pg_catalog has no {name}")))?;
    let plan = table.scan(&ctx.state(), None, &[], None).await?;
    let batches = datafusion::physical_plan::collect(plan, ctx.task_ctx()).await?;
    Ok((table.schema(), batches))
}

/// The row of `batches` whose `column` is `value`, by column name.
fn row_of(batches: &[RecordBatch], column: &str, value: &str) -> Result<HashMap<&'static str, ScalarValue>> {
    for b in batches {
        let Some(col) = b.column_by_name(column) else { continue };
        let col = col.as_string::<i32>();
        if let Some(r) = (0..b.num_rows()).find(|&r| col.value(r) == value) {
            let mut row = HashMap::new();
            for (i, f) in b.schema().fields().iter().enumerate() {
                // the catalog's column names live as long as the program: leaked once per name
                let name: &'static str = Box::leak(f.name().clone().into_boxed_str());
                row.insert(name, ScalarValue::try_from_array(b.column(i), r)?);
            }
            return Ok(row);
        }
    }
    Err(DataFusionError::Plan(format!("the catalog has no row with {column} = {value}")))
}

/// A batch of `schema` with the given rows: each column's value cast to its type, NULL where a
/// row has none.
fn rows(schema: &SchemaRef, rows: &[HashMap<&str, ScalarValue>]) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let values = rows
                .iter()
                .map(|r| match r.get(f.name().as_str()) {
                    Some(v) if v.data_type() == *f.data_type() => Ok(v.clone()),
                    Some(v) => v.cast_to(f.data_type()),
                    None => ScalarValue::try_from(f.data_type()),
                })
                .collect::<Result<Vec<_>>>()?;
            match values.is_empty() {
                true => Ok(datafusion::arrow::array::new_empty_array(f.data_type())),
                false => ScalarValue::iter_to_array(values),
            }
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// `batch` in `schema`, whose list columns were text such as `1 2`, `[1, 2]` or `{d,f}`: the
/// numbers (or words) in the text, in order.
fn as_lists(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let col = batch.column(i);
            if !matches!(f.data_type(), DataType::List(_)) || !matches!(col.data_type(), DataType::Utf8) {
                return Ok(col.clone());
            }
            let text = col.as_string::<i32>();
            let values = (0..text.len())
                .map(|r| match text.is_null(r) || text.value(r).trim().is_empty() {
                    true => ScalarValue::try_from(f.data_type()),
                    false if matches!(f.data_type(), DataType::List(e) if e.data_type() == &DataType::Utf8) => {
                        let words: Vec<ScalarValue> = text
                            .value(r)
                            .split(|c: char| "{}[], \"".contains(c))
                            .filter(|w| !w.is_empty())
                            .map(ScalarValue::from)
                            .collect();
                        Ok(ScalarValue::List(ScalarValue::new_list_nullable(&words, &DataType::Utf8)))
                    }
                    false => {
                        let nums: Vec<i32> = text
                            .value(r)
                            .split(|c: char| !(c.is_ascii_digit() || c == '-'))
                            .filter_map(|n| n.parse().ok())
                            .collect();
                        Ok(ScalarValue::List(ScalarValue::new_list_nullable(&ints(nums), &DataType::Int16)))
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            match values.is_empty() {
                true => Ok(datafusion::arrow::array::new_empty_array(f.data_type())),
                false => ScalarValue::iter_to_array(values),
            }
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// `_pg_expandarray(array)`: the list of records `(x, n)`, each element with its position from
/// 1, that `information_schema._pg_expandarray` returns as rows (`compat.rs` unnests it).
#[derive(Debug, PartialEq, Eq, Hash)]
struct ExpandArray {
    signature: Signature,
}

impl ExpandArray {
    fn new() -> ExpandArray {
        ExpandArray { signature: Signature::any(1, Volatility::Immutable) }
    }

    fn record() -> Fields {
        Fields::from(vec![Field::new("x", DataType::Int32, true), Field::new("n", DataType::Int32, true)])
    }
}

impl ScalarUDFImpl for ExpandArray {
    fn name(&self) -> &str {
        "_pg_expandarray"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(DataType::Struct(Self::record()), true))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let lists = cast(&arrays[0], &DataType::new_list(DataType::Int32, true))?;
        let lists = lists.as_list::<i32>();
        let (mut xs, mut ns, mut offsets) = (Vec::new(), Vec::new(), vec![0i32]);
        for r in 0..lists.len() {
            if lists.is_valid(r) {
                let values = lists.value(r);
                let values = values.as_primitive::<Int32Type>();
                for (i, v) in values.iter().enumerate() {
                    xs.push(v);
                    ns.push(Some(i as i32 + 1));
                }
            }
            offsets.push(xs.len() as i32);
        }
        let record = StructArray::try_new(
            Self::record(),
            vec![Arc::new(Int32Array::from(xs)), Arc::new(Int32Array::from(ns))],
            None,
        )?;
        let field = Arc::new(Field::new("item", DataType::Struct(Self::record()), true));
        let out =
            ListArray::try_new(field, OffsetBuffer::new(offsets.into()), Arc::new(record), lists.nulls().cloned())?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// `pg_get_indexdef(index oid[, column, pretty])` (the `CREATE INDEX` statement, or column
/// `column`'s name from 1), `pg_get_constraintdef(constraint oid[, pretty])` or
/// `pg_get_viewdef(view oid[, pretty])`, for the keys' indexes and constraints and the catalog's
/// views; NULL for any other OID.
#[derive(Debug)]
struct Definition {
    name: &'static str,
    defs: Arc<Definitions>,
    signature: Signature,
}

impl Definition {
    fn new(name: &'static str, defs: Arc<Definitions>) -> Definition {
        let arities = if name == "pg_get_indexdef" { vec![1, 3] } else { vec![1, 2] };
        let signature = Signature::one_of(arities.into_iter().map(TypeSignature::Any).collect(), Volatility::Stable);
        Definition { name, defs, signature }
    }
}

super::functions::identity_by_name!(Definition);

impl ScalarUDFImpl for Definition {
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
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let oid = cast(&arrays[0], &DataType::Int32)?;
        let oid = oid.as_primitive::<Int32Type>();
        let column = match (self.name, arrays.get(1)) {
            ("pg_get_indexdef", Some(c)) => Some(cast(c, &DataType::Int32)?),
            _ => None,
        };
        let out: StringArray = (0..args.number_rows)
            .map(|r| {
                if oid.is_null(r) {
                    return None;
                }
                let id = oid.value(r);
                match self.name {
                    "pg_get_constraintdef" => return self.defs.constraints.get(&id).cloned(),
                    "pg_get_viewdef" => return self.defs.views.get(&id).cloned(),
                    _ => {}
                }
                let index = self.defs.indexes.get(&id)?;
                let k = column
                    .as_ref()
                    .map_or(0, |c| if c.is_null(r) { 0 } else { c.as_primitive::<Int32Type>().value(r) });
                match k {
                    k if k < 0 => None,
                    0 => Some(format!(
                        "CREATE UNIQUE INDEX {}_pkey ON public.{} USING btree ({})",
                        index.table,
                        index.table,
                        index.columns.join(", ")
                    )),
                    k => index.columns.get(k as usize - 1).cloned(),
                }
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// `relation_name(oid)`: the relation's name, as PostgreSQL prints a `regclass` (`compat.rs`
/// rewrites a column's cast to it); the number itself for an OID no relation has.
#[derive(Debug)]
struct RelationName {
    names: HashMap<i32, String>,
    signature: Signature,
}

super::functions::identity_by_name!(RelationName);

impl ScalarUDFImpl for RelationName {
    fn name(&self) -> &str {
        "relation_name"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let oid = cast(&arrays[0], &DataType::Int32)?;
        let oid = oid.as_primitive::<Int32Type>();
        let out: StringArray = (0..args.number_rows)
            .map(|r| {
                oid.is_valid(r)
                    .then(|| self.names.get(&oid.value(r)).cloned().unwrap_or_else(|| oid.value(r).to_string()))
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}
