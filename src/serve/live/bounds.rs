//! Bounded work per live statement, whatever its SQL: a statement that would build more than the
//! server can hold is refused before the allocation, not after (a failed allocation aborts the
//! whole process, and DataFusion's memory pool does not see what a function or an expression
//! builds).
//!
//! Four layers, each for a path the others do not cover:
//! - [`check_text`]: a statement's text is at most [`MAX_STATEMENT_BYTES`] and names no
//!   parameter above `$65535`, checked before it is parsed (a 20 MB statement of blanks costs
//!   gigabytes to parse; `$99999999999` sizes a vector of parameter types);
//! - [`wrap_functions`]: every function whose output size its arguments choose (`repeat`,
//!   `lpad`, `replace`, `array_repeat`, `range`, `concat`…) estimates its output before it runs,
//!   per value ([`MAX_VALUE_BYTES`]; [`MAX_CONSTANT_BYTES`] for a constant call) and per batch
//!   ([`MAX_BATCH_BYTES`]); this holds while a statement is planned too, where DataFusion folds
//!   constant calls on the server's own threads;
//! - [`ConcatOperator`]: the `||` operator on text is planned as such a function, so that
//!   folding `a || a || …` is bounded like `concat`;
//! - [`GuardInputs`]: before an operator evaluates its expressions over a batch, what they would
//!   allocate is estimated (a constant repeated for every row, `||` chains, a function's
//!   arguments) and the statement is refused beyond [`MAX_BATCH_BYTES`]; `array_agg` and
//!   `string_agg` over a window frame (an output that grows with the square of the rows) and a
//!   `string_agg` delimiter over [`MAX_DELIMITER_BYTES`] are refused when the plan is made; a
//!   join's inputs may not pass a row wider than [`MAX_BATCH_BYTES`] over the batch size (a
//!   join repeats a row of one side for each row of the other's batch).

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, FieldRef, Int64Type, IntervalMonthDayNanoType, TimeUnit};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::common::{ScalarValue, Statistics};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, ExprSchemable, LogicalPlan, Operator, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use datafusion::optimizer::AnalyzerRule;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{BinaryExpr as PhysicalBinary, Column, InListExpr, LikeExpr, Literal};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::AggregateExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::windows::{BoundedWindowAggExec, WindowAggExec};
use datafusion::physical_plan::{
    ChildStats, DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, StatisticsArgs, WindowExpr,
};
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use std::sync::Arc;

/// The longest statement text accepted, in bytes (PostgreSQL's own limit is 1 GB; parsing
/// costs about a hundred times the text).
pub const MAX_STATEMENT_BYTES: usize = 1 << 20;
/// The highest parameter number a statement may name (`$65535`: the protocol's count is 16
/// bits).
pub const MAX_PARAMETER: u64 = 65_535;
/// The largest value one function call may build: 16 MB of text, or an array of that size.
pub const MAX_VALUE_BYTES: u128 = 16 << 20;
/// The largest value a constant call (its arguments all constants) may build: 1 MB.
pub const MAX_CONSTANT_BYTES: u128 = 1 << 20;
/// The most elements one array value may hold.
pub const MAX_ELEMENTS: u128 = 10_000_000;
/// The most bytes the expressions of one operator (or one function call) may build for one
/// batch of rows.
pub const MAX_BATCH_BYTES: u128 = 64 << 20;
/// The longest delimiter `string_agg` may put between values: it is repeated once per row.
pub const MAX_DELIMITER_BYTES: usize = 16;

