//! Checks a version's Parquet files when it is opened: a damaged footer or a file of another
//! table's shape in a table's folder is reported with the table and file it concerns, before a
//! query reaches it (the Parquet reader panics on some damaged footers).

use super::schema::Table;
use super::store::Version;
use datafusion::arrow::datatypes::Schema;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// A damaged or foreign file in a version.
#[derive(Debug, thiserror::Error)]
#[error("the warehouse's table {table} is damaged: {file}: {message}")]
pub struct Damaged {
    /// The table.
    pub table: &'static str,
    /// The file, relative to the version's folder (`fact_order_line/2023-07.parquet`).
    pub file: String,
    /// What is wrong.
    pub message: String,
}

/// Checks every file of `table` in `version`: a readable footer, and the table's columns.
///
/// # Errors
/// The first damaged or foreign file.
pub(crate) fn table_files(version: &Version, table: &Table) -> Result<(), Damaged> {
    let (path, folder) = version.table_path(table);
    let mut files = Vec::new();
    if folder {
        // a missing folder is a table without rows: the query engine reads it as empty
        for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".parquet") {
                files.push((format!("{}/{name}", table.name), entry.path()));
            }
        }
        files.sort();
    } else {
        files.push((format!("{}.parquet", table.name), path));
    }
    let want = table.schema();
    for (file, path) in files {
        check_file(&path, &want).map_err(|message| Damaged { table: table.name, file, message })?;
    }
    Ok(())
}

fn check_file(path: &Path, want: &Schema) -> Result<(), String> {
    let mut f = File::open(path).map_err(|e| e.to_string())?;
    // the footer's own length first: the reader panics on one larger than the file
    let size = f.metadata().map_err(|e| e.to_string())?.len();
    let mut tail = [0u8; 8];
    if size < 12 || f.seek(SeekFrom::End(-8)).and_then(|_| f.read_exact(&mut tail)).is_err() || &tail[4..] != b"PAR1" {
        return Err("not a Parquet file (no footer)".into());
    }
    let footer = u64::from(u32::from_le_bytes(tail[..4].try_into().expect("4 bytes")));
    if footer + 12 > size {
        return Err(format!("the Parquet footer claims {footer} bytes, more than the file's {size}"));
    }
    let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ArrowReaderMetadata::load(&f, ArrowReaderOptions::default())
    }))
    .map_err(|_| "the Parquet footer cannot be read".to_string())?
    .map_err(|e| format!("the Parquet footer cannot be read: {e}"))?;
    let got = loaded.schema();
    let same = got.fields().len() == want.fields().len()
        && got.fields().iter().zip(want.fields()).all(|(g, w)| g.name() == w.name() && g.data_type() == w.data_type());
    if !same {
        let names = |s: &Schema| {
            s.fields().iter().map(|f| format!("{} {}", f.name(), f.data_type())).collect::<Vec<_>>().join(", ")
        };
        return Err(format!("its columns ({}) are not the table's ({})", names(got), names(want)));
    }
    Ok(())
}
