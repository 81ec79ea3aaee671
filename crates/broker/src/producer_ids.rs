//! InitProducerId for idempotent producers: producer ids are handed out from blocks
//! reserved in the metadata log, so an id is never reused, even after a crash.

use parking_lot::Mutex;

use crate::access::{Operation, RequestContext, Resource};
use crate::broker::Broker;
use crate::error::Result;
use crate::metadata::MetadataEvent;

/// The last epoch a producer id is used with; past it, a new id is handed out.
pub(crate) const MAX_EPOCH: i16 = i16::MAX - 1;

/// Ids reserved per metadata event.
const BLOCK: i64 = 1000;

/// The current block: `next` up to (not including) `end`.
#[derive(Debug, Default)]
pub(crate) struct ProducerIdBlock {
    inner: Mutex<(i64, i64)>,
}

impl Broker {
    /// A producer id and epoch for an idempotent producer without a transactional id.
    /// With `existing` (KIP-360) the same id gets the next epoch, or a new id once the
    /// epoch would overflow.
    pub fn init_producer_id(&self, ctx: &RequestContext, existing: Option<(i64, i16)>) -> Result<(i64, i16)> {
        self.authorize(ctx, Operation::IdempotentWrite, Resource::Cluster)?;
        match existing {
            Some((id, epoch)) if id >= 0 && (0..MAX_EPOCH).contains(&epoch) => Ok((id, epoch + 1)),
            _ => Ok((self.allocate_producer_id()?, 0)),
        }
    }

    /// A producer id never handed out before.
    pub(crate) fn allocate_producer_id(&self) -> Result<i64> {
        let mut block = self.producer_ids.inner.lock();
        if block.0 >= block.1 {
            let _guard = self.admin_lock.lock();
            let start = self.metadata.read().next_producer_id;
            self.commit_event(MetadataEvent::ProducerIdsReserved { next: start + BLOCK })?;
            *block = (start, start + BLOCK);
        }
        let id = block.0;
        block.0 += 1;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use crate::access::RequestContext;
    use crate::config::BrokerConfig;
    use crate::Broker;

    #[test]
    fn ids_are_unique_and_epochs_bump() {
        let b = Broker::in_memory(BrokerConfig::default());
        let ids: Vec<i64> = (0..2500).map(|_| b.init_producer_id(&RequestContext::local(), None).unwrap().0).collect();
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), 2500);
        assert_eq!(b.init_producer_id(&RequestContext::local(), Some((ids[0], 3))).unwrap(), (ids[0], 4));
    }

    #[test]
    fn reserved_blocks_survive_restart() {
        let dir = tempfile::tempdir().unwrap();
        let first = Broker::open(BrokerConfig::default(), dir.path())
            .unwrap()
            .init_producer_id(&RequestContext::local(), None)
            .unwrap()
            .0;
        let second = Broker::open(BrokerConfig::default(), dir.path())
            .unwrap()
            .init_producer_id(&RequestContext::local(), None)
            .unwrap()
            .0;
        assert!(second > first, "{second} must not reuse {first}");
    }
}
