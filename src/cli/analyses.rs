//! The analyses: `kpi`, `explain`, `projection`, `alerts`, `forecast`, `backtest`, `report` and
//! `customers`, each computed by the core and printed as tables or JSON.

use super::args::{EngineArg, FilterArgs, OutputFormat, SegmentArgs, shop_currency};
use super::format;
use crate::forecast::{Series, revenue_series};
use crate::metrics::compare::Versus;
use crate::model::text::terminal_safe;
use crate::model::{Currency, MemoryLimit};
use crate::warehouse::{Store, Warehouse};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub(super) struct KpiArgs {
    /// The warehouse folder.
    #[arg(long)]
    pub(super) warehouse: PathBuf,
    #[command(flatten)]
    pub(super) filter: FilterArgs,
    /// Print JSON instead of tables (the shape of /api/kpis; docs/import.md).
    #[arg(long)]
    pub(super) json: bool,
    #[command(flatten)]
    pub(super) engine: EngineArg,
}

#[derive(Args, Debug)]
pub(super) struct ForecastArgs {
    /// The warehouse folder (or use --series).
    #[arg(long, required_unless_present = "series", conflicts_with = "series")]
    pub(super) warehouse: Option<PathBuf>,
    /// A CSV with header month,value (YYYY-MM, consecutive months) instead of a warehouse.
    #[arg(long)]
    pub(super) series: Option<PathBuf>,
    /// How many months ahead (the JSON then has a path).
    #[arg(long, default_value_t = 1)]
    pub(super) horizon: usize,
    #[command(flatten)]
    pub(super) filter: FilterArgs,
    /// Print JSON (the shape of /api/forecast).
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(Args, Debug)]
pub(super) struct ExplainArgs {
    /// The warehouse folder.
    #[arg(long)]
    pub(super) warehouse: PathBuf,
    #[command(flatten)]
    pub(super) filter: FilterArgs,
    /// What to compare with: previous_period, previous_year, or FROM:TO (two days); without
    /// it and without dates, the default range (the last 12 complete months against the 12
    /// before, or the last complete month against a year or a month before).
    #[arg(long)]
    pub(super) vs: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(Args, Debug)]
pub(super) struct ProjectionArgs {
    /// The warehouse folder.
    #[arg(long)]
    pub(super) warehouse: PathBuf,
    /// The day to project from (default: the latest order's day).
    #[arg(long)]
    pub(super) as_of: Option<String>,
    #[command(flatten)]
    pub(super) segment: SegmentArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(Args, Debug)]
pub(super) struct AlertsArgs {
    /// The warehouse folder.
    #[arg(long)]
    pub(super) warehouse: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(Args, Debug)]
pub(super) struct BacktestArgs {
    /// CSV files with header month,value.
    #[arg(required = true)]
    pub(super) files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub(super) struct ReportArgs {
    /// The warehouse folder.
    #[arg(long)]
    pub(super) warehouse: PathBuf,
    /// The HTML file to write.
    #[arg(long)]
    pub(super) out: PathBuf,
    #[command(flatten)]
    pub(super) filter: FilterArgs,
    /// Currency the page shows money in (ISO 4217 code, any case); by default the one the
    /// import recorded.
    #[arg(long)]
    pub(super) currency: Option<Currency>,
}

pub(super) async fn kpi(args: KpiArgs, memory: MemoryLimit) -> Result<()> {
    let KpiArgs { warehouse, filter, json, engine } = args;
    let filter = filter.parse()?;
    let wh = Warehouse::open_on(&Store::new(&warehouse), memory, 1, engine.engine).await?;
    let kpis = crate::metrics::compute(&wh, &filter).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&kpis)?);
    } else {
        let currency = shop_currency(&warehouse, None);
        if !currency.is_empty() {
            println!("Amounts in {currency}.");
        }
        print!("{}", terminal_safe(&format::kpis(&kpis)));
    }
    if kpis.summary.orders == 0 && (filter.from().is_some() || filter.to().is_some()) {
        // zeros for a range outside the data are true, but say why
        let d = crate::metrics::dimensions(&wh).await?;
        if let (Some(first), Some(last)) = (d.first_date, d.last_date) {
            eprintln!("no revenue orders in the range; the data covers {first} to {last}");
        }
    }
    Ok(())
}

