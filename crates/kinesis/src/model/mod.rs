//! The Kinesis view of topics: a stream is a topic, a shard is a partition owning an even
//! slice of the 128-bit hash-key space. Stream-only attributes (mode, tags, encryption,
//! enhanced metrics, consumers) live in the metadata log beside the topic and change only
//! through `settings`; records are read and written as (key, value, timestamp) so the
//! Kinesis front-end never sees a batch.

mod settings;
mod shards;

pub use settings::{StreamConsumer, StreamSettings, Transition, DEFAULT_RETENTION_HOURS};
pub use shards::{even_layout, plan_merge, plan_split, plan_uniform, ChildPlan, Shard, ShardAppend};

use bytes::Bytes;
use kafka_protocol::records::{Compression, RecordBatchDecoder};

use crate::access::{Operation, RequestContext, Resource};
use crate::broker::{now_ms, Broker, Produced};
use crate::error::{BrokerError, Result};

/// The first hash key of shard `index` of `count`: `floor(2^128 * index / count)`.
pub fn shard_start(index: usize, count: usize) -> u128 {
    if index == 0 || count == 0 {
        return 0;
    }
    let n = count as u128;
    let (q, r) = (u128::MAX / n, u128::MAX % n);
    // 2^128 = q·n + r + 1, so 2^128·i/n = q·i + (r+1)·i/n, and (r+1)·i cannot overflow.
    q * index as u128 + (r + 1) * index as u128 / n
}

/// The inclusive hash-key range of each of `count` shards, splitting 2^128 evenly.
pub fn shard_ranges(count: usize) -> Vec<(u128, u128)> {
    (0..count)
        .map(|i| {
            let end = if i + 1 == count { u128::MAX } else { shard_start(i + 1, count) - 1 };
            (shard_start(i, count), end)
        })
        .collect()
}

/// One stored record as the Kinesis view reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub offset: u64,
    pub timestamp: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
}

/// A bounded read of committed records.
#[derive(Debug, Clone, Default)]
pub struct RecordsRead {
    pub records: Vec<StoredRecord>,
    /// Where the next read continues.
    pub next_offset: u64,
    pub high_watermark: u64,
    pub log_start_offset: u64,
}

impl Broker {
    /// Appends `(key, value)` records to one partition as one batch stamped `now`.
    pub fn append_records(
        &self,
        ctx: &RequestContext,
        topic: &str,
        partition: i32,
        records: &[(Option<Bytes>, Option<Bytes>)],
    ) -> Result<Produced> {
        self.authorize(ctx, Operation::Write, Resource::Topic(topic))?;
        let batch = crate::records::encode_batch(records, now_ms(), Compression::None)?;
        self.append(ctx, topic, partition, &batch)
    }

    /// Committed records from `offset`: at most `max_records`, and stopping after the batch
    /// that crosses `max_bytes`. Control records and aborted transactions are left out.
    pub fn read_records(
        &self,
        ctx: &RequestContext,
        topic: &str,
        partition: i32,
        offset: u64,
        max_records: usize,
        max_bytes: usize,
    ) -> Result<RecordsRead> {
        self.authorize(ctx, Operation::Read, Resource::Topic(topic))?;
        let part = self.partition(topic, partition)?;
        let read = part.read_isolated(offset, max_bytes, true)?;
        let mut out = RecordsRead {
            records: Vec::new(),
            next_offset: offset,
            high_watermark: read.last_stable_offset,
            log_start_offset: read.offsets.log_start_offset,
        };
        let mut bytes = read.records;
        while !bytes.is_empty() && out.records.len() < max_records {
            let set = RecordBatchDecoder::decode(&mut bytes).map_err(|e| {
                BrokerError::Storage(format!("stored batch of {topic}-{partition} does not decode: {e}"))
            })?;
            for r in set.records {
                if (r.offset as u64) < out.next_offset {
                    continue;
                }
                if out.records.len() == max_records {
                    break;
                }
                out.next_offset = r.offset as u64 + 1;
                let aborted = r.transactional
                    && read.aborted.iter().any(|a| {
                        a.producer_id == r.producer_id
                            && a.first_offset <= r.offset as u64
                            && (r.offset as u64) < a.last_offset
                    });
                if r.control || aborted {
                    continue;
                }
                out.records.push(StoredRecord {
                    offset: r.offset as u64,
                    timestamp: r.timestamp,
                    key: r.key,
                    value: r.value,
                });
            }
        }
        let bytes: usize = out.records.iter().map(|r| r.value.as_ref().map_or(0, |v| v.len())).sum();
        part.meters().read_records(bytes as u64, out.records.len() as u64);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::RequestContext;
    use crate::config::BrokerConfig;

    #[test]
    fn ranges_split_the_hash_space_evenly_and_route_every_key() {
        let ranges = shard_ranges(4);
        assert_eq!(ranges[0], (0, (1u128 << 126) - 1));
        assert_eq!(ranges[3], (3u128 << 126, u128::MAX));
        for count in [1usize, 3, 7, 10] {
            let ranges = shard_ranges(count);
            assert_eq!(ranges.first().unwrap().0, 0);
            assert_eq!(ranges.last().unwrap().1, u128::MAX);
            for w in ranges.windows(2) {
                assert_eq!(w[0].1 + 1, w[1].0);
            }
            assert!(ranges.iter().all(|(start, end)| start <= end));
        }
    }

    #[test]
    fn streams_read_and_write_records() {
        let b = Broker::in_memory(BrokerConfig::default());
        b.create_stream(&RequestContext::local(), "s", 2, false, Default::default()).unwrap();
        let settings = b.stream_settings("s").unwrap();
        assert!(settings.created_ms > 0 && !settings.on_demand);
        let records = [
            (Some(Bytes::from_static(b"k")), Some(Bytes::from_static(b"v1"))),
            (None, Some(Bytes::from_static(b"v2"))),
        ];
        b.append_records(&RequestContext::local(), "s", 1, &records).unwrap();
        let read = b.read_records(&RequestContext::local(), "s", 1, 0, 1, 1 << 20).unwrap();
        assert_eq!((read.records.len(), read.next_offset, read.high_watermark), (1, 1, 2));
        let read = b.read_records(&RequestContext::local(), "s", 1, 1, 100, 1 << 20).unwrap();
        assert_eq!(read.records[0].value.as_deref(), Some(&b"v2"[..]));
        assert_eq!(read.next_offset, 2);
    }
}
