//! One behavioural suite for every `PartitionLog`: the file log, its in-memory twin and
//! any log written later (a tiered or replicated one, in any crate) must pass the same
//! checks. Enabled for other crates by the `testing` feature:
//!
//! ```ignore
//! tidelog_log::testing::run(|config| Box::new(MyLog::new(config)));
//! ```
//!
//! Recovery checks that only make sense on disk live in the file log's own tests.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::batch::BatchHeader;
use crate::{AppendInfo, LogConfig, LogError, PartitionLog};

/// A minimal valid v2 batch: `count` records' worth of header fields around `body`.
pub fn make_batch(count: i32, body: &[u8], timestamp: i64) -> Vec<u8> {
    use crate::batch::{BATCH_HEADER_LEN, LOG_OVERHEAD};
    let mut b = vec![0u8; BATCH_HEADER_LEN];
    let len = (BATCH_HEADER_LEN - LOG_OVERHEAD + body.len()) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    b[12..16].copy_from_slice(&(-1i32).to_be_bytes());
    b[16] = 2;
    b[23..27].copy_from_slice(&(count - 1).to_be_bytes());
    b[27..35].copy_from_slice(&timestamp.to_be_bytes());
    b[35..43].copy_from_slice(&timestamp.to_be_bytes());
    b[43..51].copy_from_slice(&(-1i64).to_be_bytes());
    b[51..53].copy_from_slice(&(-1i16).to_be_bytes());
    b[53..57].copy_from_slice(&(-1i32).to_be_bytes());
    b[57..61].copy_from_slice(&count.to_be_bytes());
    b.extend_from_slice(body);
    // The CRC covers everything from the attributes on.
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

/// The settings every check expects: segments small enough that a few batches roll them.
pub fn small_segments() -> LogConfig {
    LogConfig { segment_bytes: 300, segment_ms: None, index_interval_bytes: 100, ..LogConfig::default() }
}

fn append_committed(log: &mut dyn PartitionLog, batch: &[u8]) -> AppendInfo {
    let info = log.append(batch, 3, 0).unwrap();
    log.advance_high_watermark(info.last_offset + 1);
    info
}

/// One check of the suite: it gets a fresh log made with [`small_segments`].
pub type Check = fn(&mut dyn PartitionLog);

/// Every check, by name.
pub const CHECKS: &[(&str, Check)] = &[
    ("offsets_are_assigned_consecutively", offsets_are_assigned_consecutively),
    ("reads_return_stored_batches_with_offsets_filled_in", reads_return_stored_batches_with_offsets_filled_in),
    ("reads_stop_at_high_watermark_and_reject_out_of_range", reads_stop_at_high_watermark_and_reject_out_of_range),
    ("max_bytes_still_returns_one_whole_batch", max_bytes_still_returns_one_whole_batch),
    ("finds_batches_by_timestamp_and_max_timestamp", finds_batches_by_timestamp_and_max_timestamp),
    ("scans_headers_and_keeps_checkpoints", scans_headers_and_keeps_checkpoints),
    ("retention_and_record_deletion_move_the_log_start", retention_and_record_deletion_move_the_log_start),
    ("closed_segments_can_be_replaced_and_stay_readable", closed_segments_can_be_replaced_and_stay_readable),
    ("truncation_removes_whole_batches_from_the_cut_on", truncation_removes_whole_batches_from_the_cut_on),
    ("replica_appends_keep_the_leaders_offsets_and_epochs", replica_appends_keep_the_leaders_offsets_and_epochs),
];

/// Runs the whole suite: each check on a fresh log from `new_log`, then the property
/// check on many more. Panics, naming the check, at the first failure.
pub fn run(mut new_log: impl FnMut(LogConfig) -> Box<dyn PartitionLog>) {
    for (name, check) in CHECKS {
        let mut log = new_log(small_segments());
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(log.as_mut())));
        if let Err(panic) = outcome {
            eprintln!("log suite check '{name}' failed");
            std::panic::resume_unwind(panic);
        }
    }
    read_after_append_returns_same_bytes(&mut new_log);
}

pub fn offsets_are_assigned_consecutively(log: &mut dyn PartitionLog) {
    let a = append_committed(log, &make_batch(3, b"aaa", 10));
    let b = append_committed(log, &make_batch(2, b"bb", 20));
    assert_eq!((a.base_offset, a.last_offset), (0, 2));
    assert_eq!((b.base_offset, b.last_offset), (3, 4));
    let o = log.offsets();
    assert_eq!((o.log_start_offset, o.high_watermark, o.log_end_offset), (0, 5, 5));
}

