//! The FUSE adapter: turns kernel requests into calls on the shared [`Model`] and its
//! answers into replies. Holds only what one mount session needs (open handles and the
//! directory listings being read); everything that outlives a mount is in the model.
//!
//! Every answer carries zero TTLs, so the kernel asks again each time instead of trusting
//! a cached entry or size the model may since have changed. Nothing here may panic on a
//! request: bad input is an errno.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fuser::{
    AccessFlags, BsdFileFlags, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
    LockOwner, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen,
    ReplyStatfs, ReplyWrite, Request, TimeOrNow, WriteFlags,
};
use parking_lot::Mutex;

use crate::model::{DirEntry, FsError, Ino, Kind, Model, SetAttr, Stat};

/// Kernel caches expire at once: the model is the only truth.
const TTL: Duration = Duration::ZERO;
/// Inode numbers are never reused, so one generation serves every inode.
const GENERATION: Generation = Generation(0);
const BLOCK_SIZE: u32 = 4096;
/// The size statfs reports; only the free part moves, with the bytes stored.
const CAPACITY_BLOCKS: u64 = (64 << 30) / BLOCK_SIZE as u64;

enum Handle {
    File {
        ino: Ino,
        append: bool,
    },
    /// A listing taken at opendir (and again at a rewind), so that readdir offsets stay
    /// meaningful while the directory changes.
    Dir {
        ino: Ino,
        listing: Vec<DirEntry>,
    },
}

/// One mount session's view of the shared model.
pub(crate) struct FuseAdapter {
    model: Arc<Mutex<Model>>,
    handles: Mutex<HashMap<u64, Handle>>,
    next_handle: AtomicU64,
}

impl FuseAdapter {
    pub(crate) fn new(model: Arc<Mutex<Model>>) -> FuseAdapter {
        FuseAdapter { model, handles: Mutex::new(HashMap::new()), next_handle: AtomicU64::new(1) }
    }

    fn add_handle(&self, handle: Handle) -> FileHandle {
        let fh = self.next_handle.fetch_add(1, Ordering::Relaxed);
        self.handles.lock().insert(fh, handle);
        FileHandle(fh)
    }

    /// Whether writes through `fh` go to the end of the file (opened with O_APPEND).
    fn appends(&self, fh: FileHandle, flags: OpenFlags) -> bool {
        let by_handle = matches!(self.handles.lock().get(&fh.0), Some(Handle::File { append: true, .. }));
        by_handle || flags.0 & libc::O_APPEND != 0
    }

    fn open_handle(&self, ino: Ino, flags: i32) -> Result<FileHandle, FsError> {
        let stat = self.model.lock().open(ino)?;
        if stat.kind == Kind::Dir && flags & libc::O_ACCMODE != libc::O_RDONLY {
            self.model.lock().release(ino);
            return Err(FsError::IsDir);
        }
        Ok(self.add_handle(Handle::File { ino, append: flags & libc::O_APPEND != 0 }))
    }

    fn release_handle(&self, fh: FileHandle) {
        let ino = match self.handles.lock().remove(&fh.0) {
            Some(Handle::File { ino, .. } | Handle::Dir { ino, .. }) => ino,
            None => return,
        };
        self.model.lock().release(ino);
    }

    fn create_node(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        kind: Kind,
        mode: u32,
    ) -> Result<Stat, FsError> {
        self.model.lock().create(parent.0, name, kind, perm(mode), req.uid(), req.gid())
    }
}

