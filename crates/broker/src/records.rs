//! Builds record batches in the stored format (RecordBatch v2) with the `kafka-protocol`
//! encoder: the broker's own records (`__consumer_offsets`) and test data.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};

use crate::error::{BrokerError, Result};

/// One batch of (key, value) records, all with `timestamp`, no producer id.
pub fn encode_batch(
    records: &[(Option<Bytes>, Option<Bytes>)],
    timestamp: i64,
    compression: Compression,
) -> Result<Vec<u8>> {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder keeps records in one batch while offset - sequence is constant;
            // this keeps it constant with the batch's base sequence at -1 (no producer).
            sequence: i as i32 - 1,
            timestamp,
            key: key.clone(),
            value: value.clone(),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, &records, &RecordEncodeOptions { version: 2, compression })
        .map_err(|e| BrokerError::Storage(format!("encoding a record batch: {e}")))?;
    Ok(buf.to_vec())
}
