//! Query parameters: the typed parameter sets the analyses take, and the one decoder that turns a
//! query string into them. A set's keys are its type's fields (read off its schema, so the
//! OpenAPI document and the decoder cannot disagree); an unknown or repeated key is refused before
//! any value is looked at, and the values are validated once, into the core's options.

use super::error::{AnalysisError, bad_parameter};
use crate::metrics::compare::Versus;
use crate::model::Filter;
use crate::model::filter::FilterParams;
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::schema::SchemaType;
use utoipa::openapi::{RefOr, Type};

/// A parameter set: decoded from the query string's pairs, documented by its schema, written back
/// (without the parameters left out) as the canonical query string.
pub trait Query: DeserializeOwned + Serialize + ToSchema + Default + Send + 'static {}
impl<T: DeserializeOwned + Serialize + ToSchema + Default + Send + 'static> Query for T {}

/// One documented parameter of a set: its name, schema and description, from the set's type.
#[derive(Clone)]
pub struct Param {
    /// The key.
    pub name: String,
    /// Its values (type, format, bounds, default).
    pub schema: RefOr<Schema>,
    /// What it does.
    pub description: Option<String>,
}

/// The parameters of the set `Q`, in their canonical order (the order of the type's fields).
pub fn params_of<Q: Query>() -> Vec<Param> {
    let mut out = Vec::new();
    collect(&Q::schema(), &mut out);
    out
}

fn collect(schema: &RefOr<Schema>, out: &mut Vec<Param>) {
    match schema {
        RefOr::T(Schema::Object(o)) => {
            for (name, property) in &o.properties {
                let (schema, description) = match property {
                    RefOr::T(Schema::Object(p)) => {
                        let mut p = p.clone();
                        // a parameter is absent rather than null: `string`, not `string or null`
                        if let SchemaType::Array(types) = &p.schema_type {
                            let types: Vec<Type> = types.iter().filter(|t| **t != Type::Null).cloned().collect();
                            if let [only] = types.as_slice() {
                                p.schema_type = SchemaType::Type(only.clone());
                            }
                        }
                        let description = p.description.take();
                        (RefOr::T(Schema::Object(p)), description)
                    }
                    other => (other.clone(), None),
                };
                out.push(Param { name: name.clone(), schema, description });
            }
        }
        // a set made of other sets (`#[serde(flatten)]`, inlined): their parameters in order
        RefOr::T(Schema::AllOf(all)) => all.items.iter().for_each(|s| collect(s, out)),
        // an inlined set with a description of its own
        RefOr::T(Schema::OneOf(one)) if one.items.len() == 1 => collect(&one.items[0], out),
        _ => unreachable!("a parameter set is an object made of objects (flattened and inlined)"),
    }
}

