//! RecordBatch v2 framing: the header fields the log needs, read and patched in place.
//!
//! The log stores batches exactly as producers sent them. It only ever rewrites the
//! base offset and partition leader epoch, which lie outside the CRC-covered region,
//! so patching never invalidates the client's CRC. Record bodies are never decoded here.

use std::ops::Range;

/// Bytes before the CRC-covered part: base offset (8), batch length (4),
/// partition leader epoch (4), magic (1), crc (4).
const CRC_START: usize = 21;
/// Size of base offset + batch length: the part of a batch not counted in `batch_length`.
pub const LOG_OVERHEAD: usize = 12;
/// Full v2 header size, up to and including the record count.
pub const BATCH_HEADER_LEN: usize = 61;
/// The only batch format tidelog accepts.
pub const MAGIC_V2: i8 = 2;

const ATTR_COMPRESSION_MASK: i16 = 0x07;
const ATTR_LOG_APPEND_TIME: i16 = 0x08;
const ATTR_TRANSACTIONAL: i16 = 0x10;
const ATTR_CONTROL: i16 = 0x20;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BatchError {
    #[error("record batch truncated: need {needed} bytes, have {available}")]
    Truncated { needed: usize, available: usize },
    #[error("unsupported record batch magic {0}: expected 2")]
    UnsupportedMagic(i8),
    #[error("record batch length {0} is below the v2 header size")]
    BadLength(i32),
    #[error("record batch crc mismatch: header says {expected:#010x}, bytes give {actual:#010x}")]
    CrcMismatch { expected: u32, actual: u32 },
}

/// The fixed-size v2 header of one record batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    i32::from_be_bytes(a)
}
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}

impl BatchHeader {
    /// Parses the header at the start of `buf`. Checks magic and that the declared
    /// length can hold a header; does not check that the body is present.
    pub fn parse(buf: &[u8]) -> Result<Self, BatchError> {
        // Magic sits at byte 16; check it before demanding a full v2 header so that
        // a v0/v1 message set is reported as such rather than as truncated.
        if buf.len() > 16 && buf[16] as i8 != MAGIC_V2 {
            return Err(BatchError::UnsupportedMagic(buf[16] as i8));
        }
        if buf.len() < BATCH_HEADER_LEN {
            return Err(BatchError::Truncated { needed: BATCH_HEADER_LEN, available: buf.len() });
        }
        let header = BatchHeader {
            base_offset: be_i64(buf, 0),
            batch_length: be_i32(buf, 8),
            partition_leader_epoch: be_i32(buf, 12),
            magic: buf[16] as i8,
            crc: be_i32(buf, 17) as u32,
            attributes: be_i16(buf, 21),
            last_offset_delta: be_i32(buf, 23),
            base_timestamp: be_i64(buf, 27),
            max_timestamp: be_i64(buf, 35),
            producer_id: be_i64(buf, 43),
            producer_epoch: be_i16(buf, 51),
            base_sequence: be_i32(buf, 53),
            records_count: be_i32(buf, 57),
        };
        if (header.batch_length as i64) < (BATCH_HEADER_LEN - LOG_OVERHEAD) as i64 {
            return Err(BatchError::BadLength(header.batch_length));
        }
        Ok(header)
    }

    /// Bytes the whole batch occupies, header included.
    pub fn total_size(&self) -> usize {
        LOG_OVERHEAD + self.batch_length as usize
    }

    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }

    /// Compression codec id: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    pub fn compression(&self) -> i16 {
        self.attributes & ATTR_COMPRESSION_MASK
    }

    pub fn is_log_append_time(&self) -> bool {
        self.attributes & ATTR_LOG_APPEND_TIME != 0
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & ATTR_TRANSACTIONAL != 0
    }

    pub fn is_control(&self) -> bool {
        self.attributes & ATTR_CONTROL != 0
    }
}

/// Computes the CRC32C of the covered region and compares it with the header's.
pub fn verify_crc(batch: &[u8], header: &BatchHeader) -> Result<(), BatchError> {
    let end = header.total_size();
    if batch.len() < end {
        return Err(BatchError::Truncated { needed: end, available: batch.len() });
    }
    let actual = crc32c::crc32c(&batch[CRC_START..end]);
    if actual != header.crc {
        return Err(BatchError::CrcMismatch { expected: header.crc, actual });
    }
    Ok(())
}

