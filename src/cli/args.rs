//! The arguments several commands share (the filter, the engine, the output format), and the
//! shop's currency for the surfaces that show money.

use crate::analysis::query::{FilterQuery, RangeQuery, SegmentQuery, TopQuery};
use crate::model::{Currency, Filter};
use crate::warehouse::{Engine, Store};
use anyhow::Result;
use clap::{Args, ValueEnum};
use std::path::Path;

/// Where a command's queries run.
#[derive(Args, Debug, Default)]
pub(super) struct EngineArg {
    /// `local` (this process), or a Ballista scheduler: ballista://HOST:PORT (a build with
    /// `--features ballista`; every executor must read the warehouse at the same path).
    #[arg(long, default_value = "local", value_parser = engine)]
    pub(super) engine: Engine,
}

fn engine(s: &str) -> Result<Engine, String> {
    s.parse()
}

/// The currency a surface shows: the flag's, else the one the warehouse's import recorded, else
/// none (amounts without a currency sign, rather than a wrong one).
pub(super) fn shop_currency(warehouse: &Path, flag: Option<Currency>) -> String {
    flag.or_else(|| Store::new(warehouse).current().ok().and_then(|v| v.manifest.currency))
        .map(|c| c.to_string())
        .unwrap_or_default()
}

/// The KPI filter as command-line options.
#[derive(Args, Debug, Default)]
pub(super) struct FilterArgs {
    /// First day (YYYY-MM-DD), included.
    #[arg(long)]
    pub(super) from: Option<String>,
    /// Last day (YYYY-MM-DD), included.
    #[arg(long)]
    pub(super) to: Option<String>,
    #[command(flatten)]
    pub(super) segment: SegmentArgs,
    /// Length of the top-products and top-customers lists.
    #[arg(long)]
    pub(super) top: Option<String>,
}

/// The filters that pick a segment of the shop rather than a range of days.
#[derive(Args, Debug, Default)]
pub(super) struct SegmentArgs {
    /// Only this product category.
    #[arg(long)]
    pub(super) category: Option<String>,
    /// Only customers of this country.
    #[arg(long)]
    pub(super) country: Option<String>,
    /// Only orders with a payment of this method.
    #[arg(long)]
    pub(super) method: Option<String>,
    /// Only orders sold through this channel.
    #[arg(long)]
    pub(super) channel: Option<String>,
    /// Only lines of this product (a product_id, or a product its variants name, with them all).
    #[arg(long)]
    pub(super) product: Option<String>,
}

// The options are the API's parameter sets (`analysis::query`), validated by the same code: a
// value the API refuses, the CLI refuses with the same words.
impl SegmentArgs {
    pub(super) fn query(&self) -> SegmentQuery {
        SegmentQuery {
            category: self.category.clone(),
            country: self.country.clone(),
            method: self.method.clone(),
            channel: self.channel.clone(),
            product: self.product.clone(),
        }
    }

    /// The segment's filter (every day).
    pub(super) fn parse(&self) -> Result<Filter> {
        Ok(self.query().filter(None)?)
    }
}

impl FilterArgs {
    pub(super) fn query(&self) -> FilterQuery {
        FilterQuery {
            range: RangeQuery { from: self.from.clone(), to: self.to.clone() },
            segment: self.segment.query(),
            top: TopQuery { top: self.top.clone() },
        }
    }

    pub(super) fn parse(&self) -> Result<Filter> {
        Ok(self.query().filter()?)
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(super) enum OutputFormat {
    Table,
    Csv,
    Json,
}
