//! ListOffsets: earliest, latest, max timestamp, and the first offset at or after a
//! timestamp. The timestamp lookups look inside the batch that holds the answer
//! (decompressing it if needed) to find the exact record, as Kafka answers.

use bytes::Bytes;
use kafka_protocol::records::RecordBatchDecoder;
use tidelog_log::BatchHeader;

use crate::access::{Operation, RequestContext, Resource};
use crate::broker::Broker;
use crate::error::{BrokerError, Result};
use crate::leader_epochs::UNDEFINED_EPOCH;

/// What ListOffsets asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetQuery {
    Earliest,
    Latest,
    /// Latest for read_committed consumers: the last stable offset.
    LastStable,
    /// The first record holding the largest timestamp.
    MaxTimestamp,
    /// The highest offset in tiered storage (KIP-1005): none without tiered storage.
    LatestTiered,
    /// The first offset not yet uploaded to tiered storage (KIP-1023): none without
    /// tiered storage, as Kafka's `UnifiedLog.fetchEarliestPendingUploadOffset` answers.
    EarliestPendingUpload,
    /// First record with timestamp ≥ this.
    Timestamp(i64),
}

impl OffsetQuery {
    /// Kafka's encoding: -1 latest, -2 earliest, -3 max timestamp, -4 earliest local (the
    /// earliest, without tiered storage), -5 latest tiered, -6 earliest pending upload;
    /// latest means the last stable offset for read_committed clients.
    pub fn from_kafka(timestamp: i64, read_committed: bool) -> Option<Self> {
        match timestamp {
            -1 if read_committed => Some(OffsetQuery::LastStable),
            -1 => Some(OffsetQuery::Latest),
            -2 | -4 => Some(OffsetQuery::Earliest),
            -3 => Some(OffsetQuery::MaxTimestamp),
            -5 => Some(OffsetQuery::LatestTiered),
            -6 => Some(OffsetQuery::EarliestPendingUpload),
            t if t >= 0 => Some(OffsetQuery::Timestamp(t)),
            _ => None,
        }
    }
}

/// `(offset, timestamp)`; `(-1, -1)` when no record matches.
pub type OffsetAnswer = (i64, i64);

/// A ListOffsets answer with the leader epoch of the offset (-1 when unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedOffset {
    pub offset: i64,
    pub timestamp: i64,
    pub leader_epoch: i32,
}

impl ListedOffset {
    const NONE: ListedOffset = ListedOffset { offset: -1, timestamp: -1, leader_epoch: UNDEFINED_EPOCH };
}

/// The first record of a stored batch with a timestamp at or after `target`. In a
/// LogAppendTime batch every record carries the batch's time, as Kafka reads them.
fn first_record_at_or_after(batch: Bytes, target: i64, topic: &str, partition: i32) -> Result<ListedOffset> {
    let corrupt = |e: String| BrokerError::Storage(format!("stored batch of {topic}-{partition} does not decode: {e}"));
    let header = BatchHeader::parse(&batch).map_err(|e| corrupt(e.to_string()))?;
    let leader_epoch = header.partition_leader_epoch.max(UNDEFINED_EPOCH);
    if header.is_log_append_time() {
        return Ok(if header.max_timestamp >= target {
            ListedOffset { offset: header.base_offset, timestamp: header.max_timestamp, leader_epoch }
        } else {
            ListedOffset::NONE
        });
    }
    let mut buf = batch;
    let set = RecordBatchDecoder::decode(&mut buf).map_err(|e| corrupt(e.to_string()))?;
    Ok(set.records.iter().find(|r| r.timestamp >= target).map_or(ListedOffset::NONE, |r| ListedOffset {
        offset: r.offset,
        timestamp: r.timestamp,
        leader_epoch,
    }))
}

impl Broker {
    pub fn list_offset(
        &self,
        ctx: &RequestContext,
        topic: &str,
        partition: i32,
        query: OffsetQuery,
    ) -> Result<OffsetAnswer> {
        let listed = self.list_offset_at(ctx, topic, partition, query, -1)?;
        Ok((listed.offset, listed.timestamp))
    }

    /// ListOffsets for one partition, after Kafka's check of the client's
    /// `current_leader_epoch` (-1: none given).
    pub fn list_offset_at(
        &self,
        ctx: &RequestContext,
        topic: &str,
        partition: i32,
        query: OffsetQuery,
        current_leader_epoch: i32,
    ) -> Result<ListedOffset> {
        self.authorize(ctx, Operation::Describe, Resource::Topic(topic))?;
        let part = self.partition(topic, partition)?;
        part.check_leader_epoch(current_leader_epoch)?;
        let offsets = part.offsets();
        let latest =
            |offset: u64| ListedOffset { offset: offset as i64, timestamp: -1, leader_epoch: part.latest_epoch() };
        Ok(match query {
            OffsetQuery::Earliest => ListedOffset {
                offset: offsets.log_start_offset as i64,
                timestamp: -1,
                leader_epoch: part.epoch_at_log_start(offsets.log_start_offset),
            },
            OffsetQuery::Latest => latest(offsets.high_watermark),
            OffsetQuery::LastStable => latest(part.last_stable_offset()),
            // Kafka answers -1 with epoch -1 where no tiered storage is enabled.
            OffsetQuery::LatestTiered | OffsetQuery::EarliestPendingUpload => ListedOffset::NONE,
            // The first batch whose largest timestamp is the log's largest holds the record.
            OffsetQuery::MaxTimestamp => match part.with_log(|log| log.max_timestamp()) {
                None => ListedOffset::NONE,
                Some((max, _)) => match part.with_log(|log| log.find_by_timestamp(max))? {
                    None => ListedOffset::NONE,
                    Some(batch) => first_record_at_or_after(batch, max, topic, partition)?,
                },
            },
            OffsetQuery::Timestamp(target) => match part.with_log(|log| log.find_by_timestamp(target))? {
                None => ListedOffset::NONE,
                Some(batch) => first_record_at_or_after(batch, target, topic, partition)?,
            },
        })
    }

