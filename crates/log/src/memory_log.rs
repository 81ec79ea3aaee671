//! The in-memory twin of `FileLog`: same contract, no files. Used to test the broker
//! fast and to check that the file log behaves like a plain list of batches.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};

use crate::batch::{self, BatchHeader};
use crate::error::LogError;
use crate::partition_log::{
    retention_drops_oldest, AppendInfo, CheckpointWrite, LogOffsets, PartitionLog, SegmentInfo, SyncJob,
};

#[derive(Debug, Default)]
pub struct MemoryLog {
    /// Shared so that a prepared checkpoint write can land after the log's lock is gone.
    checkpoints: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    /// (header with assigned offsets, stored bytes)
    batches: Vec<(BatchHeader, Bytes)>,
    log_start_offset: u64,
    high_watermark: u64,
    log_end_offset: u64,
}

impl MemoryLog {
    pub fn new() -> Self {
        Self::default()
    }

    fn store(&mut self, batch: &[u8], base_offset: u64, leader_epoch: i32) -> Result<AppendInfo, LogError> {
        let mut header = BatchHeader::parse(batch)?;
        if header.total_size() != batch.len() {
            return Err(batch::BatchError::Truncated { needed: header.total_size(), available: batch.len() }.into());
        }
        let mut stored = BytesMut::with_capacity(batch.len());
        stored.extend_from_slice(&batch::patched_prefix(batch, base_offset as i64, leader_epoch));
        stored.extend_from_slice(&batch[17..]);
        header.base_offset = base_offset as i64;
        header.partition_leader_epoch = leader_epoch;
        self.log_end_offset = header.last_offset() as u64 + 1;
        self.batches.push((header, stored.freeze()));
        Ok(AppendInfo { base_offset, last_offset: header.last_offset() as u64 })
    }
}

impl PartitionLog for MemoryLog {
    fn append(&mut self, batch: &[u8], leader_epoch: i32, _now_ms: i64) -> Result<AppendInfo, LogError> {
        self.store(batch, self.log_end_offset, leader_epoch)
    }

    fn append_replica(&mut self, batch: &[u8], _now_ms: i64) -> Result<AppendInfo, LogError> {
        let header = BatchHeader::parse(batch)?;
        let base_offset = u64::try_from(header.base_offset).unwrap_or(0);
        if header.base_offset < 0 || base_offset < self.log_end_offset {
            return Err(LogError::ReplicaBehind { offset: base_offset, log_end_offset: self.log_end_offset });
        }
        self.store(batch, base_offset, header.partition_leader_epoch)
    }

    fn truncate_to(&mut self, offset: u64) -> Result<(), LogError> {
        if offset >= self.log_end_offset {
            return Ok(());
        }
        let keep = self.batches.partition_point(|(h, _)| (h.last_offset() as u64) < offset);
        self.batches.truncate(keep);
        let end = self.batches.last().map_or(self.log_start_offset.min(offset), |(h, _)| h.last_offset() as u64 + 1);
        self.log_end_offset = end.max(self.log_start_offset.min(offset));
        self.high_watermark = self.high_watermark.min(self.log_end_offset);
        self.log_start_offset = self.log_start_offset.min(self.log_end_offset);
        Ok(())
    }

