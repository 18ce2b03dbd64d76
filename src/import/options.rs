//! What an import takes (its options, the progress it reports) and what it gives back (its
//! report, or why it failed or was refused).

use crate::model::ShopTz;
use crate::source::SourceError;
use crate::warehouse::store::{FileCounts, StoreError};
use crate::warehouse::writer::WriteError;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

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
    /// The shop setting "taxes included" (source-format.md): unit prices, discounts and shipping
    /// include the tax, which the import takes out of them.
    pub taxes_included: bool,
    /// What the books of the export rest on beyond its columns (a flat export without refund
    /// dates, say), recorded with the version for every surface to say.
    pub assumptions: Vec<String>,
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
    pub(super) fn exceeded(self, c: &FileCounts) -> bool {
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
        "{0}: this warehouse was written by an older shoplens, without the tables an append keeps up \
         to date; import the whole export once without --append, then append to it"
    )]
    OldLayout(PathBuf),
    /// An append that cannot keep the books right (refunds, a different tax setting).
    #[error("cannot append: {0}")]
    AppendRefunds(String),
    /// Too many rows rejected: nothing was published.
    #[error("{0}")]
    Refused(Box<Refusal>),
}
