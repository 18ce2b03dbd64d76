//! Checksums of a version's files: recorded when it is published (`checksums.json` in the
//! version's folder) and checked by `shoplens status --verify`, which names every file that
//! changed, went missing or appeared since.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// The checksum file's name, in a version's folder.
pub(crate) const CHECKSUMS: &str = "checksums.json";

/// A file's path inside its version (with `/`) -> the SHA-256 of its bytes, in hex.
pub(crate) type Sums = BTreeMap<String, String>;

/// What a verification found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Verification {
    /// Files checked.
    pub checked: usize,
    /// Files whose bytes differ from their checksum.
    pub changed: Vec<String>,
    /// Files recorded but not there.
    pub missing: Vec<String>,
    /// Files there but not recorded.
    pub unexpected: Vec<String>,
}

impl Verification {
    /// Whether every recorded file is there, unchanged, and nothing else is.
    pub fn ok(&self) -> bool {
        self.changed.is_empty() && self.missing.is_empty() && self.unexpected.is_empty()
    }
}

/// Every file under `dir` but the checksum file, by its path inside `dir`.
fn files(dir: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                let rel = entry.path().strip_prefix(dir).expect("under dir").to_string_lossy().replace('\\', "/");
                if rel != CHECKSUMS {
                    out.push((rel, entry.path()));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

fn sha256(path: &Path) -> io::Result<String> {
    let mut hash = Sha256::new();
    io::copy(&mut std::fs::File::open(path)?, &mut hash)?;
    Ok(format!("{:x}", hash.finalize()))
}

/// The same file (an append hard-links the months it did not change from the previous version).
#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &Path, _: &Path) -> bool {
    false
}

/// Computes and writes the checksums of the version being published in `dir`; a file that is
/// the previous version's own (hard-linked) keeps its recorded checksum instead of being read.
///
/// # Errors
/// A file cannot be read, or the checksum file cannot be written.
pub fn record(dir: &Path, previous: Option<&Path>) -> io::Result<()> {
    let known: Sums = previous.and_then(read).unwrap_or_default();
    let mut sums = Sums::new();
    for (rel, path) in files(dir)? {
        let reused = previous.filter(|p| same_file(&p.join(&rel), &path)).and_then(|_| known.get(&rel).cloned());
        let sum = match reused {
            Some(s) => s,
            None => sha256(&path)?,
        };
        sums.insert(rel, sum);
    }
    let text = serde_json::to_string_pretty(&sums).expect("checksums serialize");
    std::fs::write(dir.join(CHECKSUMS), text)
}

/// The checksums recorded in a version's folder, if it has them.
pub fn read(dir: &Path) -> Option<Sums> {
    serde_json::from_str(&std::fs::read_to_string(dir.join(CHECKSUMS)).ok()?).ok()
}

/// Reads every file of the version in `dir` and compares it with its recorded checksum.
///
/// # Errors
/// The version has no checksums (published by an older shoplens), or its folder cannot be read.
pub fn verify(dir: &Path) -> io::Result<Verification> {
    let Some(sums) = read(dir) else {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{}: no {CHECKSUMS} (a version published by an older shoplens); import again to record one",
                dir.display()
            ),
        ));
    };
    let present = files(dir)?;
    let mut v = Verification::default();
    for (rel, path) in &present {
        match sums.get(rel) {
            None => v.unexpected.push(rel.clone()),
            Some(expected) => {
                v.checked += 1;
                if sha256(path).ok().as_deref() != Some(expected.as_str()) {
                    v.changed.push(rel.clone());
                }
            }
        }
    }
    let names: std::collections::BTreeSet<&String> = present.iter().map(|(r, _)| r).collect();
    v.missing = sums.keys().filter(|r| !names.contains(r)).cloned().collect();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_version_verifies_and_every_change_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("fact_order")).unwrap();
        std::fs::write(d.join("dim_date.parquet"), b"dates").unwrap();
        std::fs::write(d.join("fact_order/2024-01.parquet"), b"january").unwrap();
        std::fs::write(d.join("fact_order/2024-02.parquet"), b"february").unwrap();
        record(d, None).unwrap();
        let v = verify(d).unwrap();
        assert!(v.ok() && v.checked == 3, "{v:?}");
        std::fs::write(d.join("fact_order/2024-01.parquet"), b"januarY").unwrap();
        std::fs::remove_file(d.join("fact_order/2024-02.parquet")).unwrap();
        std::fs::write(d.join("fact_order/2024-03.parquet"), b"march").unwrap();
        let v = verify(d).unwrap();
        assert_eq!(v.changed, ["fact_order/2024-01.parquet"]);
        assert_eq!(v.missing, ["fact_order/2024-02.parquet"]);
        assert_eq!(v.unexpected, ["fact_order/2024-03.parquet"]);
        assert!(!v.ok());
    }

    #[cfg(unix)]
    #[test]
    fn a_hard_linked_file_keeps_its_recorded_sum() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (dir.path().join("v-1"), dir.path().join("v-2"));
        std::fs::create_dir_all(&old).unwrap();
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(old.join("a.parquet"), b"aaa").unwrap();
        record(&old, None).unwrap();
        std::fs::hard_link(old.join("a.parquet"), new.join("a.parquet")).unwrap();
        // a recorded sum that differs from the bytes shows it was reused, not recomputed
        let mut sums = read(&old).unwrap();
        sums.insert("a.parquet".into(), "reused".into());
        std::fs::write(old.join(CHECKSUMS), serde_json::to_string(&sums).unwrap()).unwrap();
        record(&new, Some(&old)).unwrap();
        assert_eq!(read(&new).unwrap()["a.parquet"], "reused");
    }
}
