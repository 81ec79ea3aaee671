//! One partition: its log and idempotent-producer state behind one short lock, the
//! notification fetches wait on, and group-committed durability.
//!
//! The lock is never held across `.await`. Fsync runs on a blocking thread outside the
//! lock, one at a time per partition; every batch appended while an fsync runs is
//! covered by the next one, so acks=all producers share fsyncs (group commit).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tidelog_log::{BatchHeader, LogOffsets, PartitionLog, Records};
use tokio::sync::watch;
use tracing::warn;
use uuid::Uuid;

use crate::error::{BrokerError, Result};
use crate::leader_epochs::LeaderEpochs;
use crate::metrics::{self, TopicMeters};
use crate::producer_state::{AbortedTxn, ProducerStates, ProducerSummary, SequenceCheck, SNAPSHOT_NAME};
use crate::records::decode_marker;

struct Inner {
    log: Box<dyn PartitionLog>,
    producers: ProducerStates,
}

pub struct Partition {
    pub topic: Arc<str>,
    pub topic_id: Uuid,
    pub index: i32,
    pub leader_epoch: i32,
    /// The epochs the log was led under (see `leader_epochs`): fixed on one node.
    pub(crate) leader_epochs: LeaderEpochs,
    inner: Mutex<Inner>,
    /// Carries the high watermark; fetches wait on it instead of polling.
    high_watermark: watch::Sender<u64>,
    /// Offsets below this are fsynced.
    durable_offset: AtomicU64,
    sync_lock: tokio::sync::Mutex<()>,
    /// Compaction has seen the closed segments below this offset.
    compacted_through: AtomicU64,
    /// Wall-clock time of the last completed fsync (for `flush.ms`).
    last_flush_ms: AtomicI64,
    /// The log end offset the producer-state snapshot on disk covers: a partition whose
    /// log end is elsewhere has appends (or a truncation) the snapshot lacks, and a restart
    /// would scan their headers.
    snapshot_end: AtomicU64,
    /// One producer-state snapshot written at a time (they share a temporary file).
    snapshot_writer: Mutex<()>,
    meters: TopicMeters,
}

impl std::fmt::Debug for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Partition({}-{})", self.topic, self.index)
    }
}

/// Where a produced batch ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub base_offset: u64,
    pub offsets: LogOffsets,
    /// A retry of a batch already stored: nothing was written.
    pub duplicate: bool,
    /// Offsets appended but not yet fsynced, this batch included.
    pub unflushed: u64,
}

/// What a read returns: whole batches (in memory, or `Records` that may be a slice of a
/// segment file) and the marks they were read against.
#[derive(Debug, Clone, Default)]
pub struct PartitionRead<R = Bytes> {
    pub records: R,
    pub offsets: LogOffsets,
    /// Offsets below this belong to no open transaction.
    pub last_stable_offset: u64,
    /// read_committed only: aborted transactions overlapping the returned batches.
    pub aborted: Vec<AbortedTxn>,
}

/// Rebuilds producer state: the snapshot, then every batch header after it (and the
/// marker inside each control batch). Also returns the offset the snapshot covered (the
/// log start without one).
fn recover_producers(log: &dyn PartitionLog) -> Result<(ProducerStates, u64)> {
    let (mut producers, from) =
        match log.read_checkpoint(SNAPSHOT_NAME)?.and_then(|b| ProducerStates::from_snapshot(&b)) {
            Some((state, offset)) if offset <= log.offsets().log_end_offset => (state, offset),
            _ => (ProducerStates::default(), log.offsets().log_start_offset),
        };
    let mut headers = Vec::new();
    log.scan_headers(from, &mut |h: &BatchHeader| {
        if h.base_offset as u64 >= from && h.producer_id >= 0 {
            headers.push(*h);
        }
    })?;
    for h in headers {
        let offset = h.base_offset as u64;
        if h.is_control() {
            let batch = log.read(offset, 1)?;
            match decode_marker(&batch) {
                Some(marker) => producers.record_marker(&h, offset, marker),
                None => warn!(offset, "control batch without a readable marker; skipped"),
            }
        } else {
            producers.record(&h, offset);
        }
    }
    Ok((producers, from))
}

