//! Checks a produced record batch before it touches the log: framing, magic, CRC, size,
//! record count and timestamps. Uncompressed batches have their records walked (lengths
//! and offset deltas); compressed ones are stored as sent and never inflated here.

use tidelog_log::batch::{self, BatchHeader, BATCH_HEADER_LEN};

use crate::error::{BrokerError, Result};

/// Limits that apply to one topic.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub max_message_bytes: usize,
    pub timestamp_before_max_ms: i64,
    pub timestamp_after_max_ms: i64,
}

/// Validates the records of one partition in a produce request: exactly one v2 batch,
/// as Kafka requires of magic 2.
pub fn validate_batch(records: &[u8], limits: &BatchLimits, now_ms: i64) -> Result<BatchHeader> {
    let header = BatchHeader::parse(records).map_err(|e| match e {
        batch::BatchError::UnsupportedMagic(m) => {
            BrokerError::InvalidRecord(format!("unsupported magic {m}: tidelog stores record batch v2 only"))
        }
        other => BrokerError::CorruptMessage(other.to_string()),
    })?;
    let size = header.total_size();
    if size > limits.max_message_bytes {
        return Err(BrokerError::MessageTooLarge { size, max: limits.max_message_bytes });
    }
    if size != records.len() {
        return Err(if size < records.len() {
            BrokerError::InvalidRecord("more than one record batch for a partition".into())
        } else {
            BrokerError::CorruptMessage(format!("batch declares {size} bytes but {} were sent", records.len()))
        });
    }
    batch::verify_crc(records, &header).map_err(|e| BrokerError::CorruptMessage(e.to_string()))?;
    if header.records_count <= 0 || header.last_offset_delta != header.records_count - 1 {
        return Err(BrokerError::InvalidRecord(format!(
            "record count {} does not match last offset delta {}",
            header.records_count, header.last_offset_delta
        )));
    }
    if header.is_control() {
        return Err(BrokerError::InvalidRecord("clients may not produce control batches".into()));
    }
    if header.compression() == 0 {
        walk_records(&records[BATCH_HEADER_LEN..], header.records_count, |_, _| {})?;
    } else if header.compression() > 4 {
        return Err(BrokerError::InvalidRecord(format!("unknown compression codec {}", header.compression())));
    }
    check_timestamps(&header, limits, now_ms)?;
    Ok(header)
}

/// A compacted topic keeps the last record of each key, so a record without one has no
/// place in it: Kafka's `LogValidator` refuses the whole batch, naming every keyless
/// record by its index (KIP-467). Reads each key length in place in an uncompressed batch;
/// a compressed one is inflated, as Kafka does for compacted topics. Only those pay for it.
pub fn reject_keyless(records: &[u8], header: &BatchHeader, topic: &str, partition: i32) -> Result<()> {
    let keyless: Vec<usize> = if header.compression() == 0 {
        // Uncompressed: read each record's key length in place (validated already).
        let mut keyless = Vec::new();
        walk_records(&records[BATCH_HEADER_LEN..], header.records_count, |index, rest| {
            if varint(rest, &mut 0) == Some(-1) {
                keyless.push(index as usize);
            }
        })?;
        keyless
    } else {
        let mut buf = bytes::Bytes::copy_from_slice(records);
        let set = kafka_protocol::records::RecordBatchDecoder::decode(&mut buf)
            .map_err(|e| BrokerError::CorruptMessage(format!("records do not decode: {e}")))?;
        set.records.iter().enumerate().filter(|(_, r)| r.key.is_none()).map(|(i, _)| i).collect()
    };
    let record_errors: Vec<(i32, String)> = keyless
        .into_iter()
        .map(|i| {
            let message =
                format!("Compacted topic cannot accept message without key in topic partition {topic}-{partition}.");
            (i as i32, message)
        })
        .collect();
    if record_errors.is_empty() {
        return Ok(());
    }
    // Kafka's wording, down to the Java list of its first three `RecordError`s.
    let shown: Vec<String> = record_errors
        .iter()
        .take(3)
        .map(|(index, message)| format!("RecordError(batchIndex={index}, message='{message}')"))
        .collect();
    let message = format!(
        "One or more records have been rejected due to {} record errors in total, and only showing the first three errors at most: [{}]",
        record_errors.len(),
        shown.join(", ")
    );
    Err(BrokerError::RecordsRejected { message, record_errors })
}

fn check_timestamps(header: &BatchHeader, limits: &BatchLimits, now_ms: i64) -> Result<()> {
    if header.is_log_append_time() {
        return Ok(());
    }
    for ts in [header.base_timestamp, header.max_timestamp] {
        if ts < 0 && ts != -1 {
            return Err(BrokerError::InvalidTimestamp(format!("timestamp {ts} is negative")));
        }
    }
    let ts = header.max_timestamp;
    if ts >= 0 && now_ms.saturating_sub(ts) > limits.timestamp_before_max_ms {
        return Err(BrokerError::InvalidTimestamp(format!(
            "timestamp {ts} is more than message.timestamp.before.max.ms ({}) in the past",
            limits.timestamp_before_max_ms
        )));
    }
    if ts >= 0 && ts.saturating_sub(now_ms) > limits.timestamp_after_max_ms {
        return Err(BrokerError::InvalidTimestamp(format!(
            "timestamp {ts} is more than message.timestamp.after.max.ms ({}) in the future",
            limits.timestamp_after_max_ms
        )));
    }
    Ok(())
}

