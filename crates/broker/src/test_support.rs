//! Real record batches for unit tests.

use bytes::Bytes;
use kafka_protocol::records::Compression;

/// `count` records with keys `k0..`, the given value and timestamp, in one batch.
pub fn encode_batch(count: usize, value: &[u8], timestamp: i64, compression: Compression) -> Vec<u8> {
    let records: Vec<(Option<Bytes>, Option<Bytes>)> =
        (0..count).map(|i| (Some(Bytes::from(format!("k{i}"))), Some(Bytes::copy_from_slice(value)))).collect();
    crate::records::encode_batch(&records, timestamp, compression).expect("encodable test batch")
}
