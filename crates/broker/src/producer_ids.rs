//! InitProducerId for idempotent producers: producer ids are handed out from blocks
//! reserved in the metadata log, so an id is never reused, even after a crash.

use parking_lot::Mutex;

use crate::broker::Broker;
use crate::error::{BrokerError, Result};
use crate::metadata::MetadataEvent;

/// Ids reserved per metadata event.
const BLOCK: i64 = 1000;

/// The current block: `next` up to (not including) `end`.
#[derive(Debug, Default)]
pub(crate) struct ProducerIdBlock {
    inner: Mutex<(i64, i64)>,
}

impl Broker {
    /// A producer id and epoch for an idempotent producer. With `existing` (KIP-360) the
    /// same id gets the next epoch, or a new id once the epoch would overflow.
    pub fn init_producer_id(&self, transactional_id: Option<&str>, existing: Option<(i64, i16)>) -> Result<(i64, i16)> {
        if transactional_id.is_some() {
            return Err(BrokerError::CoordinatorNotAvailable("transactions are not supported yet".into()));
        }
        if let Some((id, epoch)) = existing {
            if id >= 0 && (0..i16::MAX - 1).contains(&epoch) {
                return Ok((id, epoch + 1));
            }
        }
        let mut block = self.producer_ids.inner.lock();
        if block.0 >= block.1 {
            let _guard = self.admin_lock.lock();
            let start = self.metadata.read().next_producer_id;
            self.commit_event(MetadataEvent::ProducerIdsReserved { next: start + BLOCK })?;
            *block = (start, start + BLOCK);
        }
        let id = block.0;
        block.0 += 1;
        Ok((id, 0))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::BrokerConfig;
    use crate::{Broker, BrokerError};

    #[test]
    fn ids_are_unique_and_epochs_bump() {
        let b = Broker::in_memory(BrokerConfig::default());
        let ids: Vec<i64> = (0..2500).map(|_| b.init_producer_id(None, None).unwrap().0).collect();
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), 2500);
        assert_eq!(b.init_producer_id(None, Some((ids[0], 3))).unwrap(), (ids[0], 4));
        assert!(matches!(b.init_producer_id(Some("tx"), None), Err(BrokerError::CoordinatorNotAvailable(_))));
    }

    #[test]
    fn reserved_blocks_survive_restart() {
        let dir = tempfile::tempdir().unwrap();
        let first = Broker::open(BrokerConfig::default(), dir.path()).unwrap().init_producer_id(None, None).unwrap().0;
        let second = Broker::open(BrokerConfig::default(), dir.path()).unwrap().init_producer_id(None, None).unwrap().0;
        assert!(second > first, "{second} must not reuse {first}");
    }
}
