//! Regression guard for the produce and fetch hot path: batch validation, appending to a
//! segmented log, and reading by offset through the index. `cargo bench -p tidelog-broker`
//! times them on a developer's machine; CI only builds them (timings on a shared CI
//! machine would be noise). The benchmark runner (`tidelog-bench`) measures the broker.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kafka_protocol::records::Compression;
use tidelog_broker::records::encode_batch;
use tidelog_broker::{validate_batch, BatchLimits};
use tidelog_log::{FileLog, LogConfig, PartitionLog};

const RECORDS: usize = 16;
const RECORD_BYTES: usize = 1024;
const NOW_MS: i64 = 1_700_000_000_000;

/// 16 records of 1 KiB, as a client with a small linger would send them.
fn client_batch() -> Vec<u8> {
    let value = Bytes::from(vec![b'x'; RECORD_BYTES]);
    let records: Vec<_> = (0..RECORDS).map(|i| (Some(Bytes::from(format!("key-{i}"))), Some(value.clone()))).collect();
    encode_batch(&records, NOW_MS, Compression::None).expect("encodable batch")
}

fn limits() -> BatchLimits {
    BatchLimits { max_message_bytes: 1 << 20, timestamp_before_max_ms: i64::MAX, timestamp_after_max_ms: i64::MAX }
}

fn validation(c: &mut Criterion) {
    let batch = client_batch();
    let mut group = c.benchmark_group("validate_batch");
    group.throughput(Throughput::Bytes(batch.len() as u64));
    group.bench_function("16 x 1 KiB, uncompressed", |b| {
        b.iter(|| validate_batch(black_box(&batch), &limits(), NOW_MS).expect("valid"))
    });
    group.finish();
}

/// Appends without fsync (acks=1), starting a fresh log every 4,096 batches so the
/// bench's disk use stays bounded (64 MiB).
fn append(c: &mut Criterion) {
    const PER_LOG: u64 = 4096;
    let batch = client_batch();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("append");
    group.throughput(Throughput::Bytes(batch.len() as u64));
    group.bench_function("16 x 1 KiB to a file log", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let path = dir.path().join(format!("log-{done}"));
                let mut log = FileLog::open(&path, LogConfig::default()).expect("log opens");
                let n = PER_LOG.min(iters - done);
                let started = Instant::now();
                for _ in 0..n {
                    black_box(log.append(&batch, 0, NOW_MS).expect("append"));
                }
                spent += started.elapsed();
                done += n;
                Box::new(log).delete().expect("log deleted");
            }
            spent
        })
    });
    group.finish();
}

/// Reads one batch by offset from a log of 64 segments: the segment lookup, the sparse
/// offset index, and the short scan from the indexed position.
fn read_by_offset(c: &mut Criterion) {
    let batch = client_batch();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = LogConfig { segment_bytes: 1 << 20, ..LogConfig::default() };
    let mut log = FileLog::open(dir.path(), config).expect("log opens");
    let batches = 64 * (1 << 20) / batch.len() as u64;
    for _ in 0..batches {
        log.append(&batch, 0, NOW_MS).expect("append");
    }
    let end = log.offsets().log_end_offset;
    log.advance_high_watermark(end);
    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Bytes(batch.len() as u64));
    let mut next = 0u64;
    group.bench_function("one batch by offset, 64 segments", |b| {
        b.iter_batched(
            || {
                // A stride coprime with the batch count visits offsets all over the log.
                next = (next + 7919 * RECORDS as u64) % end;
                next
            },
            |offset| black_box(log.read(offset, batch.len()).expect("read")),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, validation, append, read_by_offset);
criterion_main!(benches);