/// Why [`check_text`] refuses a statement: the SQLSTATE (`54000`, program limit exceeded;
/// `42P02`, undefined parameter) and the message.
pub type Refusal = (&'static str, String);

/// Checks a statement's text before it is parsed: its length, and that each parameter it names
/// (`$n`, outside quotes and comments) is at most `$65535`.
///
/// # Errors
/// The SQLSTATE and message to answer with.
pub fn check_text(sql: &str) -> Result<(), Refusal> {
    if sql.len() > MAX_STATEMENT_BYTES {
        return Err((
            "54000",
            format!("the statement is too long ({} bytes): at most {} bytes here", sql.len(), MAX_STATEMENT_BYTES),
        ));
    }
    if !sql.contains('$') {
        return Ok(());
    }
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    // the parser reports a text it cannot read; here only the parameters matter
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize() else { return Ok(()) };
    for token in tokens {
        if let Token::Placeholder(p) = token
            && let Some(digits) = p.strip_prefix('$')
            && !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && digits.parse::<u64>().map_or(true, |n| n > MAX_PARAMETER)
        {
            let shown: String = p.chars().take(24).collect();
            return Err(("42P02", format!("there is no parameter {shown}: parameters go up to ${MAX_PARAMETER}")));
        }
    }
    Ok(())
}

fn refused(what: &str) -> DataFusionError {
    DataFusionError::ResourcesExhausted(format!(
        "{what}: over what one value may hold here ({} MB, {} MB for a constant, {} million elements)",
        MAX_VALUE_BYTES >> 20,
        MAX_CONSTANT_BYTES >> 20,
        MAX_ELEMENTS / 1_000_000
    ))
}

fn refused_batch(what: &str) -> DataFusionError {
    DataFusionError::ResourcesExhausted(format!(
        "{what}: over what one batch of rows may hold here ({} MB): aggregate, or select fewer rows at a time",
        MAX_BATCH_BYTES >> 20
    ))
}

// ---- sizes of arguments, row by row, without building a broadcast constant ----

/// The bytes a value of this scalar holds.
fn scalar_bytes(s: &ScalarValue) -> u128 {
    match s {
        ScalarValue::Utf8(Some(v)) | ScalarValue::LargeUtf8(Some(v)) | ScalarValue::Utf8View(Some(v)) => {
            v.len() as u128
        }
        ScalarValue::Binary(Some(v)) | ScalarValue::LargeBinary(Some(v)) | ScalarValue::BinaryView(Some(v)) => {
            v.len() as u128
        }
        ScalarValue::FixedSizeBinary(_, Some(v)) => v.len() as u128,
        ScalarValue::List(a) => a.get_array_memory_size() as u128,
        ScalarValue::LargeList(a) => a.get_array_memory_size() as u128,
        ScalarValue::FixedSizeList(a) => a.get_array_memory_size() as u128,
        ScalarValue::Struct(a) => a.get_array_memory_size() as u128,
        ScalarValue::Map(a) => a.get_array_memory_size() as u128,
        _ => 16,
    }
}

/// Bytes per row of an argument: one number for a constant, or one per row.
enum Sizes {
    Same(u128),
    Each(Vec<u128>),
}

impl Sizes {
    fn at(&self, r: usize) -> u128 {
        match self {
            Sizes::Same(n) => *n,
            Sizes::Each(v) => v.get(r).copied().unwrap_or(0),
        }
    }
}

/// The bytes each row of `a` holds (text and binary exactly, lists by their share of the
/// values, anything else by its width).
fn array_row_bytes(a: &dyn Array) -> Vec<u128> {
    let n = a.len();
    match a.data_type() {
        DataType::Utf8 => {
            let s = a.as_string::<i32>();
            (0..n).map(|r| s.value_length(r) as u128).collect()
        }
        DataType::LargeUtf8 => {
            let s = a.as_string::<i64>();
            (0..n).map(|r| s.value_length(r) as u128).collect()
        }
        DataType::Utf8View => {
            let s = a.as_string_view();
            (0..n).map(|r| s.value(r).len() as u128).collect()
        }
        DataType::Binary => {
            let s = a.as_binary::<i32>();
            (0..n).map(|r| s.value_length(r) as u128).collect()
        }
        DataType::LargeBinary => {
            let s = a.as_binary::<i64>();
            (0..n).map(|r| s.value_length(r) as u128).collect()
        }
        DataType::List(_) => {
            let l = a.as_list::<i32>();
            let per = per_element(l.values().as_ref());
            (0..n).map(|r| l.value_length(r) as u128 * per + 8).collect()
        }
        DataType::LargeList(_) => {
            let l = a.as_list::<i64>();
            let per = per_element(l.values().as_ref());
            (0..n).map(|r| l.value_length(r) as u128 * per + 8).collect()
        }
        other => {
            let width = other.primitive_width().map(|w| w as u128).unwrap_or_else(|| {
                (a.to_data().get_slice_memory_size().unwrap_or(0) as u128 / (n.max(1) as u128)).max(16)
            });
            vec![width; n]
        }
    }
}

/// The average bytes of one element of a list's values.
fn per_element(values: &dyn Array) -> u128 {
    let bytes = values.to_data().get_slice_memory_size().unwrap_or(0) as u128;
    (bytes / values.len().max(1) as u128).max(1)
}

fn row_bytes(v: &ColumnarValue) -> Sizes {
    match v {
        ColumnarValue::Scalar(s) => Sizes::Same(scalar_bytes(s)),
        ColumnarValue::Array(a) => Sizes::Each(array_row_bytes(a.as_ref())),
    }
}

/// The elements each row of a list argument holds.
fn row_elements(v: &ColumnarValue) -> Sizes {
    match v {
        ColumnarValue::Scalar(ScalarValue::List(a)) => Sizes::Same(a.values().len() as u128),
        ColumnarValue::Scalar(ScalarValue::LargeList(a)) => Sizes::Same(a.values().len() as u128),
        ColumnarValue::Scalar(_) => Sizes::Same(1),
        ColumnarValue::Array(a) => match a.data_type() {
            DataType::List(_) => {
                let l = a.as_list::<i32>();
                Sizes::Each((0..l.len()).map(|r| l.value_length(r) as u128).collect())
            }
            DataType::LargeList(_) => {
                let l = a.as_list::<i64>();
                Sizes::Each((0..l.len()).map(|r| l.value_length(r) as u128).collect())
            }
            _ => Sizes::Same(1),
        },
    }
}

/// An integer argument, row by row (`None`: NULL or not an integer).
enum Ints {
    Same(Option<i64>),
    Each(Int64Array),
}

impl Ints {
    fn at(&self, r: usize) -> Option<i64> {
        match self {
            Ints::Same(n) => *n,
            Ints::Each(a) => (r < a.len() && a.is_valid(r)).then(|| a.value(r)),
        }
    }
}

fn ints(v: Option<&ColumnarValue>) -> Ints {
    let Some(v) = v else { return Ints::Same(None) };
    match v {
        ColumnarValue::Scalar(s) => Ints::Same(s.cast_to(&DataType::Int64).ok().and_then(|s| match s {
            ScalarValue::Int64(n) => n,
            _ => None,
        })),
        ColumnarValue::Array(a) if a.data_type().is_numeric() => match cast(a, &DataType::Int64) {
            Ok(c) => Ints::Each(c.as_primitive::<Int64Type>().clone()),
            Err(_) => Ints::Same(None),
        },
        ColumnarValue::Array(_) => Ints::Same(None),
    }
}

/// Checks the output a call would build: `per_row(r)` bytes for row `r`, each at most `cap`
/// ([`value_cap`]), all at most [`MAX_BATCH_BYTES`].
fn check_rows(rows: usize, cap: u128, what: &str, per_row: impl Fn(usize) -> u128) -> Result<()> {
    let mut total: u128 = 0;
    for r in 0..rows {
        let one = per_row(r);
        if one > cap {
            return Err(refused(&format!("{what}() would build a value too large")));
        }
        total += one;
        if total > MAX_BATCH_BYTES {
            return Err(refused_batch(&format!("{what}() would build too much")));
        }
    }
    Ok(())
}

/// Estimates a function's output before it runs; `Err` refuses the call.
type Estimate = fn(&str, &[ColumnarValue], usize, u128) -> Result<()>;

/// The most one value of a call with these arguments may hold: [`MAX_CONSTANT_BYTES`] for a
/// constant call (all arguments constant: DataFusion computes it while it plans, and then copies
/// the result with the plan, where neither the time limit nor the memory pool reaches),
/// [`MAX_VALUE_BYTES`] otherwise.
fn value_cap(args: &[ColumnarValue]) -> u128 {
    if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) { MAX_CONSTANT_BYTES } else { MAX_VALUE_BYTES }
}

