//! Share group membership and offsets (KIP-932): ShareGroupHeartbeat, ShareGroupDescribe,
//! DescribeShareGroupOffsets, AlterShareGroupOffsets, DeleteShareGroupOffsets. Topic ids
//! on the wire where Kafka uses them, names in the broker.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_share_group_offsets_response::{
    AlterShareGroupOffsetsResponsePartition, AlterShareGroupOffsetsResponseTopic,
};
use kafka_protocol::messages::delete_share_group_offsets_response::DeleteShareGroupOffsetsResponseTopic;
use kafka_protocol::messages::describe_share_group_offsets_response::{
    DescribeShareGroupOffsetsResponseGroup, DescribeShareGroupOffsetsResponsePartition,
    DescribeShareGroupOffsetsResponseTopic,
};
use kafka_protocol::messages::share_group_describe_response::{
    Assignment as DescribedAssignment, DescribedGroup, Member, TopicPartitions as DescribedTopicPartitions,
};
use kafka_protocol::messages::share_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::*;
use tidelog_broker::share::ShareHeartbeat;

use super::str_bytes;
use crate::dispatch::Client;
use crate::errors::{error_code, NONE};
use crate::scope::Scope;

pub(crate) async fn heartbeat(
    ctx: &Arc<Scope>,
    client: &Client,
    request: ShareGroupHeartbeatRequest,
    _version: i16,
) -> ShareGroupHeartbeatResponse {
    let heartbeat = ShareHeartbeat {
        member_id: request.member_id.to_string(),
        member_epoch: request.member_epoch,
        rack_id: request.rack_id.as_ref().map(|s| s.to_string()),
        client_id: client.client_id.clone(),
        client_host: client.host.clone(),
        subscribed_topics: request
            .subscribed_topic_names
            .as_ref()
            .map(|ts| ts.iter().map(|t| t.0.to_string()).collect()),
    };
    match ctx.broker.share_group_heartbeat(&ctx.caller, &request.group_id.0, heartbeat).await {
        Ok(outcome) => {
            let assignment = outcome.assignment.map(|a| {
                let topic_partitions = with_topic_ids(ctx, &a)
                    .map(|(id, _, ps)| TopicPartitions::default().with_topic_id(id).with_partitions(ps.clone()))
                    .collect();
                Assignment::default().with_topic_partitions(topic_partitions)
            });
            ShareGroupHeartbeatResponse::default()
                .with_error_code(NONE)
                .with_member_id(Some(str_bytes(outcome.member_id)))
                .with_member_epoch(outcome.member_epoch)
                .with_heartbeat_interval_ms(outcome.heartbeat_interval_ms)
                .with_assignment(assignment)
        }
        Err(e) => ShareGroupHeartbeatResponse::default()
            .with_error_code(error_code(&e))
            .with_error_message(Some(str_bytes(e.to_string()))),
    }
}

/// (topic id, name, partitions) of an assignment, skipping topics deleted meanwhile.
fn with_topic_ids<'a>(
    ctx: &'a Scope,
    assignment: &'a BTreeMap<String, Vec<i32>>,
) -> impl Iterator<Item = (uuid::Uuid, &'a String, &'a Vec<i32>)> + 'a {
    assignment.iter().filter_map(|(t, ps)| ctx.broker.topic(t).map(|h| (h.meta.topic_id, t, ps)))
}

