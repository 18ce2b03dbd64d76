//! Reads one CSV file of an export: finds the canonical columns in its header, then yields rows
//! with their line numbers. Knows the format's freedoms (BOM, header case and spaces, column order,
//! extra columns, CRLF, quoted newlines), not the meaning of the values.

use super::{ColumnSpec, Encoding, SourceError, SourceFile};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// One data row of a source file, with its canonical columns found by name.
pub struct Row<'r> {
    record: &'r csv::ByteRecord,
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

fn raw_record(record: &csv::ByteRecord) -> String {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let _ = w.write_byte_record(record);
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
/// The largest row accepted; a larger one is rejected (the CSV reader still holds it once).
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
    csv: csv::Reader<BufReader<Decoded>>,
    columns: Vec<Option<usize>>,
    width: usize,
    record: csv::ByteRecord,
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
        let mut csv = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(BufReader::with_capacity(
            1 << 20,
            Decoded { file: handle, hash: Sha256::new(), encoding, pending: None, raw: Vec::new() },
        ));
        let header = csv
            .byte_headers()
            .map_err(|e| SourceError::Unreadable { file: file.file_name(), message: e.to_string() })?;
        if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
            return Err(SourceError::NoHeader { file: file.file_name() });
        }
        if header.len() > MAX_COLUMNS {
            return Err(SourceError::TooWide { file: file.file_name(), columns: header.len() });
        }
        if std::str::from_utf8(header.as_slice()).is_err() {
            return Err(SourceError::NotUtf8 { file: file.file_name(), line: 1 });
        }
        let names: Vec<String> = header
            .iter()
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
        Ok(TableReader { file, path, csv, columns, width, record: csv::ByteRecord::new(), size })
    }

    /// The file's size in bytes (for progress).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes consumed so far (for progress).
    pub fn position(&self) -> u64 {
        self.csv.position().byte()
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The SHA-256 of the file's bytes, as hex; complete once every row has been read.
    pub fn checksum(self) -> String {
        let decoded = self.csv.into_inner().into_inner();
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
            .read_byte_record(&mut self.record)
            .map_err(|e| SourceError::Unreadable { file: self.file.file_name(), message: e.to_string() })?;
        if !more {
            return Ok(None);
        }
        let line = self.record.position().map_or(0, |p| p.line());
        if std::str::from_utf8(self.record.as_slice()).is_err() {
            return Err(SourceError::NotUtf8 { file: self.file.file_name(), line });
        }
        if self.record.as_slice().len() > MAX_ROW_BYTES {
            return Ok(Some(Err(ShapeError {
                line,
                reason: format!(
                    "the row has {} bytes, more than the {MAX_ROW_BYTES} allowed",
                    self.record.as_slice().len()
                ),
                raw: String::new(),
            })));
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