impl Filesystem for FuseAdapter {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.model.lock().lookup(parent.0, name) {
            Ok(stat) => reply.entry(&TTL, &attr(&stat), GENERATION),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        self.model.lock().forget(ino.0, nlookup);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.model.lock().stat(ino.0) {
            Ok(stat) => reply.attr(&TTL, &attr(&stat)),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let set =
            SetAttr { perm: mode.map(perm), uid, gid, size, atime: atime.map(time), mtime: mtime.map(time), ctime };
        match self.model.lock().setattr(ino.0, set) {
            Ok(stat) => reply.attr(&TTL, &attr(&stat)),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn mknod(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        // Regular files only: nothing under test makes devices, fifos or sockets, and
        // EPERM is what a file system that cannot hold a node type answers.
        let file_type = mode & libc::S_IFMT;
        if file_type != 0 && file_type != libc::S_IFREG {
            return reply.error(Errno::EPERM);
        }
        match self.create_node(req, parent, name, Kind::File, mode) {
            Ok(stat) => reply.entry(&TTL, &attr(&stat), GENERATION),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn mkdir(&self, req: &Request, parent: INodeNo, name: &OsStr, mode: u32, _umask: u32, reply: ReplyEntry) {
        match self.create_node(req, parent, name, Kind::Dir, mode) {
            Ok(stat) => reply.entry(&TTL, &attr(&stat), GENERATION),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        empty(reply, self.model.lock().unlink(parent.0, name));
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        empty(reply, self.model.lock().rmdir(parent.0, name));
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        // RENAME_EXCHANGE and RENAME_WHITEOUT are not modelled; Linux answers unsupported
        // rename flags with EINVAL.
        if !(flags - RenameFlags::RENAME_NOREPLACE).is_empty() {
            return reply.error(Errno::EINVAL);
        }
        let no_replace = flags.contains(RenameFlags::RENAME_NOREPLACE);
        empty(reply, self.model.lock().rename(parent.0, name, newparent.0, newname, no_replace));
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        match self.open_handle(ino.0, flags.0) {
            Ok(fh) => reply.opened(fh, FopenFlags::empty()),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: fuser::ReplyData,
    ) {
        let model = self.model.lock();
        match model.read(ino.0, offset, size) {
            Ok(bytes) => reply.data(bytes),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let at = (!self.appends(fh, flags)).then_some(offset);
        let Ok(len) = u32::try_from(data.len()) else { return reply.error(Errno::EFBIG) };
        match self.model.lock().write(ino.0, at, data) {
            Ok(_) => reply.written(len),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn flush(&self, _req: &Request, _ino: INodeNo, _fh: FileHandle, _lock_owner: LockOwner, reply: ReplyEmpty) {
        // Writes reach the model as they happen: close has nothing left to push.
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.release_handle(fh);
        reply.ok();
    }

    fn fsync(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, _datasync: bool, reply: ReplyEmpty) {
        empty(reply, self.model.lock().fsync(ino.0));
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let mut model = self.model.lock();
        let listing = match model.list(ino.0) {
            Ok(listing) => listing,
            Err(e) => return reply.error(errno(e)),
        };
        if let Err(e) = model.open(ino.0) {
            return reply.error(errno(e));
        }
        drop(model);
        reply.opened(self.add_handle(Handle::Dir { ino: ino.0, listing }), FopenFlags::empty());
    }

    fn readdir(&self, _req: &Request, ino: INodeNo, fh: FileHandle, offset: u64, mut reply: ReplyDirectory) {
        let mut handles = self.handles.lock();
        let Some(Handle::Dir { listing, .. }) = handles.get_mut(&fh.0) else { return reply.error(Errno::EBADF) };
        if offset == 0 {
            // A rewind (or the first read): see the directory as it is now.
            match self.model.lock().list(ino.0) {
                Ok(now) => *listing = now,
                Err(e) => return reply.error(errno(e)),
            }
        }
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        for (i, entry) in listing.iter().enumerate().skip(start) {
            // The offset handed back is where the next readdir resumes.
            if reply.add(INodeNo(entry.ino), i as u64 + 1, file_type(entry.kind), &entry.name) {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, _flags: OpenFlags, reply: ReplyEmpty) {
        self.release_handle(fh);
        reply.ok();
    }

    fn fsyncdir(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, _datasync: bool, reply: ReplyEmpty) {
        empty(reply, self.model.lock().fsync(ino.0));
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let usage = self.model.lock().usage();
        let used = usage.bytes.div_ceil(BLOCK_SIZE as u64);
        let free = CAPACITY_BLOCKS.saturating_sub(used);
        let files = 1 << 32;
        let name_max = crate::model::NAME_MAX as u32;
        reply.statfs(
            CAPACITY_BLOCKS,
            free,
            free,
            files,
            files.saturating_sub(usage.inodes),
            BLOCK_SIZE,
            name_max,
            BLOCK_SIZE,
        );
    }

    fn access(&self, _req: &Request, ino: INodeNo, _mask: AccessFlags, reply: ReplyEmpty) {
        // Tests run as root and modes are not enforced: existing is enough.
        empty(reply, self.model.lock().stat(ino.0).map(|_| ()));
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let created = self.create_node(req, parent, name, Kind::File, mode);
        let opened = created.and_then(|stat| Ok((stat, self.open_handle(stat.ino, flags)?)));
        match opened {
            Ok((stat, fh)) => {
                // create counted a kernel reference as lookup does; open counted the handle.
                reply.created(&TTL, &attr(&stat), GENERATION, fh, FopenFlags::empty())
            }
            Err(e) => reply.error(errno(e)),
        }
    }

    fn fallocate(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        let result = match mode {
            0 => self.model.lock().allocate(ino.0, offset, length, false),
            libc::FALLOC_FL_KEEP_SIZE => self.model.lock().allocate(ino.0, offset, length, true),
            // Hole punching and range collapsing are not modelled.
            _ => Err(FsError::NotSupported),
        };
        empty(reply, result);
    }
}

fn empty(reply: ReplyEmpty, result: Result<(), FsError>) {
    match result {
        Ok(()) => reply.ok(),
        Err(e) => reply.error(errno(e)),
    }
}

fn errno(e: FsError) -> Errno {
    Errno::from_i32(e.errno())
}

fn perm(mode: u32) -> u16 {
    (mode & 0o7777) as u16
}

fn time(t: TimeOrNow) -> SystemTime {
    match t {
        TimeOrNow::SpecificTime(t) => t,
        TimeOrNow::Now => SystemTime::now(),
    }
}

fn file_type(kind: Kind) -> FileType {
    match kind {
        Kind::File => FileType::RegularFile,
        Kind::Dir => FileType::Directory,
    }
}

fn attr(stat: &Stat) -> FileAttr {
    FileAttr {
        ino: INodeNo(stat.ino),
        size: stat.size,
        blocks: stat.size.div_ceil(512),
        atime: stat.meta.atime,
        mtime: stat.meta.mtime,
        ctime: stat.meta.ctime,
        crtime: stat.meta.crtime,
        kind: file_type(stat.kind),
        perm: stat.meta.perm,
        nlink: stat.nlink,
        uid: stat.meta.uid,
        gid: stat.meta.gid,
        rdev: 0,
        blksize: BLOCK_SIZE,
        flags: 0,
    }
}
