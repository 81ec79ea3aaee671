//! Idempotent-producer state of one partition: for each producer id, its epoch and the
//! sequence ranges and offsets of its last five batches (the most a producer keeps in
//! flight). Checked and updated under the partition's append lock, so a retried batch
//! is recognised and answered with its first offset instead of being stored twice.
//!
//! Kept beside the log as a snapshot (`producer-state.json`) at a log offset; on open the
//! batch headers after that offset are replayed, so the state is exact after `kill -9`.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use tidelog_log::BatchHeader;

use crate::error::BrokerError;

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
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    /// The state covers every batch below this offset.
    offset: u64,
    state: ProducerStates,
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

    /// Records a batch now stored at `base_offset`.
    pub fn record(&mut self, h: &BatchHeader, base_offset: u64) {
        if h.producer_id < 0 || h.base_sequence < 0 {
            return;
        }
        let entry = self.producers.entry(h.producer_id).or_insert_with(|| ProducerEntry {
            epoch: h.producer_epoch,
            batches: VecDeque::new(),
            last_timestamp: -1,
        });
        if h.producer_epoch != entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        entry.batches.push_back(BatchMeta {
            first_sequence: h.base_sequence,
            last_sequence: h.base_sequence.wrapping_add(h.last_offset_delta),
            first_offset: base_offset,
        });
        if entry.batches.len() > REMEMBERED_BATCHES {
            entry.batches.pop_front();
        }
        entry.last_timestamp = entry.last_timestamp.max(h.max_timestamp);
    }

    /// Forgets producers silent since `cutoff_ms` (`producer.id.expiration.ms`).
    pub fn expire(&mut self, cutoff_ms: i64) {
        self.producers.retain(|_, e| e.last_timestamp >= cutoff_ms);
    }

    pub fn to_snapshot(&self, offset: u64) -> Vec<u8> {
        serde_json::to_vec(&Snapshot { offset, state: self.clone() }).unwrap_or_default()
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
        s.expire(2);
        assert_eq!(s, ProducerStates::default());
    }
}
