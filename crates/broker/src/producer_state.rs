//! Idempotent-producer state of one partition: for each producer id, its epoch and the
//! sequence ranges and offsets of its last five batches (the most a producer keeps in
//! flight). Checked and updated under the partition's append lock, so a retried batch
//! is recognised and answered with its first offset instead of being stored twice.
//!
//! It also tracks transactions on this partition: the first offset of each producer's
//! open transaction (which holds back the last stable offset) and the offset ranges of
//! aborted transactions (which read_committed fetches return so clients drop them).
//!
//! Kept beside the log as a snapshot (`producer-state.json`) at a log offset; on open the
//! batch headers after that offset are replayed, so the state is exact after `kill -9`.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use tidelog_log::BatchHeader;

use crate::error::BrokerError;
use crate::records::Marker;

pub const SNAPSHOT_NAME: &str = "producer-state.json";
/// Batches remembered per producer: Kafka's `max.in.flight.requests.per.connection` limit.
const REMEMBERED_BATCHES: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct BatchMeta {
    first_sequence: i32,
    last_sequence: i32,
    first_offset: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMeta>,
    last_timestamp: i64,
    /// First offset of this producer's open transaction here, if one is open.
    #[serde(default)]
    txn_first_offset: Option<u64>,
}

/// A transaction aborted on this partition: readers in read_committed mode skip this
/// producer's records from `first_offset` up to the abort marker at `last_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: u64,
    pub last_offset: u64,
}

/// One producer's state, for DescribeProducers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerSummary {
    pub producer_id: i64,
    pub epoch: i16,
    pub last_sequence: i32,
    pub last_timestamp: i64,
    pub txn_start_offset: Option<u64>,
}

/// What an idempotent batch should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    Append,
    /// Already stored: answer with this base offset, store nothing.
    Duplicate {
        base_offset: u64,
    },
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerStates {
    producers: HashMap<i64, ProducerEntry>,
    /// In the order their markers were written.
    #[serde(default)]
    aborted: Vec<AbortedTxn>,
}

#[derive(Deserialize)]
struct Snapshot {
    /// The state covers every batch below this offset.
    offset: u64,
    state: ProducerStates,
}

/// [`Snapshot`] as written: borrows the state instead of copying it.
#[derive(Serialize)]
struct SnapshotRef<'a> {
    offset: u64,
    state: &'a ProducerStates,
}

fn next_sequence(last: i32) -> i32 {
    if last == i32::MAX {
        0
    } else {
        last + 1
    }
}

impl ProducerStates {
    /// Decides whether an idempotent batch (producer id ≥ 0) is new, a retry, or wrong.
    pub fn check(&self, h: &BatchHeader) -> Result<SequenceCheck, BrokerError> {
        let Some(entry) = self.producers.get(&h.producer_id) else {
            // Unknown here (new, or its state expired): accept, as Kafka does.
            return Ok(SequenceCheck::Append);
        };
        if h.producer_epoch < entry.epoch {
            return Err(BrokerError::InvalidProducerEpoch { given: h.producer_epoch, current: entry.epoch });
        }
        if h.producer_epoch > entry.epoch {
            if h.base_sequence != 0 {
                return Err(BrokerError::OutOfOrderSequence(format!(
                    "a new epoch {} must start at sequence 0, not {}",
                    h.producer_epoch, h.base_sequence
                )));
            }
            return Ok(SequenceCheck::Append);
        }
        let last_sequence = h.base_sequence.wrapping_add(h.last_offset_delta);
        if let Some(b) =
            entry.batches.iter().find(|b| b.first_sequence == h.base_sequence && b.last_sequence == last_sequence)
        {
            return Ok(SequenceCheck::Duplicate { base_offset: b.first_offset });
        }
        let expected = entry.batches.back().map_or(0, |b| next_sequence(b.last_sequence));
        if h.base_sequence != expected {
            return Err(BrokerError::OutOfOrderSequence(format!(
                "producer {} expected sequence {expected}, got {}",
                h.producer_id, h.base_sequence
            )));
        }
        Ok(SequenceCheck::Append)
    }

