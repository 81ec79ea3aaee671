//! Restart and crash recovery of the file log: clean reopen, torn and corrupt tails,
//! missing and damaged indexes, rolling.

use std::io::Write;

use crate::batch::tests::make_batch;
use crate::batch::BatchHeader;
use crate::{FileLog, LogConfig, PartitionLog};

fn config() -> LogConfig {
    LogConfig { segment_bytes: 1000, segment_ms: None, index_interval_bytes: 150, ..LogConfig::default() }
}

/// Appends `n` one-record batches with 40-byte bodies and closes the log.
fn fill(dir: &std::path::Path, n: usize) -> Vec<Vec<u8>> {
    let mut log = FileLog::open(dir, config()).unwrap();
    let batches: Vec<Vec<u8>> = (0..n).map(|i| make_batch(1, &[i as u8; 40], i as i64)).collect();
    for b in &batches {
        let info = log.append(b, 0, 0).unwrap();
        log.advance_high_watermark(info.last_offset + 1);
    }
    log.close().unwrap();
    batches
}

fn assert_reads_all(log: &FileLog, batches: &[Vec<u8>]) {
    for (i, raw) in batches.iter().enumerate() {
        let bytes = log.read(i as u64, 1).unwrap();
        let h = BatchHeader::parse(&bytes).unwrap();
        assert_eq!(h.base_offset, i as i64);
        assert_eq!(&bytes[17..h.total_size()], &raw[17..]);
    }
}

fn last_segment(dir: &std::path::Path, ext: &str) -> std::path::PathBuf {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    paths.sort();
    paths.pop().unwrap()
}

#[test]
fn reopens_with_all_data_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let batches = fill(dir.path(), 50);
    let log = FileLog::open(dir.path(), config()).unwrap();
    assert!(log.segment_count() > 3, "segments: {}", log.segment_count());
    assert_eq!(log.offsets().log_end_offset, 50);
    assert_eq!(log.offsets().high_watermark, 50);
    assert_reads_all(&log, &batches);
}

#[test]
fn torn_tail_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let batches = fill(dir.path(), 20);
    let mut f = std::fs::OpenOptions::new().append(true).open(last_segment(dir.path(), "log")).unwrap();
    f.write_all(&make_batch(1, b"torn", 99)[..30]).unwrap();
    drop(f);
    let mut log = FileLog::open(dir.path(), config()).unwrap();
    assert_eq!(log.offsets().log_end_offset, 20);
    assert_reads_all(&log, &batches);
    // Appends continue cleanly after the cut.
    assert_eq!(log.append(&make_batch(1, b"next", 5), 0, 0).unwrap().base_offset, 20);
}

#[test]
fn corrupt_last_batch_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let batches = fill(dir.path(), 20);
    let path = last_segment(dir.path(), "log");
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let log = FileLog::open(dir.path(), config()).unwrap();
    assert_eq!(log.offsets().log_end_offset, 19);
    assert_reads_all(&log, &batches[..19]);
}

#[test]
fn missing_and_garbage_indexes_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let batches = fill(dir.path(), 40);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("index") => std::fs::remove_file(&path).unwrap(),
            Some("timeindex") => std::fs::write(&path, [0xAB; 12 * 3]).unwrap(),
            _ => {}
        }
    }
    let log = FileLog::open(dir.path(), config()).unwrap();
    assert_eq!(log.offsets().log_end_offset, 40);
    assert_reads_all(&log, &batches);
    assert!(last_segment(dir.path(), "index").exists());
    let found = log.find_by_timestamp(25).unwrap().unwrap();
    assert_eq!(BatchHeader::parse(&found).unwrap().base_offset, 25);
}

#[test]
fn index_pointing_past_data_is_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let batches = fill(dir.path(), 10);
    let log_path = last_segment(dir.path(), "log");
    let len = std::fs::metadata(&log_path).unwrap().len();
    // Data lost after the index was written (power loss): cut the log in half.
    std::fs::OpenOptions::new().write(true).open(&log_path).unwrap().set_len(len / 2).unwrap();
    let log = FileLog::open(dir.path(), config()).unwrap();
    let leo = log.offsets().log_end_offset as usize;
    assert!(leo < 10 && leo > 0, "log end offset {leo}");
    assert_reads_all(&log, &batches[..leo]);
}

#[test]
fn deleted_records_stay_deleted_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 30);
    let mut log = FileLog::open(dir.path(), config()).unwrap();
    log.delete_records_before(17).unwrap();
    drop(log);
    let log = FileLog::open(dir.path(), config()).unwrap();
    assert_eq!(log.offsets().log_start_offset, 17);
    assert!(log.read(16, 1).is_err());
}

