//! Fetch: resolves topics (by name, or by id from v13), hands the partitions to the
//! broker's long-poll, and maps the results back. Fetch sessions (KIP-227): tidelog
//! answers every request in full and never creates a session (session id 0), which the
//! protocol allows and clients handle by sending full requests.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{AbortedTransaction, FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::ProducerId;
use kafka_protocol::messages::{FetchRequest, FetchResponse};
use tidelog_broker::{BrokerError, FetchLimits, FetchPartition, Records};

use crate::errors::{error_code, NONE};
use crate::frame::{self, MAX_FILE_SLICE};
use crate::scope::Scope;

/// Upper bound on a long-poll, whatever the client asks: keeps shutdown prompt.
const MAX_WAIT_CAP: Duration = Duration::from_secs(30);

/// The response, and the record sets it carries in encoding order: those the frame
/// sends without copying (see `frame`).
pub(crate) async fn handle(ctx: &Scope, request: FetchRequest, version: i16) -> (FetchResponse, Vec<Records>) {
    if request.session_id != 0 {
        return (FetchResponse::default().with_error_code(ResponseError::FetchSessionIdNotFound.code()), Vec::new());
    }
    // (response topic index, partition index, topic name or None if the id is unknown)
    let mut wanted = Vec::new();
    let mut topics = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        let name =
            if version >= 13 { ctx.broker.topic_name_by_id(topic.topic_id) } else { Some(topic.topic.0.to_string()) };
        let mut response_topic = FetchableTopicResponse::default().with_topic_id(topic.topic_id);
        if version < 13 {
            response_topic.topic = topic.topic.clone();
        }
        for p in &topic.partitions {
            response_topic.partitions.push(PartitionData::default().with_partition_index(p.partition));
            if let Some(name) = &name {
                wanted.push(FetchPartition {
                    topic: name.clone(),
                    partition: p.partition,
                    fetch_offset: p.fetch_offset,
                    // A larger slice could not stand in the response (see `frame`).
                    max_bytes: (p.partition_max_bytes.max(0) as usize).min(MAX_FILE_SLICE),
                    // Sent from v9 (KIP-320); -1 before.
                    current_leader_epoch: p.current_leader_epoch,
                });
            }
        }
        topics.push((response_topic, name.is_some()));
    }
    let limits = FetchLimits {
        max_wait: Duration::from_millis(request.max_wait_ms.max(0) as u64).min(MAX_WAIT_CAP),
        min_bytes: request.min_bytes.max(0) as usize,
        max_bytes: if request.max_bytes <= 0 { usize::MAX } else { request.max_bytes as usize },
        read_committed: request.isolation_level == 1,
    };
    let mut results = ctx.broker.fetch(&ctx.caller, &wanted, limits).await.into_iter();
    let mut records = Vec::with_capacity(wanted.len());
    let responses = topics
        .into_iter()
        .map(|(mut topic, known)| {
            for partition in &mut topic.partitions {
                let fetched = if known { results.next() } else { None };
                if let Some(r) = fill_partition(partition, fetched, limits.read_committed) {
                    records.push(r);
                }
            }
            topic
        })
        .collect();
    (FetchResponse::default().with_error_code(NONE).with_session_id(0).with_responses(responses), records)
}

/// Fills one partition's answer; returns its record set.
fn fill_partition(
    out: &mut PartitionData,
    fetched: Option<tidelog_broker::FetchedPartition>,
    read_committed: bool,
) -> Option<Records> {
    out.preferred_read_replica = (-1).into();
    let Some(fetched) = fetched else {
        out.error_code = ResponseError::UnknownTopicId.code();
        crate::metrics::partition_error(kafka_protocol::messages::ApiKey::Fetch, out.error_code);
        out.high_watermark = -1;
        out.last_stable_offset = -1;
        out.log_start_offset = -1;
        return None;
    };
    let known = !matches!(fetched.error, Some(BrokerError::UnknownTopicOrPartition { .. }));
    out.error_code = fetched.error.as_ref().map_or(NONE, error_code);
    crate::metrics::partition_error(kafka_protocol::messages::ApiKey::Fetch, out.error_code);
    let mark = |v: u64| if known { v as i64 } else { -1 };
    out.high_watermark = mark(fetched.offsets.high_watermark);
    out.last_stable_offset = mark(fetched.last_stable_offset);
    out.log_start_offset = mark(fetched.offsets.log_start_offset);
    // Null (not empty) for read_uncommitted, as Kafka answers.
    out.aborted_transactions = read_committed.then(|| {
        fetched
            .aborted
            .iter()
            .map(|a| {
                AbortedTransaction::default()
                    .with_producer_id(ProducerId(a.producer_id))
                    .with_first_offset(a.first_offset as i64)
            })
            .collect()
    });
    let records = match frame::encodable(&fetched.records) {
        Some(encoded) => {
            out.records = Some(encoded);
            fetched.records
        }
        // A small slice, or one batch larger than any placeholder: read it after all.
        None => match fetched.records.into_memory() {
            Ok(bytes) => {
                out.records = Some(bytes.clone());
                Records::Memory(bytes)
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read a fetched batch");
                out.error_code = ResponseError::KafkaStorageError.code();
                out.records = Some(Bytes::new());
                return None;
            }
        },
    };
    Some(records)
}
