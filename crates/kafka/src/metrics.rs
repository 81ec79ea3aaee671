//! The Kafka front-end's metrics, declared in one place: requests and their latency per
//! API, partition errors of Produce and Fetch by error name, connections.
//!
//! A request's latency runs from the moment its frame has been read in full to the moment
//! its response has been written to the socket: decoding, the handler (appends included),
//! waiting (fsync, long-poll), encoding and writing. It used to start only once the
//! handler had returned, so it left out the synchronous work (for Produce, the appends).

use std::sync::LazyLock;
use std::time::Instant;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::ApiKey;
use prometheus::{
    register_histogram_vec, register_int_counter, register_int_counter_vec, register_int_gauge, Histogram,
    HistogramVec, IntCounter, IntCounterVec, IntGauge,
};

static REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!("tidelog_kafka_requests_total", "Kafka requests answered, per API", &["api"])
        .expect("metric names are unique")
});
static LATENCY: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "tidelog_kafka_request_duration_seconds",
        "Time from a Kafka request frame read in full to its response written, per API (long-polls included)",
        &["api"],
        vec![0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]
    )
    .expect("metric names are unique")
});
static PARTITION_ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "tidelog_kafka_partition_errors_total",
        "Partitions answered with an error in Produce and Fetch, per API and Kafka error name",
        &["api", "error"]
    )
    .expect("metric names are unique")
});
static CONNECTIONS_ACTIVE: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!("tidelog_kafka_connections_active", "Open Kafka client connections")
        .expect("metric names are unique")
});
static CONNECTIONS: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!("tidelog_kafka_connections_total", "Kafka client connections accepted")
        .expect("metric names are unique")
});
static CONNECTIONS_CLOSED_ON_ERROR: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "tidelog_kafka_connection_errors_total",
        "Kafka connections closed for a protocol violation (bad frame, unknown API, malformed request)"
    )
    .expect("metric names are unique")
});

static CONNECTIONS_REJECTED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "tidelog_kafka_connections_rejected_total",
        "Kafka connections closed at once because a connection limit was reached, per limit",
        &["reason"]
    )
    .expect("metric names are unique")
});

static REQUEST_BYTES_RESERVED: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "tidelog_kafka_request_bytes_reserved",
        "Bytes of request frames read or being read and not yet answered, held against queued.max.request.bytes"
    )
    .expect("metric names are unique")
});

static CONNECTIONS_THROTTLED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "tidelog_kafka_connections_throttled_total",
        "Times a Kafka connection was muted (or its mute lengthened) for a client quota"
    )
    .expect("metric names are unique")
});

/// Makes every unlabelled metric of this crate visible before it first moves (a
/// labelled one appears with its first label values).
pub fn register() {
    LazyLock::force(&PER_API);
    LazyLock::force(&PARTITION_ERRORS);
    LazyLock::force(&CONNECTIONS_ACTIVE);
    LazyLock::force(&CONNECTIONS_REJECTED);
    LazyLock::force(&REQUEST_BYTES_RESERVED);
    for c in [&CONNECTIONS, &CONNECTIONS_CLOSED_ON_ERROR, &CONNECTIONS_THROTTLED] {
        LazyLock::force(c);
    }
}

fn api_name(key: ApiKey) -> String {
    format!("{key:?}")
}

/// Each implemented API's request counter and latency histogram, resolved once and
/// indexed by API key: counting a request takes no label lookup and no allocation.
static PER_API: LazyLock<Vec<Option<(IntCounter, Histogram)>>> = LazyLock::new(|| {
    let mut table = vec![None; 128];
    for (key, _, _) in crate::api_versions::supported_apis() {
        let api = api_name(*key);
        if let Some(slot) = table.get_mut(*key as usize) {
            *slot = Some((REQUESTS.with_label_values(&[api.as_str()]), LATENCY.with_label_values(&[api.as_str()])));
        }
    }
    table
});

/// Counts a request answered (its response written, or none owed) and observes the time
/// since its frame was `read`.
pub(crate) fn request_answered(key: ApiKey, read: Instant) {
    if let Some(Some((requests, latency))) = PER_API.get(key as usize) {
        requests.inc();
        latency.observe(read.elapsed().as_secs_f64());
    }
}

/// Counts one partition answered with `code` (no-op for success).
pub(crate) fn partition_error(key: ApiKey, code: i16) {
    if code == 0 {
        return;
    }
    let error = ResponseError::try_from_code(code).map_or_else(|| format!("code {code}"), |e| format!("{e:?}"));
    PARTITION_ERRORS.with_label_values(&[api_name(key).as_str(), error.as_str()]).inc();
}

/// Held by a connection's task: the gauge follows the connection's life.
pub(crate) struct ConnectionGuard;

impl ConnectionGuard {
    pub(crate) fn open() -> Self {
        CONNECTIONS.inc();
        CONNECTIONS_ACTIVE.inc();
        ConnectionGuard
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        CONNECTIONS_ACTIVE.dec();
    }
}

pub(crate) fn connection_error() {
    CONNECTIONS_CLOSED_ON_ERROR.inc();
}

/// Follows the request budget: `bytes` reserved (positive) or given back (negative).
pub(crate) fn request_bytes_reserved(bytes: i64) {
    REQUEST_BYTES_RESERVED.add(bytes);
}

/// Counts a connection closed on arrival; `reason` names the limit it met.
pub(crate) fn connection_rejected(reason: &str) {
    CONNECTIONS_REJECTED.with_label_values(&[reason]).inc();
}

/// Counts a connection muted, or its mute lengthened, for a client quota.
pub(crate) fn connection_throttled() {
    CONNECTIONS_THROTTLED.inc();
}
