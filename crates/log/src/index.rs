//! Sparse per-segment indexes: offset → file position and max timestamp → offset.
//!
//! Entries live in memory and are appended to their files in batches (at fsync, roll and
//! close), never rewritten in place. An index is an accelerator only: the log file is the
//! truth, so a missing or damaged index file is rebuilt from the log, never trusted blindly.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// One fixed-width index entry, encoded big-endian as Kafka does.
pub trait IndexEntry: Copy {
    const WIDTH: usize;
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(bytes: &[u8]) -> Self;
}

/// Offset relative to the segment base → byte position in the segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetEntry {
    pub relative_offset: u32,
    pub position: u32,
}

/// Largest timestamp seen so far in the segment → the offset of the batch that reached it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeEntry {
    pub timestamp: i64,
    pub relative_offset: u32,
}

impl IndexEntry for OffsetEntry {
    const WIDTH: usize = 8;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
        out.extend_from_slice(&self.position.to_be_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        OffsetEntry {
            relative_offset: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            position: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

impl IndexEntry for TimeEntry {
    const WIDTH: usize = 12;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&b[..8]);
        TimeEntry { timestamp: i64::from_be_bytes(ts), relative_offset: u32::from_be_bytes([b[8], b[9], b[10], b[11]]) }
    }
}

/// An append-only sorted index backed by a file.
#[derive(Debug)]
pub struct Index<E: IndexEntry> {
    path: PathBuf,
    entries: Vec<E>,
    /// How many of `entries` are already in the file.
    persisted: usize,
    /// The file must be replaced rather than appended to.
    rewrite: bool,
}

impl<E: IndexEntry> Index<E> {
    pub fn new(path: PathBuf) -> Self {
        Index { path, entries: Vec::new(), persisted: 0, rewrite: true }
    }

    /// Loads entries from the file. A missing file, or one whose length is not a whole
    /// number of entries, yields `None`: the caller rebuilds from the log.
    pub fn load(path: PathBuf) -> io::Result<Option<Self>> {
        let mut bytes = Vec::new();
        match File::open(&path) {
            Ok(mut f) => f.read_to_end(&mut bytes)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if bytes.len() % E::WIDTH != 0 {
            return Ok(None);
        }
        let entries: Vec<E> = bytes.chunks_exact(E::WIDTH).map(E::decode).collect();
        let persisted = entries.len();
        Ok(Some(Index { path, entries, persisted, rewrite: false }))
    }

    pub fn entries(&self) -> &[E] {
        &self.entries
    }

    pub fn last(&self) -> Option<&E> {
        self.entries.last()
    }

    pub fn push(&mut self, entry: E) {
        self.entries.push(entry);
    }

    /// Drops entries from `len` on, in memory and (at the next flush) on disk.
    pub fn truncate(&mut self, len: usize) {
        self.entries.truncate(len);
        if self.persisted > len {
            // The file now holds entries we dropped: rewrite it whole on the next flush.
            // Rare: recovery only.
            self.persisted = 0;
            self.rewrite = true;
        }
    }

    /// Appends the entries not yet on disk to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.persisted == self.entries.len() && !self.rewrite {
            return Ok(());
        }
        let mut buf = Vec::with_capacity((self.entries.len() - self.persisted) * E::WIDTH);
        for e in &self.entries[self.persisted..] {
            e.encode(&mut buf);
        }
        let mut options = OpenOptions::new();
        options.create(true);
        if self.rewrite {
            options.write(true).truncate(true);
        } else {
            options.append(true);
        }
        options.open(&self.path)?.write_all(&buf)?;
        self.persisted = self.entries.len();
        self.rewrite = false;
        Ok(())
    }

    /// Index of the last entry whose key is ≤ `key`, by binary search.
    pub fn floor_by<K: Ord>(&self, key: K, key_of: impl Fn(&E) -> K) -> Option<&E> {
        let idx = self.entries.partition_point(|e| key_of(e) <= key);
        idx.checked_sub(1).map(|i| &self.entries[i])
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_floors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        let mut idx = Index::<OffsetEntry>::new(path.clone());
        for i in 0..10u32 {
            idx.push(OffsetEntry { relative_offset: i * 10, position: i * 100 });
        }
        idx.flush().unwrap();
        idx.push(OffsetEntry { relative_offset: 100, position: 1000 });
        idx.flush().unwrap();
        let loaded = Index::<OffsetEntry>::load(path).unwrap().unwrap();
        assert_eq!(loaded.entries().len(), 11);
        assert_eq!(loaded.floor_by(55, |e| e.relative_offset).unwrap().position, 500);
        assert!(loaded.floor_by(0, |e| e.relative_offset).is_some());
    }

    #[test]
    fn torn_file_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.timeindex");
        std::fs::write(&path, [0u8; 13]).unwrap();
        assert!(Index::<TimeEntry>::load(path).unwrap().is_none());
    }
}
