//! `/metrics`: every registered metric of the process, plus gauges of broker state read
//! at scrape time (offsets, sizes, segments, consumer lag), so they never drift from the
//! broker and deleted topics and groups disappear with it.

use std::sync::{Arc, Once};

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use prometheus::proto::MetricFamily;
use prometheus::{IntGaugeVec, Opts, Registry, TextEncoder};
use tidelog_broker::Broker;

use crate::state::Admin;

use crate::api::caller;

/// `tidelog_process_*`: CPU seconds, resident and virtual memory, open and max file
/// descriptors, start time, threads (read from /proc at scrape time).
pub(crate) fn register_process_metrics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let collector = prometheus::process_collector::ProcessCollector::new(std::process::id() as i32, "tidelog");
        if let Err(e) = prometheus::register(Box::new(collector)) {
            tracing::warn!(error = %e, "process metrics unavailable");
        }
    });
}

pub(crate) async fn metrics(State(admin): State<Arc<Admin>>) -> Response {
    let mut families = prometheus::gather();
    if let Some(broker) = admin.broker() {
        let broker = broker.clone();
        // Reads every partition's marks: off the async threads on a large broker.
        match tokio::task::spawn_blocking(move || broker_state(&broker)).await {
            Ok(state) => families.extend(state),
            Err(e) => tracing::warn!(error = %e, "broker state for /metrics failed"),
        }
    }
    match TextEncoder::new().encode_to_string(&families) {
        Ok(text) => ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot encode metrics: {e}\n")).into_response(),
    }
}

struct Gauges {
    registry: Registry,
}

impl Gauges {
    fn vec(&self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        let gauge = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
        self.registry.register(Box::new(gauge.clone())).expect("names are unique");
        gauge
    }
}

fn broker_state(broker: &Broker) -> Vec<MetricFamily> {
    let g = Gauges { registry: Registry::new() };
    let partitions = g.vec("tidelog_topic_partitions", "Partitions of each topic", &["topic"]);
    let labels = &["topic", "partition"];
    let log_start = g.vec("tidelog_partition_log_start_offset", "First offset still readable", labels);
    let high_watermark =
        g.vec("tidelog_partition_high_watermark", "Offsets below this are visible to consumers", labels);
    let last_stable =
        g.vec("tidelog_partition_last_stable_offset", "Offsets below this belong to no open transaction", labels);
    let log_end = g.vec("tidelog_partition_log_end_offset", "The offset the next record will get", labels);
    let size = g.vec("tidelog_partition_size_bytes", "Bytes stored for the partition", labels);
    let segments = g.vec("tidelog_partition_segments", "Log segments of the partition", labels);
    for topic in broker.all_topics() {
        let name = topic.meta.name.as_str();
        partitions.with_label_values(&[name]).set(topic.partitions.len() as i64);
        for p in &topic.partitions {
            let index = p.index.to_string();
            let at = [name, index.as_str()];
            let offsets = p.offsets();
            log_start.with_label_values(&at).set(offsets.log_start_offset as i64);
            high_watermark.with_label_values(&at).set(offsets.high_watermark as i64);
            last_stable.with_label_values(&at).set(p.last_stable_offset() as i64);
            log_end.with_label_values(&at).set(offsets.log_end_offset as i64);
            let (bytes, count) = p.storage();
            size.with_label_values(&at).set(bytes as i64);
            segments.with_label_values(&at).set(count as i64);
        }
    }
    let members = g.vec("tidelog_group_members", "Members of each consumer group", &["group"]);
    let lag = g.vec(
        "tidelog_group_lag",
        "High watermark minus the group's committed offset",
        &["group", "topic", "partition"],
    );
    for group in broker.list_groups(&caller()).unwrap_or_default() {
        let id = group.group_id.as_str();
        let count = match broker.describe_consumer_group(&caller(), id).ok().flatten() {
            Some(consumer) => consumer.members.len(),
            None => broker.describe_group(&caller(), id).map_or(0, |d| d.members.len()),
        };
        members.with_label_values(&[id]).set(count as i64);
        for l in broker.group_lag(id) {
            lag.with_label_values(&[id, l.topic.as_str(), l.partition.to_string().as_str()]).set(l.lag);
        }
    }
    g.registry.gather()
}
