//! One segment: a `.log` file of whole record batches plus its offset and time indexes.
//!
//! A segment owns positions inside its own file only; choosing which segment to read or
//! roll is the log's job. It never holds a partially written batch after `open`: the tail
//! is checked batch by batch (CRC included) and a torn or corrupt tail is cut off.

use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use tracing::warn;

use crate::batch::{self, BatchHeader, BATCH_HEADER_LEN};
use crate::durable;
use crate::error::LogError;
use crate::file_slice::{self, FileSlice};
use crate::index::{Index, OffsetEntry, TimeEntry};

pub fn segment_path(dir: &Path, base_offset: u64, ext: &str) -> PathBuf {
    dir.join(format!("{base_offset:020}.{ext}"))
}

#[derive(Debug)]
pub struct Segment {
    base_offset: u64,
    log_path: PathBuf,
    file: Arc<File>,
    size: u64,
    next_offset: u64,
    max_timestamp: i64,
    offset_of_max_timestamp: u64,
    /// Wall-clock time of the first append, for rolling by `segment.ms`.
    first_append_ms: Option<i64>,
    offset_index: Index<OffsetEntry>,
    time_index: Index<TimeEntry>,
    bytes_since_index_entry: u64,
    index_interval_bytes: u64,
    /// Opening cut a torn or corrupt tail off this segment.
    tail_cut: bool,
}

/// A batch located in a segment file.
#[derive(Debug, Clone, Copy)]
struct Located {
    header: BatchHeader,
    position: u64,
}

impl Segment {
    pub fn create(dir: &Path, base_offset: u64, index_interval_bytes: u64) -> Result<Self, LogError> {
        let log_path = segment_path(dir, base_offset, "log");
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .open(&log_path)
            .map_err(|e| LogError::io(&log_path, e))?;
        Ok(Segment {
            base_offset,
            file: Arc::new(file),
            size: 0,
            next_offset: base_offset,
            max_timestamp: -1,
            offset_of_max_timestamp: base_offset,
            first_append_ms: None,
            offset_index: Index::new(segment_path(dir, base_offset, "index")),
            time_index: Index::new(segment_path(dir, base_offset, "timeindex")),
            // Index the first batch, so every non-empty segment has an entry to trust.
            bytes_since_index_entry: index_interval_bytes,
            index_interval_bytes,
            log_path,
            tail_cut: false,
        })
    }

    /// Opens an existing segment, validating its indexes against the file and checking
    /// every batch after the last trustworthy index entry. Missing or damaged indexes are
    /// rebuilt; a torn or corrupt tail is truncated.
    pub fn open(dir: &Path, base_offset: u64, index_interval_bytes: u64) -> Result<Self, LogError> {
        Self::open_checked(dir, base_offset, index_interval_bytes, true)
    }

    /// `warn_on_rebuild`: false where missing indexes are expected (after a compaction swap).
    fn open_checked(
        dir: &Path,
        base_offset: u64,
        index_interval_bytes: u64,
        warn_on_rebuild: bool,
    ) -> Result<Self, LogError> {
        let log_path = segment_path(dir, base_offset, "log");
        let file =
            OpenOptions::new().read(true).append(true).open(&log_path).map_err(|e| LogError::io(&log_path, e))?;
        let size = file.metadata().map_err(|e| LogError::io(&log_path, e))?.len();
        let index_path = segment_path(dir, base_offset, "index");
        let time_path = segment_path(dir, base_offset, "timeindex");
        let offset_index = Index::load(index_path.clone()).map_err(|e| LogError::io(&index_path, e))?;
        let time_index = Index::load(time_path.clone()).map_err(|e| LogError::io(&time_path, e))?;
        let mut seg = Segment {
            base_offset,
            file: Arc::new(file),
            size,
            next_offset: base_offset,
            max_timestamp: -1,
            offset_of_max_timestamp: base_offset,
            first_append_ms: None,
            offset_index: Index::new(index_path),
            time_index: Index::new(time_path),
            bytes_since_index_entry: 0,
            index_interval_bytes,
            log_path,
            tail_cut: false,
        };
        let resume = match (offset_index, time_index) {
            (Some(oi), Some(ti)) => seg.adopt_indexes(oi, ti)?,
            _ => None,
        };
        match resume {
            Some(position) => seg.scan_tail(position)?,
            None => {
                if seg.size > 0 && warn_on_rebuild {
                    warn!(segment = %seg.log_path.display(), "rebuilding segment indexes");
                }
                seg.reset_indexes();
                seg.scan_tail(0)?;
            }
        }
        // Indexes are accelerators: one that cannot be written now (disk full) stays in
        // memory and is written at the next flush; the segment opens all the same.
        if let Err(e) = seg.flush_indexes() {
            warn!(segment = %seg.log_path.display(), error = %e, "could not write rebuilt indexes yet");
        }
        Ok(seg)
    }

