//! OffsetCommit and OffsetFetch (one group per request up to v7, many from v8). From v10
//! (KIP-848) both name topics by id: an id this broker does not know is UNKNOWN_TOPIC_ID
//! for each of its partitions, never passed on to the group coordinator, and answers
//! carry the id back.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions, OffsetFetchResponseTopic,
    OffsetFetchResponseTopics,
};
use kafka_protocol::messages::*;
use tidelog_broker::group::{CommittedOffset, OffsetCommit};
use uuid::Uuid;

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
    let names: Vec<Option<String>> = request
        .topics
        .iter()
        .map(|t| if version >= 10 { ctx.broker.topic_name_by_id(t.topic_id) } else { Some(t.name.0.to_string()) })
        .collect();
    let commits: Vec<OffsetCommit> = request
        .topics
        .iter()
        .zip(&names)
        .filter_map(|(t, name)| Some((t, name.as_ref()?)))
        .flat_map(|(t, name)| {
            t.partitions.iter().map(|p| OffsetCommit {
                topic: name.clone(),
                partition: p.partition_index,
                offset: p.committed_offset,
                leader_epoch: p.committed_leader_epoch,
                metadata: p.committed_metadata.as_deref().unwrap_or_default().to_string(),
            })
        })
        .collect();
    let committed = commits.len();
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
    let mut codes = item_codes(&outcome, committed);
    let topics = request
        .topics
        .into_iter()
        .zip(names)
        .map(|(t, name)| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let code = match name {
                        Some(_) => for_version(ApiKey::OffsetCommit, version, codes.next().unwrap_or(NONE)),
                        None => ResponseError::UnknownTopicId.code(),
                    };
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code)
                })
                .collect();
            OffsetCommitResponseTopic::default().with_name(t.name).with_topic_id(t.topic_id).with_partitions(partitions)
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
        let groups = request.groups.into_iter().map(|g| fetch_group(ctx, g, version)).collect();
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

/// One group of an OffsetFetch v8+: its committed offsets, by topic name up to v9 and by
/// topic id from v10.
fn fetch_group(
    ctx: &Scope,
    group: offset_fetch_request::OffsetFetchRequestGroup,
    version: i16,
) -> OffsetFetchResponseGroup {
    let by_id = version >= 10;
    let mut unknown_ids = Vec::new();
    let wanted = group.topics.map(|ts| {
        ts.into_iter()
            .filter_map(|t| {
                let name = if by_id { ctx.broker.topic_name_by_id(t.topic_id) } else { Some(t.name.0.to_string()) };
                if name.is_none() {
                    unknown_ids.push((t.topic_id, t.partition_indexes.clone()));
                }
                Some((name?, t.partition_indexes))
            })
            .collect()
    });
    let rows = match rows(ctx, &group.group_id.0, wanted) {
        Ok(rows) => rows,
        Err(code) => return OffsetFetchResponseGroup::default().with_group_id(group.group_id).with_error_code(code),
    };
    let mut topics: Vec<OffsetFetchResponseTopics> = rows
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
            let topic_id = if by_id { topic_id(ctx, &name.0) } else { Uuid::nil() };
            OffsetFetchResponseTopics::default().with_name(name).with_topic_id(topic_id).with_partitions(partitions)
        })
        .collect();
    topics.extend(unknown_ids.into_iter().map(|(topic_id, partitions)| {
        let partitions = partitions
            .into_iter()
            .map(|partition| {
                OffsetFetchResponsePartitions::default()
                    .with_partition_index(partition)
                    .with_committed_offset(-1)
                    .with_committed_leader_epoch(-1)
                    .with_metadata(Some(str_bytes("")))
                    .with_error_code(ResponseError::UnknownTopicId.code())
            })
            .collect();
        OffsetFetchResponseTopics::default().with_topic_id(topic_id).with_partitions(partitions)
    }));
    OffsetFetchResponseGroup::default().with_group_id(group.group_id).with_topics(topics)
}

/// The id of a topic by name; nil for one deleted since its offsets were committed.
fn topic_id(ctx: &Scope, name: &str) -> Uuid {
    ctx.broker.topic(name).map_or(Uuid::nil(), |t| t.meta.topic_id)
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
