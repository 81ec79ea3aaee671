//! Real record batches for unit tests, built with the `kafka-protocol` encoder.

use bytes::BytesMut;
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};

/// `count` records with keys `k0..`, the given value and timestamp, in one batch.
pub fn encode_batch(count: usize, value: &[u8], timestamp: i64, compression: Compression) -> Vec<u8> {
    let records: Vec<Record> = (0..count)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder groups records into one batch while offset - sequence is constant;
            // this keeps it constant and the batch's base sequence at -1 (not idempotent).
            sequence: i as i32 - 1,
            timestamp,
            key: Some(format!("k{i}").into_bytes().into()),
            value: Some(value.to_vec().into()),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, &records, &RecordEncodeOptions { version: 2, compression })
        .expect("encodable test batch");
    buf.to_vec()
}
