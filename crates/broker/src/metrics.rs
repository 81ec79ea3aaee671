//! The broker's metrics, declared in one place: traffic per topic (from either
//! front-end), fsync latency, retention and compaction work, group rebalances.
//! Registered in the process-wide registry that the admin listener serves.
//!
//! Per-topic counters are resolved once per partition ([`TopicMeters`]) so the append
//! and read paths bump an atomic instead of looking up labels.
//! Gauges of state (offsets, sizes, lag) are not kept here: they are read from the
//! broker when scraped, so they can never drift from it.

use std::sync::LazyLock;

use prometheus::{
    register_histogram, register_int_counter, register_int_counter_vec, Histogram, IntCounter, IntCounterVec,
};

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    register_int_counter_vec!(name, help, labels).expect("metric names are unique")
}

fn counter(name: &str, help: &str) -> IntCounter {
    register_int_counter!(name, help).expect("metric names are unique")
}

static BYTES_IN: LazyLock<IntCounterVec> =
    LazyLock::new(|| counter_vec("tidelog_topic_bytes_in_total", "Record batch bytes appended, per topic", &["topic"]));
static RECORDS_IN: LazyLock<IntCounterVec> =
    LazyLock::new(|| counter_vec("tidelog_topic_records_in_total", "Records appended, per topic", &["topic"]));
static BYTES_OUT: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec("tidelog_topic_bytes_out_total", "Record batch bytes read by consumers, per topic", &["topic"])
});
static RECORDS_OUT: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec("tidelog_topic_records_out_total", "Records read by consumers, per topic", &["topic"])
});
static FSYNC_SECONDS: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "tidelog_fsync_duration_seconds",
        "Time one partition fsync (group commit) took",
        vec![0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]
    )
    .expect("metric names are unique")
});
static RETENTION_SEGMENTS: LazyLock<IntCounter> = LazyLock::new(|| {
    counter("tidelog_retention_segments_deleted_total", "Log segments deleted by time or size retention")
});
static COMPACTION_RUNS: LazyLock<IntCounter> =
    LazyLock::new(|| counter("tidelog_compaction_runs_total", "Compaction passes over a partition"));
static COMPACTION_REMOVED: LazyLock<IntCounter> = LazyLock::new(|| {
    counter("tidelog_compaction_records_removed_total", "Superseded records and tombstones removed by compaction")
});
static REBALANCES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec("tidelog_group_rebalances_total", "Consumer group rebalances started, per group", &["group"])
});

/// Makes every unlabelled metric of this crate visible before it first moves (a
/// labelled one appears with its first label values).
pub fn register() {
    for m in [&BYTES_IN, &RECORDS_IN, &BYTES_OUT, &RECORDS_OUT, &REBALANCES] {
        LazyLock::force(m);
    }
    LazyLock::force(&FSYNC_SECONDS);
    for m in [&RETENTION_SEGMENTS, &COMPACTION_RUNS, &COMPACTION_REMOVED] {
        LazyLock::force(m);
    }
}

/// One topic's traffic counters, held by each of its partitions.
#[derive(Clone)]
pub(crate) struct TopicMeters {
    bytes_in: IntCounter,
    records_in: IntCounter,
    bytes_out: IntCounter,
    records_out: IntCounter,
}

impl TopicMeters {
    pub(crate) fn new(topic: &str) -> Self {
        TopicMeters {
            bytes_in: BYTES_IN.with_label_values(&[topic]),
            records_in: RECORDS_IN.with_label_values(&[topic]),
            bytes_out: BYTES_OUT.with_label_values(&[topic]),
            records_out: RECORDS_OUT.with_label_values(&[topic]),
        }
    }

    pub(crate) fn appended(&self, bytes: usize, records: u32) {
        self.bytes_in.inc_by(bytes as u64);
        self.records_in.inc_by(u64::from(records));
    }

    /// Counts whole batches handed to a consumer; records from the batch headers.
    pub(crate) fn read_batches(&self, batches: &[u8]) {
        if batches.is_empty() {
            return;
        }
        let records: u64 = tidelog_log::batch::batches(batches)
            .map_while(|b| b.ok())
            .filter(|(h, _)| !h.is_control())
            .map(|(h, _)| h.records_count.max(0) as u64)
            .sum();
        self.read_records(batches.len() as u64, records);
    }

    pub(crate) fn read_records(&self, bytes: u64, records: u64) {
        self.bytes_out.inc_by(bytes);
        self.records_out.inc_by(records);
    }
}

/// Drops a deleted topic's series, so a scrape lists only topics that exist.
pub(crate) fn forget_topic(topic: &str) {
    for m in [&BYTES_IN, &RECORDS_IN, &BYTES_OUT, &RECORDS_OUT] {
        let _ = m.remove_label_values(&[topic]);
    }
}

pub(crate) fn fsync_took(seconds: f64) {
    FSYNC_SECONDS.observe(seconds);
}

pub(crate) fn retention_deleted(segments: usize) {
    RETENTION_SEGMENTS.inc_by(segments as u64);
}

pub(crate) fn compacted(removed: usize) {
    COMPACTION_RUNS.inc();
    COMPACTION_REMOVED.inc_by(removed as u64);
}

pub(crate) fn rebalance_started(group: &str) {
    REBALANCES.with_label_values(&[group]).inc();
}
