//! Records as (key, value, timestamp), for front-ends that never see a batch (Kinesis):
//! appended as one batch per call, read back with control records and aborted
//! transactions left out.

use bytes::Bytes;
use kafka_protocol::records::{Compression, RecordBatchDecoder};

use crate::access::{Operation, RequestContext, Resource};
use crate::broker::{now_ms, Broker, Produced};
use crate::error::{BrokerError, Result};

/// One stored record as a front-end without batches reads it.
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
        // `append` asks the authorizer.
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
    use crate::admin::NewTopic;
    use crate::config::BrokerConfig;

    #[test]
    fn records_are_read_and_written_without_batches() {
        let b = Broker::in_memory(BrokerConfig::default());
        let topic = NewTopic { name: "s".into(), partitions: Some(2), ..Default::default() };
        b.create_topic(&RequestContext::local(), topic, false).unwrap();
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