/// Reads a zig-zag varint; `None` on truncation or overlong encoding.
fn varint(buf: &[u8], pos: &mut usize) -> Option<i64> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        value |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            return Some(((value >> 1) as i64) ^ -((value & 1) as i64));
        }
    }
    None
}

/// Walks uncompressed records: each length must fit, offset deltas must run 0, 1, 2, ...
/// and the records must fill the batch exactly. `on_record` gets each record's index and
/// its bytes after the offset delta (key length first).
fn walk_records(body: &[u8], count: i32, mut on_record: impl FnMut(i64, &[u8])) -> Result<()> {
    let bad = |what: String| BrokerError::CorruptMessage(what);
    let mut pos = 0usize;
    for expected_delta in 0..count as i64 {
        let len = varint(body, &mut pos).ok_or_else(|| bad(format!("record {expected_delta}: unreadable length")))?;
        if len <= 0 || len as usize > body.len() - pos {
            return Err(bad(format!("record {expected_delta}: length {len} does not fit the batch")));
        }
        let record_end = pos + len as usize;
        let mut p = pos + 1; // attributes
        let ts_delta = varint(&body[..record_end], &mut p);
        let offset_delta = varint(&body[..record_end], &mut p);
        if ts_delta.is_none() || offset_delta != Some(expected_delta) {
            return Err(BrokerError::InvalidRecord(format!(
                "record {expected_delta}: offset delta {offset_delta:?} out of sequence"
            )));
        }
        on_record(expected_delta, &body[p..record_end]);
        pos = record_end;
    }
    if pos != body.len() {
        return Err(bad(format!("{} trailing bytes after {count} records", body.len() - pos)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::Compression;

    fn encode(n: usize, compression: Compression, ts: i64) -> Vec<u8> {
        crate::test_support::encode_batch(n, &[b'v'; 20], ts, compression)
    }

    fn limits() -> BatchLimits {
        BatchLimits { max_message_bytes: 1 << 20, timestamp_before_max_ms: i64::MAX, timestamp_after_max_ms: 3_600_000 }
    }

    #[test]
    fn accepts_real_batches_of_every_codec() {
        for c in [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd] {
            let b = encode(5, c, 1000);
            assert_eq!(validate_batch(&b, &limits(), 2000).unwrap().records_count, 5, "{c:?}");
        }
    }

    #[test]
    fn rejects_bad_crc_size_count_and_timestamps() {
        let mut b = encode(3, Compression::None, 1000);
        assert!(matches!(
            validate_batch(&b, &BatchLimits { max_message_bytes: 10, ..limits() }, 0),
            Err(BrokerError::MessageTooLarge { .. })
        ));
        assert!(validate_batch(&b, &limits(), 10_000_000).is_ok());
        assert!(matches!(validate_batch(&b, &limits(), -5_000_000), Err(BrokerError::InvalidTimestamp(_))));
        let last = b.len() - 1;
        b[last] ^= 1;
        assert!(matches!(validate_batch(&b, &limits(), 0), Err(BrokerError::CorruptMessage(_))));
        assert!(matches!(validate_batch(&b[..40], &limits(), 0), Err(BrokerError::CorruptMessage(_))));
    }

    #[test]
    fn compacted_topics_refuse_keyless_records_by_index() {
        use crate::test_support::encode_timestamped;
        for c in [Compression::None, Compression::Lz4] {
            let keyed = encode_timestamped(&[(Some("a"), 1), (Some("b"), 1)], c);
            let header = |b: &[u8]| BatchHeader::parse(b).unwrap();
            assert!(reject_keyless(&keyed, &header(&keyed), "t", 0).is_ok());
            let mixed = encode_timestamped(&[(Some("a"), 1), (None, 1), (Some("c"), 1), (None, 1)], c);
            let Err(BrokerError::RecordsRejected { message, record_errors }) =
                reject_keyless(&mixed, &header(&mixed), "t", 3)
            else {
                panic!("keyless records accepted");
            };
            let why = "Compacted topic cannot accept message without key in topic partition t-3.";
            assert_eq!(record_errors, vec![(1, why.to_string()), (3, why.to_string())]);
            assert!(message.starts_with("One or more records have been rejected due to 2 record errors in total"));
            assert!(message.ends_with(&format!("RecordError(batchIndex=3, message='{why}')]")), "{message}");
        }
    }

    #[test]
    fn rejects_absurd_record_counts() {
        let mut b = encode(2, Compression::None, 1000);
        // Claim a billion records and fix up the CRC so only the count is wrong.
        b[57..61].copy_from_slice(&1_000_000_000i32.to_be_bytes());
        b[23..27].copy_from_slice(&999_999_999i32.to_be_bytes());
        let crc = crc32c::crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        assert!(validate_batch(&b, &limits(), 0).is_err());
    }
}
