//! A warehouse folder on disk: versions, the manifest that publishes one, and the import lock.
//!
//! Layout: `WH/CURRENT` (JSON manifest naming the published version), `WH/v-<id>/` (one complete
//! set of Parquet tables, the big ones as folders of parts (`schema::Layout`), plus that import's
//! rejects), `WH/rejects.csv` (a copy of the current
//! version's rejects), `WH/.lock` (held while an import runs), `WH/.staging-<id>/` (an import in
//! progress; removed by the next import if one was killed). A version is written whole beside the
//! current one and published by renaming the manifest: readers see the old or the new, never half.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The manifest's file name.
pub(crate) const MANIFEST: &str = "CURRENT";
/// A version's own copy of the manifest that published it, which `rollback` publishes again.
pub(crate) const VERSION_MANIFEST: &str = "manifest.json";
/// The rejects file's name, in a version and at the warehouse's top.
pub(crate) const REJECTS: &str = "rejects.csv";
const LOCK: &str = ".lock";
const STAGING_PREFIX: &str = ".staging-";
const VERSION_PREFIX: &str = "v-";

/// Rows read, loaded and rejected for one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCounts {
    /// Data rows read.
    pub read: u64,
    /// Rows loaded into the warehouse.
    pub loaded: u64,
    /// Rows written to the rejects.
    pub rejected: u64,
}

/// One import, as the warehouse remembers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportRecord {
    /// The version it published: also the name of its rejects file (`rejects/<id>.csv`).
    pub id: String,
    /// When it finished (RFC 3339, UTC).
    pub(crate) finished_at: String,
    /// The folder it read.
    pub source: String,
    /// Per source file: counts and the SHA-256 of the bytes read.
    pub files: BTreeMap<String, FileCounts>,
    /// Per source file: the SHA-256 of its bytes.
    pub checksums: BTreeMap<String, String>,
    /// `replace` or `append`.
    #[serde(default)]
    pub mode: String,
    /// For a database source read incrementally: the latest `updated_at` of the orders it read,
    /// where the next `--append` starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<String>,
    /// For a flat export: the mapping it was read with (the mapping file, or `preset NAME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<String>,
}

/// What a published version is: written by an import, read by everyone else.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The version's folder name, `v-…`.
    pub version: String,
    /// When the import finished (RFC 3339, UTC).
    pub(crate) created_at: String,
    /// The folder the export was read from.
    pub source: String,
    /// The shop's time zone the import bucketed days in.
    pub timezone: String,
    /// Per source file counts.
    pub files: BTreeMap<String, FileCounts>,
    /// Every import into this warehouse, oldest first, this version's last.
    #[serde(default)]
    pub imports: Vec<ImportRecord>,
    /// How the version stores its tables: [`LAYOUT_BOOKS`], [`LAYOUT_PARTS`] for a version
    /// written before the derived tables, or 0 for one written before tables had parts (every
    /// table one file).
    #[serde(default)]
    pub layout: u32,
    /// Surrogate keys per part of the tables with [`Layout::KeyChunks`](crate::warehouse::schema::Layout).
    #[serde(default = "default_key_chunk")]
    pub key_chunk: i32,
    /// The shop's currency, as the import recorded it (none for an import that did not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<crate::model::Currency>,
    /// The shop setting "taxes included": unit prices, discounts and shipping already include
    /// the tax, which the import took out of them (source-format.md).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub taxes_included: bool,
    /// What the books rest on beyond the export's columns (refunds without dates counted on
    /// their order's day, say), in words for the user; empty when nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assumptions: Vec<String>,
}

fn default_key_chunk() -> i32 {
    crate::warehouse::schema::KEY_CHUNK
}

/// The layout that split tables into parts: the facts one file per month, the customers one file
/// per key chunk (`schema::Layout`).
pub(crate) const LAYOUT_PARTS: u32 = 2;
/// The layout this shoplens writes: the derived tables (`schema::DERIVED`, layout 4) with the shop's books (the order money
/// columns, sales channels, discount codes, refunds and returns, `is_sale`). A version of an
/// older layout has none of them, and reading it as if its orders had no refunds could count a
/// returned order wrongly: it is refused with a message to import the export again.
pub(crate) const LAYOUT_BOOKS: u32 = 5;

impl Version {
    /// Where `table` is in this version, and whether it is a folder of parts.
    pub(crate) fn table_path(&self, table: &crate::warehouse::schema::Table) -> (PathBuf, bool) {
        use crate::warehouse::schema::Layout;
        if self.manifest.layout < LAYOUT_PARTS || table.layout == Layout::Single {
            (self.dir.join(format!("{}.parquet", table.name)), false)
        } else {
            (table.path(&self.dir), true)
        }
    }
}

/// Problems opening or writing a warehouse.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No manifest: nothing has been imported there.
    #[error("{0}: no warehouse here (run `shoplens import` first)")]
    NotAWarehouse(PathBuf),
    /// The manifest is unreadable or names a missing version.
    #[error("{path}: the warehouse is damaged: {message}")]
    Damaged {
        /// The warehouse folder.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Another import holds the lock.
    #[error("{0}: another import is running into this warehouse; try again when it has finished")]
    Locked(PathBuf),
    /// An I/O error, with the path it concerns.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_path_buf(), source }
}

