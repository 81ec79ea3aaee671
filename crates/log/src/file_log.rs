//! The on-disk partition log: an ordered set of segments in one directory.
//!
//! Owns segment choice, rolling and the offset marks. It must never hand out bytes past
//! the high watermark, and it never rewrites a stored batch.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tracing::{debug, warn};

use crate::batch::{self, BatchHeader};
use crate::durable;
use crate::error::LogError;
use crate::file_slice::Records;
use crate::partition_log::{
    retention_drops_oldest, AppendInfo, CheckpointWrite, LogOffsets, PartitionLog, RecoveryPoint, SegmentInfo, SyncJob,
};
use crate::segment::{segment_path, Segment};

/// Per-log settings (the topic's `segment.bytes`, `segment.ms`, index interval).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogConfig {
    pub segment_bytes: u64,
    /// Roll the active segment once it is this old; `None` never rolls by age.
    pub segment_ms: Option<i64>,
    pub index_interval_bytes: u64,
    /// The log lives in a data directory written before logs kept recovery points: a log
    /// without one trusts its closed segments, as then. New logs there write one at once.
    pub predates_recovery_points: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: Some(7 * 24 * 3600 * 1000),
            index_interval_bytes: 4096,
            predates_recovery_points: false,
        }
    }
}

/// Checkpoint holding the log start offset once record deletion moved it inside a segment.
const LOG_START_CHECKPOINT: &str = "log-start-offset";
/// Checkpoint holding the recovery point: the base offset of the first segment that may
/// be incomplete after a power cut. Every segment below it was fsynced whole.
const RECOVERY_POINT_CHECKPOINT: &str = "recovery-point";

#[derive(Debug)]
pub struct FileLog {
    dir: PathBuf,
    config: LogConfig,
    segments: BTreeMap<u64, Segment>,
    log_start_offset: u64,
    high_watermark: u64,
    /// The recovery point on disk; a sync job raises it once the segments below are durable.
    recovery_point: Arc<AtomicU64>,
    /// A segment file was created since the last sync job: the directory needs an fsync.
    dir_dirty: bool,
    /// The log's directory was created and its entry in the parent is not durable yet.
    /// The first sync job fsyncs the parent: creating a topic of many partitions pays no
    /// fsync per partition, and nothing acknowledged as durable can lose its directory.
    parent_dirty: bool,
}

