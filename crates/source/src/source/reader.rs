//! Reads one CSV file of an export: finds the canonical columns in its header, then yields rows
//! with their line numbers. Knows the format's freedoms (BOM, header case and spaces, column order,
//! extra columns, CRLF, quoted newlines), not the meaning of the values.

use super::{ColumnSpec, Encoding, SourceError, SourceFile};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// One CSV record's fields, and where it started.
#[derive(Default)]
struct Record {
    data: Vec<u8>,
    ends: Vec<usize>,
    /// 1-based line the record starts on.
    line: u64,
    /// Bytes and fields the record had when it was longer than [`MAX_ROW_BYTES`] (its fields are
    /// then not kept).
    oversized: Option<(u64, usize)>,
}

impl Record {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.data[start..end])
    }

    fn as_slice(&self) -> &[u8] {
        &self.data[..self.ends.last().copied().unwrap_or(0)]
    }

    fn fields(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// Splits a byte stream into CSV records with `csv_core` (the `csv` crate's parser), holding at
/// most [`MAX_ROW_BYTES`] of any record: a longer one is read through and reported by its size
/// only, so a 500 MB line costs 1 MB of memory, not 500.
struct Records<R> {
    core: csv_core::Reader,
    input: R,
    /// Bytes consumed so far.
    position: u64,
    /// The line the parser is on.
    line: u64,
}

impl<R: BufRead> Records<R> {
    fn new(input: R) -> Records<R> {
        Records { core: csv_core::Reader::new(), input, position: 0, line: 1 }
    }

    /// Reads the next record into `rec`; `false` at the end of the input.
    fn read(&mut self, rec: &mut Record) -> std::io::Result<bool> {
        use csv_core::ReadRecordResult::*;
        rec.line = self.line;
        rec.oversized = None;
        if rec.data.len() < 1024 {
            rec.data.resize(1024, 0);
        }
        if rec.ends.len() < 64 {
            rec.ends.resize(64, 0);
        }
        let (mut out, mut ends, mut dropped, mut dropped_fields) = (0usize, 0usize, 0u64, 0usize);
        loop {
            let input = self.input.fill_buf()?;
            let (result, nin, nout, nend) = self.core.read_record(input, &mut rec.data[out..], &mut rec.ends[ends..]);
            self.input.consume(nin);
            self.position += nin as u64;
            self.line = self.core.line();
            out += nout;
            ends += nend;
            match result {
                InputEmpty => {}
                OutputFull if rec.data.len() < MAX_ROW_BYTES => {
                    let grown = (rec.data.len() * 2).min(MAX_ROW_BYTES);
                    rec.data.resize(grown, 0);
                }
                OutputFull => {
                    // over the limit: keep reading the record, drop what it says
                    dropped += out as u64;
                    dropped_fields += ends;
                    out = 0;
                    ends = 0;
                }
                OutputEndsFull if dropped == 0 => {
                    let grown = rec.ends.len() * 2;
                    rec.ends.resize(grown, 0);
                }
                OutputEndsFull => {
                    dropped_fields += ends;
                    ends = 0;
                }
                Record => {
                    if dropped > 0 {
                        rec.oversized = Some((dropped + out as u64, dropped_fields + ends));
                        rec.ends.truncate(0);
                    } else {
                        rec.ends.truncate(ends);
                    }
                    return Ok(true);
                }
                End => {
                    rec.ends.truncate(0);
                    return Ok(false);
                }
            }
        }
    }
}

/// One data row of a source file, with its canonical columns found by name.
pub struct Row<'r> {
    record: &'r Record,
    columns: &'r [Option<usize>],
    spec: &'static [ColumnSpec],
    /// 1-based line where the row starts in the file.
    pub line: u64,
}

