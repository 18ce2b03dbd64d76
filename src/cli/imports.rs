//! `generate` and `import`: a shop into a warehouse (a folder, a flat file, the Olist dataset or a
//! PostgreSQL database, staged by the core), with its progress bar and report.

use super::{format, progress};
use crate::generate::{GenerateOptions, generate};
use crate::import::flat::{MappingSource, import_flat};
use crate::import::stage::{StagedDatabase, stage_database, stage_olist};
use crate::import::{ImportOptions, RejectLimit, import_export};
use crate::model::text::terminal_safe;
use crate::model::{Currency, MemoryLimit, ShopTz};
use crate::source::{flat, postgres};
use crate::warehouse::Store;
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub(super) struct GenerateArgs {
    /// Folder to write the five CSV files into.
    #[arg(long)]
    pub(super) out: PathBuf,
    /// How many orders.
    #[arg(long, default_value_t = 100_000)]
    pub(super) orders: u64,
    /// Random seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 42)]
    pub(super) seed: u64,
    /// The base format only, as the peer benchmark reads it: no books (shipping, tax, order
    /// discounts, codes, channels, refunds.csv) and no product variants.
    #[arg(long)]
    pub(super) plain: bool,
}

#[derive(Args, Debug)]
pub(super) struct ImportArgs {
    /// The export folder (customers.csv, products.csv, orders.csv, order_items.csv,
    /// payments.csv), or a PostgreSQL database: postgres://user@host:port/db (a password in
    /// the URL or PGPASSWORD; the PG* variables fill in what the URL leaves out).
    pub(super) dir: PathBuf,
    /// For a PostgreSQL source: a TOML file naming each record set's table or query
    /// (`[orders]` then `table = "shop.orders"` or `query = "SELECT …"`); by default the
    /// tables named like the record sets.
    #[arg(long)]
    pub(super) query_file: Option<PathBuf>,
    /// The warehouse folder.
    #[arg(long)]
    pub(super) warehouse: PathBuf,
    /// The shop's time zone (IANA name) for timestamps with an offset.
    #[arg(long, default_value = "UTC")]
    pub(super) timezone: String,
    /// Print the per-file counts as JSON.
    #[arg(long)]
    pub(super) json: bool,
    /// Add to the warehouse instead of replacing it: new orders are added, an order seen
    /// before is replaced by its newer version (its lines and payments too when the export
    /// lists them), dimensions keep their keys; importing the same export again changes nothing.
    #[arg(long)]
    pub(super) append: bool,
    /// The files' encoding: utf-8 (the format's) or latin1 (ISO-8859-1, converted while reading).
    #[arg(long, default_value = "utf-8")]
    pub(super) encoding: crate::source::Encoding,
    /// DIR is a flat export (one CSV, a row per order line) read with this TOML mapping.
    #[arg(long, conflicts_with = "preset")]
    pub(super) map: Option<PathBuf>,
    /// DIR is an export in a known format: online-retail-ii or shopify (one CSV file), olist
    /// (the dataset's folder).
    #[arg(long)]
    pub(super) preset: Option<String>,
    /// Print a mapping proposed from the flat file's header and values, to check and pass
    /// with --map.
    #[arg(long)]
    pub(super) detect: bool,
    /// A dry run: read, check and count everything, show the first orders as they would
    /// load, and publish nothing.
    #[arg(long)]
    pub(super) check: bool,
    /// Publish even if up to this percentage of a file's rows are rejected (default 5); the
    /// import is refused, and the warehouse kept as it was, beyond it.
    #[arg(long, value_name = "PERCENT", default_value_t = RejectLimit::DEFAULT)]
    pub(super) max_rejects: RejectLimit,
    /// The shop's currency (ISO 4217, any case), recorded for every surface; by default the
    /// mapping's, or the previous import's.
    #[arg(long)]
    pub(super) currency: Option<Currency>,
    /// The shop's prices, discounts and shipping include the tax (as in the EU): it is taken
    /// out of them, so net sales never include tax. By default prices are before tax (or, for a
    /// flat export, as its mapping says).
    #[arg(long)]
    pub(super) taxes_included: bool,
}