impl FileLog {
    /// Opens (or creates) the log in `dir`, recovering every segment: indexes checked
    /// against the data, torn tails cut off. Cost is one index read per segment plus a
    /// scan of the bytes after each segment's last index entry.
    ///
    /// Segments from the recovery point on may have lost unsynced data in a power cut:
    /// the first of them that is not whole (a cut tail, or an end short of the next
    /// segment's base) ends the log, and every later segment is deleted, so no offset is
    /// reported that holds no record.
    pub fn open(dir: &Path, config: LogConfig) -> Result<Self, LogError> {
        let created = !dir.is_dir();
        std::fs::create_dir_all(dir).map_err(|e| LogError::io(dir, e))?;
        let bases = list_segments(dir)?;
        let fresh = bases.is_empty();
        let recovery_point = match read_file_in(dir, RECOVERY_POINT_CHECKPOINT)? {
            Some(bytes) => std::str::from_utf8(&bytes).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0),
            // Written before this checkpoint existed: trust closed segments as then.
            None if config.predates_recovery_points => bases.last().copied().unwrap_or(0),
            // None written yet: no sync job has made a segment whole, so none is trusted.
            None => 0,
        };
        let mut segments = BTreeMap::new();
        let mut cut_at = None;
        for (i, &base) in bases.iter().enumerate() {
            let segment = Segment::open(dir, base, config.index_interval_bytes)?;
            let next_base = bases.get(i + 1).copied();
            let incomplete = next_base.is_some_and(|next| segment.tail_cut() || segment.next_offset() != next);
            segments.insert(base, segment);
            if base >= recovery_point && incomplete {
                cut_at = Some(i + 1);
                break;
            }
        }
        let mut log = FileLog {
            dir: dir.to_path_buf(),
            config,
            segments,
            log_start_offset: 0,
            high_watermark: 0,
            recovery_point: Arc::new(AtomicU64::new(recovery_point)),
            dir_dirty: false,
            parent_dirty: created,
        };
        if let Some(first_lost) = cut_at {
            log.drop_segments_after_cut(&bases[first_lost..])?;
        }
        if log.segments.is_empty() {
            log.segments.insert(0, Segment::create(dir, 0, config.index_interval_bytes)?);
        }
        if fresh {
            // The first segment's name becomes durable with the first sync job, before
            // anything in the log counts as durable.
            log.dir_dirty = true;
            if config.predates_recovery_points {
                // Marks the log, among older ones, as one that keeps a recovery point. Its
                // content need not be durable (empty reads as 0).
                let path = dir.join(RECOVERY_POINT_CHECKPOINT);
                std::fs::write(&path, b"0").map_err(|e| LogError::io(&path, e))?;
            }
        }
        log.log_start_offset = *log.segments.keys().next().unwrap_or(&0);
        // One node: everything that survived recovery is committed.
        log.high_watermark = log.log_end_offset();
        // Record deletion may have moved the start past the first segment's base.
        if let Some(start) = read_checkpoint_in(dir, LOG_START_CHECKPOINT)? {
            log.log_start_offset = log.log_start_offset.max(start.min(log.high_watermark));
        }
        debug!(dir = %dir.display(), offsets = ?log.offsets(), "opened log");
        Ok(log)
    }

    /// Deletes the segments that follow an incomplete one: their records sit past a hole.
    fn drop_segments_after_cut(&mut self, lost: &[u64]) -> Result<(), LogError> {
        let end = self.log_end_offset();
        warn!(
            dir = %self.dir.display(),
            log_end_offset = end,
            segments = lost.len(),
            first_lost_base = lost[0],
            "a segment lost unsynced data; cutting the log where it ends and deleting later segments"
        );
        for &base in lost {
            for ext in ["log", "index", "timeindex"] {
                let path = segment_path(&self.dir, base, ext);
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(LogError::io(&path, e)),
                }
            }
        }
        durable::sync_dir(&self.dir).map_err(|e| LogError::io(&self.dir, e))
    }

    fn active(&self) -> &Segment {
        self.segments.values().next_back().expect("a log always has an active segment")
    }

    fn active_mut(&mut self) -> &mut Segment {
        self.segments.values_mut().next_back().expect("a log always has an active segment")
    }

    fn log_end_offset(&self) -> u64 {
        self.active().next_offset()
    }

    /// Closes the active segment and starts the next. No fsync here, under the append
    /// lock: the next sync job fsyncs the closed segment, the directory, and then moves
    /// the recovery point past it.
    fn roll(&mut self) -> Result<(), LogError> {
        self.roll_at(self.log_end_offset())
    }

    /// [`FileLog::roll`] with the new segment starting at `next` (a replica may skip offsets).
    fn roll_at(&mut self, next: u64) -> Result<(), LogError> {
        self.active_mut().flush_indexes()?;
        self.segments.insert(next, Segment::create(&self.dir, next, self.config.index_interval_bytes)?);
        self.dir_dirty = true;
        debug!(dir = %self.dir.display(), base_offset = next, "rolled segment");
        Ok(())
    }

    /// Deletes the oldest closed segment and moves the log start offset past it.
    fn delete_oldest_segment(&mut self) -> Result<(), LogError> {
        let Some((&base, _)) = self.segments.iter().next() else { return Ok(()) };
        if self.segments.len() < 2 {
            return Ok(());
        }
        if let Some(segment) = self.segments.remove(&base) {
            segment.delete()?;
            durable::sync_dir(&self.dir).map_err(|e| LogError::io(&self.dir, e))?;
        }
        let next_base = *self.segments.keys().next().expect("the active segment remains");
        self.log_start_offset = self.log_start_offset.max(next_base);
        debug!(dir = %self.dir.display(), base_offset = base, log_start_offset = self.log_start_offset, "deleted segment");
        Ok(())
    }

    /// The segments a read at `offset` looks through: the one that holds it and those
    /// after (a read moves on when a segment ends before `offset`).
    fn segments_from(&self, offset: u64) -> Result<impl Iterator<Item = &Segment>, LogError> {
        let offsets = self.offsets();
        if offset < offsets.log_start_offset || offset > offsets.log_end_offset {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: offsets.log_start_offset,
                log_end_offset: offsets.log_end_offset,
            });
        }
        let start = self.segments.range(..=offset).next_back().map_or(offsets.log_start_offset, |(b, _)| *b);
        Ok(self.segments.range(start..).map(|(_, s)| s))
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Stores `batch` with `base_offset` and `leader_epoch` in its header, rolling first
    /// if the active segment is full or the offsets would not fit its relative index.
    fn append_at(
        &mut self,
        batch: &[u8],
        header: &BatchHeader,
        base_offset: u64,
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        if header.total_size() != batch.len() {
            return Err(batch::BatchError::Truncated { needed: header.total_size(), available: batch.len() }.into());
        }
        let last_offset = base_offset + header.last_offset_delta as u64;
        let active = self.active();
        let too_big = active.size() > 0 && active.size() + batch.len() as u64 > self.config.segment_bytes;
        let offsets_overflow = last_offset - active.base_offset() > u32::MAX as u64;
        if too_big || offsets_overflow {
            self.roll_at(base_offset)?;
        }
        let prefix = batch::patched_prefix(batch, base_offset as i64, leader_epoch);
        self.active_mut().append(&prefix, batch, now_ms)?;
        Ok(AppendInfo { base_offset, last_offset })
    }
}

