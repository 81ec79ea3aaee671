//! Transaction verification of produced batches (KIP-890 part 1, Kafka's
//! `transaction.partition.verification.enable`): the first transactional batch a
//! partition receives from a producer is appended only if the coordinator has that
//! partition in the producer's open transaction. Without it a late or stray batch opens
//! a transaction no marker will ever close, and the partition's last stable offset stops
//! for good (a "hanging transaction").
//!
//! The partition asks while it holds its own lock, so the answer must not wait: this
//! index mirrors the coordinator's durable state, updated each time a transaction's
//! state is written. A transaction leaves `Ongoing` (its state is written) before its
//! markers are, so a batch verified under the partition lock lands before the marker.

use std::collections::{BTreeSet, HashMap};

use parking_lot::RwLock;

use super::{TxnMeta, TxnState};
use crate::error::{BrokerError, Result};

/// Each transactional producer's current epoch and what its transaction holds.
#[derive(Default)]
pub(crate) struct OpenTransactions {
    by_producer: RwLock<HashMap<i64, Entry>>,
}

struct Entry {
    transactional_id: String,
    epoch: i16,
    state: TxnState,
    partitions: BTreeSet<(String, i32)>,
}

impl OpenTransactions {
    /// The coordinator wrote `meta` for `transactional_id` (or loaded it).
    pub(crate) fn note(&self, transactional_id: &str, meta: &TxnMeta) {
        let partitions = match meta.state {
            TxnState::Ongoing => meta.partitions.clone(),
            _ => BTreeSet::new(),
        };
        let mut by_producer = self.by_producer.write();
        // An epoch overflow moves the id to a new producer id: forget the old one.
        by_producer.retain(|&pid, e| pid == meta.producer_id || e.transactional_id != transactional_id);
        by_producer.insert(
            meta.producer_id,
            Entry {
                transactional_id: transactional_id.to_string(),
                epoch: meta.producer_epoch,
                state: meta.state,
                partitions,
            },
        );
    }

    /// The coordinator no longer holds `transactional_id` (expired, or unloaded).
    pub(crate) fn forget(&self, transactional_id: &str) {
        self.by_producer.write().retain(|_, e| e.transactional_id != transactional_id);
    }

    /// The transactional id `producer_id` belongs to, if it is transactional.
    pub(crate) fn transactional_id(&self, producer_id: i64) -> Option<String> {
        self.by_producer.read().get(&producer_id).map(|e| e.transactional_id.clone())
    }

    /// Does the open transaction of `producer_id` at `epoch` hold `topic`-`partition`?
    pub(crate) fn holds(&self, producer_id: i64, epoch: i16, topic: &str, partition: i32) -> bool {
        self.by_producer.read().get(&producer_id).is_some_and(|e| {
            e.epoch == epoch
                && e.state == TxnState::Ongoing
                && e.partitions.iter().any(|(t, p)| t == topic && *p == partition)
        })
    }

    /// May `producer_id` at `epoch` open its transaction in `topic`-`partition`? The
    /// errors are the coordinator's answers, as Kafka's produce path passes them on.
    pub(crate) fn verify(&self, producer_id: i64, epoch: i16, topic: &str, partition: i32) -> Result<()> {
        let by_producer = self.by_producer.read();
        let entry = by_producer.get(&producer_id).ok_or_else(|| {
            BrokerError::InvalidProducerIdMapping(format!("producer id {producer_id} has no transactional id"))
        })?;
        if entry.epoch != epoch {
            return Err(BrokerError::InvalidProducerEpoch { given: epoch, current: entry.epoch });
        }
        match entry.state {
            TxnState::Ongoing if entry.partitions.iter().any(|(t, p)| t == topic && *p == partition) => Ok(()),
            TxnState::PrepareCommit | TxnState::PrepareAbort => Err(BrokerError::ConcurrentTransactions),
            _ => Err(BrokerError::PartitionNotInTransaction { topic: topic.to_string(), partition }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(pid: i64, epoch: i16, state: TxnState, partitions: &[(&str, i32)]) -> TxnMeta {
        TxnMeta {
            producer_id: pid,
            producer_epoch: epoch,
            timeout_ms: 60_000,
            state,
            partitions: partitions.iter().map(|(t, p)| (t.to_string(), *p)).collect(),
            offsets: Default::default(),
            start_ms: 0,
            updated_ms: 0,
            version: Default::default(),
            next_producer_id: None,
            previous_producer_id: None,
        }
    }

    #[test]
    fn only_partitions_of_the_open_transaction_at_the_current_epoch_pass() {
        let open = OpenTransactions::default();
        assert!(matches!(open.verify(7, 0, "t", 0), Err(BrokerError::InvalidProducerIdMapping(_))));
        open.note("tx", &meta(7, 0, TxnState::Empty, &[]));
        assert!(matches!(open.verify(7, 0, "t", 0), Err(BrokerError::PartitionNotInTransaction { .. })));
        open.note("tx", &meta(7, 0, TxnState::Ongoing, &[("t", 0)]));
        open.verify(7, 0, "t", 0).unwrap();
        assert!(matches!(open.verify(7, 0, "t", 1), Err(BrokerError::PartitionNotInTransaction { .. })));
        assert!(matches!(open.verify(7, 1, "t", 0), Err(BrokerError::InvalidProducerEpoch { .. })));
        open.note("tx", &meta(7, 0, TxnState::PrepareCommit, &[("t", 0)]));
        assert!(matches!(open.verify(7, 0, "t", 0), Err(BrokerError::ConcurrentTransactions)));
        open.note("tx", &meta(7, 0, TxnState::CompleteCommit, &[]));
        assert!(matches!(open.verify(7, 0, "t", 0), Err(BrokerError::PartitionNotInTransaction { .. })));
        // A new producer id for the same transactional id replaces the old one.
        open.note("tx", &meta(8, 0, TxnState::Empty, &[]));
        assert!(matches!(open.verify(7, 0, "t", 0), Err(BrokerError::InvalidProducerIdMapping(_))));
        open.forget("tx");
        assert!(matches!(open.verify(8, 0, "t", 0), Err(BrokerError::InvalidProducerIdMapping(_))));
    }
}
