//! The storage contract every partition log implements: the file-backed log and its
//! in-memory twin pass the same test suite (`tests/suite.rs`).

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use crate::batch::BatchHeader;
use crate::durable;
use crate::error::LogError;
use crate::file_slice::Records;

/// The marks of one partition log. Invariant:
/// `log_start_offset <= high_watermark <= log_end_offset`.
/// (The last stable offset of transactions will sit between start and high watermark.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogOffsets {
    /// First offset still readable (advanced by retention and record deletion).
    pub log_start_offset: u64,
    /// Offsets below this are committed and visible to consumers.
    pub high_watermark: u64,
    /// The offset the next appended record will get.
    pub log_end_offset: u64,
}

/// The retention policy, shared by every implementation: whether the oldest closed
/// segment (largest timestamp `max_timestamp`, `size` bytes, of `total` in the log) goes.
pub fn retention_drops_oldest(
    max_timestamp: i64,
    size: u64,
    total: u64,
    now_ms: i64,
    retention_ms: Option<i64>,
    retention_bytes: Option<u64>,
) -> bool {
    let expired = retention_ms.is_some_and(|ms| max_timestamp >= 0 && max_timestamp < now_ms.saturating_sub(ms));
    let oversized = retention_bytes.is_some_and(|limit| total.saturating_sub(size) >= limit);
    expired || oversized
}

/// A closed segment as the compactor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    pub base_offset: u64,
    pub next_offset: u64,
    pub size_bytes: u64,
    /// Largest record timestamp, -1 if none.
    pub max_timestamp: i64,
}

/// Where an appended batch landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    pub base_offset: u64,
    pub last_offset: u64,
}

/// The fsync work that makes everything up to `up_to` durable. Runs off the append path,
/// so that one fsync covers every batch appended meanwhile (group commit).
#[derive(Debug, Default)]
pub struct SyncJob {
    files: Vec<Arc<File>>,
    /// Directories whose entries (new segment files, a new log directory) must become
    /// durable too, children before parents.
    dirs: Vec<PathBuf>,
    /// Persisted once the files are durable: the log's new recovery point.
    recovery_point: Option<RecoveryPoint>,
    pub up_to: u64,
}

/// Where a log keeps its recovery point (the base offset of the first segment that may be
/// incomplete after a power cut), and the value the log believes is on disk.
#[derive(Debug, Clone)]
pub(crate) struct RecoveryPoint {
    pub path: PathBuf,
    pub offset: u64,
    pub persisted: Arc<AtomicU64>,
}

impl SyncJob {
    pub fn new(files: Vec<Arc<File>>, up_to: u64) -> Self {
        SyncJob { files, up_to, ..Default::default() }
    }

    pub(crate) fn with_dir(mut self, dir: PathBuf) -> Self {
        self.dirs.push(dir);
        self
    }

    pub(crate) fn with_recovery_point(mut self, point: RecoveryPoint) -> Self {
        self.recovery_point = Some(point);
        self
    }

    /// Performs the fsyncs: file data first, then the directory, then the recovery point
    /// that says those segments are whole. Blocking: call from a blocking-capable thread.
    pub fn run(&self) -> std::io::Result<()> {
        for f in &self.files {
            f.sync_data()?;
        }
        // Writing the recovery point fsyncs its directory, the log's: that covers new
        // segments, and that directory needs no fsync of its own then.
        let mut synced = None;
        if let Some(point) = &self.recovery_point {
            durable::replace_file(&point.path, point.offset.to_string().as_bytes())?;
            point.persisted.fetch_max(point.offset, Ordering::AcqRel);
            synced = point.path.parent();
        }
        for dir in self.dirs.iter().filter(|d| Some(d.as_path()) != synced) {
            durable::sync_dir(dir)?;
        }
        Ok(())
    }
}

/// A checkpoint write prepared under the log's lock and performed outside it.
pub struct CheckpointWrite(Box<dyn FnOnce() -> Result<(), LogError> + Send>);

impl CheckpointWrite {
    pub fn new(write: impl FnOnce() -> Result<(), LogError> + Send + 'static) -> Self {
        CheckpointWrite(Box::new(write))
    }

    /// Performs the write. Blocking: call from a blocking-capable thread.
    pub fn run(self) -> Result<(), LogError> {
        (self.0)()
    }
}

impl std::fmt::Debug for CheckpointWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CheckpointWrite")
    }
}

pub trait PartitionLog: Send + Sync {
    /// Appends one record batch (already validated by the caller), assigning it the next
    /// offsets and `leader_epoch`. The bytes after the offset fields are stored unchanged.
    fn append(&mut self, batch: &[u8], leader_epoch: i32, now_ms: i64) -> Result<AppendInfo, LogError>;