pub(super) fn generate_cmd(args: GenerateArgs) -> Result<()> {
    let GenerateArgs { out, orders, seed, plain } = args;
    let started = Instant::now();
    let r = generate(&out, &GenerateOptions { orders, seed, books: !plain, variants: !plain, ..Default::default() })?;
    eprintln!(
        "wrote {} orders, {} order lines, {} payments, {} refunds, {} customers, {} products to {} in {:.1} s",
        r.orders,
        r.order_items,
        r.payments,
        r.refunds,
        r.customers,
        r.products,
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub(super) async fn import_cmd(args: ImportArgs, memory: MemoryLimit) -> Result<()> {
    let ImportArgs {
        dir,
        query_file,
        warehouse,
        timezone,
        json,
        append,
        encoding,
        map,
        preset,
        detect,
        check,
        max_rejects,
        currency,
        taxes_included,
    } = args;
    let settings = ImportSettings {
        timezone: &timezone,
        json,
        append,
        encoding,
        memory,
        source_name: None,
        watermark: None,
        check,
        max_rejects,
        currency,
        taxes_included,
    };
    if let Some(url) = dir.to_str().filter(|s| postgres::is_url(s)) {
        let queries = match &query_file {
            Some(f) => Some(std::fs::read_to_string(f).with_context(|| format!("{}", f.display()))?),
            None => None,
        };
        let pg = postgres::PgSource::new(url, queries.as_deref())?;
        let StagedDatabase { scratch, staged, since } = stage_database(&pg, &Store::new(&warehouse), append).await?;
        let rows: Vec<String> = staged.counts.iter().map(|(set, n)| format!("{set} {n}")).collect();
        let how = match (&since, staged.incremental) {
            (Some(s), true) => format!(" (orders changed after {s})"),
            _ => String::new(),
        };
        eprintln!("{}: read {}{how} (COPY); a reject names the record set's CSV and line", pg.name(), rows.join(", "));
        let settings = ImportSettings { source_name: Some(pg.name()), watermark: staged.watermark, ..settings };
        return import(scratch.path(), &warehouse, settings).await;
    }
    if query_file.is_some() {
        bail!("--query-file is for a PostgreSQL source (postgres://…)");
    }
    if !dir.exists() {
        bail!("{}: not found", dir.display());
    }
    if detect {
        if !dir.is_file() {
            bail!("{}: --detect reads a flat export, one CSV file", dir.display());
        }
        let detected = flat::detect::detect_file(&dir)?;
        print!("{}", detected.toml);
        if !detected.undecided.is_empty() {
            eprintln!("{} field(s) left for you to decide, marked UNDECIDED in the mapping", detected.undecided.len());
        }
        return Ok(());
    }
    if preset.as_deref() == Some("olist") {
        if !dir.is_dir() {
            bail!("{}: the olist preset reads the dataset's folder", dir.display());
        }
        let (scratch, n) = stage_olist(&dir)?;
        eprintln!("{}: {n} Olist orders", dir.display());
        return import(scratch.path(), &warehouse, settings).await;
    }
    let (mapping, name, text) = match (map, preset) {
        (Some(m), _) => {
            let text = std::fs::read_to_string(&m).with_context(|| format!("{}", m.display()))?;
            let mapping = flat::Mapping::parse(&text).with_context(|| format!("{}", m.display()))?;
            (mapping, m.display().to_string(), text)
        }
        (None, Some(p)) => {
            let text = flat::PRESETS.iter().find(|(n, _)| *n == p).map_or("", |(_, t)| *t).to_string();
            (flat::Mapping::preset(&p)?, format!("preset {p}"), text)
        }
        (None, None) if dir.is_file() => bail!(
            "{}: a single file is a flat export; import it with a mapping: --detect prints one to \
             check and pass with --map FILE, or --preset online-retail-ii|shopify",
            dir.display()
        ),
        (None, None) => return import(&dir, &warehouse, settings).await,
    };
    if !dir.is_file() {
        bail!("{}: a flat export is one CSV file (the olist preset reads a folder)", dir.display());
    }
    import_flat_file(&dir, MappingSource { mapping: &mapping, name, text: &text }, &warehouse, settings).await?;
    Ok(())
}

/// The import command's options.
pub(super) struct ImportSettings<'a> {
    pub(super) timezone: &'a str,
    pub(super) json: bool,
    pub(super) append: bool,
    pub(super) encoding: crate::source::Encoding,
    pub(super) memory: MemoryLimit,
    /// What the import record calls the source (default: the folder).
    pub(super) source_name: Option<String>,
    /// Where an incremental read of a database stopped, to record.
    pub(super) watermark: Option<String>,
    /// A dry run.
    pub(super) check: bool,
    pub(super) max_rejects: RejectLimit,
    pub(super) currency: Option<Currency>,
    pub(super) taxes_included: bool,
}

impl ImportSettings<'_> {
    /// The core's options, drawing progress on `bar`.
    fn options(&self, bar: &progress::Bar) -> Result<ImportOptions> {
        let tz: ShopTz = self.timezone.parse().map_err(anyhow::Error::msg).context("--timezone")?;
        Ok(ImportOptions {
            timezone: tz,
            progress: Some(Arc::new(bar.clone())),
            append: self.append,
            encoding: self.encoding,
            memory: self.memory,
            key_chunk: None,
            source_name: self.source_name.clone(),
            watermark: self.watermark.clone(),
            origin: None,
            max_rejects: self.max_rejects,
            dry_run: self.check,
            currency: self.currency.clone(),
            taxes_included: self.taxes_included,
            assumptions: Vec::new(),
        })
    }

    /// Prints what an import did (or, for a dry run, would do).
    fn print(&self, report: &crate::import::ImportReport, took: Duration, clock: &str) -> Result<()> {
        if self.json && self.check {
            let out = serde_json::json!({
                "published": false,
                "files": report.files,
                "reasons": report.reasons,
                "preview": report.preview,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else if self.json {
            println!("{}", serde_json::to_string_pretty(&report.files)?);
        } else {
            print!("{}", terminal_safe(&format::import_report(report, took, clock)));
        }
        Ok(())
    }
}

pub(super) async fn import(dir: &Path, warehouse: &Path, settings: ImportSettings<'_>) -> Result<()> {
    if !dir.is_dir() {
        bail!("{}: not a folder (an export is a folder of five CSV files)", dir.display());
    }
    let bar = progress::Bar::new();
    let opts = settings.options(&bar)?;
    let started = Instant::now();
    let report = import_export(dir, &Store::new(warehouse), &opts).await;
    bar.finish();
    let clock = settings.timezone.to_string();
    settings.print(&report?, started.elapsed(), &clock)
}

/// Imports a flat file by its mapping.
async fn import_flat_file(
    file: &Path,
    mapping: MappingSource<'_>,
    warehouse: &Path,
    settings: ImportSettings<'_>,
) -> Result<()> {
    let bar = progress::Bar::new();
    let opts = settings.options(&bar)?;
    let started = Instant::now();
    let result = import_flat(file, mapping, &Store::new(warehouse), &opts).await;
    bar.finish();
    let (converted, report) = result?;
    let missing = if converted.missing.is_empty() {
        String::new()
    } else {
        format!(" (not in the file, left empty: {})", converted.missing.join(", "))
    };
    eprintln!("{}: {} rows, {} orders{missing}", file.display(), converted.rows, converted.orders);
    for said in &converted.assumptions {
        eprintln!("  {}", terminal_safe(said));
    }
    let clock = match converted.offsets.as_slice() {
        [] => settings.timezone.to_string(),
        offsets => format!("the shop's clock, UTC{}", offsets.join("/")),
    };
    settings.print(&report, started.elapsed(), &clock)
}