/// The sum of the arguments' sizes, times `factor`: functions whose output is made of their
/// inputs (`concat`, `make_array`, `array_concat`…) or a few times them (`upper`, `translate`).
fn sum_of_args(what: &str, args: &[ColumnarValue], rows: usize, cap: u128, factor: u128) -> Result<()> {
    let sizes: Vec<Sizes> = args.iter().map(row_bytes).collect();
    check_rows(rows, cap, what, |r| sizes.iter().map(|s| s.at(r)).sum::<u128>() * factor + 16)
}

fn est_sum(what: &str, args: &[ColumnarValue], rows: usize, cap: u128) -> Result<()> {
    sum_of_args(what, args, rows, cap, 1)
}

fn est_sum4(what: &str, args: &[ColumnarValue], rows: usize, cap: u128) -> Result<()> {
    sum_of_args(what, args, rows, cap, 4)
}

fn est_concat_ws(what: &str, args: &[ColumnarValue], rows: usize, cap: u128) -> Result<()> {
    let sizes: Vec<Sizes> = args.iter().map(row_bytes).collect();
    let parts = args.len().saturating_sub(1) as u128;
    check_rows(rows, cap, what, |r| {
        let sep = sizes.first().map(|s| s.at(r)).unwrap_or(0);
        sizes.iter().skip(1).map(|s| s.at(r)).sum::<u128>() + sep * parts + 16
    })
}

fn est_repeat(what: &str, args: &[ColumnarValue], rows: usize, cap: u128) -> Result<()> {
    let text = args.first().map(row_bytes).unwrap_or(Sizes::Same(0));
    let n = ints(args.get(1));
    check_rows(rows, cap, what, |r| text.at(r) * n.at(r).unwrap_or(0).max(0) as u128)
}