    /// Appends a batch exactly as another replica stored it: its base offset and leader
    /// epoch are kept, not assigned (a follower copying its leader). The base offset must
    /// be at or past the log end offset; offsets skipped by a compacted leader stay gaps.
    fn append_replica(&mut self, batch: &[u8], now_ms: i64) -> Result<AppendInfo, LogError>;

    /// Removes every batch that holds an offset at or past `offset` (a whole batch goes if
    /// it reaches `offset`), so the log end offset becomes at most `offset`: a follower
    /// discarding what its new leader does not have. The high watermark comes down with
    /// it; the caller makes sure nothing committed is removed.
    fn truncate_to(&mut self, offset: u64) -> Result<(), LogError>;

    /// Whole batches from the one containing `offset`, up to `max_bytes` (at least one
    /// batch if any is available), never past the high watermark. Empty at the high watermark.
    fn read(&self, offset: u64, max_bytes: usize) -> Result<Bytes, LogError>;

    /// What `read` returns, but as a file slice where the log keeps files, so that the
    /// bytes can go to a socket without being read (`sendfile`).
    fn read_records(&self, offset: u64, max_bytes: usize) -> Result<Records, LogError> {
        self.read(offset, max_bytes).map(Records::Memory)
    }

    fn offsets(&self) -> LogOffsets;

    /// Makes offsets below `offset` visible to readers (on one node: right after append).
    fn advance_high_watermark(&mut self, offset: u64);

    /// The first batch with a max timestamp at or after `timestamp`.
    fn find_by_timestamp(&self, timestamp: i64) -> Result<Option<Bytes>, LogError>;

    /// The largest timestamp in the log and the offset of the batch that holds it.
    fn max_timestamp(&self) -> Option<(i64, u64)>;

    /// Flushes indexes and returns the fsync work that makes the log durable so far.
    fn prepare_sync(&mut self) -> Result<SyncJob, LogError>;

    /// Rolls the active segment if it is older than the configured age.
    fn roll_if_aged(&mut self, now_ms: i64) -> Result<(), LogError>;

    /// Flushes and fsyncs everything; the log stays usable.
    fn close(&mut self) -> Result<(), LogError>;

    /// Removes the log and all its files.
    fn delete(self: Box<Self>) -> Result<(), LogError>;

    /// Bytes stored.
    fn size_bytes(&self) -> u64;

    /// Deletes closed segments the policy no longer keeps: those whose largest timestamp
    /// is older than `retention_ms`, and the oldest while the log exceeds
    /// `retention_bytes`. Moves the log start offset; returns how many were deleted.
    fn apply_retention(
        &mut self,
        now_ms: i64,
        retention_ms: Option<i64>,
        retention_bytes: Option<u64>,
    ) -> Result<usize, LogError>;

    /// Moves the log start offset to `offset` (at most the high watermark), deleting
    /// segments wholly below it (DeleteRecords). Returns the new log start offset.
    fn delete_records_before(&mut self, offset: u64) -> Result<u64, LogError>;

    /// Every closed segment, oldest first.
    fn closed_segments(&self) -> Vec<SegmentInfo>;

    /// The batches of a closed segment, or `None` if it is gone or active.
    fn read_segment(&self, base_offset: u64) -> Result<Option<Bytes>, LogError>;

    /// Atomically replaces a closed segment's batches (compaction: same offsets, fewer
    /// records). `false` if the segment is gone or active; nothing changed then.
    fn replace_segment(&mut self, base_offset: u64, batches: &[u8]) -> Result<bool, LogError>;

    /// Replaces the settings (segment size and age, index interval) for what follows.
    fn set_config(&mut self, config: crate::LogConfig);

    /// Calls `f` with the header of every batch from the one holding `from` to the log
    /// end, reading headers only (used to rebuild state kept beside the log).
    fn scan_headers(&self, from: u64, f: &mut dyn FnMut(&BatchHeader)) -> Result<(), LogError>;

    /// A small named file kept with the log (state snapshots), or `None` if absent.
    fn read_checkpoint(&self, name: &str) -> Result<Option<Vec<u8>>, LogError>;

    /// Replaces a named checkpoint atomically (write, fsync, rename).
    fn write_checkpoint(&mut self, name: &str, bytes: &[u8]) -> Result<(), LogError> {
        self.prepare_checkpoint(name, bytes.to_vec()).run()
    }

    /// A checkpoint replacement to perform later, outside whatever lock guards the log
    /// (it fsyncs). Two writes of the same checkpoint must not run at once.
    fn prepare_checkpoint(&self, name: &str, bytes: Vec<u8>) -> CheckpointWrite;
}
