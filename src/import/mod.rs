//! Import: reads an export in the canonical format, validates every row, and writes a new
//! warehouse version beside the current one, published atomically. Every bad row goes to the
//! rejects with its file, line and reason; for every file, read = loaded + rejected.

pub mod flat;
pub mod ids;
pub mod previous;
pub(crate) mod stage;
mod steps;
pub mod tables;

use crate::model::ShopTz;
use crate::model::text::csv_safe;
use crate::source::{RawRows, Row, SourceError, SourceFile, TableReader};
use crate::warehouse::parts;
use crate::warehouse::schema::{Layout, Table};
use crate::warehouse::store::{FileCounts, REJECTS, Store, StoreError};
use crate::warehouse::writer::{TableWriter, WriteError};
use ahash::{AHashMap as HashMap, AHashSet as HashSet};
use datafusion::arrow::record_batch::RecordBatch;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use steps::Reading;
use tables::{OrderInfo, Orders};

/// Rows per fact batch: the import's memory for facts is bounded by this, not by the export.
const BATCH_ROWS: usize = 64 * 1024;

/// About the fewest bytes a row of orders.csv (customers.csv) takes: the estimate of how many
/// orders (customers) to make room for at once.
const ORDER_ROW_BYTES: usize = 48;
const CUSTOMER_ROW_BYTES: usize = 48;

/// Receives the import's progress; the CLI draws it as a bar, tests ignore it.
pub trait Progress: Send + Sync {
    /// A file of `bytes` bytes starts.
    fn start_file(&self, file: &str, bytes: u64);
    /// `bytes` of the current file are done.
    fn advance(&self, bytes: u64);
    /// A later phase starts (writing and sorting the tables).
    fn phase(&self, name: &str);
}

/// How to import.
#[derive(Clone, Default)]
pub struct ImportOptions {
    /// The shop's time zone, for bucketing timestamps with an offset into days.
    pub timezone: ShopTz,
    /// Where progress goes, if anywhere.
    pub progress: Option<Arc<dyn Progress>>,
    /// The files' character encoding.
    pub encoding: crate::source::Encoding,
    /// Add to the current version instead of replacing it: new orders are added, an order seen
    /// before is replaced by its newer version, dimensions keep their keys.
    pub append: bool,
    /// Memory the import's sorts may hold before they spill to disk.
    pub memory: crate::model::MemoryLimit,
    /// Customer keys per `dim_customer` part of a new warehouse (default `KEY_CHUNK`; an append
    /// keeps the previous version's). Tests make it small to have many parts.
    pub key_chunk: Option<i32>,
    /// What the import records call the source (default: the folder read), e.g. a database's
    /// URL without its password when the folder is a staging copy of it.
    pub source_name: Option<String>,
    /// Recorded with the import: where an incremental read of the source stopped.
    pub watermark: Option<String>,
    /// The export the folder was converted from (a flat file), which rejects and the import
    /// record name instead of the canonical files.
    pub origin: Option<Origin>,
    /// The share of a file's rows that may be rejected before the import refuses to publish.
    pub max_rejects: RejectLimit,
    /// Read, check and count everything, then publish nothing (`import --check`).
    pub dry_run: bool,
    /// The shop's currency, recorded with the import (kept from the previous version if `None`).
    pub currency: Option<crate::model::Currency>,
}

/// The user's own export when the canonical files were converted from it.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    /// The flat file's name, as rejects name it (`superstore.csv:4103`).
    pub file_name: String,
    /// Checksums to record instead of the converted files': the flat file's, the mapping's.
    pub checksums: BTreeMap<String, String>,
    /// How it was mapped: the mapping file or the preset.
    pub mapping: String,
}

/// The largest share of any file's rows that an import may reject and still publish.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RejectLimit(f64);

impl RejectLimit {
    /// The default: 5 % of a file's rows.
    pub const DEFAULT: RejectLimit = RejectLimit(0.05);
    /// Every row may be rejected.
    pub const ANY: RejectLimit = RejectLimit(1.0);

