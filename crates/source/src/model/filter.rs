//! `Filter`: the validated restriction a KPI request applies to the revenue lines (kpis.md).

use super::time::parse_date;
use chrono::NaiveDate;

/// The default length of the top-products and top-customers lists.
pub const DEFAULT_TOP: usize = 10;
/// The longest list a request may ask for; keeps every request's work bounded.
pub const MAX_TOP: usize = 1000;

/// The earliest and latest day a filter may name: a documented span that keeps every month list,
/// comparison and forecast series a request can ask for to at most 3,600 months.
pub const FIRST_DAY: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).expect("a valid date");
/// See [`FIRST_DAY`].
pub const LAST_DAY: NaiveDate = NaiveDate::from_ymd_opt(2199, 12, 31).expect("a valid date");

/// A validated KPI filter: `FIRST_DAY <= from <= to <= LAST_DAY`, non-empty texts,
/// `1 <= top <= MAX_TOP`.
///
/// Built only through [`Filter::parse`] or [`Filter::default`], so a `Filter` in hand is valid.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Filter {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    category: Option<String>,
    country: Option<String>,
    method: Option<String>,
    channel: Option<String>,
    product: Option<String>,
    top: usize,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            from: None,
            to: None,
            category: None,
            country: None,
            method: None,
            channel: None,
            product: None,
            top: DEFAULT_TOP,
        }
    }
}

/// A segment of the orders a filter may keep beside its date range. This is the one list of
/// filter dimensions: the filter's parameters, its checks against the warehouse's values, the
/// server's warm-up and the words of digests and reports all go through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// A product category.
    Category,
    /// The customer's country.
    Country,
    /// A payment method.
    Method,
    /// The sales channel.
    Channel,
    /// A product (its variants with it) or one variant.
    Product,
}

impl Segment {
    /// Every segment, in the order filters name them.
    pub const ALL: [Segment; 5] =
        [Segment::Category, Segment::Country, Segment::Method, Segment::Channel, Segment::Product];

    /// The parameter that names it, in the API's query, the CLI's options and the page's URL.
    pub fn param(self) -> &'static str {
        match self {
            Segment::Category => "category",
            Segment::Country => "country",
            Segment::Method => "method",
            Segment::Channel => "channel",
            Segment::Product => "product",
        }
    }

    /// Its name in words.
    pub fn label(self) -> &'static str {
        match self {
            Segment::Method => "payment method",
            other => other.param(),
        }
    }

    /// The segment a parameter names.
    pub fn of_param(param: &str) -> Option<Segment> {
        Segment::ALL.into_iter().find(|s| s.param() == param)
    }
}

/// A filter parameter that is not acceptable, with the parameter's name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("parameter '{param}': {message}")]
pub struct FilterError {
    /// The parameter's name (`from`, `to`, `category`, `country`, `method`, `channel`, `product`,
    /// `top`).
    pub param: &'static str,
    /// What is wrong with it.
    pub message: String,
}

/// The raw, unvalidated filter parameters, as a user typed them.
#[derive(Clone, Debug, Default)]
pub struct FilterParams<'a> {
    /// First day, `YYYY-MM-DD`.
    pub from: Option<&'a str>,
    /// Last day, `YYYY-MM-DD`.
    pub to: Option<&'a str>,
    /// A product category.
    pub category: Option<&'a str>,
    /// A customer country.
    pub country: Option<&'a str>,
    /// A payment method.
    pub method: Option<&'a str>,
    /// A sales channel.
    pub channel: Option<&'a str>,
    /// A product (its variants with it) or one variant.
    pub product: Option<&'a str>,
    /// How many top products and customers.
    pub top: Option<&'a str>,
}

impl<'a> FilterParams<'a> {
    /// The same parameters with segment `s` set to `value`.
    pub fn with_segment(self, s: Segment, value: &'a str) -> FilterParams<'a> {
        let value = Some(value);
        match s {
            Segment::Category => FilterParams { category: value, ..self },
            Segment::Country => FilterParams { country: value, ..self },
            Segment::Method => FilterParams { method: value, ..self },
            Segment::Channel => FilterParams { channel: value, ..self },
            Segment::Product => FilterParams { product: value, ..self },
        }
    }
}

impl Filter {
    /// Validates raw parameters into a filter; the error names the offending parameter.
    pub fn parse(p: FilterParams<'_>) -> Result<Filter, FilterError> {
        let err = |param, message: String| FilterError { param, message };
        let date = |param, v: Option<&str>| {
            v.map(|s| match parse_date(s) {
                Ok(d) if (FIRST_DAY..=LAST_DAY).contains(&d) => Ok(d),
                Ok(d) => {
                    Err(err(param, format!("{d} is outside the days a filter may name ({FIRST_DAY} to {LAST_DAY})")))
                }
                Err(m) => Err(err(param, m)),
            })
            .transpose()
        };
        let text = |param, v: Option<&str>| -> Result<Option<String>, FilterError> {
            match v.map(str::trim) {
                None => Ok(None),
                Some("") => Err(err(param, "must not be empty".into())),
                Some(s) if s.len() > 200 => Err(err(param, "is longer than 200 characters".into())),
                Some(s) => Ok(Some(s.to_string())),
            }
        };
        let from = date("from", p.from)?;
        let to = date("to", p.to)?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(err("from", format!("{f} is after to ({t})")));
        }
        let top = match p.top.map(str::trim) {
            None => DEFAULT_TOP,
            Some(s) => match s.parse::<usize>() {
                Ok(n) if (1..=MAX_TOP).contains(&n) => n,
                _ => return Err(err("top", format!("'{s}' is not a whole number from 1 to {MAX_TOP}"))),
            },
        };
        Ok(Filter {
            from,
            to,
            category: text("category", p.category)?,
            country: text("country", p.country)?,
            // methods are compared lower-cased and trimmed, as in the source format
            method: text("method", p.method)?.map(|m| m.to_lowercase()),
            channel: text("channel", p.channel)?,
            product: text("product", p.product)?,
            top,
        })
    }

