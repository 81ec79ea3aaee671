//! Produce: every partition's batch is validated and appended while the request is
//! dispatched (so pipelined requests append in order); acks=all then waits for the
//! group-committed fsync of each partition it touched.
//!
//! Under transaction version 2 (v12+), partitions first join their producer's
//! transaction ([`transaction_joins`], [`join_transactions`]); the connection reads
//! nothing more until they have and the request is appended.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::{self, join_all, FutureExt};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_request::TopicProduceData;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse};
use tidelog_broker::Produced;

use super::str_bytes;
use crate::dispatch::{encode, Reply};
use crate::errors::{error_code, produce_error, NONE};
use crate::scope::Scope;

/// Partitions that could not join their producer's transaction, with the answer (code,
/// message) they get instead of an append.
pub(crate) type JoinRefusals = HashMap<(String, i32), (i16, Option<String>)>;

/// A producer (id, epoch) and the partitions of the request that must join its transaction.
pub(crate) type TransactionJoin = ((i64, i16), Vec<(String, i32)>);

/// Per producer, the partitions of a v12+ request that must join its transaction before
/// anything is appended. Empty for most requests.
pub(crate) fn transaction_joins(ctx: &Scope, request: &ProduceRequest, version: i16) -> Vec<TransactionJoin> {
    let mut joins: Vec<TransactionJoin> = Vec::new();
    if version < 12 {
        return joins;
    }
    for topic in &request.topic_data {
        let Some(name) = topic_name(ctx, topic, version) else { continue };
        for data in &topic.partition_data {
            let Some(records) = &data.records else { continue };
            let Some(producer) = ctx.broker.transaction_to_join(&name, data.index, records) else { continue };
            let partition = (name.clone(), data.index);
            match joins.iter_mut().find(|(p, _)| *p == producer) {
                Some((_, partitions)) => partitions.push(partition),
                None => joins.push((producer, vec![partition])),
            }
        }
    }
    joins
}

/// Adds each producer's partitions to its transaction; the refused ones and why.
pub(crate) async fn join_transactions(ctx: &Scope, joins: Vec<TransactionJoin>, version: i16) -> JoinRefusals {
    let mut refused = JoinRefusals::new();
    for ((producer_id, epoch), partitions) in joins {
        let joined = ctx.broker.add_partitions_for_produce(&ctx.caller, producer_id, epoch, partitions.clone()).await;
        if let Err(e) = joined {
            tracing::debug!(producer_id, epoch, error = %e, "partitions could not join the transaction");
            let answer = produce_error(&e, version);
            refused.extend(partitions.into_iter().map(|p| (p, answer.clone())));
        }
    }
    refused
}

/// v13 names topics by id (KIP-516); `None` for an id this broker does not know.
fn topic_name(ctx: &Scope, topic: &TopicProduceData, version: i16) -> Option<String> {
    match version {
        13.. => ctx.broker.topic_name_by_id(topic.topic_id),
        _ => Some(topic.name.0.to_string()),
    }
}

pub(crate) fn handle(
    ctx: &Arc<Scope>,
    request: ProduceRequest,
    version: i16,
    correlation_id: i32,
    refused: &JoinRefusals,
) -> Reply {
    let acks = request.acks;
    let mut waits: Vec<(usize, usize, Produced)> = Vec::new();
    let mut topics = Vec::with_capacity(request.topic_data.len());
    for (ti, topic) in request.topic_data.into_iter().enumerate() {
        let name = topic_name(ctx, &topic, version);
        let mut partitions = Vec::with_capacity(topic.partition_data.len());
        for (pi, data) in topic.partition_data.into_iter().enumerate() {
            let mut response = PartitionProduceResponse::default()
                .with_index(data.index)
                .with_base_offset(-1)
                .with_log_append_time_ms(-1)
                .with_log_start_offset(-1);
            if !(-1..=1).contains(&acks) {
                response.error_code = ResponseError::InvalidRequiredAcks.code();
                partitions.push(response);
                continue;
            }
            let Some(name) = &name else {
                response.error_code = ResponseError::UnknownTopicId.code();
                partitions.push(response);
                continue;
            };
            let refusal = if refused.is_empty() { None } else { refused.get(&(name.clone(), data.index)) };
            if let Some((code, message)) = refusal {
                response.error_code = *code;
                response.error_message = message.as_deref().map(str_bytes);
                partitions.push(response);
                continue;
            }
            let records = data.records.unwrap_or_default();
            match ctx.broker.append(&ctx.caller, name, data.index, &records) {
                Ok(appended) => {
                    response.error_code = NONE;
                    response.base_offset = appended.base_offset as i64;
                    response.log_start_offset = appended.offsets.log_start_offset as i64;
                    response.log_append_time_ms = appended.log_append_time;
                    // acks=all waits for the fsync; so does any acks once flush.messages is reached.
                    if acks == -1 || appended.flush_now {
                        waits.push((ti, pi, appended));
                    }
                }
                Err(e) => {
                    tracing::debug!(topic = %name, partition = data.index, error = %e, "produce rejected");
                    let (code, message) = produce_error(&e, version);
                    response.error_code = code;
                    response.error_message = message.map(str_bytes);
                    if let (tidelog_broker::BrokerError::RecordsRejected { record_errors, .. }, 8..) = (&e, version) {
                        response.record_errors = record_errors
                            .iter()
                            .map(|(index, message)| {
                                BatchIndexAndErrorMessage::default()
                                    .with_batch_index(*index)
                                    .with_batch_index_error_message(Some(str_bytes(message.as_str())))
                            })
                            .collect();
                    }
                }
            }
            partitions.push(response);
        }
        topics.push(
            TopicProduceResponse::default()
                .with_name(topic.name)
                .with_topic_id(topic.topic_id)
                .with_partition_responses(partitions),
        );
    }
    for partition in topics.iter().flat_map(|t| &t.partition_responses) {
        crate::metrics::partition_error(ApiKey::Produce, partition.error_code);
    }
    if acks == 0 {
        if !waits.is_empty() {
            // No answer is owed, but flush.messages still asks for the fsync.
            tokio::spawn(async move {
                for (_, _, produced) in waits {
                    if let Err(e) = produced.wait_durable().await {
                        tracing::warn!(error = %e, "flush after flush.messages failed");
                    }
                }
            });
        }
        return future::ready(Ok(None)).boxed();
    }
    let mut response = ProduceResponse::default().with_responses(topics);
    if waits.is_empty() {
        return future::ready(encode(ApiKey::Produce, version, correlation_id, &response).map(Some)).boxed();
    }
    async move {
        let results = join_all(waits.iter().map(|(_, _, appended)| appended.wait_durable())).await;
        for ((ti, pi, _), result) in waits.iter().zip(results) {
            if let Err(e) = result {
                let partition = &mut response.responses[*ti].partition_responses[*pi];
                partition.error_code = error_code(&e);
                crate::metrics::partition_error(ApiKey::Produce, partition.error_code);
                partition.base_offset = -1;
                if version >= 8 {
                    partition.error_message = Some(str_bytes(e.to_string()));
                }
            }
        }
        encode(ApiKey::Produce, version, correlation_id, &response).map(Some)
    }
    .boxed()
}
