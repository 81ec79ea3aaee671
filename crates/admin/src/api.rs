//! `/health` and the `/v1` JSON views: what a supervisor, a script or the web console
//! reads. Every answer is JSON; an unknown topic or group is a 404 with an `error` field.

use std::sync::Arc;
use tidelog_broker::access::RequestContext;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use tidelog_broker::{Broker, ConfigSource};

use crate::state::{Admin, Phase};

/// The admin listener has no authentication yet: its views act as a local client.
pub(crate) fn caller() -> RequestContext {
    RequestContext::local()
}

fn status(admin: &Admin) -> Value {
    let phase = admin.phase();
    json!({ "status": phase.as_str(), "live": true, "ready": phase == Phase::Ready })
}

/// Ready and live in one answer: 200 when ready, 503 otherwise.
pub(crate) async fn health(State(admin): State<Arc<Admin>>) -> Response {
    let code = if admin.phase() == Phase::Ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(status(&admin))).into_response()
}

/// Live while the process answers at all (recovery and shutdown included).
pub(crate) async fn live(State(admin): State<Arc<Admin>>) -> Response {
    Json(status(&admin)).into_response()
}

/// Ready once the data directory is open and every listener accepts.
pub(crate) async fn ready(state: State<Arc<Admin>>) -> Response {
    health(state).await
}

fn error(code: StatusCode, message: String) -> Response {
    (code, Json(json!({ "error": message }))).into_response()
}

pub(crate) async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such endpoint; see /v1/cluster, /v1/topics, /v1/groups, /metrics, /health".into())
}

/// The broker, or the 503 to answer while it opens.
fn broker(admin: &Admin) -> Result<Arc<Broker>, Box<Response>> {
    admin.broker().cloned().ok_or_else(|| Box::new(error(StatusCode::SERVICE_UNAVAILABLE, "broker is starting".into())))
}

pub(crate) async fn cluster(State(admin): State<Arc<Admin>>) -> Response {
    let broker = match broker(&admin) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let topics = broker.all_topics();
    Json(json!({
        "cluster_id": broker.cluster_id(),
        "node_id": broker.node_id(),
        "version": env!("CARGO_PKG_VERSION"),
        "status": admin.phase().as_str(),
        "listeners": admin.listeners(),
        "data_dir": broker.data_dir(),
        "started_clean": broker.started_clean(),
        "topics": topics.len(),
        "partitions": topics.iter().map(|t| t.partitions.len()).sum::<usize>(),
        "groups": broker.list_groups(&caller()).unwrap_or_default().len(),
    }))
    .into_response()
}

pub(crate) async fn topics(State(admin): State<Arc<Admin>>) -> Response {
    let broker = match broker(&admin) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let topics: Vec<Value> = broker
        .all_topics()
        .iter()
        .map(|t| {
            let size: u64 = t.partitions.iter().map(|p| p.with_log(|log| log.size_bytes())).sum();
            json!({
                "name": t.meta.name,
                "topic_id": t.meta.topic_id,
                "partitions": t.partitions.len(),
                "internal": t.meta.name.starts_with("__"),
                "stream": t.meta.attributes.contains_key("kinesis"),
                "size_bytes": size,
            })
        })
        .collect();
    Json(topics).into_response()
}

fn source(s: ConfigSource) -> &'static str {
    match s {
        ConfigSource::TopicOverride => "topic",
        ConfigSource::BrokerStatic => "broker",
        ConfigSource::Default => "default",
        ConfigSource::DynamicBroker => "dynamic-broker",
        ConfigSource::DynamicDefault => "dynamic-default",
        ConfigSource::GroupOverride => "group",
    }
}

pub(crate) async fn topic(State(admin): State<Arc<Admin>>, Path(name): Path<String>) -> Response {
    let broker = match broker(&admin) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let Some(topic) = broker.topic(&name) else {
        return error(StatusCode::NOT_FOUND, format!("topic '{name}' does not exist"));
    };
    let partitions: Vec<Value> = topic
        .partitions
        .iter()
        .map(|p| {
            let offsets = p.offsets();
            let (size, segments) = p.storage();
            json!({
                "partition": p.index,
                "leader": broker.node_id(),
                "replicas": [broker.node_id()],
                "isr": [broker.node_id()],
                "log_start_offset": offsets.log_start_offset,
                "last_stable_offset": p.last_stable_offset(),
                "high_watermark": offsets.high_watermark,
                "log_end_offset": offsets.log_end_offset,
                "size_bytes": size,
                "segments": segments,
            })
        })
        .collect();
    let configs: Vec<Value> = broker
        .topic_config_entries(&caller(), &name)
        .unwrap_or_default()
        .into_iter()
        .map(|e| json!({ "name": e.name, "value": e.value, "source": source(e.source) }))
        .collect();
    Json(json!({
        "name": topic.meta.name,
        "topic_id": topic.meta.topic_id,
        "internal": topic.meta.name.starts_with("__"),
        "partitions": partitions,
        "configs": configs,
    }))
    .into_response()
}

pub(crate) async fn groups(State(admin): State<Arc<Admin>>) -> Response {
    let broker = match broker(&admin) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let groups: Vec<Value> = broker
        .list_groups(&caller())
        .unwrap_or_default()
        .into_iter()
        .map(|g| {
            json!({
                "group_id": g.group_id,
                "state": g.state,
                "protocol_type": g.protocol_type,
                "type": g.group_type,
            })
        })
        .collect();
    Json(groups).into_response()
}

pub(crate) async fn group(State(admin): State<Arc<Admin>>, Path(id): Path<String>) -> Response {
    let broker = match broker(&admin) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let Some(listing) = broker.list_groups(&caller()).unwrap_or_default().into_iter().find(|g| g.group_id == id) else {
        return error(StatusCode::NOT_FOUND, format!("group '{id}' does not exist"));
    };
    let members: Vec<Value> = match broker.describe_consumer_group(&caller(), &id).ok().flatten() {
        Some(consumer) => consumer
            .members
            .into_iter()
            .map(|m| {
                let assigned: Vec<Value> =
                    m.assignment.iter().map(|tp| json!({ "topic": tp.0, "partition": tp.1 })).collect();
                json!({
                    "member_id": m.member_id,
                    "instance_id": m.instance_id,
                    "client_id": m.client_id,
                    "host": m.client_host,
                    "assignment": assigned,
                })
            })
            .collect(),
        None => broker
            .describe_group(&caller(), &id)
            .map(|d| d.members)
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let assigned: Vec<Value> = m
                    .assigned_partitions()
                    .into_iter()
                    .map(|(topic, partition)| json!({ "topic": topic, "partition": partition }))
                    .collect();
                json!({
                    "member_id": m.member_id,
                    "instance_id": m.group_instance_id,
                    "client_id": m.client_id,
                    "host": m.client_host,
                    "assignment": assigned,
                })
            })
            .collect(),
    };
    let offsets: Vec<Value> = broker
        .group_lag(&id)
        .into_iter()
        .map(|l| {
            json!({
                "topic": l.topic,
                "partition": l.partition,
                "committed_offset": l.committed_offset,
                "log_end_offset": l.log_end_offset,
                "lag": l.lag,
            })
        })
        .collect();
    Json(json!({
        "group_id": id,
        "state": listing.state,
        "protocol_type": listing.protocol_type,
        "type": listing.group_type,
        "members": members,
        "offsets": offsets,
    }))
    .into_response()
}
