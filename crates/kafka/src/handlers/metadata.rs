//! Metadata: this broker as the only node and leader of every partition; topics by name
//! or (v12+) by id, auto-created when the broker and the request allow it; the topics'
//! and (v8-10) the cluster's authorized operations when asked.

use std::collections::HashSet;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use tidelog_broker::{validate_topic_name, TopicHandle};

use super::{authorized_operations, str_bytes};
use crate::errors::{error_code, NONE};
use crate::scope::Scope;

pub(crate) fn handle(ctx: &Arc<Scope>, request: MetadataRequest, version: i16) -> MetadataResponse {
    if let Some(refusal) = refuse_ids_before_v12(&request, version) {
        return refusal;
    }
    let broker = &ctx.broker;
    let node: BrokerId = broker.node_id().into();
    let include_topic_operations = version >= 8 && request.include_topic_authorized_operations;
    // v11 dropped the cluster's operations from Metadata (DescribeCluster answers them).
    let cluster_authorized_operations = if (8..=10).contains(&version) && request.include_cluster_authorized_operations
    {
        authorized_operations::cluster(ctx)
    } else {
        authorized_operations::NOT_REQUESTED
    };
    // v0: an empty list means all topics; v1+: null means all, empty means none.
    let wants_all = match &request.topics {
        None => true,
        Some(t) => t.is_empty() && version == 0,
    };
    let allow_auto_create = version < 4 || request.allow_auto_topic_creation;
    let mut topics: Vec<MetadataResponseTopic> = if wants_all {
        broker.describable_topics(&ctx.caller).iter().map(|t| topic_entry(t, node, version)).collect()
    } else {
        // Each topic once, as Kafka answers (it reads the request's topics into a set): a
        // request naming one topic a million times gets one answer, not a million.
        let mut seen = HashSet::new();
        request
            .topics
            .unwrap_or_default()
            .into_iter()
            .filter(|wanted| seen.insert((wanted.name.clone(), wanted.topic_id)))
            .map(|wanted| match wanted.name {
                Some(name) => by_name(ctx, name, allow_auto_create, node, version),
                None => match broker.topic_name_by_id(wanted.topic_id).and_then(|n| broker.topic(&n)) {
                    Some(t) => topic_entry(&t, node, version),
                    // No name for an unknown id (v12+, where the name is nullable).
                    None => MetadataResponseTopic::default()
                        .with_name(None)
                        .with_topic_id(wanted.topic_id)
                        .with_error_code(ResponseError::UnknownTopicId.code()),
                },
            })
            .collect()
    };
    if include_topic_operations {
        // As Kafka: every topic answered by name, found or not, but none the caller may
        // not describe and none of an unknown id.
        let withheld = [ResponseError::TopicAuthorizationFailed.code(), ResponseError::UnknownTopicId.code()];
        for topic in topics.iter_mut().filter(|t| !withheld.contains(&t.error_code)) {
            if let Some(name) = &topic.name {
                topic.topic_authorized_operations = authorized_operations::topic(ctx, &name.0);
            }
        }
    }
    MetadataResponse::default()
        .with_brokers(vec![MetadataResponseBroker::default()
            .with_node_id(node)
            .with_host(str_bytes(ctx.listener.advertised_host.clone()))
            .with_port(ctx.listener.advertised_port)])
        .with_cluster_id(Some(str_bytes(broker.cluster_id())))
        .with_controller_id(node)
        .with_topics(topics)
        .with_cluster_authorized_operations(cluster_authorized_operations)
        .with_error_code(NONE)
}

/// v10 and v11 carry topic ids in the schema but not yet in meaning: Kafka refuses a
/// request that names a topic by id (or by no name) below v12 with INVALID_REQUEST for
/// every topic, and (v13+) for the whole response.
fn refuse_ids_before_v12(request: &MetadataRequest, version: i16) -> Option<MetadataResponse> {
    let topics = request.topics.as_ref()?;
    if version >= 12 || topics.iter().all(|t| t.name.is_some() && t.topic_id.is_nil()) {
        return None;
    }
    let code = ResponseError::InvalidRequest.code();
    let answers = topics
        .iter()
        .map(|t| {
            MetadataResponseTopic::default()
                .with_name(Some(t.name.clone().unwrap_or_default()))
                .with_topic_id(t.topic_id)
                .with_error_code(code)
        })
        .collect();
    Some(MetadataResponse::default().with_topics(answers).with_error_code(code))
}

fn by_name(
    ctx: &Scope,
    name: TopicName,
    allow_auto_create: bool,
    node: BrokerId,
    version: i16,
) -> MetadataResponseTopic {
    let failed = |code: i16| MetadataResponseTopic::default().with_name(Some(name.clone())).with_error_code(code);
    if validate_topic_name(&name.0).is_err() {
        return failed(ResponseError::InvalidTopicException.code());
    }
    let found = if allow_auto_create {
        ctx.broker.topic_or_auto_create(&ctx.caller, &name.0)
    } else {
        ctx.broker.describe_topic(&ctx.caller, &name.0)
    };
    match found {
        Ok(Some(topic)) => topic_entry(&topic, node, version),
        Ok(None) => failed(ResponseError::UnknownTopicOrPartition.code()),
        Err(e) => failed(error_code(&e)),
    }
}

fn topic_entry(topic: &TopicHandle, node: BrokerId, version: i16) -> MetadataResponseTopic {
    let partitions = (0..topic.meta.partitions as i32)
        .map(|index| {
            MetadataResponsePartition::default()
                .with_error_code(NONE)
                .with_partition_index(index)
                .with_leader_id(node)
                .with_leader_epoch(0)
                .with_replica_nodes(vec![node])
                .with_isr_nodes(vec![node])
        })
        .collect();
    let mut entry = MetadataResponseTopic::default()
        .with_error_code(NONE)
        .with_name(Some(TopicName(str_bytes(topic.meta.name.clone()))))
        .with_is_internal(topic.meta.name.starts_with("__"))
        .with_partitions(partitions);
    if version >= 10 {
        entry.topic_id = topic.meta.topic_id;
    }
    entry
}