/// The batches that start below the last stable offset. Transactions start on batch
/// boundaries, so the stable part is whole batches.
fn stable_prefix(mut records: Bytes, last_stable_offset: u64) -> Bytes {
    let stable_len = tidelog_log::batch::batches(&records)
        .map_while(|b| b.ok())
        .take_while(|(h, _)| (h.base_offset as u64) < last_stable_offset)
        .last()
        .map_or(0, |(_, range)| range.end);
    records.truncate(stable_len);
    records
}

fn into_memory(records: Records) -> Result<Bytes> {
    records.into_memory().map_err(|e| BrokerError::Storage(format!("reading a segment: {e}")))
}

fn stable_offset(producers: &ProducerStates, offsets: LogOffsets) -> u64 {
    producers.first_unstable_offset().map_or(offsets.high_watermark, |first| first.min(offsets.high_watermark))
}

impl Partition {
    pub fn new(topic: Arc<str>, topic_id: Uuid, index: i32, log: Box<dyn PartitionLog>) -> Result<Self> {
        let offsets = log.offsets();
        let (producers, snapshot_end) = recover_producers(log.as_ref())?;
        Ok(Partition {
            meters: TopicMeters::new(&topic),
            topic,
            topic_id,
            index,
            leader_epoch: 0,
            leader_epochs: LeaderEpochs::starting_at(0, offsets.log_start_offset),
            inner: Mutex::new(Inner { log, producers }),
            high_watermark: watch::channel(offsets.high_watermark).0,
            durable_offset: AtomicU64::new(offsets.log_end_offset),
            sync_lock: tokio::sync::Mutex::new(()),
            compacted_through: AtomicU64::new(0),
            last_flush_ms: AtomicI64::new(crate::broker::now_ms()),
            snapshot_end: AtomicU64::new(snapshot_end),
            snapshot_writer: Mutex::new(()),
        })
    }

    /// Appends one validated batch and, on one node, commits it at once. Idempotent
    /// batches are checked against the producer's sequence first; a control batch (written
    /// by the transaction coordinator only) ends its producer's transaction here.
    pub fn append(&self, batch: &[u8], header: &BatchHeader, now_ms: i64) -> Result<Appended> {
        self.append_verified(batch, header, now_ms, |_| Ok(()))
    }

    /// [`Self::append`], asking `verify` first when the batch would open a transaction
    /// here (a transactional data batch from a producer with none open). It runs under
    /// the partition's lock, so a marker cannot slip in between it and the append.
    pub fn append_verified(
        &self,
        batch: &[u8],
        header: &BatchHeader,
        now_ms: i64,
        verify: impl FnOnce(&BatchHeader) -> Result<()>,
    ) -> Result<Appended> {
        let marker = if header.is_control() {
            Some(
                decode_marker(batch)
                    .ok_or_else(|| BrokerError::InvalidRecord("control batch without a marker".into()))?,
            )
        } else {
            None
        };
        let mut inner = self.inner.lock();
        if marker.is_none() && header.is_transactional() && !inner.producers.has_open_transaction(header.producer_id) {
            verify(header)?;
        }
        if header.producer_id >= 0 && header.base_sequence >= 0 {
            if let SequenceCheck::Duplicate { base_offset } = inner.producers.check(header)? {
                let offsets = inner.log.offsets();
                let unflushed = self.unflushed_below(offsets.log_end_offset);
                return Ok(Appended { base_offset, offsets, duplicate: true, unflushed });
            }
        }
        let info = inner.log.append(batch, self.leader_epoch, now_ms)?;
        self.meters.appended(batch.len(), header.records_count.max(0) as u32);
        match marker {
            Some(marker) => inner.producers.record_marker(header, info.base_offset, marker),
            None => inner.producers.record(header, info.base_offset),
        }
        inner.log.advance_high_watermark(info.last_offset + 1);
        let offsets = inner.log.offsets();
        drop(inner);
        self.high_watermark.send_replace(offsets.high_watermark);
        let unflushed = self.unflushed_below(offsets.log_end_offset);
        Ok(Appended { base_offset: info.base_offset, offsets, duplicate: false, unflushed })
    }