pub(crate) fn describe(
    ctx: &Arc<Scope>,
    request: ShareGroupDescribeRequest,
    _version: i16,
) -> ShareGroupDescribeResponse {
    let groups = request
        .group_ids
        .into_iter()
        .map(|id| match ctx.broker.describe_share_group(&ctx.caller, &id.0) {
            Err(refused) => DescribedGroup::default()
                .with_group_id(id)
                .with_error_code(error_code(&refused))
                .with_error_message(Some(str_bytes(refused.to_string()))),
            Ok(None) => DescribedGroup::default()
                .with_group_id(id.clone())
                .with_error_code(ResponseError::GroupIdNotFound.code())
                .with_error_message(Some(str_bytes(format!("Group {} is not a share group.", id.0)))),
            Ok(Some(d)) => {
                let members = d
                    .members
                    .iter()
                    .map(|m| {
                        let topic_partitions = with_topic_ids(ctx, &m.assignment)
                            .map(|(id, name, ps)| {
                                DescribedTopicPartitions::default()
                                    .with_topic_id(id)
                                    .with_topic_name(TopicName(str_bytes(name.clone())))
                                    .with_partitions(ps.clone())
                            })
                            .collect();
                        Member::default()
                            .with_member_id(str_bytes(m.member_id.clone()))
                            .with_rack_id(m.rack_id.clone().map(str_bytes))
                            .with_member_epoch(m.member_epoch)
                            .with_client_id(str_bytes(m.client_id.clone()))
                            .with_client_host(str_bytes(m.client_host.clone()))
                            .with_subscribed_topic_names(
                                m.subscribed.iter().map(|t| TopicName(str_bytes(t.clone()))).collect(),
                            )
                            .with_assignment(DescribedAssignment::default().with_topic_partitions(topic_partitions))
                    })
                    .collect();
                DescribedGroup::default()
                    .with_error_code(NONE)
                    .with_group_id(id)
                    .with_group_state(str_bytes(d.state))
                    .with_group_epoch(d.group_epoch)
                    .with_assignment_epoch(d.group_epoch)
                    .with_assignor_name(str_bytes("simple"))
                    .with_members(members)
                    .with_authorized_operations(i32::MIN)
            }
        })
        .collect();
    ShareGroupDescribeResponse::default().with_groups(groups)
}

/// DescribeShareGroupOffsets: each partition's start offset and lag (records from there
/// to the high watermark not yet done with). No topics listed: every partition the group
/// has state for.
pub(crate) async fn describe_offsets(
    ctx: &Arc<Scope>,
    _client: &Client,
    request: DescribeShareGroupOffsetsRequest,
    _version: i16,
) -> DescribeShareGroupOffsetsResponse {
    let mut groups = Vec::with_capacity(request.groups.len());
    for group in request.groups {
        let wanted: Vec<(String, i32)> = match &group.topics {
            Some(topics) => {
                topics.iter().flat_map(|t| t.partitions.iter().map(|p| (t.topic_name.0.to_string(), *p))).collect()
            }
            None => ctx.broker.share_group_partitions(&group.group_id.0),
        };
        let answer = DescribeShareGroupOffsetsResponseGroup::default().with_group_id(group.group_id.clone());
        let offsets = match ctx.broker.share_group_offsets(&ctx.caller, &group.group_id.0, &wanted).await {
            Ok(offsets) => offsets,
            Err(e) => {
                groups.push(answer.with_error_code(error_code(&e)).with_error_message(Some(str_bytes(e.to_string()))));
                continue;
            }
        };
        let mut topics: BTreeMap<String, Vec<DescribeShareGroupOffsetsResponsePartition>> = BTreeMap::new();
        for ((topic, index), offset) in wanted.into_iter().zip(offsets) {
            let mut partition = DescribeShareGroupOffsetsResponsePartition::default()
                .with_partition_index(index)
                .with_start_offset(offset.start_offset)
                .with_leader_epoch(0)
                .with_lag(-1);
            match ctx.broker.partition(&topic, index) {
                Ok(p) if offset.start_offset >= 0 => {
                    let high = p.offsets().high_watermark as i64;
                    partition.lag = (high - offset.start_offset).max(0);
                }
                Ok(_) => {}
                Err(e) => {
                    partition.error_code = error_code(&e);
                    partition.error_message = Some(str_bytes(e.to_string()));
                }
            }
            topics.entry(topic).or_default().push(partition);
        }
        let topics = topics
            .into_iter()
            .map(|(name, partitions)| {
                let id = ctx.broker.topic(&name).map(|h| h.meta.topic_id).unwrap_or_default();
                DescribeShareGroupOffsetsResponseTopic::default()
                    .with_topic_name(TopicName(str_bytes(name)))
                    .with_topic_id(id)
                    .with_partitions(partitions)
            })
            .collect();
        groups.push(answer.with_error_code(NONE).with_topics(topics));
    }
    DescribeShareGroupOffsetsResponse::default().with_groups(groups)
}