    fn reset_indexes(&mut self) {
        self.offset_index.truncate(0);
        self.time_index.truncate(0);
        self.next_offset = self.base_offset;
        self.max_timestamp = -1;
        self.offset_of_max_timestamp = self.base_offset;
        self.bytes_since_index_entry = 0;
    }

    /// Keeps the loaded index entries that point at real batches and returns the position
    /// to resume scanning from (the last kept entry), or `None` if nothing can be trusted.
    fn adopt_indexes(
        &mut self,
        mut offset_index: Index<OffsetEntry>,
        mut time_index: Index<TimeEntry>,
    ) -> Result<Option<u64>, LogError> {
        let sorted = offset_index
            .entries()
            .windows(2)
            .all(|w| w[0].relative_offset < w[1].relative_offset && w[0].position < w[1].position);
        if !sorted {
            return Ok(None);
        }
        // Drop trailing entries that point past the data or at a batch with another offset.
        let mut keep = offset_index.entries().len();
        while keep > 0 {
            let e = offset_index.entries()[keep - 1];
            match self.header_at(e.position as u64) {
                Ok(Some(h)) if h.base_offset == self.base_offset as i64 + e.relative_offset as i64 => break,
                _ => keep -= 1,
            }
        }
        offset_index.truncate(keep);
        let Some(last) = offset_index.last().copied() else {
            return Ok(None);
        };
        let last_offset = self.base_offset + last.relative_offset as u64;
        let time_keep =
            time_index.entries().partition_point(|t| (t.relative_offset as u64 + self.base_offset) < last_offset);
        time_index.truncate(time_keep);
        if let Some(t) = time_index.last() {
            self.max_timestamp = t.timestamp;
            self.offset_of_max_timestamp = self.base_offset + t.relative_offset as u64;
        }
        // The tail scan re-adds the entry for the batch at `last.position`.
        offset_index.truncate(keep - 1);
        self.offset_index = offset_index;
        self.time_index = time_index;
        self.next_offset = last_offset;
        Ok(Some(last.position as u64))
    }

    fn read_bytes_at(&self, position: u64, len: usize) -> Result<Vec<u8>, LogError> {
        file_slice::read_at(&self.file, position, len).map_err(|e| LogError::io(&self.log_path, e))
    }

    /// Reads the batch header at `position`, or `None` if fewer than a header's bytes remain.
    fn header_at(&self, position: u64) -> Result<Option<BatchHeader>, LogError> {
        if position + BATCH_HEADER_LEN as u64 > self.size {
            return Ok(None);
        }
        let mut buf = [0u8; BATCH_HEADER_LEN];
        self.file.read_exact_at(&mut buf, position).map_err(|e| LogError::io(&self.log_path, e))?;
        Ok(BatchHeader::parse(&buf).ok())
    }

