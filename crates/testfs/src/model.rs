//! The in-memory state of the test file system and what a power cut leaves of it. Pure:
//! no FUSE, no I/O, so the durability rules are unit-tested directly.
//!
//! Every inode has its current content and metadata and the durable copy its last fsync
//! made; every directory has its current entries and the durable ones its last fsync made.
//! A power cut puts every inode and directory back to its durable copy and drops what is
//! then unreachable from the root. That is the strict POSIX reading: an fsynced file whose
//! directory entry was never fsynced is lost, an unsynced rename is undone.
//!
//! Inodes are kept while anything may still need them: a current or durable directory
//! entry, a kernel lookup reference or an open handle. Inode numbers are never reused, so
//! the kernel never mistakes a new file for an old one. An fsync copies the file's bytes:
//! this is sized for test data, not for gigabytes.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::time::SystemTime;

pub use crate::error::FsError;

mod content;
mod namespace;
mod power_cut;
#[cfg(test)]
mod tests;

pub type Ino = u64;

/// The root directory's inode number (FUSE's).
pub const ROOT: Ino = 1;
/// A larger write, truncate or allocation is EFBIG rather than an allocation that takes
/// the whole test process down: everything lives in memory.
pub const MAX_FILE_SIZE: u64 = 4 << 30;
/// Longest name, as statfs reports it.
pub const NAME_MAX: usize = 255;

pub type Result<T> = std::result::Result<T, FsError>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
}

/// Owner, permissions and times of an inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    pub perm: u16,
    pub uid: u32,
    pub gid: u32,
    pub atime: SystemTime,
    pub mtime: SystemTime,
    pub ctime: SystemTime,
    pub crtime: SystemTime,
}

impl Meta {
    fn new(perm: u16, uid: u32, gid: u32) -> Meta {
        let now = SystemTime::now();
        Meta { perm: perm & 0o7777, uid, gid, atime: now, mtime: now, ctime: now, crtime: now }
    }
}

/// What `stat` shows of an inode now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub ino: Ino,
    pub kind: Kind,
    pub size: u64,
    pub nlink: u32,
    pub meta: Meta,
}

/// A setattr request: `None` leaves the field as it is.
#[derive(Clone, Copy, Debug, Default)]
pub struct SetAttr {
    pub perm: Option<u16>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<SystemTime>,
    pub mtime: Option<SystemTime>,
    pub ctime: Option<SystemTime>,
}

/// One name in a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub ino: Ino,
    pub kind: Kind,
    pub name: OsString,
}

/// Bytes and inodes in use, current state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    pub bytes: u64,
    pub inodes: u64,
}

enum Body {
    File { data: Vec<u8>, durable: Vec<u8> },
    Dir { entries: BTreeMap<OsString, Ino>, durable: BTreeMap<OsString, Ino>, parent: Ino },
}

struct Inode {
    body: Body,
    meta: Meta,
    durable_meta: Meta,
    /// Current directory entries naming this inode.
    links: u32,
    /// Durable directory entries naming it: it must survive until they are gone.
    durable_links: u32,
    /// The kernel's lookup count (FUSE `nlookup`), dropped by forget.
    lookups: u64,
    /// Open file handles.
    open: u32,
}

impl Inode {
    fn new(body: Body, meta: Meta) -> Inode {
        Inode { body, meta, durable_meta: meta, links: 0, durable_links: 0, lookups: 0, open: 0 }
    }

    fn kind(&self) -> Kind {
        match self.body {
            Body::File { .. } => Kind::File,
            Body::Dir { .. } => Kind::Dir,
        }
    }

    fn unreferenced(&self) -> bool {
        self.links == 0 && self.durable_links == 0 && self.lookups == 0 && self.open == 0
    }
}

/// The whole file system: current and durable state of every inode.
pub struct Model {
    inodes: HashMap<Ino, Inode>,
    next_ino: Ino,
}

impl Default for Model {
    fn default() -> Self {
        Model::new()
    }
}

impl Model {
    /// An empty file system: the root directory, durable as it is (a fresh mkfs).
    pub fn new() -> Model {
        let root = Body::Dir { entries: BTreeMap::new(), durable: BTreeMap::new(), parent: ROOT };
        let mut root = Inode::new(root, Meta::new(0o755, 0, 0));
        root.links = 1;
        root.durable_links = 1;
        Model { inodes: HashMap::from([(ROOT, root)]), next_ino: ROOT + 1 }
    }

    /// Looks `name` up in `parent` and counts one kernel reference to what it finds.
    pub fn lookup(&mut self, parent: Ino, name: &OsStr) -> Result<Stat> {
        let ino = match name.as_encoded_bytes() {
            b"." => self.dir_entries(parent).map(|_| parent)?,
            b".." => self.parent_of(parent)?,
            _ => self.child(parent, name)?.ok_or(FsError::NotFound)?,
        };
        self.node_mut(ino)?.lookups += 1;
        self.stat(ino)
    }

    /// The kernel dropped `n` references to `ino`.
    pub fn forget(&mut self, ino: Ino, n: u64) {
        if let Some(node) = self.inodes.get_mut(&ino) {
            node.lookups = node.lookups.saturating_sub(n);
            self.collect(ino);
        }
    }

    pub fn stat(&self, ino: Ino) -> Result<Stat> {
        let node = self.node(ino)?;
        let (size, nlink) = match &node.body {
            Body::File { data, .. } => (data.len() as u64, node.links),
            Body::Dir { entries, .. } => {
                let subdirs = entries.values().filter(|c| self.kind_of(**c) == Some(Kind::Dir)).count();
                (entries.len() as u64, 2 + subdirs as u32)
            }
        };
        Ok(Stat { ino, kind: node.kind(), size, nlink, meta: node.meta })
    }