/// A warehouse folder.
#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
}

/// A published version, opened for reading.
#[derive(Clone, Debug)]
pub struct Version {
    /// Its manifest.
    pub manifest: Manifest,
    /// Its folder, holding `<table>.parquet`.
    pub dir: PathBuf,
}

impl Store {
    /// When the current version was published (the manifest's modification time, which changes
    /// exactly when an import publishes), if there is one: a reader's cue to reopen.
    pub fn published_at(&self) -> Option<std::time::SystemTime> {
        std::fs::metadata(self.root.join(MANIFEST)).and_then(|m| m.modified()).ok()
    }

    /// The warehouse at `root` (which may not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> Store {
        Store { root: root.into() }
    }

    /// The warehouse folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The currently published version.
    ///
    /// # Errors
    /// Nothing was imported, or the manifest is damaged.
    pub fn current(&self) -> Result<Version, StoreError> {
        let path = self.root.join(MANIFEST);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotAWarehouse(self.root.clone()));
            }
            Err(e) => return Err(io(&path)(e)),
        };
        let damaged = |message: String| StoreError::Damaged { path: self.root.clone(), message };
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| damaged(format!("{MANIFEST}: {e}")))?;
        if !manifest.version.starts_with(VERSION_PREFIX) || manifest.version.contains(['/', '\\']) {
            return Err(damaged(format!("{MANIFEST} names an invalid version '{}'", manifest.version)));
        }
        let dir = self.root.join(&manifest.version);
        if !dir.is_dir() {
            return Err(damaged(format!("version {} is missing", manifest.version)));
        }
        Ok(Version { manifest, dir })
    }

    /// Takes the import lock and clears what killed imports left behind.
    ///
    /// # Errors
    /// Another import holds the lock, or the folder cannot be created.
    pub fn lock(&self) -> Result<ImportLock, StoreError> {
        fs::create_dir_all(&self.root).map_err(io(&self.root))?;
        let path = self.root.join(LOCK);
        let file = File::options().create(true).truncate(false).write(true).open(&path).map_err(io(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(StoreError::Locked(self.root.clone())),
            Err(fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
        }
        // holding the lock, any staging folder belongs to a dead import
        for entry in fs::read_dir(&self.root).map_err(io(&self.root))?.flatten() {
            if entry.file_name().to_string_lossy().starts_with(STAGING_PREFIX) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
        Ok(ImportLock { store: self.clone(), _file: file })
    }
}

/// The import lock; released when dropped.
pub struct ImportLock {
    store: Store,
    _file: File,
}

/// A version being written; nobody sees it until [`Staging::publish`].
pub(crate) struct Staging {
    store: Store,
    id: String,
    dir: PathBuf,
}

impl ImportLock {
    /// Starts a new version in a staging folder.
    ///
    /// # Errors
    /// The folder cannot be created.
    pub(crate) fn stage(&self) -> Result<Staging, StoreError> {
        let now = chrono::Utc::now();
        let id = format!("{}-{}", now.format("%Y%m%dT%H%M%S%.6f"), std::process::id()).replace('.', "");
        let dir = self.store.root.join(format!("{STAGING_PREFIX}{id}"));
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        Ok(Staging { store: self.store.clone(), id, dir })
    }
}

impl Staging {
    /// The staging folder, where the import writes its tables.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The name the version will have once published.
    pub(crate) fn version_name(&self) -> String {
        format!("{VERSION_PREFIX}{}", self.id)
    }

    /// Publishes the staged version: moves it into place, then renames the manifest over the old
    /// one. Older versions but the one just replaced are removed (a reader may still be on it).
    ///
    /// # Errors
    /// An I/O error; the previous version then stays the published one.
    pub(crate) fn publish(self, manifest: &Manifest) -> Result<(), StoreError> {
        let root = &self.store.root;
        let previous_version = self.store.current().ok();
        carry_rejects(previous_version.as_ref(), &self.dir, &manifest.version)?;
        let text = serde_json::to_string_pretty(manifest).expect("a manifest serializes");
        let own = self.dir.join(VERSION_MANIFEST);
        fs::write(&own, &text).map_err(io(&own))?;
        // `status --verify` checks the files against these
        super::checksums::record(&self.dir, previous_version.as_ref().map(|v| v.dir.as_path()))
            .map_err(io(&self.dir))?;
        let previous = previous_version.map(|v| v.manifest.version);
        sync_dir_files(&self.dir)?;
        let final_dir = root.join(&manifest.version);
        fs::rename(&self.dir, &final_dir).map_err(io(&final_dir))?;
        if let Err(e) = write_manifest(root, &text) {
            // (a full disk, say) unpublished: what this import wrote goes, so it frees the space
            // the next import needs
            let _ = fs::remove_dir_all(&final_dir);
            return Err(e);
        }
        sync_dir(root)?;
        copy_rejects(&final_dir, root);
        for entry in fs::read_dir(root).map_err(io(root))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(VERSION_PREFIX) && name != manifest.version && Some(&name) != previous.as_ref() {
                // a reader (a request, a command) holds a shared lock on the version's folder
                // while it reads it: such a version is left for a later import to remove (where
                // the file system has no locks, nobody holds one)
                let read = File::open(entry.path())
                    .is_ok_and(|dir| matches!(dir.try_lock(), Err(fs::TryLockError::WouldBlock)));
                if !read {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
        Ok(())
    }
}

/// Replaces the published manifest by `text`: written beside it, synced, renamed over it.
fn write_manifest(root: &Path, text: &str) -> Result<(), StoreError> {
    let tmp = root.join(format!("{MANIFEST}.tmp"));
    let written = (|| {
        let mut f = super::tmpfile::create(&tmp, 0o644).map_err(io(&tmp))?;
        f.write_all(text.as_bytes()).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        fs::rename(&tmp, root.join(MANIFEST)).map_err(io(root))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Copies a version's rejects to the warehouse's top, through a new temporary file; a failure
/// leaves the old copy (it is a convenience: the version's own copy is the record).
fn copy_rejects(version_dir: &Path, root: &Path) {
    let rejects_tmp = root.join(format!("{REJECTS}.tmp"));
    let copied = super::tmpfile::create(&rejects_tmp, 0o644)
        .and_then(|mut to| std::io::copy(&mut File::open(version_dir.join(REJECTS))?, &mut to));
    match copied {
        Ok(_) => {
            let _ = fs::rename(&rejects_tmp, root.join(REJECTS));
        }
        Err(_) => {
            let _ = fs::remove_file(&rejects_tmp);
        }
    }
}

impl ImportLock {
    /// Publishes again the version the current one replaced (kept by [`Staging::publish`]); the
    /// version rolled back from is kept in its turn, so a second rollback undoes the first.
    ///
    /// # Errors
    /// No earlier version is kept (or it was written before versions kept their manifest).
    pub fn rollback(&self) -> Result<Manifest, StoreError> {
        let root = &self.store.root;
        let current = self.store.current()?;
        let damaged = |message: String| StoreError::Damaged { path: root.clone(), message };
        let mut kept: Vec<(String, PathBuf)> = fs::read_dir(root)
            .map_err(io(root))?
            .flatten()
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            .filter(|(name, path)| {
                name.starts_with(VERSION_PREFIX) && *name != current.manifest.version && path.is_dir()
            })
            .collect();
        kept.sort();
        let Some((name, dir)) = kept.pop() else {
            return Err(damaged("no earlier version is kept to roll back to".into()));
        };
        let own = dir.join(VERSION_MANIFEST);
        let text = fs::read_to_string(&own).map_err(|_| {
            damaged(format!(
                "version {name} was written by an older shoplens without its manifest; it cannot be restored"
            ))
        })?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| damaged(format!("{name}/{VERSION_MANIFEST}: {e}")))?;
        if manifest.version != name {
            return Err(damaged(format!("{name}/{VERSION_MANIFEST} names version {}", manifest.version)));
        }
        write_manifest(root, &text)?;
        sync_dir(root)?;
        copy_rejects(&dir, root);
        Ok(manifest)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // an import that failed leaves nothing behind; after publish the folder is gone already
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The folder, inside a version, that keeps the rejects of every import by import id.
pub(crate) const REJECTS_DIR: &str = "rejects";

/// Puts this import's rejects under `rejects/<id>.csv` and brings along every earlier import's,
/// hard-linked from the previous version (copied where links are not possible).
fn carry_rejects(previous: Option<&Version>, staging: &Path, id: &str) -> Result<(), StoreError> {
    let dir = staging.join(REJECTS_DIR);
    fs::create_dir_all(&dir).map_err(io(&dir))?;
    let own = staging.join(REJECTS);
    if own.exists() {
        let target = dir.join(format!("{id}.csv"));
        fs::copy(&own, &target).map_err(io(&target))?;
    }
    if let Some(prev) = previous {
        let old = prev.dir.join(REJECTS_DIR);
        for entry in fs::read_dir(&old).into_iter().flatten().flatten() {
            let target = dir.join(entry.file_name());
            if !target.exists() && fs::hard_link(entry.path(), &target).is_err() {
                fs::copy(entry.path(), &target).map_err(io(&target))?;
            }
        }
    }
    Ok(())
}

/// Syncs every file under `dir` (tables with parts are folders), then the folders themselves.
fn sync_dir_files(dir: &Path) -> Result<(), StoreError> {
    for entry in fs::read_dir(dir).map_err(io(dir))?.flatten() {
        match entry.file_type() {
            Ok(t) if t.is_file() => File::open(entry.path()).and_then(|f| f.sync_all()).map_err(io(&entry.path()))?,
            Ok(t) if t.is_dir() => sync_dir_files(&entry.path())?,
            _ => {}
        }
    }
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|f| f.sync_all()).map_err(io(dir))
}
