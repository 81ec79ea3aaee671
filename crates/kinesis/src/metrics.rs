//! The Kinesis front-end's metrics, declared in one place: requests, latency and errors
//! per operation, and how far behind the latest record readers are (iterator age).

use std::sync::LazyLock;
use std::time::Instant;

use prometheus::{
    register_histogram_vec, register_int_counter_vec, register_int_gauge_vec, HistogramVec, IntCounterVec, IntGaugeVec,
};

static REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "tidelog_kinesis_requests_total",
        "Kinesis requests answered, per operation",
        &["operation"]
    )
    .expect("metric names are unique")
});
static LATENCY: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "tidelog_kinesis_request_duration_seconds",
        "Time to answer a Kinesis request, per operation (SubscribeToShard: until the stream opens)",
        &["operation"],
        vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]
    )
    .expect("metric names are unique")
});
static ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "tidelog_kinesis_errors_total",
        "Kinesis requests refused, per operation and AWS error type",
        &["operation", "error"]
    )
    .expect("metric names are unique")
});
static ITERATOR_AGE: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "tidelog_kinesis_iterator_age_milliseconds",
        "MillisBehindLatest of the last GetRecords or SubscribeToShard read, per stream and shard",
        &["stream", "shard"]
    )
    .expect("metric names are unique")
});

/// Makes every unlabelled metric of this crate visible before it first moves (a
/// labelled one appears with its first label values).
pub fn register() {
    LazyLock::force(&REQUESTS);
    LazyLock::force(&LATENCY);
    LazyLock::force(&ERRORS);
    LazyLock::force(&ITERATOR_AGE);
}

/// Counts one answered request. The operation comes from a client header, so names the
/// service does not know are counted under "unknown" (bounded label values).
pub(crate) fn answered(operation: &str, error: Option<&str>, started: Instant) {
    let operation =
        if error == Some("UnknownOperationException") || operation.is_empty() { "unknown" } else { operation };
    REQUESTS.with_label_values(&[operation]).inc();
    LATENCY.with_label_values(&[operation]).observe(started.elapsed().as_secs_f64());
    if let Some(error) = error {
        ERRORS.with_label_values(&[operation, error]).inc();
    }
}

pub(crate) fn iterator_age(stream: &str, shard: &str, millis_behind: i64) {
    ITERATOR_AGE.with_label_values(&[stream, shard]).set(millis_behind);
}