    fn entry(&mut self, h: &BatchHeader) -> &mut ProducerEntry {
        let entry = self.producers.entry(h.producer_id).or_insert_with(|| ProducerEntry {
            epoch: h.producer_epoch,
            batches: VecDeque::new(),
            last_timestamp: -1,
            txn_first_offset: None,
        });
        if h.producer_epoch != entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        entry.last_timestamp = entry.last_timestamp.max(h.max_timestamp);
        entry
    }

    /// Records a data batch now stored at `base_offset`.
    pub fn record(&mut self, h: &BatchHeader, base_offset: u64) {
        if h.producer_id < 0 {
            return;
        }
        let entry = self.entry(h);
        if h.is_transactional() {
            entry.txn_first_offset.get_or_insert(base_offset);
        }
        if h.base_sequence < 0 {
            return;
        }
        entry.batches.push_back(BatchMeta {
            first_sequence: h.base_sequence,
            last_sequence: h.base_sequence.wrapping_add(h.last_offset_delta),
            first_offset: base_offset,
        });
        if entry.batches.len() > REMEMBERED_BATCHES {
            entry.batches.pop_front();
        }
    }

    /// Records an end-transaction marker stored at `offset`: the producer's open
    /// transaction here ends; an aborted one is remembered for read_committed readers.
    /// A marker with a newer epoch fences the producer's older epochs.
    pub fn record_marker(&mut self, h: &BatchHeader, offset: u64, marker: Marker) {
        let entry = self.entry(h);
        if let (Some(first_offset), Marker::Abort) = (entry.txn_first_offset.take(), marker) {
            self.aborted.push(AbortedTxn { producer_id: h.producer_id, first_offset, last_offset: offset });
        }
    }

    /// The first offset of the oldest open transaction: the last stable offset, unless the
    /// high watermark is lower.
    pub fn first_unstable_offset(&self) -> Option<u64> {
        self.producers.values().filter_map(|e| e.txn_first_offset).min()
    }

    /// Aborted transactions that overlap offsets `from..to`.
    pub fn aborted_between(&self, from: u64, to: u64) -> Vec<AbortedTxn> {
        self.aborted.iter().filter(|a| a.last_offset >= from && a.first_offset < to).copied().collect()
    }

    /// Has `producer_id` a transaction open in this partition (data without its marker)?
    pub fn has_open_transaction(&self, producer_id: i64) -> bool {
        self.producers.get(&producer_id).is_some_and(|e| e.txn_first_offset.is_some())
    }

    pub fn describe(&self) -> Vec<ProducerSummary> {
        let mut out: Vec<ProducerSummary> = self
            .producers
            .iter()
            .map(|(&producer_id, e)| ProducerSummary {
                producer_id,
                epoch: e.epoch,
                last_sequence: e.batches.back().map_or(-1, |b| b.last_sequence),
                last_timestamp: e.last_timestamp,
                txn_start_offset: e.txn_first_offset,
            })
            .collect();
        out.sort_by_key(|p| p.producer_id);
        out
    }

    /// Forgets producers silent since `cutoff_ms` (`producer.id.expiration.ms`), unless a
    /// transaction of theirs is still open, and aborted ranges wholly below `log_start`.
    pub fn expire(&mut self, cutoff_ms: i64, log_start: u64) {
        self.producers.retain(|_, e| e.last_timestamp >= cutoff_ms || e.txn_first_offset.is_some());
        self.aborted.retain(|a| a.last_offset >= log_start);
    }

    pub fn to_snapshot(&self, offset: u64) -> Vec<u8> {
        serde_json::to_vec(&SnapshotRef { offset, state: self }).unwrap_or_default()
    }

