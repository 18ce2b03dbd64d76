//! The PostgreSQL catalog functions BI clients call that `datafusion-pg-catalog` lacks, each
//! answered as PostgreSQL would for this warehouse: [`register`] adds them to a session.

use datafusion::arrow::array::{Array, AsArray, Int32Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int32Type, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
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
    // no triggers: pg_trigger is empty, but psql's `\d` names the function in its query
    ctx.register_udf(Constant::udf("pg_get_triggerdef", 2, ScalarValue::Utf8(None)));
    ctx.register_udf(ScalarUDF::from(ToRegtype::read(ctx).await?));
    ctx.register_udf(ScalarUDF::from(JsonBuildObject { signature: Signature::variadic_any(Volatility::Immutable) }));
    ctx.register_udf(ScalarUDF::from(SizePretty { signature: Signature::any(1, Volatility::Immutable) }));
    ctx.register_udf(ScalarUDF::from(Comment::new("col_description", comments.clone(), true)));
    ctx.register_udf(ScalarUDF::from(Comment::new("obj_description", comments, false)));
    super::bounds::wrap_functions(ctx)?;
    Ok(())
}

/// `PartialEq`, `Eq` and `Hash` for a catalog function whose identity is its name: a session
/// has one function of each name.
macro_rules! identity_by_name {
    ($t:ty) => {
        impl PartialEq for $t {
            fn eq(&self, other: &Self) -> bool {
                datafusion::logical_expr::ScalarUDFImpl::name(self)
                    == datafusion::logical_expr::ScalarUDFImpl::name(other)
            }
        }

        impl Eq for $t {}

        impl std::hash::Hash for $t {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                datafusion::logical_expr::ScalarUDFImpl::name(self).hash(state);
            }
        }
    };
}
pub(super) use identity_by_name;

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

identity_by_name!(Comment);

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

identity_by_name!(ToRegtype);

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