    /// First day kept, if bounded.
    pub fn from(&self) -> Option<NaiveDate> {
        self.from
    }
    /// Last day kept, if bounded.
    pub fn to(&self) -> Option<NaiveDate> {
        self.to
    }
    /// The category kept, if any.
    pub fn category(&self) -> Option<&str> {
        self.category.as_deref()
    }
    /// The country kept, if any.
    pub fn country(&self) -> Option<&str> {
        self.country.as_deref()
    }
    /// The payment method kept (lower-case), if any.
    pub fn method(&self) -> Option<&str> {
        self.method.as_deref()
    }
    /// The sales channel kept, if any.
    pub fn channel(&self) -> Option<&str> {
        self.channel.as_deref()
    }
    /// The product kept, if any: a product_id, or the product its variants name (`variant_of`),
    /// which keeps them all.
    pub fn product(&self) -> Option<&str> {
        self.product.as_deref()
    }
    /// Length of the top lists.
    pub fn top(&self) -> usize {
        self.top
    }

    /// The value of segment `s` it keeps, if any.
    pub fn segment(&self, s: Segment) -> Option<&str> {
        match s {
            Segment::Category => self.category(),
            Segment::Country => self.country(),
            Segment::Method => self.method(),
            Segment::Channel => self.channel(),
            Segment::Product => self.product(),
        }
    }

    /// The segments it keeps with their values, in [`Segment::ALL`]'s order.
    pub fn segments(&self) -> impl Iterator<Item = (Segment, &str)> {
        Segment::ALL.into_iter().filter_map(|s| self.segment(s).map(|v| (s, v)))
    }

    /// The same filter over another date range (used for period comparisons).
    pub fn with_range(&self, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Filter {
        Filter { from, to, ..self.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_each_parameter_by_name() {
        let bad = |p: FilterParams| Filter::parse(p).unwrap_err().param;
        assert_eq!(bad(FilterParams { from: Some("2024-02-30"), ..Default::default() }), "from");
        assert_eq!(bad(FilterParams { to: Some("tomorrow"), ..Default::default() }), "to");
        assert_eq!(
            bad(FilterParams { from: Some("2024-03-01"), to: Some("2024-02-01"), ..Default::default() }),
            "from"
        );
        assert_eq!(bad(FilterParams { from: Some("0001-01-01"), ..Default::default() }), "from");
        assert_eq!(bad(FilterParams { to: Some("9999-12-31"), ..Default::default() }), "to");
        assert!(
            Filter::parse(FilterParams { from: Some("1900-01-01"), to: Some("2199-12-31"), ..Default::default() })
                .is_ok()
        );
        assert_eq!(bad(FilterParams { top: Some("-1"), ..Default::default() }), "top");
        assert_eq!(bad(FilterParams { top: Some("0"), ..Default::default() }), "top");
        assert_eq!(bad(FilterParams { top: Some("1001"), ..Default::default() }), "top");
        assert_eq!(bad(FilterParams { category: Some("  "), ..Default::default() }), "category");
        let f = Filter::parse(FilterParams { method: Some(" PayPal "), top: Some("5"), ..Default::default() }).unwrap();
        assert_eq!((f.method(), f.top()), (Some("paypal"), 5));
        assert_eq!(Filter::parse(FilterParams::default()).unwrap(), Filter::default());
    }

    #[test]
    fn each_segment_is_set_and_read_under_its_parameter() {
        for s in Segment::ALL {
            assert_eq!(Segment::of_param(s.param()), Some(s));
            let f = Filter::parse(FilterParams::default().with_segment(s, "x")).unwrap();
            assert_eq!(f.segments().collect::<Vec<_>>(), [(s, "x")]);
            let err = Filter::parse(FilterParams::default().with_segment(s, " ")).unwrap_err();
            assert_eq!(err.param, s.param());
        }
        assert_eq!(Segment::Method.label(), "payment method");
        assert_eq!(Segment::of_param("from"), None);
    }
}