    /// A limit in percent, 0 to 100.
    ///
    /// # Errors
    /// Not a number from 0 to 100.
    pub fn percent(text: &str) -> Result<RejectLimit, String> {
        match text.trim().trim_end_matches('%').trim().parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => Ok(RejectLimit(p / 100.0)),
            _ => Err(format!("'{text}' is not a percentage from 0 to 100")),
        }
    }

    /// Whether a file with these counts has lost more rows than allowed: more than the share, or
    /// every row of a file that had some (unless any share is allowed).
    fn exceeded(self, c: &FileCounts) -> bool {
        c.read > 0 && (c.rejected as f64 > self.0 * c.read as f64 || (c.loaded == 0 && self.0 < 1.0))
    }
}

impl Default for RejectLimit {
    fn default() -> RejectLimit {
        RejectLimit::DEFAULT
    }
}

impl std::fmt::Display for RejectLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} %", self.0 * 100.0)
    }
}

impl std::str::FromStr for RejectLimit {
    type Err = String;
    fn from_str(s: &str) -> Result<RejectLimit, String> {
        RejectLimit::percent(s)
    }
}

/// An import that was read in full but not published: too many rows rejected.
#[derive(Clone, Debug)]
pub struct Refusal {
    /// Per file counts.
    pub files: BTreeMap<String, FileCounts>,
    /// The files over the limit.
    pub over: Vec<String>,
    /// The limit.
    pub limit: RejectLimit,
    /// The most frequent reasons, with how many rows each.
    pub(crate) reasons: Vec<(String, u64)>,
    /// The first rejects, `(file, line, reason)`.
    pub(crate) first_rejects: Vec<(String, u64, String)>,
    /// Where this import's rejects were kept.
    pub rejects: PathBuf,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "not published: {} lost more than {} of their rows, so the warehouse keeps its current version",
            self.over.join(", "),
            self.limit
        )?;
        for (file, c) in &self.files {
            writeln!(f, "  {file}: read {}, loaded {}, rejected {}", c.read, c.loaded, c.rejected)?;
        }
        writeln!(f, "most frequent reasons:")?;
        for (reason, n) in &self.reasons {
            writeln!(f, "  {n} × {reason}")?;
        }
        if let Some((file, line, reason)) = self.first_rejects.first() {
            writeln!(f, "first: {file}:{line}: {reason}")?;
        }
        write!(
            f,
            "every reject is in {}; fix the export or the mapping, or accept the losses on purpose with \
             --max-rejects PERCENT",
            self.rejects.display()
        )
    }
}

/// The first orders an import read, as it would load them: `import --check` shows them.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct OrderPreview {
    /// The order's id.
    pub order_id: String,
    /// Shop-local time.
    pub order_ts: chrono::NaiveDateTime,
    /// The customer's id (`guest-…` for an order without one).
    pub customer_id: String,
    /// Its status.
    pub status: String,
    /// Lines loaded.
    pub lines: i32,
    /// Revenue of its loaded lines (whatever its status), as exact decimal text.
    #[serde(serialize_with = "as_text")]
    pub amount: crate::model::Money,
}

fn as_text<S: serde::Serializer>(m: &crate::model::Money, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(m)
}

/// What an import did.
#[derive(Clone, Debug)]
pub struct ImportReport {
    /// The version it published.
    pub version: String,
    /// Per source file counts, by file name.
    pub files: BTreeMap<String, FileCounts>,
    /// Where the rejects are.
    pub rejects: PathBuf,
    /// The first few rejects, `(file, line, reason)`, to show the user at once.
    pub(crate) first_rejects: Vec<(String, u64, String)>,
    /// The most frequent reject reasons (values left out), with how many rows each.
    pub(crate) reasons: Vec<(String, u64)>,
    /// Whether it was published (`false` for a dry run).
    pub published: bool,
    /// The first orders read, as loaded.
    pub(crate) preview: Vec<OrderPreview>,
}