impl PartitionLog for FileLog {
    fn append(&mut self, batch: &[u8], leader_epoch: i32, now_ms: i64) -> Result<AppendInfo, LogError> {
        let header = BatchHeader::parse(batch)?;
        let base_offset = self.log_end_offset();
        self.append_at(batch, &header, base_offset, leader_epoch, now_ms)
    }

    fn read(&self, offset: u64, max_bytes: usize) -> Result<Bytes, LogError> {
        for segment in self.segments_from(offset)? {
            if offset >= self.high_watermark {
                break;
            }
            if let Some(bytes) = segment.read(offset, max_bytes, self.high_watermark)? {
                if !bytes.is_empty() {
                    return Ok(bytes);
                }
            }
        }
        Ok(Bytes::new())
    }

    fn read_records(&self, offset: u64, max_bytes: usize) -> Result<Records, LogError> {
        for segment in self.segments_from(offset)? {
            if offset >= self.high_watermark {
                break;
            }
            if let Some(slice) = segment.slice(offset, max_bytes, self.high_watermark)? {
                if slice.len > 0 {
                    return Ok(Records::File(slice));
                }
            }
        }
        Ok(Records::default())
    }

    fn offsets(&self) -> LogOffsets {
        LogOffsets {
            log_start_offset: self.log_start_offset,
            high_watermark: self.high_watermark,
            log_end_offset: self.log_end_offset(),
        }
    }

    fn advance_high_watermark(&mut self, offset: u64) {
        debug_assert!(offset <= self.log_end_offset());
        self.high_watermark = self.high_watermark.max(offset.min(self.log_end_offset()));
    }