    /// Counts an open handle to `ino`, which keeps it alive after an unlink.
    pub fn open(&mut self, ino: Ino) -> Result<Stat> {
        self.node_mut(ino)?.open += 1;
        self.stat(ino)
    }

    pub fn release(&mut self, ino: Ino) {
        if let Some(node) = self.inodes.get_mut(&ino) {
            node.open = node.open.saturating_sub(1);
            self.collect(ino);
        }
    }

    /// fsync: the current content and metadata of a file, or the current entries of a
    /// directory, become durable. fdatasync is the same: the model has no metadata whose
    /// loss a test would want to see apart from the data.
    pub fn fsync(&mut self, ino: Ino) -> Result<()> {
        let node = self.node_mut(ino)?;
        node.durable_meta = node.meta;
        let (added, removed) = match &mut node.body {
            Body::File { data, durable } => {
                durable.clone_from(data);
                return Ok(());
            }
            Body::Dir { entries, durable, .. } => {
                let old = std::mem::replace(durable, entries.clone());
                (entries.values().copied().collect::<Vec<_>>(), old.into_values().collect::<Vec<_>>())
            }
        };
        for child in &added {
            if let Some(c) = self.inodes.get_mut(child) {
                c.durable_links += 1;
            }
        }
        for child in removed {
            if let Some(c) = self.inodes.get_mut(&child) {
                c.durable_links = c.durable_links.saturating_sub(1);
                self.collect(child);
            }
        }
        Ok(())
    }

    /// `.`, `..` and the current entries of directory `ino`, by name.
    pub fn list(&self, ino: Ino) -> Result<Vec<DirEntry>> {
        let entries = self.dir_entries(ino)?;
        let mut out = Vec::with_capacity(entries.len() + 2);
        out.push(DirEntry { ino, kind: Kind::Dir, name: ".".into() });
        out.push(DirEntry { ino: self.parent_of(ino)?, kind: Kind::Dir, name: "..".into() });
        for (name, child) in entries {
            let kind = self.kind_of(*child).ok_or(FsError::NotFound)?;
            out.push(DirEntry { ino: *child, kind, name: name.clone() });
        }
        Ok(out)
    }

    pub fn usage(&self) -> Usage {
        let bytes = self
            .inodes
            .values()
            .map(|n| match &n.body {
                Body::File { data, .. } => data.len() as u64,
                Body::Dir { .. } => 0,
            })
            .sum();
        Usage { bytes, inodes: self.inodes.len() as u64 }
    }

    /// The inode at `path` (`/`-separated, relative to the root), if there is one.
    pub fn resolve(&self, path: &str) -> Option<Ino> {
        path.split('/')
            .filter(|c| !c.is_empty())
            .try_fold(ROOT, |dir, name| self.child(dir, OsStr::new(name)).ok().flatten())
    }

    fn node(&self, ino: Ino) -> Result<&Inode> {
        self.inodes.get(&ino).ok_or(FsError::NotFound)
    }

    fn node_mut(&mut self, ino: Ino) -> Result<&mut Inode> {
        self.inodes.get_mut(&ino).ok_or(FsError::NotFound)
    }

    fn kind_of(&self, ino: Ino) -> Option<Kind> {
        self.inodes.get(&ino).map(Inode::kind)
    }

    fn dir_entries(&self, ino: Ino) -> Result<&BTreeMap<OsString, Ino>> {
        match &self.node(ino)?.body {
            Body::Dir { entries, .. } => Ok(entries),
            Body::File { .. } => Err(FsError::NotDir),
        }
    }

    fn dir_entries_mut(&mut self, ino: Ino) -> Result<&mut BTreeMap<OsString, Ino>> {
        match &mut self.node_mut(ino)?.body {
            Body::Dir { entries, .. } => Ok(entries),
            Body::File { .. } => Err(FsError::NotDir),
        }
    }

    fn parent_of(&self, dir: Ino) -> Result<Ino> {
        match &self.node(dir)?.body {
            Body::Dir { parent, .. } => Ok(*parent),
            Body::File { .. } => Err(FsError::NotDir),
        }
    }

    /// The inode `name` names in directory `parent` now.
    fn child(&self, parent: Ino, name: &OsStr) -> Result<Option<Ino>> {
        if name.len() > NAME_MAX {
            return Err(FsError::NameTooLong);
        }
        Ok(self.dir_entries(parent)?.get(name).copied())
    }

    /// Drops `ino` if nothing refers to it any more, and then whatever only it referred to.
    fn collect(&mut self, ino: Ino) {
        let mut work = vec![ino];
        while let Some(ino) = work.pop() {
            if ino == ROOT || !self.inodes.get(&ino).is_some_and(Inode::unreferenced) {
                continue;
            }
            let Some(node) = self.inodes.remove(&ino) else { continue };
            if let Body::Dir { entries, durable, .. } = node.body {
                for child in entries.into_values() {
                    if let Some(c) = self.inodes.get_mut(&child) {
                        c.links = c.links.saturating_sub(1);
                        work.push(child);
                    }
                }
                for child in durable.into_values() {
                    if let Some(c) = self.inodes.get_mut(&child) {
                        c.durable_links = c.durable_links.saturating_sub(1);
                        work.push(child);
                    }
                }
            }
        }
    }
}