    /// The state and the offset it covers up to; `None` for a missing or unreadable snapshot.
    pub fn from_snapshot(bytes: &[u8]) -> Option<(ProducerStates, u64)> {
        serde_json::from_slice::<Snapshot>(bytes).ok().map(|s| (s.state, s.offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(producer_id: i64, epoch: i16, base_sequence: i32, count: i32) -> BatchHeader {
        BatchHeader {
            base_offset: 0,
            batch_length: 100,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: count - 1,
            base_timestamp: 1,
            max_timestamp: 1,
            producer_id,
            producer_epoch: epoch,
            base_sequence,
            records_count: count,
        }
    }

    #[test]
    fn retries_are_duplicates_and_gaps_are_refused() {
        let mut s = ProducerStates::default();
        assert_eq!(s.check(&header(7, 0, 0, 3)).unwrap(), SequenceCheck::Append);
        s.record(&header(7, 0, 0, 3), 100);
        s.record(&header(7, 0, 3, 2), 103);
        assert_eq!(s.check(&header(7, 0, 0, 3)).unwrap(), SequenceCheck::Duplicate { base_offset: 100 });
        assert_eq!(s.check(&header(7, 0, 3, 2)).unwrap(), SequenceCheck::Duplicate { base_offset: 103 });
        assert_eq!(s.check(&header(7, 0, 5, 1)).unwrap(), SequenceCheck::Append);
        assert!(matches!(s.check(&header(7, 0, 9, 1)), Err(BrokerError::OutOfOrderSequence(_))));
        assert!(matches!(s.check(&header(7, 1, 4, 1)), Err(BrokerError::OutOfOrderSequence(_))));
        assert_eq!(s.check(&header(7, 1, 0, 1)).unwrap(), SequenceCheck::Append);
        s.record(&header(7, 1, 0, 1), 200);
        assert!(matches!(s.check(&header(7, 0, 5, 1)), Err(BrokerError::InvalidProducerEpoch { .. })));
    }

    #[test]
    fn snapshot_round_trips_and_expiry_forgets() {
        let mut s = ProducerStates::default();
        s.record(&header(1, 0, 0, 1), 5);
        let (back, offset) = ProducerStates::from_snapshot(&s.to_snapshot(6)).unwrap();
        assert_eq!((back, offset), (s.clone(), 6));
        assert!(ProducerStates::from_snapshot(b"garbage").is_none());
        s.expire(2, 0);
        assert_eq!(s, ProducerStates::default());
    }

    fn txn(mut h: BatchHeader) -> BatchHeader {
        h.attributes |= 0x10;
        h
    }

    #[test]
    fn open_transactions_hold_the_stable_offset_and_aborts_are_remembered() {
        let mut s = ProducerStates::default();
        s.record(&header(1, 0, 0, 1), 0);
        assert_eq!(s.first_unstable_offset(), None);
        s.record(&txn(header(2, 0, 0, 2)), 1);
        s.record(&txn(header(3, 0, 0, 1)), 3);
        s.record(&txn(header(2, 0, 2, 1)), 4);
        assert_eq!(s.first_unstable_offset(), Some(1));
        s.record_marker(&txn(header(2, 0, -1, 1)), 5, Marker::Abort);
        assert_eq!(s.first_unstable_offset(), Some(3));
        s.record_marker(&txn(header(3, 0, -1, 1)), 6, Marker::Commit);
        assert_eq!(s.first_unstable_offset(), None);
        let aborted = AbortedTxn { producer_id: 2, first_offset: 1, last_offset: 5 };
        assert_eq!(s.aborted_between(0, 10), vec![aborted]);
        assert_eq!(s.aborted_between(6, 10), vec![]);
        // Open transactions survive expiry; aborted ranges go with the log start.
        s.record(&txn(header(4, 0, 0, 1)), 7);
        s.expire(i64::MAX, 6);
        assert_eq!(s.first_unstable_offset(), Some(7));
        assert_eq!(s.aborted_between(0, 10), vec![]);
    }

    #[test]
    fn a_marker_with_a_newer_epoch_fences_the_old_one() {
        let mut s = ProducerStates::default();
        s.record(&txn(header(9, 0, 0, 1)), 0);
        s.record_marker(&txn(header(9, 1, -1, 1)), 1, Marker::Abort);
        assert!(matches!(s.check(&header(9, 0, 1, 1)), Err(BrokerError::InvalidProducerEpoch { .. })));
        assert_eq!(s.check(&header(9, 1, 0, 1)).unwrap(), SequenceCheck::Append);
    }
}