#[test]
fn rolls_by_age() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig { segment_ms: Some(1000), ..config() };
    let mut log = FileLog::open(dir.path(), cfg).unwrap();
    log.append(&make_batch(1, b"a", 1), 0, 10_000).unwrap();
    log.roll_if_aged(10_500).unwrap();
    assert_eq!(log.segment_count(), 1);
    log.roll_if_aged(11_000).unwrap();
    assert_eq!(log.segment_count(), 2);
    assert_eq!(log.append(&make_batch(1, b"b", 2), 0, 11_001).unwrap().base_offset, 1);
}

/// Appends `n` batches without ever syncing and drops the log as a crash would: every
/// segment is past the recovery point.
fn fill_unsynced(dir: &std::path::Path, n: usize) -> Vec<Vec<u8>> {
    let mut log = FileLog::open(dir, config()).unwrap();
    let batches: Vec<Vec<u8>> = (0..n).map(|i| make_batch(1, &[i as u8; 40], i as i64)).collect();
    for b in &batches {
        log.append(b, 0, 0).unwrap();
    }
    batches
}

fn segment_paths(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn a_closed_segment_that_lost_its_data_ends_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let batches = fill_unsynced(dir.path(), 50);
    let paths = segment_paths(dir.path());
    assert!(paths.len() > 4, "segments: {}", paths.len());
    // A power cut kept the name of the third segment but none of its bytes.
    std::fs::OpenOptions::new().write(true).open(&paths[2]).unwrap().set_len(0).unwrap();
    let third_base: u64 = paths[2].file_stem().unwrap().to_str().unwrap().parse().unwrap();
    let mut log = FileLog::open(dir.path(), config()).unwrap();
    assert_eq!(log.offsets().log_end_offset, third_base, "no offset past the hole is reported");
    assert_eq!(log.offsets().high_watermark, third_base);
    assert_reads_all(&log, &batches[..third_base as usize]);
    assert_eq!(segment_paths(dir.path()).len(), 3, "later segments are deleted");
    // The next record gets the first lost offset: nothing after the hole was ever whole.
    assert_eq!(log.append(&make_batch(1, b"next", 5), 0, 0).unwrap().base_offset, third_base);
}

#[test]
fn a_torn_closed_segment_ends_the_log_at_its_last_whole_batch() {
    let dir = tempfile::tempdir().unwrap();
    let batches = fill_unsynced(dir.path(), 50);
    let paths = segment_paths(dir.path());
    let len = std::fs::metadata(&paths[1]).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&paths[1]).unwrap().set_len(len - 10).unwrap();
    let log = FileLog::open(dir.path(), config()).unwrap();
    let end = log.offsets().log_end_offset as usize;
    let second_base: usize = paths[1].file_stem().unwrap().to_str().unwrap().parse().unwrap();
    let third_base: usize = paths[2].file_stem().unwrap().to_str().unwrap().parse().unwrap();
    assert!(end > second_base && end < third_base, "log end offset {end}");
    assert_reads_all(&log, &batches[..end]);
    assert_eq!(segment_paths(dir.path()).len(), 2);
}

#[test]
fn segments_below_the_recovery_point_are_trusted_as_compaction_left_them() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 50);
    let mut log = FileLog::open(dir.path(), config()).unwrap();
    let base = log.closed_segments()[1].base_offset;
    let original = log.read_segment(base).unwrap().unwrap();
    let first = BatchHeader::parse(&original).unwrap().total_size();
    assert!(log.replace_segment(base, &original[..first]).unwrap());
    drop(log);
    let log = FileLog::open(dir.path(), config()).unwrap();
    assert_eq!(log.offsets().log_end_offset, 50, "a compacted segment's end is not a hole");
}

#[test]
fn segments_past_the_recovery_point_are_not_compacted() {
    let dir = tempfile::tempdir().unwrap();
    fill_unsynced(dir.path(), 50);
    let mut log = FileLog::open(dir.path(), config()).unwrap();
    let base = log.closed_segments()[1].base_offset;
    let original = log.read_segment(base).unwrap().unwrap();
    assert!(!log.replace_segment(base, &original[..10]).unwrap());
    log.prepare_sync().unwrap().run().unwrap();
    let first = BatchHeader::parse(&original).unwrap().total_size();
    assert!(log.replace_segment(base, &original[..first]).unwrap(), "fsynced segments are");
}

#[test]
fn logs_from_before_recovery_points_keep_their_closed_segments() {
    let dir = tempfile::tempdir().unwrap();
    fill_unsynced(dir.path(), 50);
    let _ = std::fs::remove_file(dir.path().join("recovery-point"));
    let paths = segment_paths(dir.path());
    let len = std::fs::metadata(&paths[1]).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&paths[1]).unwrap().set_len(len - 10).unwrap();
    let older = LogConfig { predates_recovery_points: true, ..config() };
    let log = FileLog::open(dir.path(), older).unwrap();
    assert_eq!(log.offsets().log_end_offset, 50, "written before recovery points: trusted as before");
    // The same log in a data directory that always kept recovery points is checked.
    drop(log);
    let log = FileLog::open(dir.path(), config()).unwrap();
    assert!(log.offsets().log_end_offset < 50, "a log never synced trusts no segment");
}
