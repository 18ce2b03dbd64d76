//! Each customer's first purchase day (the day of their first sales line, whatever the filter),
//! read once per warehouse version and kept in memory, 4 bytes a customer: the products view's
//! first-time buyers are the orders placed on it. A query reads it as the SQL function
//! `first_purchase_day(customer_key)`, so it needs no join of every customer's first day
//! (`sql/first_time.sql` is that join: the definition, and what a cluster runs, whose executors
//! cannot call into this process).

use crate::metrics::MetricsError;
use crate::warehouse::Warehouse;
use datafusion::arrow::array::{Array, AsArray, Int32Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int32Type};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use futures::StreamExt;
use std::sync::Arc;

/// The customers' first purchase days as date keys, by customer key (`NONE`: no sale).
#[derive(Debug)]
pub(super) struct FirstDays(Vec<i32>);

/// A customer without a sales line.
const NONE: i32 = i32::MIN;

impl FirstDays {
    /// Reads them from every sales line of `wh` (one pass over two columns: no hash table).
    async fn read(wh: &Warehouse) -> Result<FirstDays, MetricsError> {
        let wrap = |source| MetricsError { query: "first purchase days", source };
        let ctx = wh.session().await.map_err(wrap)?;
        let df = ctx.sql("SELECT customer_key, date_key FROM agg_line WHERE is_sale").await.map_err(wrap)?;
        let mut stream = df.execute_stream().await.map_err(wrap)?;
        let mut first = Vec::new();
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(wrap)?;
            let column = |i: usize| cast(batch.column(i), &DataType::Int32).map_err(|e| wrap(e.into()));
            let (customers, days) = (column(0)?, column(1)?);
            let (customers, days) = (customers.as_primitive::<Int32Type>(), days.as_primitive::<Int32Type>());
            for (customer, day) in customers.iter().zip(days.iter()) {
                let (Some(customer), Some(day)) = (customer, day) else { continue };
                let Ok(at) = usize::try_from(customer) else { continue };
                if at >= first.len() {
                    first.resize(at + 1, NONE);
                }
                if first[at] == NONE || day < first[at] {
                    first[at] = day;
                }
            }
        }
        Ok(FirstDays(first))
    }

    fn of(&self, customer: i32) -> Option<i32> {
        let day = *self.0.get(usize::try_from(customer).ok()?)?;
        (day != NONE).then_some(day)
    }
}

/// The SQL function `first_purchase_day(customer_key)` of `wh`, read on first use.
///
/// # Errors
/// Reading the sales lines fails.
pub(super) async fn function(wh: &Warehouse) -> Result<ScalarUDF, MetricsError> {
    let days = wh.memo(|| FirstDays::read(wh)).await?;
    Ok(ScalarUDF::from(FirstPurchaseDay {
        days,
        signature: Signature::exact(vec![DataType::Int32], Volatility::Stable),
    }))
}

/// `first_purchase_day(customer_key)`: the date key of the customer's first sales line, or NULL.
#[derive(Debug)]
struct FirstPurchaseDay {
    days: Arc<FirstDays>,
    signature: Signature,
}

// one function per version's days: compared by them, without reading a million of them
impl PartialEq for FirstPurchaseDay {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.days, &other.days)
    }
}

impl Eq for FirstPurchaseDay {}

impl std::hash::Hash for FirstPurchaseDay {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.days).hash(state);
    }
}

impl ScalarUDFImpl for FirstPurchaseDay {
    fn name(&self) -> &str {
        "first_purchase_day"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [customers] = args.args.as_slice() else {
            return Err(DataFusionError::Internal("first_purchase_day takes one argument".into()));
        };
        let customers = customers.to_array(args.number_rows)?;
        let customers = customers.as_primitive::<Int32Type>();
        let days: Int32Array = customers.iter().map(|c| c.and_then(|c| self.days.of(c))).collect();
        Ok(ColumnarValue::Array(Arc::new(days) as Arc<dyn Array>))
    }
}