    fn read(&self, offset: u64, max_bytes: usize) -> Result<Bytes, LogError> {
        if offset < self.log_start_offset || offset > self.log_end_offset {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: self.log_end_offset,
            });
        }
        let first = self.batches.partition_point(|(h, _)| (h.last_offset() as u64) < offset);
        let mut out = BytesMut::new();
        for (h, bytes) in &self.batches[first..] {
            if h.base_offset as u64 >= self.high_watermark || (!out.is_empty() && out.len() + bytes.len() > max_bytes) {
                break;
            }
            out.extend_from_slice(bytes);
        }
        Ok(out.freeze())
    }

    fn offsets(&self) -> LogOffsets {
        LogOffsets {
            log_start_offset: self.log_start_offset,
            high_watermark: self.high_watermark,
            log_end_offset: self.log_end_offset,
        }
    }

    fn advance_high_watermark(&mut self, offset: u64) {
        self.high_watermark = self.high_watermark.max(offset.min(self.log_end_offset));
    }

    fn find_by_timestamp(&self, timestamp: i64) -> Result<Option<Bytes>, LogError> {
        Ok(self.batches.iter().find(|(h, _)| h.max_timestamp >= timestamp).map(|(_, b)| b.clone()))
    }

    fn max_timestamp(&self) -> Option<(i64, u64)> {
        self.batches.iter().fold(None, |best, (h, _)| match best {
            Some((ts, _)) if ts >= h.max_timestamp => best,
            _ if h.max_timestamp < 0 => best,
            _ => Some((h.max_timestamp, h.last_offset() as u64)),
        })
    }

    fn prepare_sync(&mut self) -> Result<SyncJob, LogError> {
        Ok(SyncJob::new(Vec::new(), self.log_end_offset))
    }

    fn roll_if_aged(&mut self, _now_ms: i64) -> Result<(), LogError> {
        Ok(())
    }

    fn close(&mut self) -> Result<(), LogError> {
        Ok(())
    }

    fn delete(self: Box<Self>) -> Result<(), LogError> {
        Ok(())
    }

    fn size_bytes(&self) -> u64 {
        self.batches.iter().map(|(_, b)| b.len() as u64).sum()
    }

    fn apply_retention(
        &mut self,
        now_ms: i64,
        retention_ms: Option<i64>,
        retention_bytes: Option<u64>,
    ) -> Result<usize, LogError> {
        // Batches stand in for segments; the last one is kept like an active segment.
        let mut deleted = 0;
        while self.batches.len() > 1 {
            let (h, bytes) = &self.batches[0];
            let (size, total) = (bytes.len() as u64, self.size_bytes());
            if !retention_drops_oldest(h.max_timestamp, size, total, now_ms, retention_ms, retention_bytes) {
                break;
            }
            self.batches.remove(0);
            self.log_start_offset = self.log_start_offset.max(self.batches[0].0.base_offset as u64);
            deleted += 1;
        }
        Ok(deleted)
    }

    fn delete_records_before(&mut self, offset: u64) -> Result<u64, LogError> {
        if offset > self.high_watermark {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: self.high_watermark,
            });
        }
        self.log_start_offset = self.log_start_offset.max(offset);
        self.batches.retain(|(h, _)| h.last_offset() as u64 >= offset);
        Ok(self.log_start_offset)
    }

    fn set_config(&mut self, _config: crate::LogConfig) {}

    // Batches stand in for segments; the last one is the active one.
    fn closed_segments(&self) -> Vec<SegmentInfo> {
        let n = self.batches.len().saturating_sub(1);
        self.batches[..n]
            .iter()
            .map(|(h, b)| SegmentInfo {
                base_offset: h.base_offset as u64,
                next_offset: h.last_offset() as u64 + 1,
                size_bytes: b.len() as u64,
                max_timestamp: h.max_timestamp,
            })
            .collect()
    }

    fn read_segment(&self, base_offset: u64) -> Result<Option<Bytes>, LogError> {
        let n = self.batches.len().saturating_sub(1);
        Ok(self.batches[..n].iter().find(|(h, _)| h.base_offset as u64 == base_offset).map(|(_, b)| b.clone()))
    }

    fn replace_segment(&mut self, base_offset: u64, batches: &[u8]) -> Result<bool, LogError> {
        let n = self.batches.len().saturating_sub(1);
        let Some(i) = self.batches[..n].iter().position(|(h, _)| h.base_offset as u64 == base_offset) else {
            return Ok(false);
        };
        let replacement: Vec<(BatchHeader, Bytes)> = batch::batches(batches)
            .map(|r| r.map(|(h, range)| (h, Bytes::copy_from_slice(&batches[range]))))
            .collect::<Result<_, _>>()?;
        self.batches.splice(i..=i, replacement);
        Ok(true)
    }

    fn scan_headers(&self, from: u64, f: &mut dyn FnMut(&BatchHeader)) -> Result<(), LogError> {
        let first = self.batches.partition_point(|(h, _)| (h.last_offset() as u64) < from);
        self.batches[first..].iter().for_each(|(h, _)| f(h));
        Ok(())
    }

    fn read_checkpoint(&self, name: &str) -> Result<Option<Vec<u8>>, LogError> {
        Ok(self.checkpoints.lock().unwrap_or_else(|p| p.into_inner()).get(name).cloned())
    }

    fn prepare_checkpoint(&self, name: &str, bytes: Vec<u8>) -> CheckpointWrite {
        let (checkpoints, name) = (self.checkpoints.clone(), name.to_string());
        CheckpointWrite::new(move || {
            checkpoints.lock().unwrap_or_else(|p| p.into_inner()).insert(name, bytes);
            Ok(())
        })
    }
}