pub(super) async fn forecast(args: ForecastArgs, memory: MemoryLimit) -> Result<()> {
    let ForecastArgs { warehouse, series, horizon, filter, json } = args;
    let open = |path: &Path| {
        let store = Store::new(path);
        async move { Warehouse::open_limited(&store, memory, 1).await }
    };
    if !(1..=24).contains(&horizon) {
        bail!("--horizon: {horizon} is not a whole number from 1 to 24");
    }
    let series = match (series, warehouse) {
        (Some(file), _) => Series::read_csv(&file)?,
        (None, Some(wh)) => {
            let wh = open(&wh).await?;
            let (monthly, last) = crate::metrics::monthly(&wh, &filter.parse()?).await?;
            revenue_series(&monthly, last)
                .unwrap_or(Series { start: "2000-01".parse().expect("valid"), values: vec![] })
        }
        (None, None) => bail!("give --warehouse or --series"),
    };
    let f = crate::forecast::forecast(&series, horizon)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&f)?);
    } else {
        print!("{}", terminal_safe(&format::forecast(&f)));
    }
    Ok(())
}

pub(super) async fn explain(args: ExplainArgs, memory: MemoryLimit) -> Result<()> {
    let ExplainArgs { warehouse, filter, vs, json } = args;
    let open = |path: &Path| {
        let store = Store::new(path);
        async move { Warehouse::open_limited(&store, memory, 1).await }
    };
    let filter = filter.parse()?;
    let wh = open(&warehouse).await?;
    let dims = crate::metrics::dimensions(&wh).await?;
    let (filter, vs) = match vs {
        Some(v) => (filter, v.parse::<Versus>().map_err(|e| anyhow::anyhow!("--vs: {e}"))?),
        // without dates or --vs, the default range and its comparison
        None => crate::metrics::compare::with_default(&filter, &dims),
    };
    if let Some(why) = crate::metrics::compare::why_not_comparable(&filter, vs, &dims) {
        bail!("nothing to compare with: {why}; give --from and --to");
    }
    let Some(e) = crate::insights::explain(&wh, &filter, vs).await? else {
        bail!("the warehouse has no orders to explain");
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&e)?);
    } else {
        print!("{}", terminal_safe(&format::explanation(&e)));
    }
    Ok(())
}

pub(super) async fn projection(args: ProjectionArgs, memory: MemoryLimit) -> Result<()> {
    let ProjectionArgs { warehouse, as_of, segment, json } = args;
    let open = |path: &Path| {
        let store = Store::new(path);
        async move { Warehouse::open_limited(&store, memory, 1).await }
    };
    let filter = segment.parse()?;
    let as_of =
        as_of.map(|d| crate::model::time::parse_date(&d).map_err(|e| anyhow::anyhow!("--as-of: {e}"))).transpose()?;
    let wh = open(&warehouse).await?;
    let Some(p) = crate::insights::projection(&wh, &filter, as_of).await? else {
        bail!("the warehouse has no orders to project from");
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&p)?);
    } else {
        print!("{}", terminal_safe(&format::projection(&p)));
    }
    Ok(())
}

pub(super) async fn alerts(args: AlertsArgs, memory: MemoryLimit) -> Result<()> {
    let AlertsArgs { warehouse, json } = args;
    let open = |path: &Path| {
        let store = Store::new(path);
        async move { Warehouse::open_limited(&store, memory, 1).await }
    };
    let wh = open(&warehouse).await?;
    let a = crate::insights::alerts(&wh).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&a)?);
    } else {
        print!("{}", terminal_safe(&format::alerts(&a)));
    }
    Ok(())
}

pub(super) fn backtest(args: BacktestArgs) -> Result<()> {
    let BacktestArgs { files } = args;
    let mut results = Vec::new();
    for file in &files {
        let series = Series::read_csv(file)?;
        if series.values.len() < 15 {
            bail!("{}: the backtest needs at least 15 months", file.display());
        }
        let name = file.file_stem().map_or_else(|| file.display().to_string(), |s| s.to_string_lossy().into_owned());
        results.push(crate::forecast::backtest::evaluate(&name, &series));
    }
    print!("{}", terminal_safe(&format::backtest(&results)));
    Ok(())
}