/// Decodes a query string (plus the path's parameters, which come first) into the set `Q`.
/// `known` holds every parameter any analysis takes, so that a key of another analysis is told
/// apart from a misspelt one.
///
/// # Errors
/// A key that is not `Q`'s, a repeated key, or bytes that are not UTF-8 once decoded.
pub fn decode<Q: Query>(raw: Option<&str>, path: &[(&str, &str)], known: &[String]) -> Result<Q, AnalysisError> {
    let raw = raw.unwrap_or("");
    // the form decoder replaces bytes that are not UTF-8 with U+FFFD; refuse them instead
    for part in raw.split('&') {
        let bytes: Vec<u8> = percent_encoding::percent_decode(part.replace('+', " ").as_bytes()).collect();
        if std::str::from_utf8(&bytes).is_err() {
            let name = part.split('=').next().unwrap_or_default();
            return Err(AnalysisError::BadParameter(format!(
                "parameter '{}' is not valid UTF-8 once decoded",
                String::from_utf8_lossy(&percent_encoding::percent_decode(name.as_bytes()).collect::<Vec<u8>>())
            )));
        }
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
        .map_err(|e| AnalysisError::BadParameter(format!("the query string cannot be decoded: {e}")))?;
    let mine: Vec<String> = params_of::<Q>().into_iter().map(|p| p.name).collect();
    let mut values = serde_json::Map::new();
    for (k, v) in path.iter().map(|(k, v)| (k.to_string(), v.to_string())).chain(pairs) {
        if !mine.contains(&k) {
            return Err(not_taken(&k, &mine, path, known));
        }
        if values.insert(k.clone(), serde_json::Value::String(v)).is_some() {
            return Err(AnalysisError::BadParameter(format!("parameter '{k}' is given more than once")));
        }
    }
    serde_json::from_value(serde_json::Value::Object(values))
        .map_err(|e| AnalysisError::BadParameter(format!("the parameters cannot be read: {e}")))
}

fn not_taken(key: &str, mine: &[String], path: &[(&str, &str)], known: &[String]) -> AnalysisError {
    let takes: Vec<&str> =
        mine.iter().map(String::as_str).filter(|m| !path.iter().any(|(name, _)| name == m)).collect();
    if !known.iter().any(|k| k == key) {
        AnalysisError::BadParameter(format!("unknown parameter '{key}'"))
    } else if takes.is_empty() {
        AnalysisError::BadParameter("this endpoint takes no parameters".into())
    } else {
        bad_parameter(key, format!("not taken here (this path takes {})", takes.join(", ")))
    }
}

/// The canonical query string of a parameter set: its parameters in order, the absent ones left
/// out, encoded as `application/x-www-form-urlencoded` (as the page's `URLSearchParams` does).
pub fn canonical<Q: Query>(q: &Q) -> String {
    serde_urlencoded::to_string(q).expect("a parameter set of texts always encodes")
}

/// The selection's segment: which category, country, payment method and sales channel.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct SegmentQuery {
    /// Only lines of products in this category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Only lines of customers in this country.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Only lines of orders with a payment of this method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Only lines of orders sold through this channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Only lines of this product: a product_id, or a product its variants name (`variant_of`),
    /// with all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
}

/// A range of order days.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct RangeQuery {
    /// First day kept (YYYY-MM-DD); between 1900-01-01 and 2199-12-31.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    pub from: Option<String>,
    /// Last day kept (YYYY-MM-DD), not before from; between 1900-01-01 and 2199-12-31.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    pub to: Option<String>,
}

/// The length of the top lists: part of the dashboard's filter, so every analysis over a
/// selection takes it, whether or not its answer has a top list.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct TopQuery {
    /// Length of the top lists (where the answer has any).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1000, default = 10)]
    pub top: Option<String>,
}

/// The dashboard's filter: a range, a segment and the length of the top lists.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct FilterQuery {
    /// The range.
    #[serde(flatten)]
    #[schema(inline)]
    pub range: RangeQuery,
    /// The segment.
    #[serde(flatten)]
    #[schema(inline)]
    pub segment: SegmentQuery,
    /// The top lists' length.
    #[serde(flatten)]
    #[schema(inline)]
    pub top: TopQuery,
}

/// A segment of the shop seen from a day (the analyses of a moment, not of a range).
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct AsOfQuery {
    /// The segment of the shop.
    #[serde(flatten)]
    #[schema(inline)]
    pub segment: SegmentQuery,
    /// The top lists' length.
    #[serde(flatten)]
    #[schema(inline)]
    pub top: TopQuery,
    /// The day the analysis looks from (default: the latest order's day).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    pub as_of: Option<String>,
}

impl AsOfQuery {
    /// The validated segment (all dates) and day.
    ///
    /// # Errors
    /// A value that is not acceptable, named.
    pub fn options(&self) -> Result<(Filter, Option<NaiveDate>), AnalysisError> {
        Ok((self.segment.filter(self.top.top.as_deref())?, day("as_of", self.as_of.as_deref())?))
    }