pub(crate) async fn alter_offsets(
    ctx: &Arc<Scope>,
    _client: &Client,
    request: AlterShareGroupOffsetsRequest,
    _version: i16,
) -> AlterShareGroupOffsetsResponse {
    let wanted: Vec<((String, i32), i64)> = request
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| ((t.topic_name.0.to_string(), p.partition_index), p.start_offset)))
        .collect();
    let outcome = ctx.broker.alter_share_group_offsets(&ctx.caller, &request.group_id.0, wanted.clone()).await;
    let results = match outcome {
        Err(e) => {
            return AlterShareGroupOffsetsResponse::default()
                .with_error_code(error_code(&e))
                .with_error_message(Some(str_bytes(e.to_string())))
        }
        Ok(results) => results,
    };
    let mut topics: BTreeMap<String, Vec<AlterShareGroupOffsetsResponsePartition>> = BTreeMap::new();
    for (((topic, index), _), result) in wanted.into_iter().zip(results) {
        let mut partition = AlterShareGroupOffsetsResponsePartition::default().with_partition_index(index);
        if let Err(e) = result {
            partition.error_code = error_code(&e);
            partition.error_message = Some(str_bytes(e.to_string()));
        }
        topics.entry(topic).or_default().push(partition);
    }
    let responses = topics
        .into_iter()
        .map(|(name, partitions)| {
            let id = ctx.broker.topic(&name).map(|h| h.meta.topic_id).unwrap_or_default();
            AlterShareGroupOffsetsResponseTopic::default()
                .with_topic_name(TopicName(str_bytes(name)))
                .with_topic_id(id)
                .with_partitions(partitions)
        })
        .collect();
    AlterShareGroupOffsetsResponse::default().with_error_code(NONE).with_responses(responses)
}

/// DeleteShareGroupOffsets: the group forgets its position in whole topics.
pub(crate) async fn delete_offsets(
    ctx: &Arc<Scope>,
    _client: &Client,
    request: DeleteShareGroupOffsetsRequest,
    _version: i16,
) -> DeleteShareGroupOffsetsResponse {
    let group = request.group_id.0.to_string();
    let held = ctx.broker.share_group_partitions(&group);
    let mut responses = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        let name = topic.topic_name.0.to_string();
        let partitions: Vec<(String, i32)> = held.iter().filter(|(t, _)| *t == name).cloned().collect();
        let mut response = DeleteShareGroupOffsetsResponseTopic::default()
            .with_topic_name(topic.topic_name.clone())
            .with_topic_id(ctx.broker.topic(&name).map(|h| h.meta.topic_id).unwrap_or_default());
        match ctx.broker.delete_share_group_offsets(&ctx.caller, &group, Some(&partitions)).await {
            Err(e @ tidelog_broker::BrokerError::NonEmptyGroup(_)) => {
                return DeleteShareGroupOffsetsResponse::default()
                    .with_error_code(error_code(&e))
                    .with_error_message(Some(str_bytes(e.to_string())))
            }
            Err(e) => {
                response.error_code = error_code(&e);
                response.error_message = Some(str_bytes(e.to_string()));
            }
            Ok(()) => {}
        }
        responses.push(response);
    }
    DeleteShareGroupOffsetsResponse::default().with_error_code(NONE).with_responses(responses)
}
