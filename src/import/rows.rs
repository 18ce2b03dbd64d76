//! The import's machinery for rows: reading a file's rows on a thread of their own, the rejects
//! file, writing small tables side by side, and the limits that bound its memory.

use super::options::{ImportError, Progress};
use super::previous::Relisted;
use super::tables::Orders;
use crate::model::text::csv_safe;
use crate::source::{RawRows, Row, SourceError, SourceFile, TableReader};
use crate::warehouse::parts;
use crate::warehouse::schema::{Layout, Table};
use crate::warehouse::store::FileCounts;
use crate::warehouse::writer::{TableWriter, WriteError};
use ahash::{AHashMap as HashMap, AHashSet as HashSet};
use datafusion::arrow::record_batch::RecordBatch;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Rows per fact batch: the import's memory for facts is bounded by this, not by the export.
pub(super) const BATCH_ROWS: usize = 64 * 1024;

/// About how many rows the file at `path` holds: its size over the mean length of its first
/// 64 KiB of lines, plus 2 %. The import makes room for that many orders (customers) at once; a
/// fixed guess of the bytes a row takes gave an export with the books' columns a third more
/// room than it had orders (50 MB at 1M orders), and one without them too little.
pub(super) fn estimated_rows(path: &Path) -> usize {
    use std::io::Read;
    const SAMPLE: u64 = 64 * 1024;
    let Ok(file) = std::fs::File::open(path) else { return 0 };
    let len = file.metadata().map_or(0, |m| m.len());
    let mut sample = Vec::with_capacity(SAMPLE as usize);
    if file.take(SAMPLE).read_to_end(&mut sample).is_err() || sample.is_empty() {
        return 0;
    }
    let lines = sample.iter().filter(|&&b| b == b'\n').count().max(1) as u64;
    if sample.len() as u64 == len {
        return lines as usize;
    }
    (len.saturating_mul(lines) / sample.len() as u64 * 102 / 100) as usize
}

/// Writes rejected rows as CSV: `file,line,reason,record`.
pub(super) struct Rejects {
    path: PathBuf,
    csv: csv::Writer<std::fs::File>,
    pub(super) first: Vec<(String, u64, String)>,
    /// Rows per reason with its values left out.
    reasons: HashMap<String, u64>,
    /// The flat file the canonical files came from: a reject names it and its `source_line`.
    pub(super) origin: Option<String>,
}

/// How many rejects an import report quotes.
pub(super) const QUOTED_REJECTS: usize = 10;

/// How many orders an import report previews.
pub(super) const PREVIEW_ORDERS: usize = 5;

/// Where a refused import's rejects are kept, in the warehouse folder.
pub(crate) const REFUSED_REJECTS: &str = "rejects.refused.csv";

impl Rejects {
    pub(super) fn create(path: PathBuf) -> Result<Rejects, WriteError> {
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
    pub(super) fn top_reasons(&self) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = self.reasons.iter().map(|(r, n)| (r.clone(), *n)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(5);
        all
    }

    pub(super) fn flush(&mut self) -> Result<(), WriteError> {
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
pub(super) const BLOCK_ROWS: usize = 4096;

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
pub(super) fn read_rows<R: Send>(
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
pub(super) type Chunk<'a> = &'a (dyn Fn(Range<usize>) -> RecordBatch + Sync);

/// Writes each `(table, rows, chunk)` on a thread of its own, built and written `BATCH_ROWS` rows
/// at a time: building and encoding use both cores, and no table is ever whole in memory twice.
/// A [`Layout::KeyChunks`] table gets a file per `key_chunk` rows (row `r` has key `r + 1`).
pub(super) fn write_side_by_side(
    dir: &Path,
    key_chunk: i32,
    tables: &[(&Table, usize, Chunk)],
) -> Result<(), WriteError> {
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
pub(super) fn by_order_key<'a>(orders: &'a Orders, old: &HashSet<i32>) -> HashMap<i32, Relisted<'a>> {
    orders
        .values()
        .filter(|o| old.contains(&o.order_key))
        .map(|o| {
            let codes = orders.codes(o);
            (o.order_key, Relisted { info: o, is_sale: orders.is_sale(o), codes })
        })
        .collect()
}
