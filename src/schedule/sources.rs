//! Running one scheduled source: a drop folder's new, complete entries appended one by one, a
//! database read from its watermark, a flat export appended when it changed. Each run is the
//! ordinary atomic import (the same validation, rejects and publish guard); what was imported
//! is recorded in the warehouse folder (`schedule/imported.json`) so that a restart does not
//! import it again (and were it to, an append of the same export changes nothing).

use super::config::{Completion, Source, SourceKind};
use crate::import::flat::FlatImportError;
use crate::import::flat::{MappingSource, import_flat};
use crate::import::stage::stage_database;
use crate::import::{ImportError, ImportOptions, ImportReport, import_export};
use crate::model::{MemoryLimit, ShopTz};
use crate::source::{flat, postgres};
use crate::warehouse::Store;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What identifies an entry's content: its files' names, sizes and modification times.
type Fingerprint = String;

/// What the warehouse folder records of the scheduled sources.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Record {
    /// Per source, per entry name: the fingerprint imported (or refused: a refused entry is not
    /// tried again until it changes).
    #[serde(default)]
    pub done: BTreeMap<String, BTreeMap<String, Fingerprint>>,
    /// Per source, the last entry refused and why, until an import succeeds: shown again after a
    /// restart, since the entry is not tried again.
    #[serde(default)]
    pub refused: BTreeMap<String, (DateTime<Utc>, String)>,
}

impl Record {
    fn path(root: &Path) -> PathBuf {
        root.join("schedule").join("imported.json")
    }

    /// The record in the warehouse folder `root` (empty if none).
    ///
    /// # Errors
    /// The file exists but cannot be read as a record.
    pub fn load(root: &Path) -> Result<Record, String> {
        let path = Record::path(root);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Record::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes the record atomically (a new file renamed over the old one).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn save(&self, root: &Path) -> Result<(), String> {
        let path = Record::path(root);
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(path.parent().expect("a parent"))?;
            let tmp = path.with_extension("json.tmp");
            std::fs::write(&tmp, serde_json::to_vec_pretty(self).expect("a record serializes"))?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// What one run of a source did.
#[derive(Clone, Debug, Default)]
pub struct RunOutcome {
    /// The versions published, with what each read.
    pub imported: Vec<(String, String)>,
    /// Entries refused, with why (the previous version stays served).
    pub refused: Vec<(String, String)>,
    /// Look again this soon (an entry is still being written), rather than at the interval.
    pub again_in: Option<Duration>,
}

/// A source and what it has seen between runs.
pub struct SourceRun {
    /// The source.
    pub source: Source,
    store: Store,
    memory: MemoryLimit,
    /// Entries seen incomplete: their fingerprint and since when it has not changed.
    pending: HashMap<String, (Fingerprint, DateTime<Utc>)>,
}

fn fingerprint(path: &Path) -> std::io::Result<Fingerprint> {
    // the entry itself, never what a link points to
    let one = |p: &Path| -> std::io::Result<String> {
        let m = std::fs::symlink_metadata(p)?;
        let mtime = m.modified()?.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Ok(format!("{}:{}", m.len(), mtime.as_nanos()))
    };
    if std::fs::symlink_metadata(path)?.is_dir() {
        let mut parts = Vec::new();
        for e in std::fs::read_dir(path)? {
            let e = e?;
            parts.push(format!("{}={}", e.file_name().to_string_lossy(), one(&e.path())?));
        }
        parts.sort();
        Ok(parts.join(","))
    } else {
        one(path)
    }
}

/// How deep a drop folder's entry may nest folders.
const MAX_DEPTH: usize = 4;

/// Why a drop folder's entry at `path` is not read, if it is not: only regular files, and
/// folders of them, inside the drop folder are (a symbolic link would import what lies
/// elsewhere; a FIFO or a device would hang the read or never end). Each file is opened as the
/// import will open it, without following a link and without waiting on a FIFO
/// (`O_NOFOLLOW | O_NONBLOCK`), and checked to be a regular file.
fn unreadable(path: &Path, depth: usize) -> Option<String> {
    let shown = path.display();
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => return Some(format!("{shown}: {e}")),
    };
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Some(format!(
            "{shown}: a symbolic link; a drop folder reads only the files and folders inside it: copy or move the export in"
        ));
    }
    if kind.is_dir() {
        if depth >= MAX_DEPTH {
            return Some(format!("{shown}: folders nested too deeply"));
        }
        let entries = match std::fs::read_dir(path) {
            Ok(e) => e,
            Err(e) => return Some(format!("{shown}: {e}")),
        };
        for e in entries {
            let e = match e {
                Ok(e) => e,
                Err(e) => return Some(format!("{shown}: {e}")),
            };
            if e.file_name().to_str().is_none() {
                return Some(format!("{}: the name is not valid UTF-8: rename it", e.path().display()));
            }
            if let Some(why) = unreadable(&e.path(), depth + 1) {
                return Some(why);
            }
        }
        return None;
    }
    if !kind.is_file() {
        return Some(format!(
            "{shown}: not a regular file (a FIFO, a socket or a device): a drop folder reads only files and folders"
        ));
    }
    match open_no_follow(path) {
        Ok(m) if m.is_file() => None,
        Ok(_) => Some(format!("{shown}: not a regular file")),
        Err(e) => Some(format!("{shown}: {e}")),
    }
}

/// Opens `path` without following a link or waiting on a FIFO, and returns what it is.
#[cfg(unix)]
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::Metadata> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path)?;
    file.metadata()
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::Metadata> {
    std::fs::symlink_metadata(path)
}

