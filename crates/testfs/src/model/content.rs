//! File content and attributes: reads, writes, truncation and allocation, on the
//! current state only. fsync (in the parent module) is what makes them durable.

use std::time::SystemTime;

use super::{Body, FsError, Ino, Model, Result, SetAttr, Stat, MAX_FILE_SIZE};

impl Model {
    pub fn setattr(&mut self, ino: Ino, set: SetAttr) -> Result<Stat> {
        let node = self.node_mut(ino)?;
        if let Some(size) = set.size {
            match &mut node.body {
                Body::Dir { .. } => return Err(FsError::IsDir),
                Body::File { data, .. } => resize(data, size)?,
            }
            node.meta.mtime = SystemTime::now();
        }
        let meta = &mut node.meta;
        meta.perm = set.perm.map_or(meta.perm, |p| p & 0o7777);
        meta.uid = set.uid.unwrap_or(meta.uid);
        meta.gid = set.gid.unwrap_or(meta.gid);
        meta.atime = set.atime.unwrap_or(meta.atime);
        meta.mtime = set.mtime.unwrap_or(meta.mtime);
        meta.ctime = set.ctime.unwrap_or_else(SystemTime::now);
        self.stat(ino)
    }

    /// Up to `size` bytes of `ino` from `offset` (fewer at the end of the file).
    pub fn read(&self, ino: Ino, offset: u64, size: u32) -> Result<&[u8]> {
        let data = self.file_data(ino)?;
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(data.len());
        let end = start.saturating_add(size as usize).min(data.len());
        Ok(&data[start..end])
    }

    /// Writes `bytes` at `offset` (`None`: at the end, as O_APPEND does), zero-filling any
    /// gap. Returns where the bytes went.
    pub fn write(&mut self, ino: Ino, offset: Option<u64>, bytes: &[u8]) -> Result<u64> {
        let node = self.node_mut(ino)?;
        let Body::File { data, .. } = &mut node.body else { return Err(FsError::IsDir) };
        let at = offset.unwrap_or(data.len() as u64);
        let end = at.checked_add(bytes.len() as u64).filter(|e| *e <= MAX_FILE_SIZE).ok_or(FsError::TooLarge)?;
        if end > data.len() as u64 {
            resize(data, end)?;
        }
        // Both fit in usize: `end` is at most MAX_FILE_SIZE.
        data[at as usize..end as usize].copy_from_slice(bytes);
        let now = SystemTime::now();
        node.meta.mtime = now;
        node.meta.ctime = now;
        Ok(at)
    }

    /// fallocate: makes `offset..offset+len` allocated (zeros where the file ends before
    /// it), extending the size unless `keep_size`.
    pub fn allocate(&mut self, ino: Ino, offset: u64, len: u64, keep_size: bool) -> Result<()> {
        let node = self.node_mut(ino)?;
        let Body::File { data, .. } = &mut node.body else { return Err(FsError::IsDir) };
        let end = offset.checked_add(len).filter(|e| *e <= MAX_FILE_SIZE).ok_or(FsError::TooLarge)?;
        if !keep_size && end > data.len() as u64 {
            resize(data, end)?;
            node.meta.mtime = SystemTime::now();
        }
        Ok(())
    }

    /// A file's current content.
    pub fn file_data(&self, ino: Ino) -> Result<&[u8]> {
        match &self.node(ino)?.body {
            Body::File { data, .. } => Ok(data),
            Body::Dir { .. } => Err(FsError::IsDir),
        }
    }
}

/// Grows (with zeros) or shrinks `data` to `size`.
fn resize(data: &mut Vec<u8>, size: u64) -> Result<()> {
    if size > MAX_FILE_SIZE {
        return Err(FsError::TooLarge);
    }
    // Fits in usize: at most MAX_FILE_SIZE.
    data.resize(size as usize, 0);
    Ok(())
}
