//! The parts of a partitioned table ([`Layout`]): their names, hard-linking the parts an append
//! leaves alone, and [`MonthWriter`], which routes fact rows to their month's file.

use super::schema::{Layout, Table};
use super::writer::{TableWriter, WriteError, sort_files};
use crate::model::MemoryLimit;
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::Int32Type;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `YYYYMM` of a `YYYYMMDD` date key.
pub fn month_of(date_key: i32) -> i32 {
    date_key / 100
}

/// The file of month `YYYYMM` in a [`Layout::Monthly`] table.
pub(crate) fn month_file(month: i32) -> String {
    format!("{:04}-{:02}.parquet", month / 100, month % 100)
}

/// The part of a [`Layout::KeyChunks`] table of `chunk` keys per part that holds surrogate key
/// `key` (keys start at 1).
pub(crate) fn chunk_of(key: i32, chunk: i32) -> i32 {
    (key - 1) / chunk
}

/// The file of part `chunk` of a [`Layout::KeyChunks`] table.
pub(crate) fn chunk_file(chunk: i32) -> String {
    format!("keys-{chunk:06}.parquet")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |e| WriteError { path: path.to_path_buf(), message: e.to_string() }
}

/// The Parquet files of `table` in the version folder `version_dir`, by name (so months and key
/// chunks come in order).
pub fn files(version_dir: &Path, table: &Table) -> Result<Vec<PathBuf>, WriteError> {
    let path = table.path(version_dir);
    if table.layout == Layout::Single {
        return Ok(vec![path]);
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(&path)
        .map_err(io(&path))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    out.sort();
    Ok(out)
}

/// Hard-links (copies, where the file system cannot link) the parts of `table` in version `from`
/// that `keep` accepts (by file name) into version `to`: an append's unchanged months and key
/// chunks cost a directory entry each.
pub(crate) fn link_parts(from: &Path, to: &Path, table: &Table, keep: impl Fn(&str) -> bool) -> Result<(), WriteError> {
    let target = table.path(to);
    std::fs::create_dir_all(&target).map_err(io(&target))?;
    for file in files(from, table)? {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let dest = target.join(&name);
        // a part this import wrote itself is never replaced (nor, through a link, truncated)
        if keep(&name) && !dest.exists() && std::fs::hard_link(&file, &dest).is_err() {
            std::fs::copy(&file, &dest).map_err(io(&dest))?;
        }
    }
    Ok(())
}

/// Rows gathered for the next batch of a fact table.
pub(crate) trait FactRows: Default {
    /// How many rows are waiting.
    fn len(&self) -> usize;
    /// Whether no rows wait.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The waiting rows as a batch, leaving none.
    fn take(&mut self) -> RecordBatch;
}

/// Rows per batch handed to the Parquet writer.
const BATCH_ROWS: usize = 64 * 1024;

/// The file being written for one month.
struct Open {
    month: i32,
    writer: TableWriter,
    part: PathBuf,
    last: Option<(i32, i32, i32)>,
    sorted: bool,
}

/// Writes a [`Layout::Monthly`] table: rows are routed to their month's file by their date key,
/// and each month ends up sorted by the table's `sorted_by`.
///
/// Rows that arrive month after month (exports usually list orders by time) stream straight into
/// one open file at a time, and a month whose rows came in order is kept as written. A month
/// whose rows came out of order is sorted on its own at the end. Once a row arrives for a month
/// before the current one, the rest go to one overflow file and everything written is sorted and
/// split by month at the end (DataFusion's external sort: bounded memory, spilling to disk).
///
/// A writer may be fed several runs, each in month order ([`MonthWriter::new_run`]): the lines
/// that waited for their order's shares and refunds after the others, an append's old rows after
/// the new. A month then has a part per run, and only its own parts are sorted together.
pub(crate) struct MonthWriter<B: FactRows> {
    table: &'static Table,
    dir: PathBuf,
    parts: PathBuf,
    open: Option<Open>,
    done: Vec<(i32, PathBuf, bool)>,
    overflow: Option<TableWriter>,
    rows: B,
    months: BTreeSet<i32>,
    serial: usize,
}

impl<B: FactRows> MonthWriter<B> {
    /// Starts `table` in the version folder `version_dir` (parts are staged in a `.parts` folder
    /// beside it).
    pub(crate) fn create(version_dir: &Path, table: &'static Table) -> Result<MonthWriter<B>, WriteError> {
        let dir = table.path(version_dir);
        let parts = version_dir.join(".parts").join(table.name);
        for d in [&dir, &parts] {
            std::fs::create_dir_all(d).map_err(io(d))?;
        }
        Ok(MonthWriter::create_in(&dir, &parts, table))
    }

    /// A writer of `table`'s month files in `dir`, staging parts in `parts` (both exist).
    fn create_in(dir: &Path, parts: &Path, table: &'static Table) -> MonthWriter<B> {
        MonthWriter {
            table,
            dir: dir.to_path_buf(),
            parts: parts.to_path_buf(),
            open: None,
            done: Vec::new(),
            overflow: None,
            rows: B::default(),
            months: BTreeSet::new(),
            serial: 0,
        }
    }

    /// Adds one row with sort key `key` (`(date_key, order_key, n)`); `push` adds it to the
    /// batch being gathered.
    pub(crate) fn row(&mut self, key: (i32, i32, i32), push: impl FnOnce(&mut B)) -> Result<(), WriteError> {
        self.route(key, key)?;
        push(&mut self.rows);
        if self.rows.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    /// Adds a batch of rows of one month, sorted within itself, whose first and last sort keys
    /// are `first` and `last`.
    pub(crate) fn batch(
        &mut self,
        batch: RecordBatch,
        first: (i32, i32, i32),
        last: (i32, i32, i32),
    ) -> Result<(), WriteError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.route(first, last)?;
        self.flush()?;
        self.target().write(&batch)
    }

    /// Makes the file of `first`'s month the one rows go to, noting whether the rows from
    /// `first` to `last` keep it sorted.
    fn route(&mut self, first: (i32, i32, i32), last: (i32, i32, i32)) -> Result<(), WriteError> {
        let month = month_of(first.0);
        self.months.insert(month);
        if self.overflow.is_some() {
            return Ok(());
        }
        match &mut self.open {
            Some(open) if open.month == month => {
                open.sorted &= open.last.is_none_or(|l| l < first) && first <= last;
                open.last = Some(last);
                return Ok(());
            }
            Some(open) if open.month > month => {
                // out of month order: from here on everything goes to the overflow
                self.flush()?;
                let name = format!("overflow-{}.parquet", self.next_serial());
                self.overflow = Some(TableWriter::create(&self.parts, &name, self.table)?);
                self.done.push((0, self.parts.join(name), false));
                return Ok(());
            }
            _ => {}
        }
        self.flush()?;
        self.close_open()?;
        let name = format!("{month}-{}.parquet", self.next_serial());
        let writer = TableWriter::create(&self.parts, &name, self.table)?;
        self.open = Some(Open { month, writer, part: self.parts.join(name), last: Some(last), sorted: first <= last });
        Ok(())
    }

    fn next_serial(&mut self) -> usize {
        self.serial += 1;
        self.serial
    }

    fn target(&mut self) -> &mut TableWriter {
        match (&mut self.overflow, &mut self.open) {
            (Some(w), _) => w,
            (None, Some(open)) => &mut open.writer,
            (None, None) => unreachable!("a row was routed before it was written"),
        }
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let batch = self.rows.take();
        self.target().write(&batch)
    }

    fn close_open(&mut self) -> Result<(), WriteError> {
        if let Some(open) = self.open.take() {
            open.writer.close()?;
            self.done.push((open.month, open.part, open.sorted));
        }
        Ok(())
    }

    /// Starts another run of rows in month order: the next row may be of any month without
    /// sending the rest to the overflow.
    pub(crate) fn new_run(&mut self) -> Result<(), WriteError> {
        self.flush()?;
        self.close_open()
    }

    /// Finishes every month's file, sorting what did not arrive in order within `memory`.
    pub(crate) async fn finish(mut self, memory: MemoryLimit) -> Result<BTreeSet<i32>, WriteError> {
        self.flush()?;
        self.close_open()?;
        let overflowed = self.overflow.take().map(TableWriter::close).transpose()?.is_some();
        let parts: Vec<PathBuf> = self.done.iter().map(|(_, p, _)| p.clone()).collect();
        if overflowed {
            // everything, sorted, split into months as it streams out
            let mut out = MonthWriter::<NoRows>::create_in(&self.dir, &self.parts, self.table);
            sort_files(&parts, self.table, memory, false, |batch| out.sorted_batch(batch)).await?;
            out.finish_in_order()?;
        } else {
            let mut by_month: BTreeMap<i32, Vec<(PathBuf, bool)>> = BTreeMap::new();
            for (month, part, sorted) in std::mem::take(&mut self.done) {
                by_month.entry(month).or_default().push((part, sorted));
            }
            for (month, parts) in by_month {
                match parts.as_slice() {
                    [(part, true)] => std::fs::rename(part, self.dir.join(month_file(month))).map_err(io(part))?,
                    _ => {
                        let runs = parts.iter().all(|(_, sorted)| *sorted);
                        let parts: Vec<PathBuf> = parts.into_iter().map(|(p, _)| p).collect();
                        let mut out = TableWriter::create(&self.dir, &month_file(month), self.table)?;
                        sort_files(&parts, self.table, memory, runs, |b| out.write(&b)).await?;
                        out.close()?;
                    }
                }
            }
        }
        std::fs::remove_dir_all(&self.parts).map_err(io(&self.parts))?;
        if let Some(parent) = self.parts.parent() {
            // the shared `.parts` folder goes when the last table's is gone
            let _ = std::fs::remove_dir(parent);
        }
        Ok(self.months)
    }
}

/// No row-by-row input: a [`MonthWriter`] fed whole sorted batches.
#[derive(Default)]
pub(crate) struct NoRows;

impl FactRows for NoRows {
    fn len(&self) -> usize {
        0
    }
    fn take(&mut self) -> RecordBatch {
        unreachable!("nothing is gathered row by row")
    }
}

impl MonthWriter<NoRows> {
    /// Writes a batch of rows in the table's sort order straight into the month files.
    fn sorted_batch(&mut self, batch: RecordBatch) -> Result<(), WriteError> {
        let dates = batch.column_by_name("date_key").expect("every fact has date_key").as_primitive::<Int32Type>();
        let mut start = 0;
        while start < batch.num_rows() {
            let month = month_of(dates.value(start));
            let mut end = start + 1;
            while end < batch.num_rows() && month_of(dates.value(end)) == month {
                end += 1;
            }
            if self.open.as_ref().is_none_or(|o| o.month != month) {
                if let Some(open) = self.open.take() {
                    open.writer.close()?;
                }
                let writer = TableWriter::create(&self.dir, &month_file(month), self.table)?;
                self.open = Some(Open { month, writer, part: PathBuf::new(), last: None, sorted: true });
                self.months.insert(month);
            }
            self.target().write(&batch.slice(start, end - start))?;
            start = end;
        }
        Ok(())
    }

    fn finish_in_order(mut self) -> Result<(), WriteError> {
        match self.open.take() {
            Some(open) => open.writer.close(),
            None => Ok(()),
        }
    }
}