impl<'r> Row<'r> {
    /// The trimmed text of canonical column `name`; empty when the column is absent from the file.
    ///
    /// # Errors
    /// The value is not UTF-8.
    pub fn get(&self, name: &str) -> Result<&'r str, String> {
        let i = self.spec.iter().position(|c| c.name == name).expect("column names come from the spec");
        match self.columns[i].and_then(|at| self.record.get(at)) {
            None => Ok(""),
            Some(bytes) => {
                std::str::from_utf8(bytes).map(str::trim).map_err(|_| format!("column {name}: not valid UTF-8"))
            }
        }
    }

    /// The row as it was read, re-encoded as one CSV record (for the rejects).
    pub fn raw(&self) -> String {
        raw_record(self.record)
    }
}

/// Rows kept as their fields' bytes, turned back into CSV text only for the few rejected later
/// (building the text of every row would cost an allocation each).
#[derive(Default)]
pub struct RawRows {
    data: Vec<u8>,
    ends: Vec<usize>,
    rows: Vec<usize>,
}

impl RawRows {
    /// Keeps `row`; it is number `len()` before the call.
    pub fn push(&mut self, row: &Row) {
        for field in row.record.fields() {
            self.data.extend_from_slice(field);
            self.ends.push(self.data.len());
        }
        self.rows.push(self.ends.len());
    }

    /// How many rows are kept.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Row `i` re-encoded as one CSV record, like [`Row::raw`].
    pub fn raw(&self, i: usize) -> String {
        let first = if i == 0 { 0 } else { self.rows[i - 1] };
        let fields = (first..self.rows[i]).map(|f| {
            let start = if f == 0 { 0 } else { self.ends[f - 1] };
            &self.data[start..self.ends[f]]
        });
        encode_record(fields)
    }
}

fn raw_record(record: &Record) -> String {
    encode_record(record.fields())
}

fn encode_record<'a>(fields: impl Iterator<Item = &'a [u8]>) -> String {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let _ = w.write_record(fields);
    let mut bytes = w.into_inner().unwrap_or_default();
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A row the reader could not even split into the header's columns.
pub struct ShapeError {
    /// 1-based line of the row.
    pub line: u64,
    /// What is wrong.
    pub reason: String,
    /// The row as read.
    pub raw: String,
}

/// The most columns a header may have; a wider one is not an export.
pub const MAX_COLUMNS: usize = 10_000;
/// The largest row accepted; a larger one is rejected without being held in memory.
pub const MAX_ROW_BYTES: usize = 1 << 20;

/// The file's bytes as the CSV parser sees them: hashed as read (so an import records each file's
/// checksum without a second pass) and, for a Latin-1 file, transcoded to UTF-8.
struct Decoded {
    file: File,
    hash: Sha256,
    encoding: Encoding,
    /// The second UTF-8 byte of a Latin-1 character that did not fit the last buffer.
    pending: Option<u8>,
    raw: Vec<u8>,
}

impl Read for Decoded {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.encoding == Encoding::Utf8 {
            let n = self.file.read(buf)?;
            self.hash.update(&buf[..n]);
            return Ok(n);
        }
        let mut out = 0;
        if let Some(b) = self.pending.take() {
            buf[0] = b;
            out = 1;
        }
        // each Latin-1 byte becomes at most two UTF-8 bytes
        let room = (buf.len() - out) / 2;
        if room == 0 {
            return Ok(out);
        }
        self.raw.resize(room, 0);
        let n = self.file.read(&mut self.raw)?;
        self.hash.update(&self.raw[..n]);
        for &b in &self.raw[..n] {
            if b < 0x80 {
                buf[out] = b;
                out += 1;
            } else {
                buf[out] = 0xC0 | (b >> 6);
                buf[out + 1] = 0x80 | (b & 0x3F);
                out += 2;
            }
        }
        Ok(out)
    }
}

/// A source file opened for reading, header checked.
pub struct TableReader {
    file: SourceFile,
    path: PathBuf,
    csv: Records<BufReader<Decoded>>,
    columns: Vec<Option<usize>>,
    width: usize,
    record: Record,
    size: u64,
}

