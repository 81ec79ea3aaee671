//! OffsetCommit and OffsetFetch (one group per request up to v7, many from v8).

use std::sync::Arc;

use kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions, OffsetFetchResponseTopic,
    OffsetFetchResponseTopics,
};
use kafka_protocol::messages::*;
use tidelog_broker::group::{CommittedOffset, OffsetCommit};

use super::str_bytes;
use crate::dispatch::Client;
use crate::errors::{error_code, NONE};
use crate::server::Context;

pub(crate) async fn commit(
    ctx: &Arc<Context>,
    _client: &Client,
    request: OffsetCommitRequest,
    _version: i16,
) -> OffsetCommitResponse {
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
        .commit_offsets(
            &request.group_id.0,
            request.generation_id_or_member_epoch,
            &request.member_id,
            instance.as_deref(),
            commits,
        )
        .await;
    let mut codes = match &outcome {
        Ok(results) => {
            results.iter().map(|r| r.as_ref().err().map_or(NONE, error_code)).collect::<Vec<_>>().into_iter()
        }
        Err(e) => vec![error_code(e); request.topics.iter().map(|t| t.partitions.len()).sum()].into_iter(),
    };
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(codes.next().unwrap_or(NONE))
                })
                .collect();
            OffsetCommitResponseTopic::default().with_name(t.name).with_partitions(partitions)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

fn committed(value: Option<CommittedOffset>) -> (i64, i32, String) {
    value.map_or((-1, -1, String::new()), |v| (v.offset, v.leader_epoch, v.metadata))
}

pub(crate) fn fetch(ctx: &Arc<Context>, request: OffsetFetchRequest, version: i16) -> OffsetFetchResponse {
    if version >= 8 {
        let groups = request
            .groups
            .into_iter()
            .map(|g| {
                let wanted =
                    g.topics.map(|ts| ts.into_iter().map(|t| (t.name.0.to_string(), t.partition_indexes)).collect());
                let topics = ctx
                    .broker
                    .fetch_offsets(&g.group_id.0, wanted)
                    .into_iter()
                    .map(|(topic, partitions)| {
                        let partitions = partitions
                            .into_iter()
                            .map(|(p, value)| {
                                let (offset, epoch, metadata) = committed(value);
                                OffsetFetchResponsePartitions::default()
                                    .with_partition_index(p)
                                    .with_committed_offset(offset)
                                    .with_committed_leader_epoch(epoch)
                                    .with_metadata(Some(str_bytes(metadata)))
                                    .with_error_code(NONE)
                            })
                            .collect();
                        OffsetFetchResponseTopics::default()
                            .with_name(TopicName(str_bytes(topic)))
                            .with_partitions(partitions)
                    })
                    .collect();
                OffsetFetchResponseGroup::default().with_group_id(g.group_id).with_topics(topics).with_error_code(NONE)
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let wanted = request.topics.map(|ts| ts.into_iter().map(|t| (t.name.0.to_string(), t.partition_indexes)).collect());
    let topics = ctx
        .broker
        .fetch_offsets(&request.group_id.0, wanted)
        .into_iter()
        .map(|(topic, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|(p, value)| {
                    let (offset, epoch, metadata) = committed(value);
                    let r = OffsetFetchResponsePartition::default()
                        .with_partition_index(p)
                        .with_committed_offset(offset)
                        .with_metadata(Some(str_bytes(metadata)))
                        .with_error_code(NONE);
                    if version >= 5 {
                        r.with_committed_leader_epoch(epoch)
                    } else {
                        r
                    }
                })
                .collect();
            OffsetFetchResponseTopic::default().with_name(TopicName(str_bytes(topic))).with_partitions(partitions)
        })
        .collect();
    // An unknown group has no offsets: Kafka answers -1 for each, not an error.
    OffsetFetchResponse::default().with_topics(topics).with_error_code(NONE)
}

pub(crate) async fn delete(
    ctx: &Arc<Context>,
    _client: &Client,
    request: OffsetDeleteRequest,
    _version: i16,
) -> OffsetDeleteResponse {
    use kafka_protocol::messages::offset_delete_response::{OffsetDeleteResponsePartition, OffsetDeleteResponseTopic};
    let partitions: Vec<(String, i32)> = request
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (t.name.0.to_string(), p.partition_index)))
        .collect();
    let mut codes = match ctx.broker.delete_offsets(&request.group_id.0, partitions).await {
        Ok(results) => {
            results.iter().map(|r| r.as_ref().err().map_or(NONE, error_code)).collect::<Vec<_>>().into_iter()
        }
        Err(e) => return OffsetDeleteResponse::default().with_error_code(error_code(&e)),
    };
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    OffsetDeleteResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(codes.next().unwrap_or(NONE))
                })
                .collect();
            OffsetDeleteResponseTopic::default().with_name(t.name).with_partitions(partitions)
        })
        .collect();
    OffsetDeleteResponse::default().with_error_code(NONE).with_topics(topics)
}
