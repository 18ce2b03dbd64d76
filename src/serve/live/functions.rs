//! The PostgreSQL catalog functions BI clients call that `datafusion-pg-catalog` lacks, each
//! answered as PostgreSQL would for this warehouse: [`register`] adds them to a session.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, FieldRef, Int32Type, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use datafusion::prelude::SessionContext;
use std::collections::HashMap;
use std::sync::Arc;

/// The comments of the schema's tables (`(oid, 0)`) and columns (`(table oid, column number)`).
pub(super) type Comments = Arc<HashMap<(i32, i32), String>>;

/// Adds the functions to `ctx`, with the schema's `comments` for `col_description` and
/// `obj_description`.
pub(super) async fn register(ctx: &SessionContext, comments: Comments) -> Result<()> {
    ctx.register_udf(Constant::udf("version", 0, ScalarValue::Utf8(Some(VERSION.into()))));
    // the warehouse has no sequences, one schema of collations, and reports no sizes
    ctx.register_udf(Constant::udf("pg_get_serial_sequence", 2, ScalarValue::Utf8(None)));
    ctx.register_udf(Constant::udf("pg_collation_is_visible", 1, ScalarValue::Boolean(Some(true))));
    ctx.register_udf(Constant::udf("pg_table_size", 1, ScalarValue::Int64(None)));
    ctx.register_udf(ScalarUDF::from(ToRegtype::read(ctx).await?));
    ctx.register_udf(ScalarUDF::from(JsonBuildObject { signature: Signature::variadic_any(Volatility::Immutable) }));
    ctx.register_udf(ScalarUDF::from(SizePretty { signature: Signature::any(1, Volatility::Immutable) }));
    ctx.register_udf(ScalarUDF::from(Comment::new("col_description", comments.clone(), true)));
    ctx.register_udf(ScalarUDF::from(Comment::new("obj_description", comments, false)));
    for (name, check) in CAPPED {
        if let Ok(inner) = ctx.udf(name) {
            ctx.register_udf(ScalarUDF::from(Capped { inner: inner.inner().clone(), check: *check }));
        }
    }
    Ok(())
}

/// A check of a function's arguments before it runs.
type Check = fn(&[ArrayRef]) -> Result<()>;

/// The longest text one value may grow to through `repeat`, `lpad` or `rpad`.
const MAX_TEXT: i64 = 16 << 20;
/// The most elements `range` or `generate_series` may put in one array.
const MAX_ELEMENTS: i64 = 10_000_000;

/// The functions whose output a statement sizes with its arguments, and the check that bounds
/// them: DataFusion computes a constant call while it plans, on the server's own threads, where
/// neither the time limit nor the memory pool reaches (`repeat('a', 1e9)` would stall the server
/// and take a gigabyte).
const CAPPED: &[(&str, Check)] = &[
    ("repeat", check_repeat),
    ("lpad", check_pad),
    ("rpad", check_pad),
    ("range", check_series),
    ("generate_series", check_series),
];

fn too_large(what: &str) -> DataFusionError {
    DataFusionError::Execution(format!(
        "{what}: over what one value may hold here (16 MB of text, 10 million elements)"
    ))
}

fn ints(a: &ArrayRef) -> Option<ArrayRef> {
    a.data_type().is_integer().then(|| cast(a, &DataType::Int64).ok()).flatten()
}

fn check_repeat(args: &[ArrayRef]) -> Result<()> {
    let (Some(text), Some(n)) =
        (args.first().and_then(|a| cast(a, &DataType::LargeUtf8).ok()), args.get(1).and_then(ints))
    else {
        return Ok(());
    };
    let (text, n) = (text.as_string::<i64>(), n.as_primitive::<Int64Type>());
    for r in 0..text.len().max(n.len()) {
        let (t, k) = (text.value(r.min(text.len() - 1)), n.value(r.min(n.len() - 1)));
        if (t.len() as i64).saturating_mul(k) > MAX_TEXT {
            return Err(too_large("repeat() would build a text too long"));
        }
    }
    Ok(())
}