/// The 17 bytes before the CRC with base offset and leader epoch replaced: written in
/// front of `batch[17..]` so the client's bytes are stored without an extra copy.
pub fn patched_prefix(batch: &[u8], base_offset: i64, leader_epoch: i32) -> [u8; 17] {
    let mut prefix = [0u8; 17];
    prefix.copy_from_slice(&batch[..17]);
    prefix[0..8].copy_from_slice(&base_offset.to_be_bytes());
    prefix[12..16].copy_from_slice(&leader_epoch.to_be_bytes());
    prefix
}

/// Marks a batch as timestamped by the broker (`message.timestamp.type=LogAppendTime`):
/// sets the timestamp-type attribute and the max timestamp, then recomputes the CRC.
pub fn stamp_log_append_time(batch: &mut [u8], now_ms: i64) -> Result<(), BatchError> {
    let header = BatchHeader::parse(batch)?;
    let end = header.total_size();
    if batch.len() < end {
        return Err(BatchError::Truncated { needed: end, available: batch.len() });
    }
    let attributes = header.attributes | ATTR_LOG_APPEND_TIME;
    batch[21..23].copy_from_slice(&attributes.to_be_bytes());
    batch[35..43].copy_from_slice(&now_ms.to_be_bytes());
    let crc = crc32c::crc32c(&batch[CRC_START..end]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
    Ok(())
}

/// Iterates over the whole batches at the start of `buf`, stopping silently at the first
/// incomplete one (a fetch boundary), and yielding an error for a malformed header.
pub fn batches(buf: &[u8]) -> impl Iterator<Item = Result<(BatchHeader, Range<usize>), BatchError>> + '_ {
    let mut pos = 0usize;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || buf.len() - pos < BATCH_HEADER_LEN {
            return None;
        }
        match BatchHeader::parse(&buf[pos..]) {
            Err(e) => {
                failed = true;
                Some(Err(e))
            }
            Ok(h) => {
                let end = pos + h.total_size();
                if end > buf.len() {
                    return None;
                }
                let range = pos..end;
                pos = end;
                Some(Ok((h, range)))
            }
        }
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub use crate::testing::make_batch;

    #[test]
    fn parses_and_verifies() {
        let b = make_batch(3, b"abc", 1000);
        let h = BatchHeader::parse(&b).unwrap();
        assert_eq!(h.records_count, 3);
        assert_eq!(h.last_offset_delta, 2);
        assert_eq!(h.total_size(), b.len());
        verify_crc(&b, &h).unwrap();
    }

    #[test]
    fn detects_corruption_and_bad_magic() {
        let mut b = make_batch(1, b"xyz", 1);
        let last = b.len() - 1;
        b[last] ^= 1;
        let h = BatchHeader::parse(&b).unwrap();
        assert!(matches!(verify_crc(&b, &h), Err(BatchError::CrcMismatch { .. })));
        b[16] = 1;
        assert_eq!(BatchHeader::parse(&b), Err(BatchError::UnsupportedMagic(1)));
    }

    #[test]
    fn patching_keeps_crc_valid() {
        let b = make_batch(2, b"hello", 5);
        let prefix = patched_prefix(&b, 42, 7);
        let mut patched = prefix.to_vec();
        patched.extend_from_slice(&b[17..]);
        let h = BatchHeader::parse(&patched).unwrap();
        assert_eq!((h.base_offset, h.partition_leader_epoch), (42, 7));
        verify_crc(&patched, &h).unwrap();
    }

    #[test]
    fn log_append_time_stamping_keeps_the_batch_valid() {
        let mut b = make_batch(2, b"xy", 5);
        stamp_log_append_time(&mut b, 777).unwrap();
        let h = BatchHeader::parse(&b).unwrap();
        assert!(h.is_log_append_time());
        assert_eq!(h.max_timestamp, 777);
        verify_crc(&b, &h).unwrap();
    }

    #[test]
    fn iterates_whole_batches_only() {
        let mut buf = make_batch(1, b"a", 1);
        buf.extend(make_batch(1, b"b", 2));
        let full = buf.len();
        buf.extend(&make_batch(1, b"c", 3)[..30]);
        let ranges: Vec<_> = batches(&buf).map(|r| r.unwrap().1).collect();
        assert_eq!(ranges.len(), 2);
        assert_eq!(ranges[1].end, full);
    }
}