    /// Walks batches from `position` to the end of the file, verifying each one's CRC and
    /// offsets, indexing them, and truncating the file at the first bad batch.
    fn scan_tail(&mut self, mut position: u64) -> Result<(), LogError> {
        self.bytes_since_index_entry = self.index_interval_bytes; // index the first batch seen
        let mut buf = Vec::new();
        while position < self.size {
            let bad = match self.header_at(position)? {
                None => Some("torn batch header".to_string()),
                Some(h) if position + h.total_size() as u64 > self.size => Some("torn batch body".into()),
                Some(h) if h.base_offset < self.next_offset as i64 => {
                    Some(format!("offset {} goes backwards", h.base_offset))
                }
                Some(h) => {
                    buf.resize(h.total_size(), 0);
                    self.file.read_exact_at(&mut buf, position).map_err(|e| LogError::io(&self.log_path, e))?;
                    match batch::verify_crc(&buf, &h) {
                        Err(e) => Some(e.to_string()),
                        Ok(()) => {
                            self.record_appended(&h, position);
                            position += h.total_size() as u64;
                            None
                        }
                    }
                }
            };
            if let Some(reason) = bad {
                warn!(segment = %self.log_path.display(), position, size = self.size, %reason, "truncating log tail");
                self.file.set_len(position).map_err(|e| LogError::io(&self.log_path, e))?;
                self.size = position;
                self.tail_cut = true;
            }
        }
        Ok(())
    }

    /// Updates offsets, timestamps and indexes for a batch now present at `position`.
    fn record_appended(&mut self, h: &BatchHeader, position: u64) {
        let relative_offset = (h.base_offset as u64 - self.base_offset) as u32;
        if self.bytes_since_index_entry >= self.index_interval_bytes {
            self.offset_index.push(OffsetEntry { relative_offset, position: position as u32 });
            self.bytes_since_index_entry = 0;
        }
        self.bytes_since_index_entry += h.total_size() as u64;
        if h.max_timestamp > self.max_timestamp {
            self.max_timestamp = h.max_timestamp;
            self.offset_of_max_timestamp = h.last_offset() as u64;
            let last_rel = (h.last_offset() as u64 - self.base_offset) as u32;
            self.time_index.push(TimeEntry { timestamp: h.max_timestamp, relative_offset: last_rel });
        }
        self.next_offset = h.last_offset() as u64 + 1;
    }

    /// Appends a batch whose first 17 bytes are replaced by `prefix` (offset assignment).
    pub fn append(&mut self, prefix: &[u8; 17], batch: &[u8], now_ms: i64) -> Result<(), LogError> {
        let mut header = BatchHeader::parse(batch)?;
        header.base_offset = i64::from_be_bytes(prefix[..8].try_into().expect("8 bytes"));
        debug_assert!(header.base_offset as u64 >= self.next_offset, "offsets must increase");
        let mut slices = [IoSlice::new(prefix), IoSlice::new(&batch[17..])];
        if let Err(e) = write_all_vectored(&self.file, &mut slices) {
            // A partial write (disk full) must not stay: later appends would land after
            // bytes the indexes know nothing of. Cut back to the last whole batch.
            if let Err(cut) = self.file.set_len(self.size) {
                tracing::error!(segment = %self.log_path.display(), error = %cut, "could not remove a partial write");
            }
            return Err(LogError::io(&self.log_path, e));
        }
        let position = self.size;
        self.size += batch.len() as u64;
        self.first_append_ms.get_or_insert(now_ms);
        self.record_appended(&header, position);
        Ok(())
    }

    /// Finds the batch holding `offset` (or the first after it), scanning headers from the
    /// nearest index entry.
    fn locate(&self, offset: u64) -> Result<Option<Located>, LogError> {
        let rel = offset.saturating_sub(self.base_offset) as u32;
        let mut position = self.offset_index.floor_by(rel, |e| e.relative_offset).map_or(0, |e| e.position as u64);
        while let Some(header) = self.header_at(position)? {
            if header.last_offset() as u64 >= offset {
                return Ok(Some(Located { header, position }));
            }
            position += header.total_size() as u64;
        }
        Ok(None)
    }