fn check_pad(args: &[ArrayRef]) -> Result<()> {
    let Some(n) = args.get(1).and_then(ints) else { return Ok(()) };
    match datafusion::arrow::compute::max(n.as_primitive::<Int64Type>()) {
        Some(m) if m > MAX_TEXT => Err(too_large("lpad()/rpad() would build a text too long")),
        _ => Ok(()),
    }
}

fn check_series(args: &[ArrayRef]) -> Result<()> {
    let bounds: Vec<_> = args.iter().map(ints).collect();
    let [Some(start), Some(stop), step @ ..] = bounds.as_slice() else { return Ok(()) };
    let (start, stop) = (start.as_primitive::<Int64Type>(), stop.as_primitive::<Int64Type>());
    let step = step.first().cloned().flatten();
    let step = step.as_ref().map(|s| s.as_primitive::<Int64Type>());
    let rows = start.len().max(stop.len());
    for r in 0..rows {
        let at = |a: &datafusion::arrow::array::Int64Array| a.value(r.min(a.len().saturating_sub(1)));
        if start.is_empty() || stop.is_empty() {
            return Ok(());
        }
        let by = step.map(at).unwrap_or(1).unsigned_abs().max(1) as i128;
        let span = (at(stop) as i128 - at(start) as i128).unsigned_abs() as i128;
        if span / by > MAX_ELEMENTS as i128 {
            return Err(too_large("range()/generate_series() would build an array too large"));
        }
    }
    Ok(())
}

/// A DataFusion function run only after [`CAPPED`]'s check of its arguments.
#[derive(Debug)]
struct Capped {
    inner: Arc<dyn ScalarUDFImpl>,
    check: Check,
}

impl PartialEq for Capped {
    fn eq(&self, other: &Self) -> bool {
        self.inner.name() == other.inner.name()
    }
}

impl Eq for Capped {}

impl std::hash::Hash for Capped {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.name().hash(state);
    }
}

impl ScalarUDFImpl for Capped {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        self.inner.return_type(args)
    }

    fn return_field_from_args(&self, args: datafusion::logical_expr::ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(args)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows.max(1);
        let arrays: Vec<ArrayRef> = args.args.iter().map(|a| a.clone().into_array(rows)).collect::<Result<_>>()?;
        (self.check)(&arrays)?;
        self.inner.invoke_with_args(args)
    }
}

/// A catalog function with one answer whatever its arguments: what a client asks of PostgreSQL
/// that has a fixed answer here.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Constant {
    name: &'static str,
    value: ScalarValue,
    signature: Signature,
}

/// The text of `version()`: PostgreSQL's wording (clients read the server's version off it;
/// SQLAlchemy refuses a server whose version it cannot parse), naming the PostgreSQL release
/// whose catalog `datafusion-pg-catalog` copies.
const VERSION: &str = concat!(
    "PostgreSQL 16.6 (shoplens ",
    env!("CARGO_PKG_VERSION"),
    " on Apache DataFusion 55, datafusion-postgres 0.19)"
);

impl Constant {
    fn udf(name: &'static str, arity: usize, value: ScalarValue) -> ScalarUDF {
        let signature =
            if arity == 0 { Signature::nullary(Volatility::Stable) } else { Signature::any(arity, Volatility::Stable) };
        ScalarUDF::from(Constant { name, value, signature })
    }
}

impl ScalarUDFImpl for Constant {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(self.value.data_type())
    }

    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(self.value.clone()))
    }
}

/// `col_description(table_oid, column_number)` (`column` is true) or
/// `obj_description(oid[, catalog])`: the comment, or NULL.
#[derive(Debug)]
struct Comment {
    name: &'static str,
    column: bool,
    comments: Comments,
    signature: Signature,
}

impl Comment {
    fn new(name: &'static str, comments: Comments, column: bool) -> Comment {
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

/// `pg_size_pretty(bytes)`, worded as PostgreSQL words it: bytes below 10 kB, then kB, MB, GB,
/// TB, PB, each rounded half up from the unit below.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SizePretty {
    signature: Signature,
}

/// `bytes` as `pg_size_pretty` shows it.
fn size_pretty(bytes: i64) -> String {
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
        let bytes = bytes.as_primitive::<Int64Type>();
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