fn est_pad(what: &str, args: &[ColumnarValue], rows: usize, cap: u128) -> Result<()> {
    let text = args.first().map(row_bytes).unwrap_or(Sizes::Same(0));
    let n = ints(args.get(1));
    // a character of the fill is up to 4 bytes
    check_rows(rows, cap, what, |r| n.at(r).unwrap_or(0).max(0) as u128 * 4 + text.at(r))
}

fn est_replace(what: &str, args: &[ColumnarValue], rows: usize, cap: u128) -> Result<()> {
    let [s, from, to] = [0, 1, 2].map(|i| args.get(i).map(row_bytes).unwrap_or(Sizes::Same(0)));
    check_rows(rows, cap, what, |r| {
        let (s, from, to) = (s.at(r), from.at(r), to.at(r));
        // an empty pattern matches between every two characters
        let matches = s.checked_div(from).unwrap_or(s + 1);
        s + matches * to
    })
}

fn est_regexp_replace(what: &str, args: &[ColumnarValue], rows: usize, cap: u128) -> Result<()> {
    let s = args.first().map(row_bytes).unwrap_or(Sizes::Same(0));
    let repl = args.get(2).map(row_bytes).unwrap_or(Sizes::Same(0));
    // up to one match per position, each replaced by the replacement, whose references to the
    // match add at most the text again per reference
    check_rows(rows, cap, what, |r| s.at(r) + (s.at(r) + 1) * repl.at(r) * 2)
}

fn est_regexp_match(what: &str, args: &[ColumnarValue], rows: usize, cap: u128) -> Result<()> {
    let s = args.first().map(row_bytes).unwrap_or(Sizes::Same(0));
    let pattern = args.get(1).map(row_bytes).unwrap_or(Sizes::Same(0));
    // one capture per group, each up to the whole text
    check_rows(rows, cap, what, |r| s.at(r) * (1 + pattern.at(r)) + 16)
}

fn est_array_repeat(what: &str, args: &[ColumnarValue], rows: usize, cap: u128) -> Result<()> {
    let element = args.first().map(row_bytes).unwrap_or(Sizes::Same(0));
    let n = ints(args.get(1));
    for r in 0..rows {
        if n.at(r).unwrap_or(0).max(0) as u128 > MAX_ELEMENTS {
            return Err(refused("array_repeat() would build an array too large"));
        }
    }
    check_rows(rows, cap, what, |r| (element.at(r) + 8) * n.at(r).unwrap_or(0).max(0) as u128)
}

fn est_array_resize(what: &str, args: &[ColumnarValue], rows: usize, cap: u128) -> Result<()> {
    let list = args.first().map(row_bytes).unwrap_or(Sizes::Same(0));
    let n = ints(args.get(1));
    for r in 0..rows {
        if n.at(r).unwrap_or(0).max(0) as u128 > MAX_ELEMENTS {
            return Err(refused("array_resize() would build an array too large"));
        }
    }
    check_rows(rows, cap, what, |r| list.at(r) + 16 * n.at(r).unwrap_or(0).max(0) as u128)
}

fn est_array_to_string(what: &str, args: &[ColumnarValue], rows: usize, cap: u128) -> Result<()> {
    let list = args.first().map(row_bytes).unwrap_or(Sizes::Same(0));
    let elements = args.first().map(row_elements).unwrap_or(Sizes::Same(0));
    let delimiter = args.get(1).map(row_bytes).unwrap_or(Sizes::Same(0));
    let null = args.get(2).map(row_bytes).unwrap_or(Sizes::Same(0));
    check_rows(rows, cap, what, |r| list.at(r) * 2 + elements.at(r) * (delimiter.at(r) + null.at(r) + 24))
}

fn est_string_to_array(what: &str, args: &[ColumnarValue], rows: usize, cap: u128) -> Result<()> {
    let s = args.first().map(row_bytes).unwrap_or(Sizes::Same(0));
    // an empty delimiter makes each character an element: its offset and validity too
    check_rows(rows, cap, what, |r| s.at(r) * 17 + 16)
}

fn est_to_char(what: &str, args: &[ColumnarValue], rows: usize, cap: u128) -> Result<()> {
    let format = args.get(1).map(row_bytes).unwrap_or(Sizes::Same(0));
    // a two-character directive writes at most about thirty
    check_rows(rows, cap, what, |r| format.at(r) * 16 + 32)
}

