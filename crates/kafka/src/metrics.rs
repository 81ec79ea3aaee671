//! The Kafka front-end's metrics, declared in one place: requests and their latency per
//! API, partition errors of Produce and Fetch by error name, connections.

use std::sync::LazyLock;
use std::time::Instant;

use futures::FutureExt;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::ApiKey;
use prometheus::{
    register_histogram_vec, register_int_counter, register_int_counter_vec, register_int_gauge, Histogram,
    HistogramVec, IntCounter, IntCounterVec, IntGauge,
};

use crate::dispatch::Reply;

static REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!("tidelog_kafka_requests_total", "Kafka requests answered, per API", &["api"])
        .expect("metric names are unique")
});
static LATENCY: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "tidelog_kafka_request_duration_seconds",
        "Time from a Kafka request's arrival to its response, per API (long-polls included)",
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

/// Makes every unlabelled metric of this crate visible before it first moves (a
/// labelled one appears with its first label values).
pub fn register() {
    LazyLock::force(&PER_API);
    LazyLock::force(&PARTITION_ERRORS);
    LazyLock::force(&CONNECTIONS_ACTIVE);
    for c in [&CONNECTIONS, &CONNECTIONS_CLOSED_ON_ERROR] {
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

/// Counts the request and times it until its response is ready.
pub(crate) fn timed(key: ApiKey, reply: Reply) -> Reply {
    let started = Instant::now();
    async move {
        let answered = reply.await;
        if let Some(Some((requests, latency))) = PER_API.get(key as usize) {
            requests.inc();
            latency.observe(started.elapsed().as_secs_f64());
        }
        answered
    }
    .boxed()
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
