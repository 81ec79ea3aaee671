//! ListOffsets: earliest, latest, max timestamp, and the first offset at or after a
//! timestamp. Only the timestamp lookup looks inside a batch (decompressing it if needed)
//! to find the exact record, as Kafka answers.

use kafka_protocol::records::RecordBatchDecoder;

use crate::access::{Operation, RequestContext, Resource};
use crate::broker::Broker;
use crate::error::{BrokerError, Result};

/// What ListOffsets asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetQuery {
    Earliest,
    Latest,
    /// Latest for read_committed consumers: the last stable offset.
    LastStable,
    MaxTimestamp,
    /// First record with timestamp ≥ this.
    Timestamp(i64),
}

impl OffsetQuery {
    /// Kafka's encoding: -1 latest, -2 earliest, -3 max timestamp, -4 earliest local;
    /// latest means the last stable offset for read_committed clients.
    pub fn from_kafka(timestamp: i64, read_committed: bool) -> Option<Self> {
        match timestamp {
            -1 if read_committed => Some(OffsetQuery::LastStable),
            -1 => Some(OffsetQuery::Latest),
            -2 | -4 => Some(OffsetQuery::Earliest),
            -3 => Some(OffsetQuery::MaxTimestamp),
            t if t >= 0 => Some(OffsetQuery::Timestamp(t)),
            _ => None,
        }
    }
}

/// `(offset, timestamp)`; `(-1, -1)` when no record matches.
pub type OffsetAnswer = (i64, i64);

impl Broker {
    pub fn list_offset(
        &self,
        ctx: &RequestContext,
        topic: &str,
        partition: i32,
        query: OffsetQuery,
    ) -> Result<OffsetAnswer> {
        self.authorize(ctx, Operation::Describe, Resource::Topic(topic))?;
        let part = self.partition(topic, partition)?;
        let offsets = part.offsets();
        Ok(match query {
            OffsetQuery::Earliest => (offsets.log_start_offset as i64, -1),
            OffsetQuery::Latest => (offsets.high_watermark as i64, -1),
            OffsetQuery::LastStable => (part.last_stable_offset() as i64, -1),
            OffsetQuery::MaxTimestamp => {
                part.with_log(|log| log.max_timestamp()).map_or((-1, -1), |(ts, offset)| (offset as i64, ts))
            }
            OffsetQuery::Timestamp(target) => {
                let Some(batch) = part.with_log(|log| log.find_by_timestamp(target))? else {
                    return Ok((-1, -1));
                };
                let mut buf = batch;
                let set = RecordBatchDecoder::decode(&mut buf).map_err(|e| {
                    BrokerError::Storage(format!("stored batch of {topic}-{partition} does not decode: {e}"))
                })?;
                set.records.iter().find(|r| r.timestamp >= target).map_or((-1, -1), |r| (r.offset, r.timestamp))
            }
        })
    }
}