/// The elements `range`/`generate_series(start, stop[, step])` would put in row `r`'s array.
fn est_series(what: &str, args: &[ColumnarValue], rows: usize, cap: u128) -> Result<()> {
    let temporal = args.first().is_some_and(|a| a.data_type().is_temporal());
    let count: Box<dyn Fn(usize) -> u128> = if temporal {
        // dates and times as microseconds, the step an interval
        let micros = |v: Option<&ColumnarValue>| -> Ints {
            let Some(v) = v else { return Ints::Same(None) };
            let ts = DataType::Timestamp(TimeUnit::Microsecond, None);
            match v {
                ColumnarValue::Scalar(s) => Ints::Same(
                    s.cast_to(&ts)
                        .ok()
                        .and_then(|s| s.cast_to(&DataType::Int64).ok())
                        .and_then(|s| if let ScalarValue::Int64(n) = s { n } else { None }),
                ),
                ColumnarValue::Array(a) => match cast(a, &ts).and_then(|a| cast(&a, &DataType::Int64)) {
                    Ok(c) => Ints::Each(c.as_primitive::<Int64Type>().clone()),
                    Err(_) => Ints::Same(None),
                },
            }
        };
        let (start, stop) = (micros(args.first()), micros(args.get(1)));
        let step: Vec<Option<i128>> = match args.get(2) {
            None => vec![Some(86_400_000_000_000)],
            Some(ColumnarValue::Scalar(ScalarValue::IntervalMonthDayNano(v))) => vec![v.map(nanos)],
            Some(ColumnarValue::Array(a)) if matches!(a.data_type(), DataType::Interval(_)) => {
                match cast(a, &DataType::Interval(datafusion::arrow::datatypes::IntervalUnit::MonthDayNano)) {
                    Ok(c) => {
                        let c = c.as_primitive::<IntervalMonthDayNanoType>().clone();
                        (0..c.len()).map(|r| c.is_valid(r).then(|| nanos(c.value(r)))).collect()
                    }
                    Err(_) => vec![None],
                }
            }
            Some(ColumnarValue::Scalar(s)) => {
                let s = s.cast_to(&DataType::Interval(datafusion::arrow::datatypes::IntervalUnit::MonthDayNano));
                vec![
                    s.ok().and_then(|s| if let ScalarValue::IntervalMonthDayNano(v) = s { v.map(nanos) } else { None }),
                ]
            }
            Some(_) => vec![None],
        };
        Box::new(move |r| {
            let (Some(a), Some(b)) = (start.at(r), stop.at(r)) else { return 0 };
            let by =
                step.get(r.min(step.len().saturating_sub(1))).copied().flatten().unwrap_or(1).unsigned_abs().max(1);
            let span = (b as i128 - a as i128).unsigned_abs() * 1000;
            span / by + 1
        })
    } else {
        let (start, stop, step) = (ints(args.first()), ints(args.get(1)), ints(args.get(2)));
        let one_argument = args.len() == 1;
        Box::new(move |r| {
            let (a, b) = if one_argument { (Some(0), start.at(r)) } else { (start.at(r), stop.at(r)) };
            let (Some(a), Some(b)) = (a, b) else { return 0 };
            let by = step.at(r).unwrap_or(1).unsigned_abs().max(1) as u128;
            (b as i128 - a as i128).unsigned_abs() / by + 1
        })
    };
    for r in 0..rows {
        if count(r) > MAX_ELEMENTS {
            return Err(refused(&format!("{what}() would build an array too large")));
        }
    }
    check_rows(rows, cap, what, |r| count(r) * 8)
}

fn nanos(v: datafusion::arrow::datatypes::IntervalMonthDayNano) -> i128 {
    const DAY: i128 = 86_400_000_000_000;
    (v.months as i128 * 30 + v.days as i128) * DAY + v.nanoseconds as i128
}

/// The functions whose output size their arguments choose, and how it is estimated.
const BOUNDED: &[(&str, Estimate)] = &[
    ("repeat", est_repeat),
    ("lpad", est_pad),
    ("rpad", est_pad),
    ("replace", est_replace),
    ("regexp_replace", est_regexp_replace),
    ("regexp_match", est_regexp_match),
    ("concat", est_sum),
    ("concat_ws", est_concat_ws),
    ("overlay", est_sum),
    ("translate", est_sum4),
    ("upper", est_sum4),
    ("lower", est_sum4),
    ("initcap", est_sum4),
    ("encode", est_sum4),
    ("to_char", est_to_char),
    ("date_format", est_to_char),
    ("string_to_array", est_string_to_array),
    ("array_to_string", est_array_to_string),
    ("array_repeat", est_array_repeat),
    ("array_resize", est_array_resize),
    ("make_array", est_sum),
    ("array_concat", est_sum),
    ("array_append", est_sum),
    ("array_prepend", est_sum),
    ("array_union", est_sum),
    ("range", est_series),
    ("generate_series", est_series),
];