impl TableReader {
    /// Opens `dir/<file>.csv` and maps its header to the canonical columns.
    ///
    /// # Errors
    /// The file is missing or unreadable, has no header, or lacks a required column.
    pub fn open(dir: &Path, file: SourceFile, encoding: Encoding) -> Result<TableReader, SourceError> {
        let path = dir.join(file.file_name());
        let io = |e: std::io::Error| SourceError::Unreadable { file: file.file_name(), message: e.to_string() };
        let handle = File::open(&path).map_err(io)?;
        let size = handle.metadata().map_err(io)?.len();
        let mut csv = Records::new(BufReader::with_capacity(
            1 << 20,
            Decoded { file: handle, hash: Sha256::new(), encoding, pending: None, raw: Vec::new() },
        ));
        let mut header = Record::default();
        let found = csv.read(&mut header).map_err(io)?;
        if let Some((_, columns)) = header.oversized {
            // a header over 1 MB is far wider than any export's
            return Err(SourceError::TooWide { file: file.file_name(), columns: columns.max(MAX_COLUMNS + 1) });
        }
        if !found || header.len() == 0 || (header.len() == 1 && header.as_slice().is_empty()) {
            return Err(SourceError::NoHeader { file: file.file_name() });
        }
        if header.len() > MAX_COLUMNS {
            return Err(SourceError::TooWide { file: file.file_name(), columns: header.len() });
        }
        if std::str::from_utf8(header.as_slice()).is_err() {
            return Err(SourceError::NotUtf8 { file: file.file_name(), line: 1 });
        }
        let names: Vec<String> = header
            .fields()
            .enumerate()
            .map(|(i, raw)| {
                let text = String::from_utf8_lossy(raw);
                let text = if i == 0 { text.trim_start_matches('\u{feff}') } else { &text };
                text.trim().to_lowercase()
            })
            .collect();
        let width = names.len();
        let mut columns = Vec::with_capacity(file.columns().len());
        for spec in file.columns() {
            let at = names.iter().position(|n| n == spec.name);
            if at.is_none() && spec.required {
                return Err(SourceError::MissingColumn { file: file.file_name(), column: spec.name });
            }
            columns.push(at);
        }
        Ok(TableReader { file, path, csv, columns, width, record: Record::default(), size })
    }

    /// The file's size in bytes (for progress).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes consumed so far (for progress).
    pub fn position(&self) -> u64 {
        self.csv.position
    }

    /// Bytes the reader holds for the current row (at most about [`MAX_ROW_BYTES`], whatever the
    /// file's rows).
    pub fn buffered_bytes(&self) -> usize {
        self.record.data.capacity() + self.record.ends.capacity() * std::mem::size_of::<usize>()
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The SHA-256 of the file's bytes, as hex; complete once every row has been read.
    pub fn checksum(self) -> String {
        let decoded = self.csv.input.into_inner();
        decoded.hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Reads the next row: `Ok(None)` at the end, `Ok(Some(Err(_)))` for a row whose field count
    /// differs from the header's.
    ///
    /// # Errors
    /// The file cannot be read any further (an I/O error).
    pub fn next_row(&mut self) -> Result<Option<Result<Row<'_>, ShapeError>>, SourceError> {
        let more = self
            .csv
            .read(&mut self.record)
            .map_err(|e| SourceError::Unreadable { file: self.file.file_name(), message: e.to_string() })?;
        if !more {
            return Ok(None);
        }
        let line = self.record.line;
        if let Some((bytes, _)) = self.record.oversized {
            return Ok(Some(Err(ShapeError {
                line,
                reason: format!("the row has {bytes} bytes, more than the {MAX_ROW_BYTES} allowed"),
                raw: String::new(),
            })));
        }
        if std::str::from_utf8(self.record.as_slice()).is_err() {
            return Err(SourceError::NotUtf8 { file: self.file.file_name(), line });
        }
        if self.record.len() != self.width {
            return Ok(Some(Err(ShapeError {
                line,
                reason: format!("has {} fields, the header has {}", self.record.len(), self.width),
                raw: raw_record(&self.record),
            })));
        }
        Ok(Some(Ok(Row { record: &self.record, columns: &self.columns, spec: self.file.columns(), line })))
    }
}
