//! Making directory changes survive power loss.
//!
//! An fsync of a file makes its bytes durable, not its name: a created, renamed or
//! removed directory entry is durable only once the directory itself is fsynced. Every
//! create, rename and delete that a later read relies on goes through here. Nothing else
//! in the crate calls `rename`, `create_dir` or `remove_*` directly on the data path.

use std::fs::File;
use std::io;
use std::path::Path;

/// Fsyncs the directory `dir`, making its entries (creates, renames, removals) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` and any missing parents, fsyncing each parent that gained an entry, so
/// the whole path survives power loss. An existing directory is left as it is.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_all(parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(e) => return Err(e),
    }
    sync_parent(dir)
}

/// Removes `dir` and everything in it, then fsyncs its parent so it stays removed.
pub fn remove_dir_all(dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => sync_parent(dir),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes `bytes` to `path` atomically and durably: a temporary file beside it is written
/// and fsynced, renamed over `path`, and the directory fsynced. A crash leaves either the
/// old content or the new, never a mix or nothing.
pub fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = Path::new(&tmp);
    let mut f = File::create(tmp)?;
    io::Write::write_all(&mut f, bytes)?;
    f.sync_all()?;
    std::fs::rename(tmp, path)?;
    sync_parent(path)
}

/// Fsyncs the directory holding `path`.
pub fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => sync_dir(parent),
        None => sync_dir(Path::new(".")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_nested_directories_and_replaces_files() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b/c");
        create_dir_all(&dir).unwrap();
        create_dir_all(&dir).unwrap();
        assert!(dir.is_dir());
        let file = dir.join("checkpoint");
        replace_file(&file, b"one").unwrap();
        replace_file(&file, b"two").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"two");
        assert!(!dir.join("checkpoint.tmp").exists());
        remove_dir_all(&root.path().join("a")).unwrap();
        remove_dir_all(&root.path().join("a")).unwrap();
        assert!(!root.path().join("a").exists());
    }
}
