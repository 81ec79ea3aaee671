//! `__share_group_state`: one record per share-partition state change, key =
//! `group/topic-id/partition`, value = the state as JSON (null: the state was deleted).
//! Compacted, so the latest state per share-partition is kept. Every state of one group
//! goes to the same partition of the topic, so one acknowledgement request is one write.
//! tidelog's own format, like `__transaction_state`.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::in_flight::{SharePartitionState, Snapshot};
use super::{SharePartitionKey, SHARE_STATE_TOPIC};
use crate::broker::Broker;
use crate::config::keys;
use crate::error::{BrokerError, Result};
use crate::internal_topics::{partition_for, KeyValue};

#[derive(Serialize, Deserialize)]
struct StoredState {
    group: String,
    topic_id: uuid::Uuid,
    partition: i32,
    state: Snapshot,
}

impl Broker {
    /// Durably records the states of share-partitions of `group` (`None`: delete).
    pub(super) async fn persist_share_states(
        &self,
        group: &str,
        states: Vec<(String, i32, Option<Snapshot>)>,
    ) -> Result<()> {
        let mut records: Vec<KeyValue> = Vec::with_capacity(states.len());
        for (topic, partition, state) in states {
            let Some(topic_id) = self.topic(&topic).map(|t| t.meta.topic_id) else { continue };
            let key = format!("{group}/{topic_id}/{partition}").into_bytes();
            let value = state
                .map(|state| serde_json::to_vec(&StoredState { group: group.into(), topic_id, partition, state }))
                .transpose()
                .map_err(|e| BrokerError::Storage(format!("encoding share-partition state: {e}")))?;
            records.push((key, value));
        }
        let handle = self.internal_topic(SHARE_STATE_TOPIC, keys::SHARE_COORDINATOR_STATE_TOPIC_NUM_PARTITIONS)?;
        let partition = partition_for(group, handle.partitions.len());
        self.write_internal(SHARE_STATE_TOPIC, partition, records).await
    }

    /// Loads the share-partition states kept in `partition` of `__share_group_state`.
    pub(crate) fn load_share_states(&self, partition: i32) -> Result<()> {
        let mut latest: HashMap<Vec<u8>, Option<StoredState>> = HashMap::new();
        self.replay_internal(SHARE_STATE_TOPIC, partition, |r| {
            let Some(key) = r.key.as_ref().map(|k| k.to_vec()) else { return };
            match r.value.as_deref().map(serde_json::from_slice::<StoredState>) {
                Some(Ok(state)) => {
                    latest.insert(key, Some(state));
                }
                None => {
                    latest.insert(key, None);
                }
                Some(Err(e)) => tracing::warn!(error = %e, "unreadable share-partition state"),
            }
        })?;
        let mut partitions = self.share.partitions.lock();
        let mut loaded = 0;
        for stored in latest.into_values().flatten() {
            // The state of a topic deleted since is dropped with it.
            let Some(topic) = self.topic_name_by_id(stored.topic_id) else { continue };
            let key: SharePartitionKey = (stored.group, topic, stored.partition);
            let state = SharePartitionState::restore(&stored.state);
            partitions.insert(key, Arc::new(tokio::sync::Mutex::new(state)));
            loaded += 1;
        }
        tracing::info!(partition, share_partitions = loaded, "loaded share-partition states");
        Ok(())
    }
}

impl Broker {
    /// Forgets the share-partition states kept in `partition` of `__share_group_state`.
    pub(crate) fn unload_share_states(&self, partition: i32) {
        let partitions = self.internal_partitions(SHARE_STATE_TOPIC);
        self.share.partitions.lock().retain(|(group, _, _), _| partition_for(group, partitions) != partition);
    }
}