pub fn reads_return_stored_batches_with_offsets_filled_in(log: &mut dyn PartitionLog) {
    let original = make_batch(2, b"payload", 7);
    append_committed(log, &make_batch(1, b"x", 1));
    append_committed(log, &original);
    let bytes = log.read(2, 1 << 20).unwrap();
    let h = BatchHeader::parse(&bytes).unwrap();
    assert_eq!((h.base_offset, h.partition_leader_epoch), (1, 3));
    assert_eq!(&bytes[17..h.total_size()], &original[17..]);
    crate::batch::verify_crc(&bytes, &h).unwrap();
}

pub fn reads_stop_at_high_watermark_and_reject_out_of_range(log: &mut dyn PartitionLog) {
    append_committed(log, &make_batch(1, b"x", 1));
    log.append(&make_batch(1, b"y", 2), 0, 0).unwrap(); // not yet committed
    assert_eq!(log.offsets().high_watermark, 1);
    assert!(log.read(1, 1 << 20).unwrap().is_empty());
    let first = log.read(0, 1 << 20).unwrap();
    assert_eq!(BatchHeader::parse(&first).unwrap().total_size(), first.len());
    assert!(matches!(log.read(5, 100), Err(LogError::OffsetOutOfRange { offset: 5, .. })));
}

pub fn max_bytes_still_returns_one_whole_batch(log: &mut dyn PartitionLog) {
    let big = make_batch(1, &[7u8; 200], 1);
    append_committed(log, &big);
    append_committed(log, &make_batch(1, b"z", 2));
    let bytes = log.read(0, 10).unwrap();
    assert_eq!(bytes.len(), big.len());
}

pub fn finds_batches_by_timestamp_and_max_timestamp(log: &mut dyn PartitionLog) {
    for (i, ts) in [100, 300, 200, 400].iter().enumerate() {
        append_committed(log, &make_batch(1, format!("r{i}").as_bytes(), *ts));
    }
    let found = log.find_by_timestamp(250).unwrap().unwrap();
    assert_eq!(BatchHeader::parse(&found).unwrap().base_offset, 1);
    assert!(log.find_by_timestamp(401).unwrap().is_none());
    let first = log.find_by_timestamp(0).unwrap().unwrap();
    assert_eq!(BatchHeader::parse(&first).unwrap().base_offset, 0);
    assert_eq!(log.max_timestamp(), Some((400, 3)));
}

pub fn scans_headers_and_keeps_checkpoints(log: &mut dyn PartitionLog) {
    for i in 0..6 {
        append_committed(log, &make_batch(2, &[i; 30], i as i64));
    }
    let mut bases = Vec::new();
    log.scan_headers(5, &mut |h| bases.push(h.base_offset)).unwrap();
    assert_eq!(bases, vec![4, 6, 8, 10]);
    assert_eq!(log.read_checkpoint("state").unwrap(), None);
    log.write_checkpoint("state", b"one").unwrap();
    log.write_checkpoint("state", b"two").unwrap();
    assert_eq!(log.read_checkpoint("state").unwrap().as_deref(), Some(&b"two"[..]));
}

pub fn retention_and_record_deletion_move_the_log_start(log: &mut dyn PartitionLog) {
    for ts in 0..12 {
        append_committed(log, &make_batch(1, &[7; 60], ts * 1000));
    }
    assert!(log.apply_retention(20_000, Some(100_000), None).unwrap() == 0, "nothing old enough");
    let deleted = log.apply_retention(20_000, Some(15_500), None).unwrap();
    assert!(deleted > 0);
    let start = log.offsets().log_start_offset;
    assert!(start > 0 && start <= 5, "log start {start}");
    assert!(matches!(log.read(0, 100), Err(LogError::OffsetOutOfRange { .. })));
    assert_eq!(BatchHeader::parse(&log.read(start, 100).unwrap()).unwrap().base_offset as u64, start);
    log.apply_retention(20_000, None, Some(250)).unwrap();
    // Whole segments go: what stays is under the limit plus one segment (300 bytes).
    assert!(log.size_bytes() < 250 + 300, "size {}", log.size_bytes());
    assert_eq!(log.delete_records_before(10).unwrap(), 10);
    assert_eq!(log.offsets().log_start_offset, 10);
    assert!(matches!(log.read(9, 100), Err(LogError::OffsetOutOfRange { .. })));
    assert!(log.delete_records_before(13).is_err(), "beyond the high watermark");
    assert_eq!(log.offsets().log_end_offset, 12, "appends are unaffected");
}