    /// Reads whole batches starting with the one that holds `offset`, up to `max_bytes`
    /// but always at least one batch, excluding batches at or past `upper_offset`.
    pub fn read(&self, offset: u64, max_bytes: usize, upper_offset: u64) -> Result<Option<Bytes>, LogError> {
        let Some(first) = self.locate(offset)? else {
            return Ok(None);
        };
        if first.header.base_offset as u64 >= upper_offset {
            return Ok(None);
        }
        let available = (self.size - first.position) as usize;
        let want = max_bytes.max(first.header.total_size()).min(available);
        let mut buf = self.read_bytes_at(first.position, want)?;
        let mut end = 0;
        for item in batch::batches(&buf) {
            let (h, range) = item.map_err(|e| LogError::corrupt(&self.log_path, first.position + end as u64, e))?;
            if h.base_offset as u64 >= upper_offset {
                break;
            }
            end = range.end;
        }
        buf.truncate(end);
        Ok(Some(Bytes::from(buf)))
    }

    /// Locates what `read` would return without reading it: the index gives the last
    /// batch boundary within `max_bytes`, and only the batch headers after that entry
    /// (about one index interval's worth) are read.
    pub fn slice(&self, offset: u64, max_bytes: usize, upper_offset: u64) -> Result<Option<FileSlice>, LogError> {
        let Some(first) = self.locate(offset)? else {
            return Ok(None);
        };
        let first_offset = first.header.base_offset as u64;
        if first_offset >= upper_offset {
            return Ok(None);
        }
        let limit = first.position + max_bytes.max(first.header.total_size()) as u64;
        // The furthest indexed batch that starts within the limit and below the upper
        // offset: every batch before it is part of the slice.
        let upper_rel = (upper_offset - self.base_offset).min(u32::MAX as u64 + 1);
        let by_bytes = self.offset_index.floor_by(limit.min(u32::MAX as u64) as u32, |e| e.position);
        let by_offset =
            upper_rel.checked_sub(1).and_then(|r| self.offset_index.floor_by(r as u32, |e| e.relative_offset));
        let mut end = first.position;
        let mut next_offset = first_offset;
        if let (Some(a), Some(b)) = (by_bytes, by_offset) {
            let jump = a.position.min(b.position) as u64;
            if jump > first.position {
                end = jump;
                next_offset = self.base_offset + a.relative_offset.min(b.relative_offset) as u64;
            }
        }
        while let Some(h) = self.header_at(end)? {
            let size = h.total_size() as u64;
            let first_batch = end == first.position;
            if (h.base_offset as u64) >= upper_offset || end + size > self.size || (!first_batch && end + size > limit)
            {
                break;
            }
            end += size;
            next_offset = h.last_offset() as u64 + 1;
        }
        Ok(Some(FileSlice {
            file: self.file.clone(),
            position: first.position,
            len: (end - first.position) as usize,
            first_offset,
            next_offset,
        }))
    }

    /// The first batch whose max timestamp is at least `timestamp`, whole.
    pub fn find_by_timestamp(&self, timestamp: i64) -> Result<Option<Bytes>, LogError> {
        if self.max_timestamp < timestamp {
            return Ok(None);
        }
        // Every batch up to a time-index entry below the target is too old.
        let start = match self.time_index.floor_by(timestamp - 1, |t| t.timestamp) {
            Some(t) => self.base_offset + t.relative_offset as u64 + 1,
            None => self.base_offset,
        };
        let Some(mut at) = self.locate(start)? else {
            return Ok(None);
        };
        loop {
            if at.header.max_timestamp >= timestamp {
                return Ok(Some(Bytes::from(self.read_bytes_at(at.position, at.header.total_size())?)));
            }
            let next = at.position + at.header.total_size() as u64;
            match self.header_at(next)? {
                Some(header) => at = Located { header, position: next },
                None => return Ok(None),
            }
        }
    }

    /// Calls `f` with each batch header from the batch holding `offset` to the end.
    pub fn scan_headers(&self, offset: u64, f: &mut dyn FnMut(&BatchHeader)) -> Result<(), LogError> {
        let Some(first) = self.locate(offset)? else { return Ok(()) };
        let mut position = first.position;
        while let Some(header) = self.header_at(position)? {
            f(&header);
            position += header.total_size() as u64;
        }
        Ok(())
    }