/// Why an import failed; the warehouse then stays exactly as it was.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A source file is missing, unreadable or lacks a required column.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The warehouse cannot be locked, read or published.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A table or the rejects cannot be written.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// An append onto a warehouse an older shoplens wrote (tables as single files).
    #[error(
        "{0}: this warehouse was written by an older shoplens, which kept each table in one file; \
         import the whole export once without --append, then append to it"
    )]
    OldLayout(PathBuf),
    /// Too many rows rejected: nothing was published.
    #[error("{0}")]
    Refused(Box<Refusal>),
}

/// Writes rejected rows as CSV: `file,line,reason,record`.
struct Rejects {
    path: PathBuf,
    csv: csv::Writer<std::fs::File>,
    first: Vec<(String, u64, String)>,
    /// Rows per reason with its values left out.
    reasons: HashMap<String, u64>,
    /// The flat file the canonical files came from: a reject names it and its `source_line`.
    origin: Option<String>,
}

/// How many rejects an import report quotes.
const QUOTED_REJECTS: usize = 10;

/// How many orders an import report previews.
const PREVIEW_ORDERS: usize = 5;

/// Where a refused import's rejects are kept, in the warehouse folder.
pub(crate) const REFUSED_REJECTS: &str = "rejects.refused.csv";

impl Rejects {
    fn create(path: PathBuf) -> Result<Rejects, WriteError> {
        let wrap = |e: csv::Error| WriteError { path: path.clone(), message: e.to_string() };
        let mut csv = csv::Writer::from_path(&path).map_err(wrap)?;
        csv.write_record(["file", "line", "reason", "record"]).map_err(wrap)?;
        Ok(Rejects { path, csv, first: Vec::new(), reasons: HashMap::new(), origin: None })
    }

    fn add(&mut self, file: SourceFile, line: u64, reason: &str, raw: &str) -> Result<(), WriteError> {
        // a converted row ends with the flat file's line it came from
        let flat_line = || raw.trim_end().rsplit(',').next().and_then(|l| l.trim_matches('"').parse::<u64>().ok());
        let (file, line) = match (&self.origin, flat_line()) {
            (Some(origin), Some(l)) => (origin.as_str(), l),
            _ => (file.file_name(), line),
        };
        if self.first.len() < QUOTED_REJECTS {
            self.first.push((file.to_string(), line, reason.to_string()));
        }
        *self.reasons.entry(reason_kind(reason)).or_default() += 1;
        // the rejects are opened in spreadsheets: a raw row must not run as a formula there
        let (reason, raw) = (csv_safe(reason), csv_safe(raw));
        self.csv
            .write_record([file, &line.to_string(), &reason, &raw])
            .map_err(|e| WriteError { path: self.path.clone(), message: e.to_string() })
    }

    /// The most frequent reasons, most first.
    fn top_reasons(&self) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = self.reasons.iter().map(|(r, n)| (r.clone(), *n)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(5);
        all
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        self.csv.flush().map_err(|e| WriteError { path: self.path.clone(), message: e.to_string() })
    }
}

/// A reason with its quoted values and numbers left out, so that rows rejected for the same
/// cause count together: `column quantity: 'zwei' is not a whole number` becomes
/// `column quantity: '…' is not a whole number`.
fn reason_kind(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut quoted = false;
    for c in reason.chars() {
        match c {
            '\'' if quoted => {
                quoted = false;
                out.push_str("…'");
            }
            '\'' => {
                quoted = true;
                out.push(c);
            }
            _ if quoted => {}
            '0'..='9' if !out.ends_with('#') => out.push('#'),
            '0'..='9' => {}
            _ => out.push(c),
        }
    }
    out
}

/// Rows per block handed from the reading thread to the loading one.
const BLOCK_ROWS: usize = 4096;

/// A block of parsed rows: each row's line and its record or why it was rejected, with the rows'
/// text kept for the ones that `load` may still reject.
struct Block<R> {
    rows: Vec<(u64, Result<R, Refused>)>,
    raw: RawRows,
}

/// Why a row was refused, and its text.
type Refused = (String, String);