/// An import that failed: why, and whether the export itself is at fault (then it is not tried
/// again until it changes) or the moment (a lock, a full disk: tried again next run).
struct Failure {
    message: String,
    export_at_fault: bool,
}

impl From<ImportError> for Failure {
    fn from(e: ImportError) -> Failure {
        let export_at_fault = matches!(e, ImportError::Source(_) | ImportError::Refused(_));
        Failure { message: e.to_string(), export_at_fault }
    }
}

impl From<FlatImportError> for Failure {
    fn from(e: FlatImportError) -> Failure {
        match e {
            FlatImportError::Import(i) => i.into(),
            FlatImportError::Flat(_) => Failure { message: e.to_string(), export_at_fault: true },
            other => Failure { message: other.to_string(), export_at_fault: false },
        }
    }
}

impl Failure {
    fn of_export(message: String) -> Failure {
        Failure { message, export_at_fault: true }
    }
}

/// Names a drop folder's writers use for files not yet complete.
fn in_progress(name: &str) -> bool {
    name.starts_with('.') || name.ends_with(".tmp") || name.ends_with(".part") || name.ends_with('~')
}

impl SourceRun {
    /// `source`, importing into `store` with sorts holding up to `memory`.
    pub fn new(source: Source, store: Store, memory: MemoryLimit) -> SourceRun {
        SourceRun { source, store, memory, pending: HashMap::new() }
    }

    fn options(&self, source_name: Option<String>, watermark: Option<String>) -> ImportOptions {
        let current = self.store.current().ok();
        let timezone = current.as_ref().and_then(|v| v.manifest.timezone.parse::<ShopTz>().ok()).unwrap_or_default();
        ImportOptions {
            timezone,
            progress: None,
            encoding: crate::source::Encoding::default(),
            append: current.is_some(),
            memory: self.memory,
            key_chunk: None,
            source_name,
            watermark,
            origin: None,
            max_rejects: crate::import::RejectLimit::DEFAULT,
            dry_run: false,
            currency: None,
            // an append keeps the warehouse's setting
            taxes_included: current.as_ref().is_some_and(|v| v.manifest.taxes_included),
            assumptions: Vec::new(),
        }
    }

    /// Whether entry `name` (with content `print`) is complete at `now`; remembers what it saw.
    fn complete(
        &mut self,
        folder: &Path,
        name: &str,
        print: &Fingerprint,
        now: DateTime<Utc>,
        how: &Completion,
    ) -> Option<Duration> {
        match how {
            Completion::Marker(suffix) => {
                if folder.join(format!("{name}{suffix}")).exists() {
                    None
                } else {
                    Some(Duration::MAX)
                }
            }
            Completion::Settled(wait) => {
                let since = match self.pending.get(name) {
                    Some((p, since)) if p == print => *since,
                    _ => {
                        self.pending.insert(name.to_string(), (print.clone(), now));
                        now
                    }
                };
                let still = (now - since).to_std().unwrap_or_default();
                if still >= *wait { None } else { Some(*wait - still) }
            }
        }
    }