    pub fn flush_indexes(&mut self) -> Result<(), LogError> {
        self.offset_index.flush().map_err(|e| LogError::io(self.offset_index.path(), e))?;
        self.time_index.flush().map_err(|e| LogError::io(self.time_index.path(), e))
    }

    pub fn file(&self) -> Arc<File> {
        self.file.clone()
    }

    /// The whole file: every batch of a closed segment (for the compactor).
    pub fn read_all(&self) -> Result<Bytes, LogError> {
        Ok(Bytes::from(self.read_bytes_at(0, self.size as usize)?))
    }

    /// Replaces this closed segment's batches with `batches` (same base offset, offsets
    /// kept): written beside it, fsynced, then renamed over it in one step, so a crash
    /// leaves either the old or the new file. Indexes are rebuilt by the reopen.
    pub fn replace(self, dir: &Path, batches: &[u8], index_interval_bytes: u64) -> Result<Segment, LogError> {
        let cleaned = segment_path(dir, self.base_offset, "log.cleaned");
        let write = || -> io::Result<()> {
            let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&cleaned)?;
            f.write_all(batches)?;
            f.sync_all()
        };
        write().map_err(|e| LogError::io(&cleaned, e))?;
        for index in [self.offset_index.path(), self.time_index.path()] {
            let _ = std::fs::remove_file(index);
        }
        std::fs::rename(&cleaned, &self.log_path).map_err(|e| LogError::io(&self.log_path, e))?;
        durable::sync_dir(dir).map_err(|e| LogError::io(dir, e))?;
        Segment::open_checked(dir, self.base_offset, index_interval_bytes, false)
    }

    /// Cuts the segment before the first batch that reaches `offset` (that batch goes
    /// whole). Index entries past the cut are dropped; the file is not fsynced here.
    pub fn truncate_to(&mut self, offset: u64) -> Result<(), LogError> {
        let Some(cut) = self.locate(offset)? else { return Ok(()) };
        let position = cut.position;
        self.file.set_len(position).map_err(|e| LogError::io(&self.log_path, e))?;
        self.size = position;
        let next_offset = (cut.header.base_offset as u64).max(self.base_offset);
        let keep = self.offset_index.entries().partition_point(|e| (e.position as u64) < position);
        self.offset_index.truncate(keep);
        let relative_next = (next_offset - self.base_offset) as u32;
        let keep = self.time_index.entries().partition_point(|t| t.relative_offset < relative_next);
        self.time_index.truncate(keep);
        match self.time_index.last() {
            Some(t) => {
                self.max_timestamp = t.timestamp;
                self.offset_of_max_timestamp = self.base_offset + t.relative_offset as u64;
            }
            None => {
                self.max_timestamp = -1;
                self.offset_of_max_timestamp = self.base_offset;
            }
        }
        self.next_offset = next_offset;
        self.bytes_since_index_entry = self.index_interval_bytes;
        if self.size == 0 {
            self.first_append_ms = None;
        }
        self.flush_indexes()
    }

    /// Whether opening this segment cut a torn or corrupt tail off it.
    pub fn tail_cut(&self) -> bool {
        self.tail_cut
    }

    /// Removes the segment's files; the caller fsyncs the directory.
    pub fn delete(self) -> Result<(), LogError> {
        for path in [&self.log_path, self.offset_index.path(), self.time_index.path()] {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(LogError::io(path, e)),
            }
        }
        Ok(())
    }

    pub fn base_offset(&self) -> u64 {
        self.base_offset
    }
    pub fn next_offset(&self) -> u64 {
        self.next_offset
    }
    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }
    pub fn offset_of_max_timestamp(&self) -> u64 {
        self.offset_of_max_timestamp
    }
    pub fn first_append_ms(&self) -> Option<i64> {
        self.first_append_ms
    }
}

fn write_all_vectored(mut file: &File, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !slices.is_empty() {
        match file.write_vectored(slices) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "failed to write whole batch")),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