/// Reads every row of one file on a thread of its own, which splits the CSV and `parse`s each
/// well-shaped row, while this thread hands the parsed records to `load` (the lookups, keys and
/// batches): the two halves of an import's work on two cores. A row `parse` or `load` refuses
/// (with the reason) or that is mis-shaped goes to the rejects. Blocks go back to the reading
/// thread to be freed there: glibc's malloc frees another thread's memory slowly, and did so for
/// a third of the import's time.
fn read_rows<R: Send>(
    dir: &Path,
    file: SourceFile,
    encoding: crate::source::Encoding,
    rejects: &mut Rejects,
    progress: Option<&dyn Progress>,
    parse: impl Fn(&Row) -> Result<R, String> + Sync,
    mut load: impl FnMut(u64, &R) -> Result<(), String>,
) -> Result<(FileCounts, String), ImportError> {
    let mut reader = TableReader::open(dir, file, encoding)?;
    if let Some(p) = progress {
        p.start_file(file.file_name(), reader.size());
    }
    let (tx, rx) = std::sync::mpsc::sync_channel::<Block<R>>(4);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<Block<R>>();
    std::thread::scope(|scope| {
        let parse = &parse;
        let reading = scope.spawn(move || -> Result<String, SourceError> {
            let mut block = Block { rows: Vec::with_capacity(BLOCK_ROWS), raw: RawRows::default() };
            while let Some(row) = reader.next_row()? {
                // free the blocks the loading thread is done with here, where they were made
                while done_rx.try_recv().is_ok() {}
                match row {
                    Err(shape) => block.rows.push((shape.line, Err((shape.reason, shape.raw)))),
                    Ok(row) => {
                        let parsed = parse(&row).map_err(|reason| (reason, row.raw()));
                        if parsed.is_ok() {
                            block.raw.push(&row);
                        }
                        block.rows.push((row.line, parsed));
                    }
                }
                if block.rows.len() == BLOCK_ROWS {
                    if let Some(p) = progress {
                        p.advance(reader.position());
                    }
                    let full = std::mem::replace(
                        &mut block,
                        Block { rows: Vec::with_capacity(BLOCK_ROWS), raw: RawRows::default() },
                    );
                    if tx.send(full).is_err() {
                        break;
                    }
                }
            }
            let _ = tx.send(block);
            if let Some(p) = progress {
                p.advance(reader.size());
            }
            Ok(reader.checksum())
        });
        let mut counts = FileCounts::default();
        let mut failed = None;
        for block in rx {
            let mut kept = 0;
            for (line, parsed) in &block.rows {
                counts.read += 1;
                let outcome = match parsed {
                    Ok(record) => {
                        kept += 1;
                        load(*line, record).map_err(|reason| (reason, block.raw.raw(kept - 1)))
                    }
                    Err(rejected) => Err(rejected.clone()),
                };
                match outcome {
                    Ok(()) => counts.loaded += 1,
                    Err((reason, raw)) => {
                        counts.rejected += 1;
                        if let Err(e) = rejects.add(file, *line, &reason, &raw) {
                            failed.get_or_insert(e);
                        }
                    }
                }
            }
            let _ = done_tx.send(block);
            if failed.is_some() {
                // dropping the receiver stops the reading thread
                break;
            }
        }
        drop(done_tx);
        let checksum = reading.join().expect("the reading thread panicked")?;
        match failed {
            Some(e) => Err(e.into()),
            None => Ok((counts, checksum)),
        }
    })
}

/// Builds the batch of a table's rows in a range.
type Chunk<'a> = &'a (dyn Fn(Range<usize>) -> RecordBatch + Sync);

