//! Transactional producer APIs (AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit,
//! EndTxn) and the admin views (DescribeProducers, DescribeTransactions,
//! ListTransactions). Each maps onto one transaction-coordinator call.

use std::sync::Arc;

use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::describe_producers_response::{PartitionResponse, ProducerState, TopicResponse};
use kafka_protocol::messages::describe_transactions_response::{self, TopicData};
use kafka_protocol::messages::list_transactions_response;
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::*;
use tidelog_broker::group::OffsetCommit;
use tidelog_broker::txn::TransactionVersion;
use tidelog_broker::BrokerError;

use super::str_bytes;
use crate::dispatch::Client;
use crate::errors::{error_code, for_version, item_codes, NONE};
use crate::scope::Scope;

fn code<T>(result: &Result<T, BrokerError>) -> i16 {
    result.as_ref().err().map_or(NONE, error_code)
}

/// One transaction's partitions added, answered per topic and partition.
async fn add_partitions(
    ctx: &Scope,
    transactional_id: &str,
    producer: (i64, i16),
    topics: &[AddPartitionsToTxnTopic],
    verify_only: bool,
    version: i16,
) -> Vec<AddPartitionsToTxnTopicResult> {
    let partitions: Vec<(String, i32)> =
        topics.iter().flat_map(|t| t.partitions.iter().map(|p| (t.name.0.to_string(), *p))).collect();
    let outcome = ctx
        .broker
        .add_partitions_to_txn(&ctx.caller, transactional_id, producer.0, producer.1, partitions, verify_only)
        .await;
    let mut codes = item_codes(&outcome, topics.iter().map(|t| t.partitions.len()).sum());
    topics
        .iter()
        .map(|t| {
            let results = t
                .partitions
                .iter()
                .map(|p| {
                    AddPartitionsToTxnPartitionResult::default().with_partition_index(*p).with_partition_error_code(
                        for_version(ApiKey::AddPartitionsToTxn, version, codes.next().unwrap_or(NONE)),
                    )
                })
                .collect();
            AddPartitionsToTxnTopicResult::default().with_name(t.name.clone()).with_results_by_partition(results)
        })
        .collect()
}

pub(crate) async fn add_partitions_to_txn(
    ctx: &Arc<Scope>,
    _client: &Client,
    request: AddPartitionsToTxnRequest,
    version: i16,
) -> AddPartitionsToTxnResponse {
    if version <= 3 {
        let producer = (request.v3_and_below_producer_id.0, request.v3_and_below_producer_epoch);
        let id = request.v3_and_below_transactional_id.0.to_string();
        let results = add_partitions(ctx, &id, producer, &request.v3_and_below_topics, false, version).await;
        return AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results);
    }
    // v4+: several transactions per request (sent by brokers verifying a produce).
    let mut by_transaction = Vec::with_capacity(request.transactions.len());
    for txn in &request.transactions {
        let producer = (txn.producer_id.0, txn.producer_epoch);
        let results =
            add_partitions(ctx, &txn.transactional_id.0, producer, &txn.topics, txn.verify_only, version).await;
        by_transaction.push(
            AddPartitionsToTxnResult::default()
                .with_transactional_id(txn.transactional_id.clone())
                .with_topic_results(results),
        );
    }
    AddPartitionsToTxnResponse::default().with_error_code(NONE).with_results_by_transaction(by_transaction)
}

pub(crate) async fn add_offsets_to_txn(
    ctx: &Arc<Scope>,
    _client: &Client,
    request: AddOffsetsToTxnRequest,
    version: i16,
) -> AddOffsetsToTxnResponse {
    let outcome = ctx
        .broker
        .add_offsets_to_txn(
            &ctx.caller,
            &request.transactional_id.0,
            request.producer_id.0,
            request.producer_epoch,
            &request.group_id.0,
        )
        .await;
    AddOffsetsToTxnResponse::default().with_error_code(for_version(ApiKey::AddOffsetsToTxn, version, code(&outcome)))
}

pub(crate) async fn txn_offset_commit(
    ctx: &Arc<Scope>,
    _client: &Client,
    request: TxnOffsetCommitRequest,
    version: i16,
) -> TxnOffsetCommitResponse {
    let commits: Vec<OffsetCommit> = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| OffsetCommit {
                topic: t.name.0.to_string(),
                partition: p.partition_index,
                offset: p.committed_offset,
                leader_epoch: p.committed_leader_epoch,
                metadata: p.committed_metadata.as_deref().unwrap_or_default().to_string(),
            })
        })
        .collect();
    let instance = request.group_instance_id.as_ref().map(|s| s.to_string());
    let outcome = ctx
        .broker
        .txn_offset_commit(
            &ctx.caller,
            &request.transactional_id.0,
            &request.group_id.0,
            request.producer_id.0,
            request.producer_epoch,
            request.generation_id,
            &request.member_id,
            instance.as_deref(),
            commits,
            transaction_version(version, 5),
        )
        .await;
    let mut codes = item_codes(&outcome, request.topics.iter().map(|t| t.partitions.len()).sum());
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    TxnOffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(for_version(ApiKey::TxnOffsetCommit, version, codes.next().unwrap_or(NONE)))
                })
                .collect();
            TxnOffsetCommitResponseTopic::default().with_name(t.name).with_partitions(partitions)
        })
        .collect();
    TxnOffsetCommitResponse::default().with_topics(topics)
}