pub(super) async fn report(args: ReportArgs, memory: MemoryLimit) -> Result<()> {
    let ReportArgs { warehouse, out, filter, currency } = args;
    let open = |path: &Path| {
        let store = Store::new(path);
        async move { Warehouse::open_limited(&store, memory, 1).await }
    };
    let filter = filter.parse()?;
    let wh = open(&warehouse).await?;
    // without dates, the report opens where the dashboard does: a range with one to compare
    let (filter, vs) = crate::metrics::compare::with_default(&filter, &crate::metrics::dimensions(&wh).await?);
    let data = crate::report::gather(&wh, &filter, vs).await?;
    let generated = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let html = crate::report::render(&data, &filter, &vs, &generated, &shop_currency(&warehouse, currency));
    std::fs::write(&out, html).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

#[derive(Subcommand, Debug)]
pub(super) enum CustomersCmd {
    /// Cohort retention by month of first purchase (--from/--to choose the cohorts).
    Cohorts {
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
        #[command(flatten)]
        filter: FilterArgs,
        /// Print JSON (the shape of the API's customer answers).
        #[arg(long)]
        json: bool,
    },
    /// The returning-customer rate of a range, beside the repeat-customer rate.
    Returning {
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
        #[command(flatten)]
        filter: FilterArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// RFM scores and the ten segments as of a day.
    Rfm {
        /// The warehouse folder.
        #[arg(long)]
        warehouse: PathBuf,
        /// The day recency is measured from (default: the last order's day); RFM reads every order
        /// up to it, so it takes no --from, --to or --top.
        #[arg(long)]
        as_of: Option<String>,
        #[command(flatten)]
        segment: SegmentArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// List every customer with scores and segment instead of the segments.
        #[arg(long)]
        customers: bool,
        /// Output format of --customers.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Lifetime value: BG/NBD and Gamma-Gamma fitted by maximum likelihood.
    Clv {
        /// The warehouse folder (or --summary).
        #[arg(long, required_unless_present = "summary", conflicts_with = "summary")]
        warehouse: Option<PathBuf>,
        /// A summary CSV (header ID,x,t_x,T,zbar) instead of a warehouse.
        #[arg(long)]
        summary: Option<PathBuf>,
        /// Only purchases on or before this day count (default: the last order's day).
        #[arg(long)]
        calibration_end: Option<String>,
        /// Weeks ahead the expected purchases cover.
        #[arg(long, default_value_t = 52)]
        horizon_weeks: u32,
        /// Annual discount rate for the CLV (e.g. 0.1); undiscounted without it.
        #[arg(long)]
        discount_rate: Option<f64>,
        /// Also write the per-customer summary (ID,x,t_x,T,zbar, in weeks) to this CSV file.
        #[arg(long, conflicts_with = "summary")]
        write_summary: Option<PathBuf>,
        /// List every customer (--top N lists the first N by CLV, default 10).
        #[arg(long)]
        customers: bool,
        #[command(flatten)]
        filter: FilterArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn day(flag: &str, value: Option<&str>) -> Result<Option<chrono::NaiveDate>> {
    value.map(|v| crate::model::time::parse_date(v).map_err(|m| anyhow::anyhow!("{flag}: {m}"))).transpose()
}

pub(super) async fn customers(analysis: CustomersCmd, memory: MemoryLimit) -> Result<()> {
    use crate::customers;
    let open = |path: &Path| {
        let store = Store::new(path);
        async move { Warehouse::open_limited(&store, memory, 1).await }
    };
    match analysis {
        CustomersCmd::Cohorts { warehouse, filter, json } => {
            let c = customers::cohorts(&open(&warehouse).await?, &filter.parse()?).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&c)?);
            } else {
                print!("{}", terminal_safe(&format::cohorts(&c)));
            }
        }
        CustomersCmd::Returning { warehouse, filter, json } => {
            let filter = filter.parse()?;
            let wh = open(&warehouse).await?;
            let r = customers::returning(&wh, &filter).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "{} customers ordered in the range; {} of them are returning (2+ orders since their first ever): \
                     returning-customer rate {:.1} % (repeat-customer rate, 2+ orders inside the range: {:.1} %)",
                    crate::metrics::grouped(r.customers),
                    crate::metrics::grouped(r.returning),
                    r.returning_customer_rate * 100.0,
                    r.repeat_customer_rate * 100.0
                );
            }
        }
        CustomersCmd::Rfm { warehouse, as_of, segment, json, customers: list, format: fmt } => {
            let as_of = day("--as-of", as_of.as_deref())?;
            let r = customers::rfm(&open(&warehouse).await?, &segment.parse()?, as_of).await?;
            match (list, json, fmt) {
                (true, _, OutputFormat::Csv) => print!("{}", String::from_utf8(customers::rfm::csv(&r.customers))?),
                (true, true, _) | (true, _, OutputFormat::Json) => {
                    println!("{}", serde_json::to_string_pretty(&r.customers)?)
                }
                (true, false, _) => print!("{}", terminal_safe(&format::rfm_customers(&r.customers))),
                (false, true, _) => println!("{}", serde_json::to_string_pretty(&r)?),
                (false, false, _) => print!("{}", terminal_safe(&format::rfm(&r))),
            }
        }
        CustomersCmd::Clv {
            warehouse,
            summary,
            calibration_end,
            horizon_weeks,
            discount_rate,
            write_summary,
            customers: list,
            filter,
            json,
        } => {
            let filter = filter.parse()?;
            if !(1..=520).contains(&horizon_weeks) {
                bail!("--horizon-weeks: {horizon_weeks} is not a whole number from 1 to 520");
            }
            if discount_rate.is_some_and(|r| !(0.0..=10.0).contains(&r)) {
                bail!("--discount-rate: a yearly rate from 0 to 10 (e.g. 0.1 for 10 %)");
            }
            let options = customers::ClvOptions {
                calibration_end: day("--calibration-end", calibration_end.as_deref())?,
                horizon_weeks,
                discount_rate,
                top: if list { usize::MAX } else { filter.top() },
                deadline: None,
            };
            let c = match (summary, warehouse) {
                (Some(file), _) => customers::clv::clv_of_summary_file(&file, &options).await?,
                (None, Some(wh)) => match write_summary.as_deref() {
                    Some(path) => {
                        customers::clv::clv_writing_summary(&open(&wh).await?, &filter, &options, path).await?
                    }
                    None => customers::clv(&open(&wh).await?, &filter, &options).await?,
                },
                (None, None) => unreachable!("clap requires one"),
            };
            for w in &c.warnings {
                eprintln!("warning: {}", terminal_safe(w));
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&c)?);
            } else {
                print!("{}", terminal_safe(&format::clv(&c)));
            }
        }
    }
    Ok(())
}