pub fn closed_segments_can_be_replaced_and_stay_readable(log: &mut dyn PartitionLog) {
    for i in 0..8u8 {
        append_committed(log, &make_batch(1, &[i; 100], i as i64));
    }
    let closed = log.closed_segments();
    assert!(closed.len() >= 2);
    // Only segments known to be whole (fsynced) are rewritten.
    log.prepare_sync().unwrap().run().unwrap();
    let base = closed[0].base_offset;
    let original = log.read_segment(base).unwrap().unwrap();
    // Keep only the segment's first batch.
    let first = BatchHeader::parse(&original).unwrap().total_size();
    assert!(log.replace_segment(base, &original[..first]).unwrap());
    assert_eq!(log.read_segment(base).unwrap().unwrap().len(), first);
    let active_base = log.offsets().log_end_offset - 1;
    assert!(!log.replace_segment(active_base, &original[..first]).unwrap(), "the active segment is never replaced");
    // Reads skip what was removed and go on in later segments.
    let next = log.read(base + 1, 1).unwrap();
    assert!(BatchHeader::parse(&next).unwrap().base_offset as u64 > base);
    assert_eq!(log.offsets().log_end_offset, 8);
}

pub fn truncation_removes_whole_batches_from_the_cut_on(log: &mut dyn PartitionLog) {
    for i in 0..12u8 {
        append_committed(log, &make_batch(2, &[i; 50], i as i64));
    }
    log.truncate_to(15).unwrap();
    let o = log.offsets();
    assert_eq!((o.log_end_offset, o.high_watermark), (14, 14), "the batch holding 14..=15 goes whole");
    assert_eq!(BatchHeader::parse(&log.read(12, 1).unwrap()).unwrap().base_offset, 12);
    assert_eq!(log.append(&make_batch(1, b"after", 99), 0, 0).unwrap().base_offset, 14);
    log.truncate_to(0).unwrap();
    assert_eq!(log.offsets().log_end_offset, 0);
    assert_eq!(log.append(&make_batch(1, b"again", 1), 0, 0).unwrap().base_offset, 0);
    log.truncate_to(100).unwrap();
    assert_eq!(log.offsets().log_end_offset, 1, "truncating past the end changes nothing");
}

pub fn replica_appends_keep_the_leaders_offsets_and_epochs(log: &mut dyn PartitionLog) {
    let mut leader = crate::MemoryLog::new();
    leader.append(&make_batch(2, b"a", 1), 7, 0).unwrap();
    leader.append(&make_batch(3, b"b", 2), 8, 0).unwrap();
    leader.advance_high_watermark(5);
    let copied = leader.read(0, 1 << 20).unwrap();
    for item in crate::batch::batches(&copied) {
        let (_, range) = item.unwrap();
        log.append_replica(&copied[range], 0).unwrap();
    }
    log.advance_high_watermark(5);
    let second = log.read(2, 1).unwrap();
    let h = BatchHeader::parse(&second).unwrap();
    assert_eq!((h.base_offset, h.partition_leader_epoch), (2, 8));
    // A compacted leader may skip offsets; a batch behind the log end is refused.
    let mut gap = make_batch(1, b"c", 3);
    gap[..8].copy_from_slice(&9i64.to_be_bytes());
    assert_eq!(log.append_replica(&gap, 0).unwrap().base_offset, 9);
    assert_eq!(log.offsets().log_end_offset, 10);
    assert!(matches!(log.append_replica(&copied, 0), Err(LogError::ReplicaBehind { offset: 0, .. })));
}

/// Property: offsets strictly increase and a read from any batch's base offset returns
/// that batch first, byte for byte after the offset fields.
pub fn read_after_append_returns_same_bytes(new_log: &mut dyn FnMut(LogConfig) -> Box<dyn PartitionLog>) {
    let mut runner = TestRunner::new(Config { cases: 32, ..Config::default() });
    // The runner takes a `Fn`; each case still gets a log of its own.
    let new_log = std::cell::RefCell::new(new_log);
    let strategy = prop::collection::vec((1i32..5, prop::collection::vec(any::<u8>(), 0..120)), 1..40);
    runner
        .run(&strategy, |batches| {
            let mut log = (new_log.borrow_mut())(small_segments());
            let log = log.as_mut();
            let mut appended = Vec::new();
            let mut expected_next = 0;
            for (count, body) in &batches {
                let raw = make_batch(*count, body, 1);
                let info = append_committed(log, &raw);
                assert_eq!(info.base_offset, expected_next);
                expected_next = info.last_offset + 1;
                appended.push((info, raw));
            }
            for (info, raw) in &appended {
                let bytes = log.read(info.base_offset, 1).unwrap();
                let h = BatchHeader::parse(&bytes).unwrap();
                assert_eq!(h.base_offset as u64, info.base_offset);
                assert_eq!(&bytes[17..h.total_size()], &raw[17..]);
            }

            Ok(())
        })
        .unwrap();
}