pub(crate) async fn end_txn(
    ctx: &Arc<Scope>,
    _client: &Client,
    request: EndTxnRequest,
    version: i16,
) -> EndTxnResponse {
    let outcome = ctx
        .broker
        .end_txn(
            &ctx.caller,
            &request.transactional_id.0,
            request.producer_id.0,
            request.producer_epoch,
            request.committed,
            transaction_version(version, 5),
        )
        .await;
    // v5+: the producer id and epoch to go on with (bumped under transaction version 2).
    let (producer_id, epoch) = outcome.as_ref().map_or((-1, -1), |&(id, epoch)| (id, epoch));
    EndTxnResponse::default()
        .with_error_code(for_version(ApiKey::EndTxn, version, code(&outcome)))
        .with_producer_id(ProducerId(producer_id))
        .with_producer_epoch(epoch)
}

/// The transaction version a request speaks: 2 from the API's first version of it.
fn transaction_version(version: i16, first_v2: i16) -> TransactionVersion {
    if version >= first_v2 {
        TransactionVersion::V2
    } else {
        TransactionVersion::V1
    }
}

pub(crate) fn describe_producers(
    ctx: &Arc<Scope>,
    request: DescribeProducersRequest,
    _version: i16,
) -> DescribeProducersResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let partitions = t
                .partition_indexes
                .iter()
                .map(|&index| {
                    let response = PartitionResponse::default().with_partition_index(index);
                    match ctx.broker.partition(&t.name.0, index) {
                        Ok(partition) => response.with_error_code(NONE).with_active_producers(
                            partition
                                .producers()
                                .into_iter()
                                .map(|p| {
                                    ProducerState::default()
                                        .with_producer_id(ProducerId(p.producer_id))
                                        .with_producer_epoch(p.epoch.into())
                                        .with_last_sequence(p.last_sequence)
                                        .with_last_timestamp(p.last_timestamp)
                                        .with_coordinator_epoch(0)
                                        .with_current_txn_start_offset(p.txn_start_offset.map_or(-1, |o| o as i64))
                                })
                                .collect(),
                        ),
                        Err(e) => {
                            response.with_error_code(error_code(&e)).with_error_message(Some(str_bytes(e.to_string())))
                        }
                    }
                })
                .collect();
            TopicResponse::default().with_name(t.name).with_partitions(partitions)
        })
        .collect();
    DescribeProducersResponse::default().with_topics(topics)
}

pub(crate) async fn describe_transactions(
    ctx: &Arc<Scope>,
    _client: &Client,
    request: DescribeTransactionsRequest,
    _version: i16,
) -> DescribeTransactionsResponse {
    let ids: Vec<String> = request.transactional_ids.iter().map(|id| id.0.to_string()).collect();
    let states = ctx
        .broker
        .describe_transactions(&ids)
        .await
        .into_iter()
        .zip(request.transactional_ids)
        .map(|(described, id)| {
            let state = describe_transactions_response::TransactionState::default().with_transactional_id(id);
            match described {
                Ok(d) => {
                    let mut topics: Vec<TopicData> = Vec::new();
                    for (topic, partition) in &d.meta.partitions {
                        match topics.last_mut() {
                            Some(last) if last.topic.0.as_str() == topic.as_str() => last.partitions.push(*partition),
                            _ => topics.push(
                                TopicData::default()
                                    .with_topic(str_bytes(topic.clone()).into())
                                    .with_partitions(vec![*partition]),
                            ),
                        }
                    }
                    state
                        .with_error_code(NONE)
                        .with_transaction_state(str_bytes(d.meta.state.name()))
                        .with_transaction_timeout_ms(d.meta.timeout_ms)
                        .with_transaction_start_time_ms(d.meta.start_ms)
                        .with_producer_id(ProducerId(d.meta.producer_id))
                        .with_producer_epoch(d.meta.producer_epoch)
                        .with_topics(topics)
                }
                Err(e) => {
                    state.with_error_code(error_code(&e)).with_producer_id(ProducerId(-1)).with_producer_epoch(-1)
                }
            }
        })
        .collect();
    DescribeTransactionsResponse::default().with_transaction_states(states)
}

/// Kafka's transaction state names, for reporting filters tidelog does not know.
const STATE_NAMES: &[&str] = &[
    "Empty",
    "Ongoing",
    "PrepareCommit",
    "PrepareAbort",
    "CompleteCommit",
    "CompleteAbort",
    "Dead",
    "PrepareEpochFence",
];

pub(crate) async fn list_transactions(
    ctx: &Arc<Scope>,
    _client: &Client,
    request: ListTransactionsRequest,
    _version: i16,
) -> ListTransactionsResponse {
    // v2 (KIP-1152): ids matching a regular expression, the whole id as Java's `matches`.
    let pattern = match request.transactional_id_pattern.as_deref().filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => match regex::Regex::new(&format!("^(?:{p})$")) {
            Ok(re) => Some(re),
            Err(_) => {
                return ListTransactionsResponse::default()
                    .with_error_code(kafka_protocol::error::ResponseError::InvalidRegularExpression.code())
            }
        },
    };
    let states: Vec<String> = request.state_filters.iter().map(|s| s.to_string()).collect();
    let unknown = request.state_filters.iter().filter(|s| !STATE_NAMES.contains(&s.as_str())).cloned().collect();
    let producer_ids: Vec<i64> = request.producer_id_filters.iter().map(|p| p.0).collect();
    let listed = ctx
        .broker
        .list_transactions(&states, &producer_ids, request.duration_filter)
        .await
        .into_iter()
        .filter(|d| pattern.as_ref().is_none_or(|re| re.is_match(&d.transactional_id)))
        .map(|d| {
            list_transactions_response::TransactionState::default()
                .with_transactional_id(str_bytes(d.transactional_id).into())
                .with_producer_id(ProducerId(d.meta.producer_id))
                .with_transaction_state(str_bytes(d.meta.state.name()))
        })
        .collect();
    ListTransactionsResponse::default()
        .with_error_code(NONE)
        .with_unknown_state_filters(unknown)
        .with_transaction_states(listed)
}
