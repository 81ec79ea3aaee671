//! Real record batches for unit tests.

use bytes::Bytes;
use kafka_protocol::records::Compression;

/// `count` records with keys `k0..`, the given value and timestamp, in one batch.
pub fn encode_batch(count: usize, value: &[u8], timestamp: i64, compression: Compression) -> Vec<u8> {
    let records: Vec<(Option<Bytes>, Option<Bytes>)> =
        (0..count).map(|i| (Some(Bytes::from(format!("k{i}"))), Some(Bytes::copy_from_slice(value)))).collect();
    crate::records::encode_batch(&records, timestamp, compression).expect("encodable test batch")
}

/// One batch of (key, timestamp) records, each with value `v`.
pub fn encode_timestamped(records: &[(Option<&str>, i64)], compression: Compression) -> Vec<u8> {
    use kafka_protocol::records::{Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (key, timestamp))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder keeps records in one batch while offset - sequence is constant.
            sequence: i as i32 - 1,
            timestamp: *timestamp,
            key: key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
            value: Some(Bytes::from_static(b"v")),
            headers: Default::default(),
        })
        .collect();
    let mut buf = bytes::BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, &records, &RecordEncodeOptions { version: 2, compression })
        .expect("encodable test batch");
    buf.to_vec()
}