    /// The parameters that give `f`'s segment (and top length) as of `as_of`.
    pub fn of(f: &Filter, as_of: Option<NaiveDate>) -> AsOfQuery {
        let top = FilterQuery::of(f).top;
        AsOfQuery { segment: SegmentQuery::of(f), top, as_of: as_of.map(|d| d.to_string()) }
    }
}

/// No parameter at all.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct NoQuery {}

impl FilterQuery {
    /// The validated filter.
    ///
    /// # Errors
    /// A value that is not acceptable, named.
    pub fn filter(&self) -> Result<Filter, AnalysisError> {
        filter(&self.range, &self.segment, self.top.top.as_deref())
    }

    /// The parameters that give `f`.
    pub fn of(f: &Filter) -> FilterQuery {
        let top = (f.top() != crate::model::filter::DEFAULT_TOP).then(|| f.top().to_string());
        FilterQuery { range: RangeQuery::of(f), segment: SegmentQuery::of(f), top: TopQuery { top } }
    }
}

impl SegmentQuery {
    /// The validated filter of the segment (all dates), with the top lists' length `top`.
    ///
    /// # Errors
    /// A value that is not acceptable, named.
    pub fn filter(&self, top: Option<&str>) -> Result<Filter, AnalysisError> {
        filter(&RangeQuery::default(), self, top)
    }

    /// The parameters that give `f`'s segment.
    pub fn of(f: &Filter) -> SegmentQuery {
        SegmentQuery {
            category: f.category().map(str::to_string),
            country: f.country().map(str::to_string),
            method: f.method().map(str::to_string),
            channel: f.channel().map(str::to_string),
            product: f.product().map(str::to_string),
        }
    }
}

impl RangeQuery {
    /// The parameters that give `f`'s range.
    pub fn of(f: &Filter) -> RangeQuery {
        RangeQuery { from: f.from().map(|d| d.to_string()), to: f.to().map(|d| d.to_string()) }
    }
}

fn filter(range: &RangeQuery, segment: &SegmentQuery, top: Option<&str>) -> Result<Filter, AnalysisError> {
    Filter::parse(FilterParams {
        from: range.from.as_deref(),
        to: range.to.as_deref(),
        category: segment.category.as_deref(),
        country: segment.country.as_deref(),
        method: segment.method.as_deref(),
        channel: segment.channel.as_deref(),
        product: segment.product.as_deref(),
        top,
    })
    .map_err(|e| AnalysisError::BadParameter(e.to_string()))
}

/// The day parameter `name`, if given.
///
/// # Errors
/// Not a `YYYY-MM-DD` day.
pub fn day(name: &str, value: Option<&str>) -> Result<Option<NaiveDate>, AnalysisError> {
    value.map(|v| crate::model::time::parse_date(v).map_err(|m| bad_parameter(name, m))).transpose()
}

/// The number parameter `name` (default `default`), which must lie in `range`.
///
/// # Errors
/// Not a number in the range.
pub fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    name: &str,
    value: Option<&str>,
    range: std::ops::RangeInclusive<T>,
    default: T,
) -> Result<T, AnalysisError> {
    match value {
        None => Ok(default),
        Some(v) => v.trim().parse::<T>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
            bad_parameter(name, format!("'{v}' is not a number from {} to {}", range.start(), range.end()))
        }),
    }
}

/// The comparison parameter `vs` (default: the previous period).
///
/// # Errors
/// Not one of the documented comparisons.
pub fn versus(value: Option<&str>) -> Result<Versus, AnalysisError> {
    value.map(|v| v.parse().map_err(|e| bad_parameter("vs", e))).transpose().map(|v| v.unwrap_or_default())
}

/// Whether `name` is a parameter in `path` (`/api/kpis/{section}`) rather than in its query.
pub fn is_path_param(path: &str, name: &str) -> bool {
    path.contains(&format!("{{{name}}}"))
}
