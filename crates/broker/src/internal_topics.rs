//! The broker's own compacted topics (`__consumer_offsets`, `__transaction_state`,
//! `__share_group_state`):
//! created on first use, written through the ordinary log and fsynced before the write
//! counts, replayed at open (the last value per key wins).

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder};

use crate::access::RequestContext;
use crate::admin::NewTopic;
use crate::broker::{now_ms, Broker, TopicHandle};
use crate::error::{BrokerError, Result};

/// Kafka's `Utils.abs(key.hashCode) % partitions`, with Java's String hash: the same key
/// lands on the same partition as in Kafka.
pub(crate) fn partition_for(key: &str, partitions: usize) -> i32 {
    let hash = key.encode_utf16().fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32));
    ((hash & 0x7fff_ffff) as usize % partitions.max(1)) as i32
}

/// `(key, value)`; a `None` value deletes the key.
pub(crate) type KeyValue = (Vec<u8>, Option<Vec<u8>>);

impl Broker {
    /// The internal topic `name`, created compacted with the partition count the broker
    /// setting `partitions_setting` gives, if it does not exist yet.
    pub(crate) fn internal_topic(
        &self,
        name: &str,
        partitions_setting: crate::config::Key<i64>,
    ) -> Result<Arc<TopicHandle>> {
        if let Some(handle) = self.topic(name) {
            return Ok(handle);
        }
        let configs = [("cleanup.policy".to_string(), "compact".to_string())].into();
        let partitions = Some(self.config.get(partitions_setting) as i32);
        let topic = NewTopic { name: name.into(), partitions, replication_factor: None, configs };
        match self.create_topic(&RequestContext::internal(), topic, false) {
            Ok(_) | Err(BrokerError::TopicAlreadyExists(_)) => {}
            Err(e) => return Err(e),
        }
        self.topic(name).ok_or_else(|| BrokerError::Storage(format!("{name} vanished after creation")))
    }

    /// Appends `records` to `partition` of an internal topic and waits until they are durable.
    pub(crate) async fn write_internal(&self, topic: &str, partition: i32, records: Vec<KeyValue>) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let records: Vec<_> = records.into_iter().map(|(k, v)| (Some(Bytes::from(k)), v.map(Bytes::from))).collect();
        let batch = crate::records::encode_batch(&records, now_ms(), Compression::None)?;
        let appended = self.append(&RequestContext::internal(), topic, partition, &batch)?;
        appended.wait_durable().await
    }

    /// Calls `f` with every record of one partition of an internal topic, in offset order.
    /// Returns how many records were read.
    pub(crate) fn replay_internal(&self, topic: &str, partition: i32, mut f: impl FnMut(Record)) -> Result<usize> {
        let partition = self.partition(topic, partition)?;
        let mut count = 0;
        let mut offset = partition.offsets().log_start_offset;
        loop {
            let (mut bytes, marks) = partition.read(offset, 1 << 20)?;
            if bytes.is_empty() {
                break;
            }
            while !bytes.is_empty() {
                let set = RecordBatchDecoder::decode(&mut bytes)
                    .map_err(|e| BrokerError::Storage(format!("{topic} does not decode: {e}")))?;
                for r in set.records {
                    offset = offset.max(r.offset as u64 + 1);
                    if !r.control {
                        count += 1;
                        f(r);
                    }
                }
            }
            if offset >= marks.high_watermark {
                break;
            }
        }
        Ok(count)
    }

    /// The coordinators' hook into the registry: this node now leads (`leading`) or no
    /// longer leads `partitions` of `topic`. The group and transaction coordinators load
    /// the state kept in those partitions, or drop it. On one node a partition is led
    /// from the moment it opens until its topic is deleted; in a cluster leadership moves.
    pub(crate) fn leadership_changed(
        &self,
        topic: &str,
        partitions: std::ops::Range<i32>,
        leading: bool,
    ) -> Result<()> {
        for partition in partitions {
            match (topic, leading) {
                (crate::group::OFFSETS_TOPIC, true) => self.load_group_offsets(partition)?,
                (crate::group::OFFSETS_TOPIC, false) => self.unload_group_offsets(partition),
                (crate::txn::TRANSACTION_STATE_TOPIC, true) => self.load_transactions(partition)?,
                (crate::txn::TRANSACTION_STATE_TOPIC, false) => self.unload_transactions(partition),
                (crate::share::SHARE_STATE_TOPIC, true) => self.load_share_states(partition)?,
                (crate::share::SHARE_STATE_TOPIC, false) => self.unload_share_states(partition),
                _ => {}
            }
        }
        Ok(())
    }

    /// The number of partitions of an internal topic, if it exists.
    pub(crate) fn internal_partitions(&self, topic: &str) -> usize {
        self.topic(topic).map_or(0, |t| t.partitions.len())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn partition_follows_java_string_hash() {
        // "test-group".hashCode() == 627841412 in Java; 627841412 % 50 == 12.
        assert_eq!(super::partition_for("test-group", 50), 12);
        assert_eq!(super::partition_for("anything", 1), 0);
    }
}