    /// OffsetForLeaderEpoch for one partition: `(epoch, end offset)` of `leader_epoch`
    /// (see `LeaderEpochs::end_offset_for`), after the check of `current_leader_epoch`.
    pub fn end_offset_for_epoch(
        &self,
        ctx: &RequestContext,
        topic: &str,
        partition: i32,
        current_leader_epoch: i32,
        leader_epoch: i32,
    ) -> Result<(i32, i64)> {
        self.authorize(ctx, Operation::Describe, Resource::Topic(topic))?;
        let part = self.partition(topic, partition)?;
        part.check_leader_epoch(current_leader_epoch)?;
        Ok(part.end_offset_for_epoch(leader_epoch))
    }
}

#[cfg(test)]
mod tests {
    use kafka_protocol::records::Compression;

    use super::*;
    use crate::admin::NewTopic;
    use crate::config::BrokerConfig;
    use crate::test_support::encode_timestamped;

    fn broker() -> std::sync::Arc<Broker> {
        let b = Broker::in_memory(BrokerConfig::default());
        let topic = NewTopic { name: "t".into(), partitions: Some(1), ..Default::default() };
        b.create_topic(&RequestContext::local(), topic, false).unwrap();
        b
    }

    fn list(b: &Broker, query: OffsetQuery) -> ListedOffset {
        b.list_offset_at(&RequestContext::local(), "t", 0, query, -1).unwrap()
    }

    #[test]
    fn max_timestamp_is_the_first_record_holding_it_inside_its_batch() {
        let b = broker();
        let now = crate::broker::now_ms();
        assert_eq!(list(&b, OffsetQuery::MaxTimestamp), ListedOffset::NONE, "an empty log");
        for compression in [Compression::None, Compression::Zstd] {
            // offsets 0..4 then 4..8: the largest timestamp sits mid-batch, twice.
            let batch = [(Some("a"), now), (Some("b"), now + 30), (Some("c"), now + 10), (Some("d"), now + 30)];
            b.append(&RequestContext::local(), "t", 0, &encode_timestamped(&batch, compression)).unwrap();
        }
        let listed = list(&b, OffsetQuery::MaxTimestamp);
        assert_eq!(listed, ListedOffset { offset: 1, timestamp: now + 30, leader_epoch: 0 });
        let at = list(&b, OffsetQuery::Timestamp(now + 5));
        assert_eq!((at.offset, at.timestamp), (1, now + 30), "the first record at or after, in offset order");
        assert_eq!(list(&b, OffsetQuery::Timestamp(now + 31)), ListedOffset::NONE);
    }

    #[test]
    fn special_offsets_without_tiered_storage() {
        let b = broker();
        let now = crate::broker::now_ms();
        b.append(&RequestContext::local(), "t", 0, &encode_timestamped(&[(Some("a"), now)], Compression::None))
            .unwrap();
        let earliest = ListedOffset { offset: 0, timestamp: -1, leader_epoch: 0 };
        assert_eq!(list(&b, OffsetQuery::from_kafka(-2, false).unwrap()), earliest);
        assert_eq!(list(&b, OffsetQuery::from_kafka(-4, false).unwrap()), earliest, "earliest local");
        assert_eq!(list(&b, OffsetQuery::from_kafka(-1, false).unwrap()).offset, 1);
        assert_eq!(list(&b, OffsetQuery::from_kafka(-5, false).unwrap()), ListedOffset::NONE, "latest tiered");
        // -6, earliest pending upload (ListOffsets v11): nothing is uploaded without tiered storage.
        assert_eq!(list(&b, OffsetQuery::from_kafka(-6, false).unwrap()), ListedOffset::NONE, "pending upload");
        assert_eq!(OffsetQuery::from_kafka(-7, false), None);
    }

    #[test]
    fn the_current_leader_epoch_is_checked() {
        let b = broker();
        let at = |epoch| b.list_offset_at(&RequestContext::local(), "t", 0, OffsetQuery::Latest, epoch);
        assert!(at(0).is_ok() && at(-1).is_ok());
        assert!(matches!(at(1), Err(BrokerError::UnknownLeaderEpoch { given: 1, current: 0 })));
    }
}
