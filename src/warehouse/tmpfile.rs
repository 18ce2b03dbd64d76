//! Temporary files written beside their final name and then renamed over it (`CURRENT.tmp`,
//! `rejects.csv.tmp`, `access.json.tmp`): always a new file, never written through a symlink or
//! into a file somebody planted there.

use std::fs::{self, File};
use std::io;
use std::path::Path;

/// Creates `path` for writing with permissions `mode` (less the umask). A stale file or symlink
/// there is removed first (the link itself: `remove_file` does not follow it); the file is then
/// created exclusively (`O_EXCL`) and without following a symlink (`O_NOFOLLOW`), so one planted
/// in between makes the creation fail instead of writing elsewhere.
///
/// # Errors
/// Something other than a file or symlink is at `path`, or the file cannot be created.
pub(crate) fn create(path: &Path, mode: u32) -> io::Result<File> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() || m.file_type().is_symlink() => fs::remove_file(path)?,
        Ok(_) => {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "something other than a file is in the way"));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut options = File::options();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW).mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[cfg(unix)]
    #[test]
    fn a_planted_symlink_is_replaced_not_followed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        let tmp = dir.path().join("x.tmp");
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        create(&tmp, 0o600).unwrap().write_all(b"new").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        let m = fs::symlink_metadata(&tmp).unwrap();
        assert!(m.file_type().is_file());
        assert_eq!(m.permissions().mode() & 0o077, 0);
        // a dangling link, and a stale file
        fs::remove_file(&tmp).unwrap();
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &tmp).unwrap();
        create(&tmp, 0o644).unwrap();
        assert!(!dir.path().join("nowhere").exists());
        assert!(create(&tmp, 0o644).is_ok());
        fs::create_dir(dir.path().join("d.tmp")).unwrap();
        assert!(create(&dir.path().join("d.tmp"), 0o644).is_err());
    }
}
