//! The consumer rebalance protocol (KIP-848): ConsumerGroupHeartbeat and
//! ConsumerGroupDescribe. Topic ids on the wire, topic names in the broker.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment as DescribedAssignment, DescribedGroup, Member, TopicPartitions as DescribedTopicPartitions,
};
use kafka_protocol::messages::consumer_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::*;
use tidelog_broker::group::ConsumerHeartbeat;

use super::str_bytes;
use crate::dispatch::Client;
use crate::errors::{error_code, NONE};
use crate::scope::Scope;

const OPERATIONS_NOT_REQUESTED: i32 = i32::MIN;

/// Groups (topic, partition) pairs by topic id, skipping topics that no longer exist.
fn by_topic_id(ctx: &Scope, partitions: &BTreeSet<(String, i32)>) -> Vec<(uuid::Uuid, String, Vec<i32>)> {
    let mut grouped: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for (topic, p) in partitions {
        grouped.entry(topic.clone()).or_default().push(*p);
    }
    grouped
        .into_iter()
        .filter_map(|(topic, ps)| ctx.broker.topic(&topic).map(|h| (h.meta.topic_id, topic, ps)))
        .collect()
}

pub(crate) fn heartbeat(
    ctx: &Arc<Scope>,
    client: &Client,
    request: ConsumerGroupHeartbeatRequest,
    _version: i16,
) -> ConsumerGroupHeartbeatResponse {
    let owned = request.topic_partitions.as_ref().map(|tps| {
        tps.iter()
            .filter_map(|tp| ctx.broker.topic_name_by_id(tp.topic_id).map(|name| (name, &tp.partitions)))
            .flat_map(|(name, ps)| ps.iter().map(move |p| (name.clone(), *p)))
            .collect()
    });
    let heartbeat = ConsumerHeartbeat {
        member_id: request.member_id.to_string(),
        member_epoch: request.member_epoch,
        instance_id: request.instance_id.as_ref().map(|s| s.to_string()),
        rack_id: request.rack_id.as_ref().map(|s| s.to_string()),
        client_id: client.client_id.clone(),
        client_host: client.host.clone(),
        rebalance_timeout: Duration::from_millis(request.rebalance_timeout_ms.max(0) as u64),
        subscribed_topics: request
            .subscribed_topic_names
            .as_ref()
            .map(|ts| ts.iter().map(|t| t.0.to_string()).collect()),
        // Only v1 carries it; INVALID_REGULAR_EXPRESSION is therefore only ever sent to v1.
        subscribed_topic_regex: request.subscribed_topic_regex.as_ref().map(|r| r.to_string()),
        server_assignor: request.server_assignor.as_ref().map(|s| s.to_string()),
        owned,
    };
    match ctx.broker.consumer_group_heartbeat(&ctx.caller, &request.group_id.0, heartbeat) {
        Ok(outcome) => {
            let assignment = outcome.assignment.map(|a| {
                let topic_partitions = by_topic_id(ctx, &a)
                    .into_iter()
                    .map(|(id, _, ps)| TopicPartitions::default().with_topic_id(id).with_partitions(ps))
                    .collect();
                Assignment::default().with_topic_partitions(topic_partitions)
            });
            ConsumerGroupHeartbeatResponse::default()
                .with_error_code(NONE)
                .with_member_id(Some(str_bytes(outcome.member_id)))
                .with_member_epoch(outcome.member_epoch)
                .with_heartbeat_interval_ms(
                    ctx.broker.group_config(&request.group_id.0).consumer_heartbeat_interval_ms as i32,
                )
                .with_assignment(assignment)
        }
        Err(e) => ConsumerGroupHeartbeatResponse::default()
            .with_error_code(error_code(&e))
            .with_error_message(Some(str_bytes(e.to_string()))),
    }
}

fn described_assignment(ctx: &Scope, partitions: &BTreeSet<(String, i32)>) -> DescribedAssignment {
    let topic_partitions = by_topic_id(ctx, partitions)
        .into_iter()
        .map(|(id, name, ps)| {
            DescribedTopicPartitions::default()
                .with_topic_id(id)
                .with_topic_name(TopicName(str_bytes(name)))
                .with_partitions(ps)
        })
        .collect();
    DescribedAssignment::default().with_topic_partitions(topic_partitions)
}

pub(crate) fn describe(
    ctx: &Arc<Scope>,
    request: ConsumerGroupDescribeRequest,
    version: i16,
) -> ConsumerGroupDescribeResponse {
    let groups = request
        .group_ids
        .into_iter()
        .map(|id| match ctx.broker.describe_consumer_group(&ctx.caller, &id.0) {
            Err(refused) => DescribedGroup::default()
                .with_group_id(id.clone())
                .with_error_code(error_code(&refused))
                .with_error_message(Some(str_bytes(refused.to_string()))),
            Ok(None) => DescribedGroup::default()
                .with_group_id(id.clone())
                .with_error_code(ResponseError::GroupIdNotFound.code())
                .with_error_message(Some(str_bytes(format!("Group {} is not a consumer group.", id.0)))),
            Ok(Some(d)) => {
                let members = d
                    .members
                    .iter()
                    .map(|m| {
                        // v1 tells classic members (served during a migration) apart.
                        let member_type = match (version >= 1, m.classic) {
                            (false, _) => -1,
                            (true, true) => 0,
                            (true, false) => 1,
                        };
                        Member::default()
                            .with_member_type(member_type)
                            .with_member_id(str_bytes(m.member_id.clone()))
                            .with_instance_id(m.instance_id.clone().map(str_bytes))
                            .with_rack_id(m.rack_id.clone().map(str_bytes))
                            .with_member_epoch(m.member_epoch)
                            .with_client_id(str_bytes(m.client_id.clone()))
                            .with_client_host(str_bytes(m.client_host.clone()))
                            .with_subscribed_topic_names(
                                m.subscribed_topics.iter().map(|t| TopicName(str_bytes(t.clone()))).collect(),
                            )
                            .with_subscribed_topic_regex(m.subscribed_topic_regex.clone().map(str_bytes))
                            .with_assignment(described_assignment(ctx, &m.assignment))
                            .with_target_assignment(described_assignment(ctx, &m.target_assignment))
                    })
                    .collect();
                DescribedGroup::default()
                    .with_error_code(NONE)
                    .with_group_id(id)
                    .with_group_state(str_bytes(d.state))
                    .with_group_epoch(d.group_epoch)
                    .with_assignment_epoch(d.assignment_epoch)
                    .with_assignor_name(str_bytes(d.assignor))
                    .with_members(members)
                    .with_authorized_operations(OPERATIONS_NOT_REQUESTED)
            }
        })
        .collect();
    ConsumerGroupDescribeResponse::default().with_groups(groups)
}
