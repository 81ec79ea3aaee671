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
use crate::errors::{error_code, for_version, item_codes, NONE};
use crate::scope::Scope;

pub(crate) async fn commit(
    ctx: &Arc<Scope>,
    _client: &Client,
    request: OffsetCommitRequest,
    version: i16,
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
            &ctx.caller,
            &request.group_id.0,
            request.generation_id_or_member_epoch,
            &request.member_id,
            instance.as_deref(),
            commits,
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
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(for_version(ApiKey::OffsetCommit, version, codes.next().unwrap_or(NONE)))
                })
                .collect();
            OffsetCommitResponseTopic::default().with_name(t.name).with_partitions(partitions)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

/// One committed offset as OffsetFetch reports it: -1 offset and epoch when none.
struct Row {
    partition: i32,
    offset: i64,
    leader_epoch: i32,
    metadata: String,
}

/// The committed offsets of a group, by topic, for the wanted partitions or all of them;
/// `Err` is the group-level error code (the caller may not describe the group).
fn rows(
    ctx: &Scope,
    group_id: &str,
    wanted: Option<Vec<(String, Vec<i32>)>>,
) -> Result<Vec<(TopicName, Vec<Row>)>, i16> {
    let committed = ctx.broker.fetch_offsets(&ctx.caller, group_id, wanted).map_err(|e| error_code(&e))?;
    Ok(committed
        .into_iter()
        .map(|(topic, partitions)| {
            let rows = partitions
                .into_iter()
                .map(|(partition, value): (i32, Option<CommittedOffset>)| {
                    let (offset, leader_epoch, metadata) =
                        value.map_or((-1, -1, String::new()), |v| (v.offset, v.leader_epoch, v.metadata));
                    Row { partition, offset, leader_epoch, metadata }
                })
                .collect();
            (TopicName(str_bytes(topic)), rows)
        })
        .collect())
}

/// OffsetFetch answers one group per request up to v7 and many from v8. An unknown group
/// has no offsets: Kafka answers -1 for each, not an error.
pub(crate) fn fetch(ctx: &Arc<Scope>, request: OffsetFetchRequest, version: i16) -> OffsetFetchResponse {
    if version >= 8 {
        let groups = request
            .groups
            .into_iter()
            .map(|g| {
                let wanted =
                    g.topics.map(|ts| ts.into_iter().map(|t| (t.name.0.to_string(), t.partition_indexes)).collect());
                let rows = match rows(ctx, &g.group_id.0, wanted) {
                    Ok(rows) => rows,
                    Err(code) => {
                        return OffsetFetchResponseGroup::default().with_group_id(g.group_id).with_error_code(code)
                    }
                };
                let topics = rows
                    .into_iter()
                    .map(|(name, rows)| {
                        let partitions = rows
                            .into_iter()
                            .map(|r| {
                                OffsetFetchResponsePartitions::default()
                                    .with_partition_index(r.partition)
                                    .with_committed_offset(r.offset)
                                    .with_committed_leader_epoch(r.leader_epoch)
                                    .with_metadata(Some(str_bytes(r.metadata)))
                            })
                            .collect();
                        OffsetFetchResponseTopics::default().with_name(name).with_partitions(partitions)
                    })
                    .collect();
                OffsetFetchResponseGroup::default().with_group_id(g.group_id).with_topics(topics)
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let wanted = request.topics.map(|ts| ts.into_iter().map(|t| (t.name.0.to_string(), t.partition_indexes)).collect());
    let rows = match rows(ctx, &request.group_id.0, wanted) {
        Ok(rows) => rows,
        Err(code) => return OffsetFetchResponse::default().with_error_code(code),
    };
    let topics = rows
        .into_iter()
        .map(|(name, rows)| {
            let partitions = rows
                .into_iter()
                .map(|r| {
                    let p = OffsetFetchResponsePartition::default()
                        .with_partition_index(r.partition)
                        .with_committed_offset(r.offset)
                        .with_metadata(Some(str_bytes(r.metadata)));
                    if version >= 5 {
                        p.with_committed_leader_epoch(r.leader_epoch)
                    } else {
                        p
                    }
                })
                .collect();
            OffsetFetchResponseTopic::default().with_name(name).with_partitions(partitions)
        })
        .collect();
    OffsetFetchResponse::default().with_topics(topics).with_error_code(NONE)
}

pub(crate) async fn delete(
    ctx: &Arc<Scope>,
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
    let outcome = ctx.broker.delete_offsets(&ctx.caller, &request.group_id.0, partitions).await;
    if let Err(e) = &outcome {
        return OffsetDeleteResponse::default().with_error_code(error_code(e));
    }
    let mut codes = item_codes(&outcome, 0);
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