/// Replaces each function of [`BOUNDED`] in `ctx` with one that estimates its output first.
///
/// # Errors
/// None today; the signature leaves room for a registry that refuses.
pub(super) fn wrap_functions(ctx: &SessionContext) -> Result<()> {
    use datafusion::execution::FunctionRegistry;
    for (name, estimate) in BOUNDED {
        if let Ok(inner) = ctx.udf(name) {
            ctx.register_udf(ScalarUDF::from(Bounded { inner: inner.inner().clone(), estimate: *estimate }));
        }
    }
    ctx.register_udf(ScalarUDF::from(ConcatOperator::new()));
    ctx.add_analyzer_rule(Arc::new(ConcatAsFunction));
    Ok(())
}

/// A DataFusion function run only after its output is estimated ([`BOUNDED`]).
#[derive(Debug)]
struct Bounded {
    inner: Arc<dyn ScalarUDFImpl>,
    estimate: Estimate,
}

// one function of each name exists: the name is its identity
impl PartialEq for Bounded {
    fn eq(&self, other: &Self) -> bool {
        self.inner.name() == other.inner.name()
    }
}

impl Eq for Bounded {}

impl std::hash::Hash for Bounded {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.name().hash(state);
    }
}

impl ScalarUDFImpl for Bounded {
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
        // constant arguments count once per row: the result is repeated for each
        (self.estimate)(self.inner.name(), &args.args, args.number_rows.max(1), value_cap(&args.args))?;
        self.inner.invoke_with_args(args)
    }
}

// ---- `||` on text as a function ----

/// The name [`ConcatOperator`] is registered under.
const CONCAT_OPERATOR: &str = "shoplens_text_concat";

/// `a || b` on text (NULL if either is), with its output estimated first like `concat`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ConcatOperator {
    signature: Signature,
}

