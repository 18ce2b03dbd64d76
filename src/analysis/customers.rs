//! The customer analyses (customers.md): cohort retention, the returning-customer rate, RFM
//! segments and their customers, and lifetime value.

use super::kpis::sorted_json;
use super::query::{AsOfQuery, FilterQuery, SegmentQuery, TopQuery, day, number};
use super::{Analysis, AnalysisError, Ctx};
use crate::customers::{self, ClvOptions, RfmCustomer};
use crate::model::Filter;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The most customers one page of `/api/customers/rfm/customers` holds.
pub const MAX_PAGE: usize = 1000;

/// `GET /api/customers/cohorts`.
pub struct Cohorts;

impl Analysis for Cohorts {
    const NAME: &'static str = "cohorts";
    const PATH: &'static str = "/api/customers/cohorts";
    const SUMMARY: &'static str = "cohort retention (customers.md); from/to choose the cohorts by month";
    const TAG: &'static str = "customers";
    type Query = FilterQuery;
    type Options = Filter;
    type Output = customers::Cohorts;

    fn options(q: FilterQuery) -> Result<Filter, AnalysisError> {
        q.filter()
    }

    async fn run(ctx: &Ctx<'_>, f: &Filter) -> Result<customers::Cohorts, AnalysisError> {
        Ok(customers::cohorts(ctx.warehouse, f).await?)
    }
}

/// `GET /api/customers/returning`.
pub struct Returning;

impl Analysis for Returning {
    const NAME: &'static str = "returning";
    const PATH: &'static str = "/api/customers/returning";
    const SUMMARY: &'static str = "the returning-customer rate of the range, beside the repeat-customer rate";
    const TAG: &'static str = "customers";
    type Query = FilterQuery;
    type Options = Filter;
    type Output = customers::Returning;

    fn options(q: FilterQuery) -> Result<Filter, AnalysisError> {
        q.filter()
    }

    async fn run(ctx: &Ctx<'_>, f: &Filter) -> Result<customers::Returning, AnalysisError> {
        Ok(customers::returning(ctx.warehouse, f).await?)
    }
}

/// `GET /api/customers/rfm`.
pub struct Rfm;

impl Analysis for Rfm {
    const NAME: &'static str = "rfm";
    const PATH: &'static str = "/api/customers/rfm";
    const SUMMARY: &'static str = "RFM segments as of a day";
    const TAG: &'static str = "customers";
    type Query = AsOfQuery;
    type Options = (Filter, Option<NaiveDate>);
    type Output = customers::Rfm;

    fn options(q: AsOfQuery) -> Result<(Filter, Option<NaiveDate>), AnalysisError> {
        q.options()
    }

    async fn run(ctx: &Ctx<'_>, (f, as_of): &(Filter, Option<NaiveDate>)) -> Result<customers::Rfm, AnalysisError> {
        Ok(customers::rfm(ctx.warehouse, f, *as_of).await?)
    }

    fn weight(output: &customers::Rfm) -> usize {
        // about what one customer's strings and scores take
        4096 + output.customers.len() * 160
    }
}

/// The parameters of `/api/customers/rfm/customers`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct CustomersQuery {
    /// The segments' parameters.
    #[serde(flatten)]
    #[schema(inline)]
    pub rfm: AsOfQuery,
    /// One of the ten RFM segments (all customers without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// The page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u64>, minimum = 1, default = 1)]
    pub page: Option<String>,
    /// Customers per page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1000, default = 100)]
    pub per_page: Option<String>,
}

/// Validated [`CustomersQuery`].
#[derive(Clone, Debug)]
pub struct CustomersOptions {
    /// The segments' filter and as-of day.
    pub rfm: (Filter, Option<NaiveDate>),
    /// The segment chosen.
    pub segment: Option<String>,
    /// The page, from 1.
    pub page: usize,
    /// Customers per page.
    pub per_page: usize,
}

/// A page of customers (of a segment) with their RFM figures.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CustomerPage {
    /// The segment chosen, if any.
    pub segment: Option<String>,
    /// Customers in it.
    pub total: usize,
    /// This page's number.
    pub page: usize,
    /// Customers per page.
    pub per_page: usize,
    /// This page's customers, by customer id.
    pub customers: Vec<RfmCustomer>,
}

/// `GET /api/customers/rfm/customers`.
pub struct RfmCustomers;

impl RfmCustomers {
    fn page(rfm: &customers::Rfm, o: &CustomersOptions) -> CustomerPage {
        let chosen: Vec<&RfmCustomer> = Self::chosen(rfm, o).collect();
        let start = (o.page - 1).saturating_mul(o.per_page).min(chosen.len());
        CustomerPage {
            segment: o.segment.clone(),
            total: chosen.len(),
            page: o.page,
            per_page: o.per_page,
            customers: chosen.into_iter().skip(start).take(o.per_page).cloned().collect(),
        }
    }

    fn chosen<'a>(rfm: &'a customers::Rfm, o: &'a CustomersOptions) -> impl Iterator<Item = &'a RfmCustomer> {
        rfm.customers.iter().filter(|c| o.segment.as_deref().is_none_or(|s| c.segment == s))
    }
}