/// `shoplens products …`: the products analyses, each asked of the catalog with the API's
/// parameters (so the CLI validates exactly as the server does).
#[derive(Subcommand, Debug)]
pub(super) enum ProductsCmd {
    /// Per product (variants rolled up), variant or category: net sales, units, orders, average
    /// price, share, returns and return rate, first-time buyers' share, the change against the
    /// comparison period with its trend test.
    Performance {
        #[command(flatten)]
        common: ProductsArgs,
        /// What the range is compared with: previous_period (default), previous_year, or FROM:TO.
        #[arg(long)]
        vs: Option<String>,
    },
    /// Items bought in the same order, by lift: support, confidence, lift, leverage, conviction.
    Pairs {
        #[command(flatten)]
        common: ProductsArgs,
        /// The least share of orders holding both (0 to 1; default 0).
        #[arg(long)]
        min_support: Option<String>,
        /// The least number of orders holding both (default 3).
        #[arg(long)]
        min_orders: Option<String>,
    },
    /// Customers by the items of their first purchase day (--from/--to choose them): what their
    /// second purchase holds, their repeat rate and a year's net sales.
    Journey {
        #[command(flatten)]
        common: ProductsArgs,
    },
}

/// What every products command takes.
#[derive(Args, Debug)]
pub(super) struct ProductsArgs {
    /// The warehouse folder.
    #[arg(long)]
    warehouse: PathBuf,
    #[command(flatten)]
    filter: FilterArgs,
    /// product (variants rolled up; the default), variant or category.
    #[arg(long)]
    level: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
}

pub(super) async fn products(cmd: ProductsCmd, memory: MemoryLimit) -> Result<()> {
    use crate::analysis::products::{
        JourneyAnalysis, JourneyQuery, LevelQuery, PairsAnalysis, PairsQuery, ProductsAnalysis, ProductsQuery,
    };
    use crate::analysis::{Analysis, Ctx, kpis::VersusQuery};
    let common = match &cmd {
        ProductsCmd::Performance { common, .. }
        | ProductsCmd::Pairs { common, .. }
        | ProductsCmd::Journey { common } => common,
    };
    let wh = Warehouse::open_limited(&Store::new(&common.warehouse), memory, 1).await?;
    let ctx = Ctx::new(&wh);
    let level = LevelQuery { level: common.level.clone() };
    let filter = common.filter.query();
    let out = match cmd {
        ProductsCmd::Performance { ref common, vs } => {
            let q = ProductsQuery { versus: VersusQuery { filter, vs }, level };
            let o = ProductsAnalysis::options(q)?;
            match common.format {
                OutputFormat::Csv => String::from_utf8(ProductsAnalysis::csv(&ctx, &o).await?)?,
                OutputFormat::Json => serde_json::to_string_pretty(&*ctx.run::<ProductsAnalysis>(&o).await?)? + "\n",
                OutputFormat::Table => format::products(&*ctx.run::<ProductsAnalysis>(&o).await?, o.0.top()),
            }
        }
        ProductsCmd::Pairs { ref common, min_support, min_orders } => {
            let p = ctx.answer::<PairsAnalysis>(PairsQuery { filter, level, min_support, min_orders }).await?;
            match common.format {
                OutputFormat::Table => format::pairs(&p),
                _ => serde_json::to_string_pretty(&*p)? + "\n",
            }
        }
        ProductsCmd::Journey { ref common } => {
            let j = ctx.answer::<JourneyAnalysis>(JourneyQuery { filter, level }).await?;
            match common.format {
                OutputFormat::Table => format::journey(&j),
                _ => serde_json::to_string_pretty(&*j)? + "\n",
            }
        }
    };
    print!("{}", terminal_safe(&out));
    Ok(())
}
