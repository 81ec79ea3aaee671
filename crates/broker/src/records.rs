//! Builds record batches in the stored format (RecordBatch v2) with the `kafka-protocol`
//! encoder: the broker's own records (`__consumer_offsets`, `__transaction_state`,
//! transaction markers) and test data.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use crate::error::{BrokerError, Result};

/// Who wrote a batch: no producer, or a (transactional) producer id and epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchProducer {
    pub id: i64,
    pub epoch: i16,
    /// First sequence, -1 for none (the broker's own writes).
    pub base_sequence: i32,
    pub transactional: bool,
    pub control: bool,
}

impl BatchProducer {
    pub const NONE: BatchProducer =
        BatchProducer { id: -1, epoch: -1, base_sequence: -1, transactional: false, control: false };
}

/// One batch of (key, value) records, all with `timestamp`, no producer id.
pub fn encode_batch(
    records: &[(Option<Bytes>, Option<Bytes>)],
    timestamp: i64,
    compression: Compression,
) -> Result<Vec<u8>> {
    encode_batch_as(BatchProducer::NONE, records, timestamp, compression)
}

/// One batch of (key, value) records written by `producer`.
pub fn encode_batch_as(
    producer: BatchProducer,
    records: &[(Option<Bytes>, Option<Bytes>)],
    timestamp: i64,
    compression: Compression,
) -> Result<Vec<u8>> {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: producer.transactional,
            control: producer.control,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: producer.id,
            producer_epoch: producer.epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder keeps records in one batch while offset - sequence is constant.
            sequence: producer.base_sequence.wrapping_add(i as i32),
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

/// How a transaction ended, as written in its control records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Abort,
    Commit,
}

/// A control batch holding one end-transaction marker: key = version 0 + type
/// (0 abort, 1 commit), value = version 0 + coordinator epoch, as Kafka writes them.
pub fn encode_marker(producer_id: i64, epoch: i16, marker: Marker, timestamp: i64) -> Result<Vec<u8>> {
    let kind: i16 = match marker {
        Marker::Abort => 0,
        Marker::Commit => 1,
    };
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&kind.to_be_bytes());
    let mut value = Vec::with_capacity(6);
    value.extend_from_slice(&0i16.to_be_bytes());
    value.extend_from_slice(&0i32.to_be_bytes());
    let producer = BatchProducer { id: producer_id, epoch, base_sequence: -1, transactional: true, control: true };
    encode_batch_as(producer, &[(Some(key.into()), Some(value.into()))], timestamp, Compression::None)
}

/// The marker a stored control batch carries; `None` for anything else.
pub fn decode_marker(batch: &[u8]) -> Option<Marker> {
    let mut buf = Bytes::copy_from_slice(batch);
    let set = RecordBatchDecoder::decode(&mut buf).ok()?;
    let key = set.records.first()?.key.as_ref()?;
    match key.get(..4)? {
        [0, 0, 0, 0] => Some(Marker::Abort),
        [0, 0, 0, 1] => Some(Marker::Commit),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_as_control_batches() {
        for marker in [Marker::Abort, Marker::Commit] {
            let batch = encode_marker(42, 3, marker, 1000).unwrap();
            let header = tidelog_log::BatchHeader::parse(&batch).unwrap();
            assert!(header.is_control() && header.is_transactional());
            assert_eq!((header.producer_id, header.producer_epoch, header.base_sequence), (42, 3, -1));
            assert_eq!(decode_marker(&batch), Some(marker));
        }
        let plain = encode_batch(&[(None, Some(Bytes::from_static(b"v")))], 1, Compression::None).unwrap();
        assert_eq!(decode_marker(&plain), None);
        assert_eq!(decode_marker(b"garbage"), None);
    }
}
