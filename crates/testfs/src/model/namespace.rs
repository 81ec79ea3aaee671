//! Names: creating, removing and renaming directory entries. Every change here is to
//! the current entries only; it becomes durable when the directory is fsynced.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::time::SystemTime;

use super::{Body, FsError, Ino, Inode, Kind, Meta, Model, Result, Stat, NAME_MAX};

impl Model {
    /// Creates an empty file or directory `name` in `parent` and counts one kernel
    /// reference to it. The new entry is not durable until `parent` is fsynced.
    pub fn create(&mut self, parent: Ino, name: &OsStr, kind: Kind, perm: u16, uid: u32, gid: u32) -> Result<Stat> {
        check_name(name)?;
        if self.child(parent, name)?.is_some() {
            return Err(FsError::Exists);
        }
        let body = match kind {
            Kind::File => Body::File { data: Vec::new(), durable: Vec::new() },
            Kind::Dir => Body::Dir { entries: BTreeMap::new(), durable: BTreeMap::new(), parent },
        };
        let ino = self.next_ino;
        self.next_ino += 1;
        let mut node = Inode::new(body, Meta::new(perm, uid, gid));
        node.links = 1;
        node.lookups = 1;
        self.inodes.insert(ino, node);
        self.dir_entries_mut(parent)?.insert(name.to_os_string(), ino);
        self.touch(parent);
        self.stat(ino)
    }

    /// Removes the file `name` from `parent`.
    pub fn unlink(&mut self, parent: Ino, name: &OsStr) -> Result<()> {
        let ino = self.child(parent, name)?.ok_or(FsError::NotFound)?;
        if self.kind_of(ino) == Some(Kind::Dir) {
            return Err(FsError::IsDir);
        }
        self.remove_entry(parent, name, ino)
    }

    /// Removes the empty directory `name` from `parent`.
    pub fn rmdir(&mut self, parent: Ino, name: &OsStr) -> Result<()> {
        if matches!(name.as_encoded_bytes(), b"." | b"..") {
            return Err(FsError::Invalid);
        }
        let ino = self.child(parent, name)?.ok_or(FsError::NotFound)?;
        if !self.dir_entries(ino)?.is_empty() {
            return Err(FsError::NotEmpty);
        }
        self.remove_entry(parent, name, ino)
    }

    /// Moves `parent/name` to `new_parent/new_name`, replacing what is there unless
    /// `no_replace` (RENAME_NOREPLACE). Durable once both directories are fsynced.
    pub fn rename(
        &mut self,
        parent: Ino,
        name: &OsStr,
        new_parent: Ino,
        new_name: &OsStr,
        no_replace: bool,
    ) -> Result<()> {
        check_name(new_name)?;
        let ino = self.child(parent, name)?.ok_or(FsError::NotFound)?;
        let kind = self.kind_of(ino).ok_or(FsError::NotFound)?;
        if let Some(target) = self.child(new_parent, new_name)? {
            if no_replace {
                return Err(FsError::Exists);
            }
            if target == ino {
                // POSIX: renaming a file onto another link of itself does nothing.
                return Ok(());
            }
            match (kind, self.kind_of(target)) {
                (Kind::Dir, Some(Kind::File)) => return Err(FsError::NotDir),
                (Kind::File, Some(Kind::Dir)) => return Err(FsError::IsDir),
                (Kind::Dir, Some(Kind::Dir)) if !self.dir_entries(target)?.is_empty() => return Err(FsError::NotEmpty),
                _ => {}
            }
        }
        if kind == Kind::Dir && self.is_ancestor(ino, new_parent) {
            return Err(FsError::Invalid);
        }
        self.dir_entries_mut(parent)?.remove(name);
        let replaced = self.dir_entries_mut(new_parent)?.insert(new_name.to_os_string(), ino);
        if let Some(Body::Dir { parent, .. }) = self.inodes.get_mut(&ino).map(|n| &mut n.body) {
            *parent = new_parent;
        }
        if let Some(old) = replaced {
            if let Some(node) = self.inodes.get_mut(&old) {
                node.links = node.links.saturating_sub(1);
            }
            self.collect(old);
        }
        self.touch(parent);
        self.touch(new_parent);
        Ok(())
    }

    /// Whether `dir` is `of` or one of its ancestors. Bounded by the inode count, so a
    /// broken parent chain cannot hang a request.
    fn is_ancestor(&self, dir: Ino, of: Ino) -> bool {
        let mut at = of;
        for _ in 0..=self.inodes.len() {
            if at == dir {
                return true;
            }
            match self.parent_of(at) {
                Ok(up) if up != at => at = up,
                _ => return false,
            }
        }
        false
    }

    fn remove_entry(&mut self, parent: Ino, name: &OsStr, ino: Ino) -> Result<()> {
        self.dir_entries_mut(parent)?.remove(name);
        let node = self.node_mut(ino)?;
        node.links = node.links.saturating_sub(1);
        node.meta.ctime = SystemTime::now();
        self.touch(parent);
        self.collect(ino);
        Ok(())
    }

    fn touch(&mut self, dir: Ino) {
        if let Some(node) = self.inodes.get_mut(&dir) {
            let now = SystemTime::now();
            node.meta.mtime = now;
            node.meta.ctime = now;
        }
    }
}

fn check_name(name: &OsStr) -> Result<()> {
    let bytes = name.as_encoded_bytes();
    if bytes.is_empty() || bytes == b"." || bytes == b".." || bytes.contains(&b'/') {
        return Err(FsError::Invalid);
    }
    if bytes.len() > NAME_MAX {
        return Err(FsError::NameTooLong);
    }
    Ok(())
}