    /// Runs the source once at `now`, recording in `record` what it imported or refused.
    ///
    /// # Errors
    /// The source cannot be read at all (a folder missing, a database down): the run's error.
    pub async fn run(&mut self, record: &mut Record, now: DateTime<Utc>) -> Result<RunOutcome, String> {
        let name = self.source.name.clone();
        let mut outcome = RunOutcome::default();
        match self.source.kind.clone() {
            SourceKind::Drop { folder, complete, map } => {
                // (name, the entry's own name when it is not UTF-8)
                let mut entries: Vec<(String, Option<std::ffi::OsString>)> = std::fs::read_dir(&folder)
                    .map_err(|e| format!("{}: {e}", folder.display()))?
                    .filter_map(Result::ok)
                    .map(|e| {
                        let raw = e.file_name();
                        match raw.to_str() {
                            Some(n) => (n.to_string(), None),
                            None => (raw.to_string_lossy().into_owned(), Some(raw)),
                        }
                    })
                    .filter(|(n, _)| !in_progress(n))
                    .filter(|(n, _)| !matches!(&complete, Completion::Marker(s) if n.ends_with(s.as_str())))
                    .collect();
                entries.sort();
                for (entry, raw) in entries {
                    let path = match &raw {
                        Some(raw) => folder.join(raw),
                        None => folder.join(&entry),
                    };
                    let Ok(print) = fingerprint(&path) else { continue };
                    if record.done.get(&name).and_then(|d| d.get(&entry)) == Some(&print) {
                        continue;
                    }
                    // refused, and shown on the status, rather than skipped in silence
                    let why = match raw {
                        Some(_) => Some(format!(
                            "{}: the name is not valid UTF-8: rename it to have it imported",
                            path.display()
                        )),
                        None => unreadable(&path, 0),
                    };
                    if let Some(why) = why {
                        self.pending.remove(&entry);
                        settle(record, &name, entry, print, Err(Failure::of_export(why)), &mut outcome);
                        continue;
                    }
                    if let Some(wait) = self.complete(&folder, &entry, &print, now, &complete) {
                        if wait != Duration::MAX {
                            outcome.again_in = Some(outcome.again_in.map_or(wait, |w| w.min(wait)));
                        }
                        continue;
                    }
                    self.pending.remove(&entry);
                    let result = if path.is_dir() {
                        self.import_folder(&path, None, None).await
                    } else {
                        match &map {
                            Some(m) => self.import_flat(&path, m).await,
                            None => Err(Failure::of_export(format!(
                                "{}: a file in a drop folder is a flat export: give the source a mapping (map = \"…\"), \
                                 or drop export folders",
                                path.display()
                            ))),
                        }
                    };
                    settle(record, &name, entry, print, result, &mut outcome);
                }
            }
            SourceKind::Postgres { url, query_file } => {
                let url = url.value()?;
                let queries = match &query_file {
                    Some(f) => Some(std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?),
                    None => None,
                };
                let pg = postgres::PgSource::new(&url, queries.as_deref()).map_err(|e| e.to_string())?;
                let append = self.store.current().is_ok();
                let staged = stage_database(&pg, &self.store, append).await.map_err(|e| e.to_string())?;
                let what = pg.name();
                let orders = staged.staged.counts.iter().find(|(set, _)| *set == "orders").map_or(0, |(_, n)| *n);
                if append && orders == 0 {
                    // nothing changed since the watermark: no new version
                    return Ok(outcome);
                }
                let r = self
                    .import_folder(staged.scratch.path(), Some(what.clone()), staged.staged.watermark.clone())
                    .await
                    .map_err(|f| f.message)?;
                outcome.imported.push((r.version, what));
            }
            SourceKind::Flat { file, map } => {
                let print = fingerprint(&file).map_err(|e| format!("{}: {e}", file.display()))?;
                let key = file.display().to_string();
                if record.done.get(&name).and_then(|d| d.get(&key)) != Some(&print) {
                    let folder = file.parent().unwrap_or(Path::new(".")).to_path_buf();
                    let settled = Completion::Settled(Duration::from_secs(5));
                    match self.complete(&folder, &key, &print, now, &settled) {
                        Some(wait) => outcome.again_in = Some(wait),
                        None => {
                            self.pending.remove(&key);
                            let result = self.import_flat(&file, &map).await;
                            settle(record, &name, key, print, result, &mut outcome);
                        }
                    }
                }
            }
        }
        Ok(outcome)
    }

    async fn import_folder(
        &self,
        dir: &Path,
        source_name: Option<String>,
        watermark: Option<String>,
    ) -> Result<ImportReport, Failure> {
        let opts = self.options(source_name, watermark);
        Ok(import_export(dir, &self.store, &opts).await?)
    }

    async fn import_flat(&self, file: &Path, map: &Path) -> Result<ImportReport, Failure> {
        let read = |e: String| Failure::of_export(format!("{}: {e}", map.display()));
        let text = std::fs::read_to_string(map).map_err(|e| read(e.to_string()))?;
        let mapping = flat::Mapping::parse(&text).map_err(|e| read(e.to_string()))?;
        let source = MappingSource { mapping: &mapping, name: map.display().to_string(), text: &text };
        let opts = self.options(None, None);
        Ok(import_flat(file, source, &self.store, &opts).await.map(|(_, r)| r)?)
    }
}

/// Records what became of `entry` of `source`: imported, or refused for a fault of its own (not
/// tried again until it changes); a failure of the moment leaves it to the next run.
fn settle(
    record: &mut Record,
    source: &str,
    entry: String,
    print: Fingerprint,
    result: Result<ImportReport, Failure>,
    outcome: &mut RunOutcome,
) {
    if result.as_ref().map_or_else(|f| f.export_at_fault, |_| true) {
        record.done.entry(source.to_string()).or_default().insert(entry.clone(), print);
    }
    match result {
        Ok(r) => outcome.imported.push((r.version, entry)),
        Err(f) => outcome.refused.push((entry, f.message)),
    }
}