    pub fn read(&self, offset: u64, max_bytes: usize) -> Result<(Bytes, LogOffsets)> {
        let read = self.read_isolated(offset, max_bytes, false)?;
        Ok((read.records, read.offsets))
    }

    /// Whole batches from `offset`, as a file slice where the log keeps files, so that a
    /// Kafka fetch can hand them to the socket without reading them (`sendfile`). With
    /// `read_committed`, none at or past the last stable offset, plus the aborted
    /// transactions from `offset` on. Under the partition's lock only batch headers are
    /// read, unless an open transaction cuts the slice short.
    pub fn read_for_sending(
        &self,
        offset: u64,
        max_bytes: usize,
        read_committed: bool,
    ) -> Result<PartitionRead<Records>> {
        let inner = self.inner.lock();
        let offsets = inner.log.offsets();
        let last_stable_offset = stable_offset(&inner.producers, offsets);
        let read = |records| PartitionRead { records, offsets, last_stable_offset, aborted: Vec::new() };
        if !read_committed {
            return Ok(read(inner.log.read_records(offset, max_bytes)?));
        }
        if offset < offsets.log_start_offset || offset > offsets.log_end_offset {
            let (log_start_offset, log_end_offset) = (offsets.log_start_offset, offsets.log_end_offset);
            return Err(BrokerError::OffsetOutOfRange { offset: offset as i64, log_start_offset, log_end_offset });
        }
        if offset >= last_stable_offset {
            return Ok(read(Records::default()));
        }
        let records = match inner.log.read_records(offset, max_bytes)? {
            Records::File(slice) if slice.next_offset <= last_stable_offset => Records::File(slice),
            records => Records::Memory(stable_prefix(into_memory(records)?, last_stable_offset)),
        };
        let aborted = inner.producers.aborted_between(offset, last_stable_offset);
        Ok(PartitionRead { aborted, ..read(records) })
    }

    /// [`Partition::read_for_sending`], with the batches in memory.
    pub fn read_isolated(&self, offset: u64, max_bytes: usize, read_committed: bool) -> Result<PartitionRead> {
        let read = self.read_for_sending(offset, max_bytes, read_committed)?;
        let records = into_memory(read.records)?;
        Ok(PartitionRead {
            records,
            offsets: read.offsets,
            last_stable_offset: read.last_stable_offset,
            aborted: read.aborted,
        })
    }

    pub fn offsets(&self) -> LogOffsets {
        self.inner.lock().log.offsets()
    }

    /// Bytes stored and number of segments (the active one included).
    pub fn storage(&self) -> (u64, usize) {
        self.with_log(|log| (log.size_bytes(), log.closed_segments().len() + 1))
    }

    /// The topic's traffic counters (consumer reads are counted by the read paths).
    pub(crate) fn meters(&self) -> &TopicMeters {
        &self.meters
    }

    /// The first offset that an open transaction may still abort (or the high watermark).
    pub fn last_stable_offset(&self) -> u64 {
        let inner = self.inner.lock();
        stable_offset(&inner.producers, inner.log.offsets())
    }

    /// The idempotent and transactional producers this partition knows (DescribeProducers).
    pub fn producers(&self) -> Vec<ProducerSummary> {
        self.inner.lock().producers.describe()
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.high_watermark.subscribe()
    }

