//! `__transaction_state`: one record per state change, key = transactional id, value =
//! the whole [`TxnMeta`] as JSON (null: the id expired). Compacted, so only the latest
//! state per id is kept. The value is tidelog's own format, not Kafka's: no Kafka tool
//! reads this topic, and JSON keeps it inspectable.

use std::sync::Arc;

use super::{TxnMeta, TRANSACTION_STATE_TOPIC};
use crate::broker::Broker;
use crate::error::{BrokerError, Result};
use crate::internal_topics::partition_for;

impl Broker {
    /// Durably records the state of `transactional_id` (`None`: forget it).
    pub(super) async fn persist_txn(&self, transactional_id: &str, meta: Option<&TxnMeta>) -> Result<()> {
        let value = meta
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| BrokerError::Storage(format!("encoding transaction state: {e}")))?;
        let handle =
            self.internal_topic(TRANSACTION_STATE_TOPIC, crate::config::keys::TRANSACTION_STATE_LOG_NUM_PARTITIONS)?;
        let partition = partition_for(transactional_id, handle.partitions.len());
        self.write_internal(TRANSACTION_STATE_TOPIC, partition, vec![(transactional_id.as_bytes().to_vec(), value)])
            .await?;
        match meta {
            Some(meta) => self.transactions.open.note(transactional_id, meta),
            None => self.transactions.open.forget(transactional_id),
        }
        Ok(())
    }

    /// Loads the transactional ids kept in `partition` of `__transaction_state`: this node
    /// now coordinates them. Transactions caught between prepare and complete are finished
    /// by [`Broker::recover_transactions`].
    pub(crate) fn load_transactions(&self, partition: i32) -> Result<()> {
        let mut latest = std::collections::HashMap::new();
        self.replay_internal(TRANSACTION_STATE_TOPIC, partition, |r| {
            let Some(key) = r.key.as_ref().and_then(|k| std::str::from_utf8(k).ok()).map(str::to_string) else {
                return;
            };
            match r.value.as_deref().map(serde_json::from_slice::<TxnMeta>) {
                Some(Ok(meta)) => {
                    latest.insert(key, Some(meta));
                }
                None => {
                    latest.insert(key, None);
                }
                Some(Err(e)) => tracing::warn!(transactional_id = %key, error = %e, "unreadable transaction state"),
            }
        })?;
        let mut slots = self.transactions.slots.lock();
        for (id, meta) in latest {
            if let Some(meta) = meta {
                self.transactions.open.note(&id, &meta);
                slots.insert(id, Arc::new(tokio::sync::Mutex::new(Some(meta))));
            }
        }
        tracing::info!(partition, transactional_ids = slots.len(), "loaded transaction state");
        Ok(())
    }

    /// Forgets the transactional ids kept in `partition` of `__transaction_state`.
    pub(crate) fn unload_transactions(&self, partition: i32) {
        let partitions = self.internal_partitions(TRANSACTION_STATE_TOPIC);
        self.transactions.slots.lock().retain(|id, _| {
            let keep = partition_for(id, partitions) != partition;
            if !keep {
                self.transactions.open.forget(id);
            }
            keep
        });
        tracing::info!(partition, "unloaded transaction state");
    }
}
