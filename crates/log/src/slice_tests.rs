//! `read_records` of the file log locates exactly the bytes `read` returns, for every offset and budget,
//! across segments, index entries and the high watermark.

use crate::batch::tests::make_batch;
use crate::batch::{self, BatchHeader};
use crate::{FileLog, LogConfig, PartitionLog, Records};

#[test]
fn slices_match_reads_for_every_offset_and_budget() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { segment_bytes: 2000, segment_ms: None, index_interval_bytes: 150, ..LogConfig::default() };
    let mut log = FileLog::open(dir.path(), config).unwrap();
    // Batches of varied sizes and record counts, so index entries fall unevenly.
    for i in 0..120usize {
        let count = 1 + (i % 4) as i32;
        let info = log.append(&make_batch(count, &vec![i as u8; 10 + (i * 37) % 400], i as i64), 0, 0).unwrap();
        // Leave the last few batches above the high watermark.
        if i < 110 {
            log.advance_high_watermark(info.last_offset + 1);
        }
    }
    assert!(log.segment_count() > 10);
    let end = log.offsets().log_end_offset;
    for offset in 0..=end {
        for max_bytes in [1, 60, 200, 450, 700, 1900, 5000] {
            let read = log.read(offset, max_bytes).unwrap();
            let slice = match log.read_records(offset, max_bytes).unwrap() {
                Records::File(slice) => slice,
                Records::Memory(bytes) => {
                    assert!(bytes.is_empty() && read.is_empty(), "offset {offset} max {max_bytes}: no slice");
                    continue;
                }
            };
            let bytes = slice.read().unwrap();
            assert_eq!(bytes, read, "offset {offset} max {max_bytes}");
            let first = BatchHeader::parse(&bytes).unwrap();
            let last = batch::batches(&bytes).last().unwrap().unwrap().0;
            assert_eq!(slice.first_offset, first.base_offset as u64);
            assert_eq!(slice.next_offset, last.last_offset() as u64 + 1, "offset {offset} max {max_bytes}");
        }
    }
}