/// Writes each `(table, rows, chunk)` on a thread of its own, built and written `BATCH_ROWS` rows
/// at a time: building and encoding use both cores, and no table is ever whole in memory twice.
/// A [`Layout::KeyChunks`] table gets a file per `key_chunk` rows (row `r` has key `r + 1`).
fn write_side_by_side(dir: &Path, key_chunk: i32, tables: &[(&Table, usize, Chunk)]) -> Result<(), WriteError> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = tables
            .iter()
            .map(|(table, rows, chunk)| {
                scope.spawn(move || {
                    let files: Vec<(PathBuf, String, Range<usize>)> = match table.layout {
                        Layout::KeyChunks => {
                            let folder = table.path(dir);
                            std::fs::create_dir_all(&folder)
                                .map_err(|e| WriteError { path: folder.clone(), message: e.to_string() })?;
                            let per_file = key_chunk as usize;
                            (0..rows.div_ceil(per_file))
                                .map(|c| {
                                    let range = c * per_file..((c + 1) * per_file).min(*rows);
                                    (folder.clone(), parts::chunk_file(c as i32), range)
                                })
                                .collect()
                        }
                        Layout::Single | Layout::Monthly => {
                            vec![(dir.to_path_buf(), format!("{}.parquet", table.name), 0..*rows)]
                        }
                    };
                    for (folder, name, range) in files {
                        let mut out = TableWriter::create(&folder, &name, table)?;
                        for start in range.clone().step_by(BATCH_ROWS) {
                            out.write(&chunk(start..(start + BATCH_ROWS).min(range.end)))?;
                        }
                        out.close()?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().expect("a table writer panicked"))
    })
}

/// The orders of the previous version (`old`) that the import relisted, by surrogate key (an
/// append's old facts name their order by key).
fn by_order_key<'a>(orders: &'a Orders, old: &HashSet<i32>) -> HashMap<i32, &'a OrderInfo> {
    orders.values().filter(|o| old.contains(&o.order_key)).map(|o| (o.order_key, o)).collect()
}

/// Imports the export in `source` into the warehouse `store`, replacing its current version.
///
/// # Errors
/// A source file is missing or lacks a required column, another import holds the warehouse, or
/// writing fails. The published version is then unchanged.
pub async fn import_export(source: &Path, store: &Store, opts: &ImportOptions) -> Result<ImportReport, ImportError> {
    steps::check_headers(source, opts)?;
    let lock = store.lock()?;
    let staging = lock.stage()?;
    let dir = staging.dir().to_path_buf();
    let progress = opts.progress.as_deref();
    let rejects = steps::open_rejects(&dir, opts)?;
    let (start, previous) = steps::starting_point(source, store, opts)?;
    let previous = previous.as_ref();
    let key_chunk = steps::key_chunk(opts, previous);

    let mut reading = Reading::begin(source, opts, rejects, start);
    reading.customers()?;
    reading.products()?;
    reading.orders()?;
    let touched = steps::touched_months(&reading.orders, previous);
    let lines_out = reading.order_lines(&dir, previous, &touched)?;
    let payments_out = reading.payments(&dir, previous, &touched)?;
    let (first_rejects, reasons) = reading.close_rejects()?;
    let preview = reading.preview();
    let files = reading.files.clone();

    steps::refuse_over_limit(store, &dir, opts, &files, &reasons, &first_rejects)?;
    if opts.dry_run {
        return Ok(ImportReport {
            version: String::new(),
            files,
            rejects: dir.join(REJECTS),
            first_rejects,
            reasons,
            published: false,
            preview,
        });
    }

    if let Some(p) = progress {
        p.phase("writing the warehouse");
    }
    let checksums = reading.recorded_checksums();
    let orders_out = steps::write_dimensions_and_orders(&dir, key_chunk, reading, previous, &touched)?;
    if let Some(p) = progress {
        p.phase("finishing facts");
    }
    steps::finish_facts(&dir, opts, (orders_out, lines_out, payments_out), previous, &touched).await?;

    if let Some(p) = progress {
        p.phase("publishing");
    }
    let version = steps::publish(store, staging, source, opts, &files, checksums, previous)?;
    drop(lock);
    Ok(ImportReport {
        version,
        files,
        rejects: store.root().join(REJECTS),
        first_rejects,
        reasons,
        published: true,
        preview,
    })
}