impl ConcatOperator {
    fn new() -> ConcatOperator {
        ConcatOperator { signature: Signature::any(2, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for ConcatOperator {
    fn name(&self) -> &str {
        CONCAT_OPERATOR
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args.first().cloned().unwrap_or(DataType::Utf8))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows.max(1);
        est_sum("||", &args.args, rows, value_cap(&args.args))?;
        let out_type = args.return_field.data_type().clone();
        let [left, right] = args.args.as_slice() else {
            return Err(DataFusionError::Internal("|| takes two values".into()));
        };
        if let (ColumnarValue::Scalar(l), ColumnarValue::Scalar(r)) = (left, right) {
            let text = |s: &ScalarValue| -> Result<Option<String>> {
                Ok(match s.cast_to(&DataType::Utf8)? {
                    ScalarValue::Utf8(v) => v,
                    _ => None,
                })
            };
            let joined = match (text(l)?, text(r)?) {
                (Some(a), Some(b)) => Some(a + &b),
                _ => None,
            };
            return Ok(ColumnarValue::Scalar(ScalarValue::Utf8(joined).cast_to(&out_type)?));
        }
        let as_text = |v: &ColumnarValue| -> Result<ArrayRef> { Ok(cast(&v.to_array(rows)?, &DataType::LargeUtf8)?) };
        let joined = datafusion::arrow::compute::kernels::concat_elements::concat_elements_dyn(
            as_text(left)?.as_ref(),
            as_text(right)?.as_ref(),
        )?;
        Ok(ColumnarValue::Array(cast(&joined, &out_type)?))
    }
}

/// Plans `a || b` on text as [`ConcatOperator`], after type coercion: DataFusion folds a
/// constant `||` while it plans, with no bound on what it builds.
#[derive(Debug)]
struct ConcatAsFunction;

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

impl AnalyzerRule for ConcatAsFunction {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        let udf = Arc::new(ScalarUDF::from(ConcatOperator::new()));
        plan.transform_up_with_subqueries(|node| {
            let schema = node.schema().clone();
            let names = NamePreserver::new(&node);
            let inputs: Vec<_> = node.inputs().into_iter().map(|p| p.schema().clone()).collect();
            node.map_expressions(|e| {
                let saved = names.save(&e);
                let rewritten = e.transform_up(|e| match &e {
                    Expr::BinaryExpr(BinaryExpr { left, op: Operator::StringConcat, right }) => {
                        // the operands' types in the node's input (or its own schema: a leaf)
                        let typed = |x: &Expr| {
                            inputs.iter().find_map(|s| x.get_type(s.as_ref()).ok()).or_else(|| x.get_type(&schema).ok())
                        };
                        match (typed(left), typed(right)) {
                            (Some(l), Some(r)) if is_text(&l) && l == r => Ok(Transformed::yes(Expr::ScalarFunction(
                                datafusion::logical_expr::expr::ScalarFunction::new_udf(
                                    udf.clone(),
                                    vec![left.as_ref().clone(), right.as_ref().clone()],
                                ),
                            ))),
                            _ => Ok(Transformed::no(e)),
                        }
                    }
                    _ => Ok(Transformed::no(e)),
                })?;
                Ok(rewritten.update_data(|e| saved.restore(e)))
            })
        })
        .data()
    }

    fn name(&self) -> &str {
        "shoplens_concat_as_function"
    }
}

// ---- what an operator's expressions build for one batch ----

/// Whether `op` evaluates a constant operand as it is (a comparison, arithmetic, logic), rather
/// than repeating it for every row.
fn keeps_constants(op: &Operator) -> bool {
    !matches!(op, Operator::StringConcat)
}

/// Adds to `total` what `expr` would allocate over `batch`, and returns the size of its result.
/// `kept`: the parent evaluates a constant result without repeating it per row.
fn cost(expr: &Arc<dyn PhysicalExpr>, batch: &RecordBatch, kept: bool, total: &mut u128) -> u128 {
    let rows = batch.num_rows().max(1) as u128;
    if let Some(c) = expr.downcast_ref::<Column>() {
        // a column is already there: reading it builds nothing
        return batch
            .columns()
            .get(c.index())
            .map(|a| a.to_data().get_slice_memory_size().unwrap_or(0) as u128)
            .unwrap_or(0);
    }
    if let Some(l) = expr.downcast_ref::<Literal>() {
        if kept {
            return 0;
        }
        let out = scalar_bytes(l.value()) * rows;
        *total += out;
        return out;
    }
    let out = if let Some(b) = expr.downcast_ref::<PhysicalBinary>() {
        let keep = keeps_constants(b.op());
        let (l, r) = (cost(b.left(), batch, keep, total), cost(b.right(), batch, keep, total));
        if keep { rows * 16 } else { l + r }
    } else if let Some(i) = expr.downcast_ref::<InListExpr>() {
        cost(i.expr(), batch, true, total);
        for item in i.list() {
            cost(item, batch, true, total);
        }
        rows
    } else if let Some(l) = expr.downcast_ref::<LikeExpr>() {
        cost(l.expr(), batch, true, total);
        cost(l.pattern(), batch, true, total);
        rows
    } else {
        // a function, CASE, a cast…: its result is about the size of what goes in
        expr.children().iter().map(|c| cost(c, batch, false, total)).sum::<u128>() + rows * 16
    };
    *total += out;
    out
}

/// Checks that `exprs` build at most [`MAX_BATCH_BYTES`] over `batch`.
fn check_batch(exprs: &[Arc<dyn PhysicalExpr>], batch: &RecordBatch) -> Result<()> {
    let mut total = 0u128;
    for e in exprs {
        cost(e, batch, false, &mut total);
        if total > MAX_BATCH_BYTES {
            return Err(refused_batch("the statement's expressions would build too much"));
        }
    }
    Ok(())
}

/// Passes its input's batches on to the operator above it after checking what that operator's
/// expressions would build over each ([`check_batch`]).
#[derive(Debug)]
struct GuardedInput {
    input: Arc<dyn ExecutionPlan>,
    exprs: Arc<Vec<Arc<dyn PhysicalExpr>>>,
    /// For a join's input: the widest row it may pass (a join repeats a row of one side for
    /// each row of the other's batch).
    widest: Option<u128>,
}

/// Refuses `batch` when one of its rows is wider than `widest` bytes.
fn check_rows_width(batch: &RecordBatch, widest: u128) -> Result<()> {
    let mut width = vec![0u128; batch.num_rows()];
    for column in batch.columns() {
        for (w, b) in width.iter_mut().zip(array_row_bytes(column.as_ref())) {
            *w += b;
        }
    }
    if width.iter().any(|w| *w > widest) {
        return Err(refused_batch(&format!(
            "a join would repeat a row over {} KB for every row of the other side",
            widest >> 10
        )));
    }
    Ok(())
}

impl DisplayAs for GuardedInput {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GuardedInput: {} expressions", self.exprs.len())
    }
}

impl ExecutionPlan for GuardedInput {
    fn name(&self) -> &str {
        "GuardedInput"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, mut children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return Err(DataFusionError::Internal("GuardedInput has one input".into()));
        }
        Ok(Arc::new(GuardedInput { input: children.swap_remove(0), exprs: self.exprs.clone(), widest: self.widest }))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let stream = self.input.execute(partition, context)?;
        let schema = stream.schema();
        let (exprs, widest) = (self.exprs.clone(), self.widest);
        let checked = stream.map(move |batch| {
            let batch = batch?;
            check_batch(&exprs, &batch)?;
            if let Some(widest) = widest {
                check_rows_width(&batch, widest)?;
            }
            Ok(batch)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, checked)))
    }

    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        vec![ChildStats::At(partition)]
    }

    fn statistics_from_inputs(&self, inputs: &[Arc<Statistics>], _args: &StatisticsArgs) -> Result<Arc<Statistics>> {
        inputs.first().cloned().ok_or_else(|| DataFusionError::Internal("GuardedInput has one input".into()))
    }
}