impl Analysis for RfmCustomers {
    const NAME: &'static str = "rfm-customers";
    const PATH: &'static str = "/api/customers/rfm/customers";
    const SUMMARY: &'static str = "every customer's RFM row (of one segment), paged";
    const DESCRIPTION: &'static str = "The whole list as CSV with `Accept: text/csv`.";
    const TAG: &'static str = "customers";
    type Query = CustomersQuery;
    type Options = CustomersOptions;
    type Output = CustomerPage;

    fn options(q: CustomersQuery) -> Result<CustomersOptions, AnalysisError> {
        let rfm = q.rfm.options()?;
        let segment = q.segment.map(|s| s.trim().to_string());
        if let Some(s) = &segment
            && !customers::rfm::SEGMENTS.contains(&s.as_str())
        {
            return Err(super::error::bad_parameter(
                "segment",
                format!("'{s}' is not one of {}", customers::rfm::SEGMENTS.join(", ")),
            ));
        }
        let page = number("page", q.page.as_deref(), 1..=usize::MAX, 1)?;
        let per_page = number("per_page", q.per_page.as_deref(), 1..=MAX_PAGE, 100)?;
        Ok(CustomersOptions { rfm, segment, page, per_page })
    }

    async fn run(ctx: &Ctx<'_>, o: &CustomersOptions) -> Result<CustomerPage, AnalysisError> {
        Ok(Self::page(&*ctx.run::<Rfm>(&o.rfm).await?, o))
    }

    /// Every customer's rows are computed once per (filter, as-of day): pages are cut from them.
    fn cut(ctx: &Ctx<'_>, o: &CustomersOptions) -> Option<CustomerPage> {
        ctx.kept::<Rfm>(&o.rfm).map(|rfm| Self::page(&rfm, o))
    }

    fn to_json(output: &CustomerPage) -> Result<Vec<u8>, AnalysisError> {
        sorted_json(output)
    }

    const CSV: bool = true;

    /// The whole list (of the segment), not a page.
    async fn csv(ctx: &Ctx<'_>, o: &CustomersOptions) -> Result<Vec<u8>, AnalysisError> {
        let rfm = ctx.run::<Rfm>(&o.rfm).await?;
        let o = o.clone();
        // writing every customer is CPU work: on the blocking pool, so the runtime keeps answering
        tokio::task::spawn_blocking(move || customers::rfm::csv(Self::chosen(&rfm, &o)))
            .await
            .map_err(|e| AnalysisError::Internal(e.to_string()))
    }

    fn csv_name(o: &CustomersOptions) -> String {
        let name = o.segment.as_deref().unwrap_or("all").to_lowercase().replace(['\'', ' '], "-");
        format!("rfm-{name}.csv")
    }
}

/// The parameters of `/api/customers/clv`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct ClvQuery {
    /// The segment of the shop.
    #[serde(flatten)]
    #[schema(inline)]
    pub segment: SegmentQuery,
    /// How many customers the top list holds.
    #[serde(flatten)]
    #[schema(inline)]
    pub top: TopQuery,
    /// Only purchases on or before it count (default: the last order's day).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    pub calibration_end: Option<String>,
    /// Weeks of expected purchases.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 520, default = 52)]
    pub horizon_weeks: Option<String>,
    /// Yearly discount rate (undiscounted without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 10)]
    pub discount_rate: Option<String>,
}

impl ClvQuery {
    /// The parameters that give `f`'s segment and top length, with the default fit.
    pub fn of(f: &Filter) -> ClvQuery {
        let q = FilterQuery::of(f);
        ClvQuery { segment: q.segment, top: q.top, ..Default::default() }
    }
}

/// `GET /api/customers/clv`.
pub struct Clv;

impl Analysis for Clv {
    const NAME: &'static str = "clv";
    const PATH: &'static str = "/api/customers/clv";
    const SUMMARY: &'static str =
        "BG/NBD and Gamma-Gamma fits and the top customers by CLV; warnings when the data cannot support a model";
    const TAG: &'static str = "customers";
    type Query = ClvQuery;
    type Options = (Filter, ClvOptions);
    type Output = customers::Clv;

    fn options(q: ClvQuery) -> Result<(Filter, ClvOptions), AnalysisError> {
        let f = q.segment.filter(q.top.top.as_deref())?;
        let options = ClvOptions {
            calibration_end: day("calibration_end", q.calibration_end.as_deref())?,
            horizon_weeks: number("horizon_weeks", q.horizon_weeks.as_deref(), 1..=520, 52)?,
            discount_rate: q
                .discount_rate
                .as_deref()
                .map(|v| number("discount_rate", Some(v), 0.0..=10.0, 0.0))
                .transpose()?,
            top: f.top(),
            deadline: None,
        };
        Ok((f, options))
    }

    async fn run(ctx: &Ctx<'_>, (f, options): &(Filter, ClvOptions)) -> Result<customers::Clv, AnalysisError> {
        // stop the fit at the caller's deadline, so no core stays busy after a 503
        let options = ClvOptions { deadline: ctx.deadline, ..options.clone() };
        let c = customers::clv(ctx.warehouse, f, &options).await?;
        if c.stopped {
            return Err(AnalysisError::TooLong);
        }
        Ok(c)
    }

    fn weight(output: &customers::Clv) -> usize {
        // every customer's predictions (and their ids) are kept beside the top list
        4096 + (output.all.len() + output.top.len()) * (std::mem::size_of::<customers::clv::Prediction>() + 32)
    }
}
