//! A filter's segment values held against the warehouse's own. A category, country, method or
//! channel that no row has (a typo, another case: `--country us` where the data says `US`) would
//! answer tables of zeros with exit 0; it is refused instead, naming the closest known values.
//! Every filtered analysis passes here ([`super::revenue_frames`]), from every surface.

use super::MetricsError;
use crate::model::Filter;
use crate::model::filter::Segment;
use crate::warehouse::query::{FILTER_VALUES, text_param};
use datafusion::arrow::array::AsArray;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;

/// A filter value the warehouse has no row of.
#[derive(Debug, thiserror::Error)]
#[error("no {field} '{value}' in the warehouse{}", hint(.closest, .known))]
pub struct UnknownValue {
    /// The filter: `category`, `country`, `method` or `channel`.
    pub field: &'static str,
    /// The value asked for.
    pub value: String,
    /// The known values closest to it, closest first.
    pub closest: Vec<String>,
    /// How many values the warehouse knows, and the first few of them (when none is close).
    pub known: (usize, Vec<String>),
}

/// How many known values an error lists when none is close.
const LISTED: usize = 8;

fn hint(closest: &[String], (count, first): &(usize, Vec<String>)) -> String {
    let quoted = |v: &[String]| v.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
    match (closest, count) {
        ([], 0) => ": it has none".into(),
        ([], n) if *n > first.len() => format!(" (it has {n}: {}, …)", quoted(first)),
        ([], _) => format!(" (it has {})", quoted(first)),
        ([one], _) => format!("; did you mean '{one}'?"),
        (many, _) => format!("; did you mean one of {}?", quoted(many)),
    }
}

/// The known values closest to `value`: the same but for case and spaces first, then those within
/// a few edits (a third of the value's length, at least one), then those that contain it or that
/// it contains; at most three.
pub(crate) fn closest(value: &str, known: &[String]) -> Vec<String> {
    let norm = |s: &str| s.trim().to_lowercase();
    let v = norm(value);
    let same: Vec<String> = known.iter().filter(|k| norm(k) == v).cloned().collect();
    if !same.is_empty() {
        return same.into_iter().take(3).collect();
    }
    let most = (v.chars().count() / 3).max(1);
    let mut near: Vec<(usize, &String)> =
        known.iter().map(|k| (strsim::levenshtein(&norm(k), &v), k)).filter(|(d, _)| *d <= most).collect();
    near.sort();
    if near.is_empty() && v.chars().count() >= 3 {
        near = known.iter().filter(|k| norm(k).contains(&v) || v.contains(&norm(k))).map(|k| (0, k)).collect();
    }
    near.into_iter().take(3).map(|(_, k)| k.clone()).collect()
}

/// Where the values of `segment` are: the table, the values it may take (what an unknown value's
/// error suggests) and the test of a value (`$1`).
fn segment_values(segment: Segment) -> (&'static str, &'static str, &'static str) {
    match segment {
        Segment::Category => ("dim_product", "category", "category = $1"),
        Segment::Country => ("dim_customer", "country", "country = $1"),
        Segment::Method => ("dim_payment_method", "method", "method = $1"),
        Segment::Channel => ("dim_channel", "channel", "channel = $1"),
        // a product_id, or a product its variants name; the products are what is suggested
        Segment::Product => ("dim_product", "COALESCE(variant_of, product_id)", "product_id = $1 OR variant_of = $1"),
    }
}

/// Refuses `filter` when one of its segment values is none of the warehouse's (`ctx` has its
/// tables). A value that is there costs one query that stops at its first row.
pub(crate) async fn check(ctx: &SessionContext, filter: &Filter) -> Result<(), MetricsError> {
    let wrap = |source| MetricsError { query: FILTER_VALUES, source };
    for (segment, value) in filter.segments() {
        let (table, column, test) = segment_values(segment);
        let field = segment.param();
        let found = ctx
            .sql(&format!("SELECT 1 FROM {table} WHERE {test} LIMIT 1"))
            .await
            .map_err(wrap)?
            .with_param_values(vec![text_param(Some(value))])
            .map_err(wrap)?
            .count()
            .await
            .map_err(wrap)?;
        if found > 0 {
            continue;
        }
        let batches = ctx
            .sql(&format!(
                "SELECT DISTINCT v FROM (SELECT {column} AS v FROM {table}) t WHERE v IS NOT NULL ORDER BY v"
            ))
            .await
            .map_err(wrap)?
            .collect()
            .await
            .map_err(wrap)?;
        let known: Vec<String> = batches
            .iter()
            .flat_map(|b| {
                let c = datafusion::arrow::compute::cast(b.column(0), &datafusion::arrow::datatypes::DataType::Utf8)
                    .expect("text casts to text");
                c.as_string::<i32>().iter().flatten().map(str::to_string).collect::<Vec<_>>()
            })
            .collect();
        let unknown = UnknownValue {
            field,
            value: value.to_string(),
            closest: closest(value, &known),
            known: (known.len(), known.iter().take(LISTED).cloned().collect()),
        };
        return Err(wrap(DataFusionError::External(Box::new(unknown))));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_closest_values_are_the_same_but_for_case_then_a_few_edits_then_a_part() {
        let countries = known(&["BR", "DE", "FR", "US"]);
        assert_eq!(closest("us", &countries), ["US"]);
        assert_eq!(closest(" de ", &countries), ["DE"]);
        let categories = known(&["Books", "Electronics", "Home & Garden", "Toys"]);
        assert_eq!(closest("Elecronics", &categories), ["Electronics"]);
        assert_eq!(closest("garden", &categories), ["Home & Garden"]);
        assert!(closest("Jeans", &categories).is_empty());
    }

    #[test]
    fn the_message_names_the_value_and_what_to_use_instead() {
        let e = UnknownValue { field: "country", value: "us".into(), closest: known(&["US"]), known: (4, vec![]) };
        assert_eq!(e.to_string(), "no country 'us' in the warehouse; did you mean 'US'?");
        let e = UnknownValue {
            field: "category",
            value: "Jeans".into(),
            closest: vec![],
            known: (2, known(&["Books", "Toys"])),
        };
        assert_eq!(e.to_string(), "no category 'Jeans' in the warehouse (it has 'Books', 'Toys')");
    }
}