/// Puts a [`GuardedInput`] under every operator of one input that evaluates expressions, and
/// refuses what no per-batch check can bound (see the module's documentation).
#[derive(Debug)]
pub(super) struct GuardInputs;

/// Aggregates whose result grows with every row of their frame.
const GROWING_AGGREGATES: &[&str] = &["array_agg", "string_agg", "listagg"];

fn check_window(exprs: &[Arc<dyn WindowExpr>]) -> Result<()> {
    for w in exprs {
        let name = w.name().to_ascii_lowercase();
        if GROWING_AGGREGATES.iter().any(|g| name.starts_with(g)) {
            return Err(DataFusionError::Plan(format!(
                "{} cannot be used as a window function here: its results grow with the square of the rows; \
                 aggregate with GROUP BY instead",
                name.split('(').next().unwrap_or("this aggregate")
            )));
        }
    }
    Ok(())
}

fn check_aggregate(a: &AggregateExec) -> Result<()> {
    for f in a.aggr_expr() {
        if f.fun().name().eq_ignore_ascii_case("string_agg") {
            for e in f.expressions().iter().skip(1) {
                if let Some(l) = e.downcast_ref::<Literal>()
                    && scalar_bytes(l.value()) > MAX_DELIMITER_BYTES as u128
                {
                    return Err(DataFusionError::Plan(format!(
                        "string_agg's delimiter is repeated once per row: at most {MAX_DELIMITER_BYTES} bytes here"
                    )));
                }
            }
        }
    }
    Ok(())
}

impl PhysicalOptimizerRule for GuardInputs {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        let widest = MAX_BATCH_BYTES / config.execution.batch_size.get().max(1) as u128;
        plan.transform_up(|node| {
            if let Some(w) = node.downcast_ref::<BoundedWindowAggExec>() {
                check_window(w.window_expr())?;
            }
            if let Some(w) = node.downcast_ref::<WindowAggExec>() {
                check_window(w.window_expr())?;
            }
            if let Some(a) = node.downcast_ref::<AggregateExec>() {
                check_aggregate(a)?;
            }
            let children = node.children();
            if children.len() == 2 && node.name().contains("Join") {
                let guarded: Vec<Arc<dyn ExecutionPlan>> = children
                    .iter()
                    .map(|c| {
                        Arc::new(GuardedInput {
                            input: (*c).clone(),
                            exprs: Arc::new(Vec::new()),
                            widest: Some(widest),
                        }) as Arc<dyn ExecutionPlan>
                    })
                    .collect();
                #[allow(deprecated)]
                let node = node.with_new_children(guarded)?;
                return Ok(Transformed::yes(node));
            }
            if children.len() != 1 {
                return Ok(Transformed::no(node));
            }
            let mut exprs = Vec::new();
            node.apply_expressions(&mut |e| {
                exprs.push(e.clone());
                Ok(TreeNodeRecursion::Continue)
            })?;
            if exprs.is_empty() {
                return Ok(Transformed::no(node));
            }
            let guarded: Arc<dyn ExecutionPlan> =
                Arc::new(GuardedInput { input: children[0].clone(), exprs: Arc::new(exprs), widest: None });
            #[allow(deprecated)]
            let node = node.with_new_children(vec![guarded])?;
            Ok(Transformed::yes(node))
        })
        .data()
    }

    fn name(&self) -> &str {
        "shoplens_guard_inputs"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_and_high_parameter_numbers_are_refused_before_parsing() {
        assert!(check_text("SELECT $1, $65535").is_ok());
        assert_eq!(check_text("SELECT $99999999999").unwrap_err().0, "42P02");
        assert_eq!(check_text("SELECT $65536").unwrap_err().0, "42P02");
        assert_eq!(check_text("SELECT $184467440737095516160").unwrap_err().0, "42P02");
        // inside quotes it is text
        assert!(check_text("SELECT '$99999999999'").is_ok());
        assert!(check_text("SELECT $$ $99999999999 $$").is_ok());
        let long = format!("SELECT 1{}", " ".repeat(MAX_STATEMENT_BYTES));
        assert_eq!(check_text(&long).unwrap_err().0, "54000");
    }
}