    fn find_by_timestamp(&self, timestamp: i64) -> Result<Option<Bytes>, LogError> {
        for segment in self.segments.values() {
            if let Some(found) = segment.find_by_timestamp(timestamp)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    fn max_timestamp(&self) -> Option<(i64, u64)> {
        self.segments
            .values()
            .filter(|s| s.max_timestamp() >= 0)
            .map(|s| (s.max_timestamp(), s.offset_of_max_timestamp()))
            .fold(None, |best: Option<(i64, u64)>, cur| match best {
                Some(b) if b.0 >= cur.0 => Some(b),
                _ => Some(cur),
            })
    }

    fn prepare_sync(&mut self) -> Result<SyncJob, LogError> {
        self.active_mut().flush_indexes()?;
        // Every segment from the recovery point on: closed ones not yet known whole, and
        // the active one.
        let recovery_point = self.recovery_point.load(Ordering::Acquire);
        let files = self.segments.range(recovery_point..).map(|(_, s)| s.file()).collect();
        let mut job = SyncJob::new(files, self.log_end_offset());
        if std::mem::take(&mut self.dir_dirty) {
            job = job.with_dir(self.dir.clone());
        }
        if let Some(parent) = self.dir.parent().filter(|_| std::mem::take(&mut self.parent_dirty)) {
            job = job.with_dir(parent.to_path_buf());
        }
        let active_base = self.active().base_offset();
        if active_base > recovery_point {
            job = job.with_recovery_point(RecoveryPoint {
                path: self.dir.join(RECOVERY_POINT_CHECKPOINT),
                offset: active_base,
                persisted: self.recovery_point.clone(),
            });
        }
        Ok(job)
    }

    fn roll_if_aged(&mut self, now_ms: i64) -> Result<(), LogError> {
        let (Some(limit), Some(first)) = (self.config.segment_ms, self.active().first_append_ms()) else {
            return Ok(());
        };
        if now_ms - first >= limit {
            self.roll()?;
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), LogError> {
        let job = self.prepare_sync()?;
        job.run().map_err(|e| LogError::io(&self.dir, e))
    }

    fn delete(self: Box<Self>) -> Result<(), LogError> {
        let dir = self.dir.clone();
        for (_, segment) in self.segments {
            segment.delete()?;
        }
        durable::remove_dir_all(&dir).map_err(|e| LogError::io(&dir, e))
    }

    fn size_bytes(&self) -> u64 {
        self.segments.values().map(|s| s.size()).sum()
    }

    fn apply_retention(
        &mut self,
        now_ms: i64,
        retention_ms: Option<i64>,
        retention_bytes: Option<u64>,
    ) -> Result<usize, LogError> {
        let mut deleted = 0;
        while self.segments.len() > 1 {
            let oldest = self.segments.values().next().expect("checked above");
            let (max_timestamp, size, total) = (oldest.max_timestamp(), oldest.size(), self.size_bytes());
            if !retention_drops_oldest(max_timestamp, size, total, now_ms, retention_ms, retention_bytes) {
                break;
            }
            self.delete_oldest_segment()?;
            deleted += 1;
        }
        Ok(deleted)
    }

    fn delete_records_before(&mut self, offset: u64) -> Result<u64, LogError> {
        let offsets = self.offsets();
        if offset > offsets.high_watermark {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: offsets.log_start_offset,
                log_end_offset: offsets.high_watermark,
            });
        }
        if offset <= self.log_start_offset {
            return Ok(self.log_start_offset);
        }
        self.log_start_offset = offset;
        self.write_checkpoint(LOG_START_CHECKPOINT, offset.to_string().as_bytes())?;
        while self.segments.len() > 1 && self.segments.values().next().is_some_and(|s| s.next_offset() <= offset) {
            self.delete_oldest_segment()?;
        }
        Ok(self.log_start_offset)
    }

    fn set_config(&mut self, config: LogConfig) {
        self.config = config;
    }

    fn closed_segments(&self) -> Vec<SegmentInfo> {
        let active = self.active().base_offset();
        self.segments
            .values()
            .filter(|s| s.base_offset() != active)
            .map(|s| SegmentInfo {
                base_offset: s.base_offset(),
                next_offset: s.next_offset(),
                size_bytes: s.size(),
                max_timestamp: s.max_timestamp(),
            })
            .collect()
    }

    fn read_segment(&self, base_offset: u64) -> Result<Option<Bytes>, LogError> {
        match self.segments.get(&base_offset) {
            Some(segment) if segment.base_offset() != self.active().base_offset() => segment.read_all().map(Some),
            _ => Ok(None),
        }
    }

    fn replace_segment(&mut self, base_offset: u64, batches: &[u8]) -> Result<bool, LogError> {
        // A segment from the recovery point on is not known whole yet; recovery checks it
        // by its offsets, which compaction would change.
        if base_offset == self.active().base_offset() || base_offset >= self.recovery_point.load(Ordering::Acquire) {
            return Ok(false);
        }
        let Some(old) = self.segments.remove(&base_offset) else { return Ok(false) };
        let new = old.replace(&self.dir, batches, self.config.index_interval_bytes)?;
        self.segments.insert(base_offset, new);
        Ok(true)
    }

    fn scan_headers(&self, from: u64, f: &mut dyn FnMut(&BatchHeader)) -> Result<(), LogError> {
        let start = self.segments.range(..=from).next_back().map_or(0, |(b, _)| *b);
        for segment in self.segments.range(start..).map(|(_, s)| s) {
            segment.scan_headers(from, f)?;
        }
        Ok(())
    }

    fn read_checkpoint(&self, name: &str) -> Result<Option<Vec<u8>>, LogError> {
        read_file_in(&self.dir, name)
    }

    fn prepare_checkpoint(&self, name: &str, bytes: Vec<u8>) -> CheckpointWrite {
        let path = self.dir.join(name);
        CheckpointWrite::new(move || durable::replace_file(&path, &bytes).map_err(|e| LogError::io(&path, e)))
    }

    fn append_replica(&mut self, batch: &[u8], now_ms: i64) -> Result<AppendInfo, LogError> {
        let header = BatchHeader::parse(batch)?;
        let base_offset = u64::try_from(header.base_offset).unwrap_or(0);
        let log_end_offset = self.log_end_offset();
        if header.base_offset < 0 || base_offset < log_end_offset {
            return Err(LogError::ReplicaBehind { offset: base_offset, log_end_offset });
        }
        self.append_at(batch, &header, base_offset, header.partition_leader_epoch, now_ms)
    }

    fn truncate_to(&mut self, offset: u64) -> Result<(), LogError> {
        if offset >= self.log_end_offset() {
            return Ok(());
        }
        // Whole segments at or past `offset` go, newest first; the oldest always stays.
        let doomed: Vec<u64> = self.segments.range(offset..).rev().map(|(b, _)| *b).collect();
        for base in doomed {
            if self.segments.len() == 1 {
                break;
            }
            if let Some(segment) = self.segments.remove(&base) {
                segment.delete()?;
            }
        }
        self.active_mut().truncate_to(offset)?;
        durable::sync_dir(&self.dir).map_err(|e| LogError::io(&self.dir, e))?;
        let end = self.log_end_offset();
        self.high_watermark = self.high_watermark.min(end);
        self.log_start_offset = self.log_start_offset.min(end);
        let recovery_point = self.recovery_point.load(Ordering::Acquire);
        if recovery_point > self.active().base_offset() {
            self.recovery_point.store(self.active().base_offset(), Ordering::Release);
            let point = self.active().base_offset().to_string();
            self.write_checkpoint(RECOVERY_POINT_CHECKPOINT, point.as_bytes())?;
        }
        Ok(())
    }
}

/// The base offsets of the segment files in `dir`, in order; leftovers of a compaction
/// that never reached its rename are removed (the original is intact).
fn list_segments(dir: &Path) -> Result<Vec<u64>, LogError> {
    let mut bases = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| LogError::io(dir, e))? {
        let entry = entry.map_err(|e| LogError::io(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".log.cleaned") {
            let _ = std::fs::remove_file(entry.path());
            continue;
        }
        if let Some(stem) = name.strip_suffix(".log") {
            if let Ok(base) = stem.parse::<u64>() {
                bases.push(base);
            }
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

fn read_file_in(dir: &Path, name: &str) -> Result<Option<Vec<u8>>, LogError> {
    let path = dir.join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LogError::io(&path, e)),
    }
}

/// A checkpoint holding one offset in decimal; unreadable content counts as absent.
fn read_checkpoint_in(dir: &Path, name: &str) -> Result<Option<u64>, LogError> {
    Ok(read_file_in(dir, name)?.and_then(|b| std::str::from_utf8(&b).ok()?.trim().parse().ok()))
}