    pub fn with_log<T>(&self, f: impl FnOnce(&mut dyn PartitionLog) -> T) -> T {
        f(self.inner.lock().log.as_mut())
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
        let job = self.inner.lock().log.prepare_sync()?;
        let up_to = job.up_to;
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let synced = job.run();
            metrics::fsync_took(started.elapsed().as_secs_f64());
            synced
        })
        .await
        .map_err(|e| BrokerError::Storage(format!("fsync task failed: {e}")))?
        .map_err(|e| BrokerError::Storage(format!("fsync of {}-{} failed: {e}", self.topic, self.index)))?;
        self.durable_offset.fetch_max(up_to, Ordering::AcqRel);
        self.last_flush_ms.store(crate::broker::now_ms(), Ordering::Release);
        Ok(())
    }

    fn unflushed_below(&self, log_end_offset: u64) -> u64 {
        log_end_offset.saturating_sub(self.durable_offset.load(Ordering::Acquire))
    }

    pub fn last_flush_ms(&self) -> i64 {
        self.last_flush_ms.load(Ordering::Acquire)
    }

    pub fn compacted_through(&self) -> u64 {
        self.compacted_through.load(Ordering::Acquire)
    }

    pub fn set_compacted_through(&self, offset: u64) {
        self.compacted_through.fetch_max(offset, Ordering::AcqRel);
    }

    /// True when appended data is waiting for an fsync.
    pub fn has_unflushed(&self) -> bool {
        self.unflushed_below(self.offsets().log_end_offset) > 0
    }

    /// Saves the producer state so the next open replays only what follows, after
    /// forgetting producers silent since `expire_before_ms`. Does nothing for a partition
    /// idle since its last snapshot. The state is serialised under the partition lock; the
    /// file is written and fsynced after it is released, so appends never wait for the
    /// disk. Blocking: call from a blocking-capable thread. Returns whether a snapshot was
    /// written.
    pub fn snapshot_producers(&self, expire_before_ms: i64) -> Result<bool> {
        let _one_writer = self.snapshot_writer.lock();
        let (write, end) = {
            let mut inner = self.inner.lock();
            let offsets = inner.log.offsets();
            if offsets.log_end_offset == self.snapshot_end.load(Ordering::Acquire) {
                return Ok(false);
            }
            inner.producers.expire(expire_before_ms, offsets.log_start_offset);
            let snapshot = inner.producers.to_snapshot(offsets.log_end_offset);
            (inner.log.prepare_checkpoint(SNAPSHOT_NAME, snapshot), offsets.log_end_offset)
        };
        write.run()?;
        self.snapshot_end.store(end, Ordering::Release);
        Ok(true)
    }

    /// Flushes and fsyncs the log and snapshots producer state, for shutdown.
    pub fn close(&self) -> Result<()> {
        if let Err(e) = self.snapshot_producers(i64::MIN) {
            warn!(partition = ?self, error = %e, "producer state snapshot failed; it will be replayed from the log");
        }
        let mut inner = self.inner.lock();
        inner.log.close()?;
        self.durable_offset.fetch_max(inner.log.offsets().log_end_offset, Ordering::AcqRel);
        Ok(())
    }

    /// Takes the log out for deletion; the partition must be unreachable by then.
    pub fn delete(&self) -> Result<()> {
        let log = std::mem::replace(&mut self.inner.lock().log, Box::new(tidelog_log::MemoryLog::new()));
        log.delete()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use kafka_protocol::records::Compression;
    use tidelog_log::{BatchHeader, MemoryLog};

    use super::*;
    use crate::records::{encode_batch, encode_batch_as, BatchProducer};

    fn partition() -> Partition {
        Partition::new("t".into(), Uuid::new_v4(), 0, Box::new(MemoryLog::new())).unwrap()
    }

    fn append(p: &Partition, batch: &[u8]) {
        p.append(batch, &BatchHeader::parse(batch).unwrap(), 0).unwrap();
    }

    #[test]
    fn idle_partitions_are_not_snapshotted() {
        let p = partition();
        assert!(!p.snapshot_producers(i64::MIN).unwrap(), "a new partition has nothing to save");
        let record = [(Some(Bytes::from_static(b"k")), Some(Bytes::from_static(b"v")))];
        append(&p, &encode_batch(&record, 1, Compression::None).unwrap());
        assert!(p.snapshot_producers(i64::MIN).unwrap(), "appends move the log end past the snapshot");
        assert!(!p.snapshot_producers(i64::MIN).unwrap(), "idle since the last snapshot");
        let producer = BatchProducer { id: 7, epoch: 0, base_sequence: 0, ..BatchProducer::NONE };
        append(&p, &encode_batch_as(producer, &record, 1, Compression::None).unwrap());
        assert!(p.snapshot_producers(i64::MIN).unwrap());
        assert!(!p.snapshot_producers(i64::MIN).unwrap(), "idle since the last snapshot");
        let snapshot = p.with_log(|log| log.read_checkpoint(SNAPSHOT_NAME)).unwrap().unwrap();
        let (state, offset) = ProducerStates::from_snapshot(&snapshot).unwrap();
        assert_eq!(offset, 2);
        assert_eq!(state.describe()[0].producer_id, 7);
    }
}
