//! One partition: its log behind a short lock, the notification fetches wait on, and
//! group-committed durability.
//!
//! The log lock is never held across `.await`. Fsync runs on a blocking thread outside
//! the lock, one at a time per partition; every batch appended while an fsync runs is
//! covered by the next one, so acks=all producers share fsyncs (group commit).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tidelog_log::{AppendInfo, LogOffsets, PartitionLog};
use tokio::sync::watch;
use uuid::Uuid;

use crate::error::{BrokerError, Result};

pub struct Partition {
    pub topic: Arc<str>,
    pub topic_id: Uuid,
    pub index: i32,
    pub leader_epoch: i32,
    log: Mutex<Box<dyn PartitionLog>>,
    /// Carries the high watermark; fetches wait on it instead of polling.
    high_watermark: watch::Sender<u64>,
    /// Offsets below this are fsynced.
    durable_offset: AtomicU64,
    sync_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Partition({}-{})", self.topic, self.index)
    }
}

impl Partition {
    pub fn new(topic: Arc<str>, topic_id: Uuid, index: i32, log: Box<dyn PartitionLog>) -> Self {
        let offsets = log.offsets();
        Partition {
            topic,
            topic_id,
            index,
            leader_epoch: 0,
            log: Mutex::new(log),
            high_watermark: watch::channel(offsets.high_watermark).0,
            durable_offset: AtomicU64::new(offsets.log_end_offset),
            sync_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Appends one validated batch and, on one node, commits it at once.
    pub fn append(&self, batch: &[u8], now_ms: i64) -> Result<(AppendInfo, LogOffsets)> {
        let mut log = self.log.lock();
        let info = log.append(batch, self.leader_epoch, now_ms)?;
        log.advance_high_watermark(info.last_offset + 1);
        let offsets = log.offsets();
        drop(log);
        self.high_watermark.send_replace(offsets.high_watermark);
        Ok((info, offsets))
    }

    pub fn read(&self, offset: u64, max_bytes: usize) -> Result<(Bytes, LogOffsets)> {
        let log = self.log.lock();
        let offsets = log.offsets();
        let bytes = log.read(offset, max_bytes)?;
        Ok((bytes, offsets))
    }

    pub fn offsets(&self) -> LogOffsets {
        self.log.lock().offsets()
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.high_watermark.subscribe()
    }

    pub fn with_log<T>(&self, f: impl FnOnce(&mut dyn PartitionLog) -> T) -> T {
        f(self.log.lock().as_mut())
    }

    /// Waits until every offset below `offset` is on stable storage.
    pub async fn sync_to(&self, offset: u64) -> Result<()> {
        if self.durable_offset.load(Ordering::Acquire) >= offset {
            return Ok(());
        }
        let _one_at_a_time = self.sync_lock.lock().await;
        // Another waiter's fsync may have covered us while we queued.
        if self.durable_offset.load(Ordering::Acquire) >= offset {
            return Ok(());
        }
        let job = self.log.lock().prepare_sync()?;
        let up_to = job.up_to;
        tokio::task::spawn_blocking(move || job.run())
            .await
            .map_err(|e| BrokerError::Storage(format!("fsync task failed: {e}")))?
            .map_err(|e| BrokerError::Storage(format!("fsync of {}-{} failed: {e}", self.topic, self.index)))?;
        self.durable_offset.fetch_max(up_to, Ordering::AcqRel);
        Ok(())
    }

    /// True when appended data is waiting for an fsync.
    pub fn has_unflushed(&self) -> bool {
        self.durable_offset.load(Ordering::Acquire) < self.offsets().log_end_offset
    }

    /// Flushes and fsyncs the log for shutdown.
    pub fn close(&self) -> Result<()> {
        let mut log = self.log.lock();
        log.close()?;
        self.durable_offset.fetch_max(log.offsets().log_end_offset, Ordering::AcqRel);
        Ok(())
    }

    /// Takes the log out for deletion; the partition must be unreachable by then.
    pub fn delete(&self) -> Result<()> {
        let log = std::mem::replace(&mut *self.log.lock(), Box::new(tidelog_log::MemoryLog::new()));
        log.delete()?;
        Ok(())
    }
}
