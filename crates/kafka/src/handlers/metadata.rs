//! Metadata: this broker as the only node and leader of every partition; topics by name
//! or (v10+) by id, auto-created when the broker and the request allow it.

use std::collections::HashSet;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use tidelog_broker::{validate_topic_name, TopicHandle};

use super::str_bytes;
use crate::errors::{error_code, NONE};
use crate::scope::Scope;

pub(crate) fn handle(ctx: &Arc<Scope>, request: MetadataRequest, version: i16) -> MetadataResponse {
    let broker = &ctx.broker;
    let node: BrokerId = broker.node_id().into();
    // v0: an empty list means all topics; v1+: null means all, empty means none.
    let wants_all = match &request.topics {
        None => true,
        Some(t) => t.is_empty() && version == 0,
    };
    let allow_auto_create = version < 4 || request.allow_auto_topic_creation;
    let topics = if wants_all {
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
                    None => MetadataResponseTopic::default()
                        .with_topic_id(wanted.topic_id)
                        .with_error_code(ResponseError::UnknownTopicId.code()),
                },
            })
            .collect()
    };
    MetadataResponse::default()
        .with_brokers(vec![MetadataResponseBroker::default()
            .with_node_id(node)
            .with_host(str_bytes(ctx.listener.advertised_host.clone()))
            .with_port(ctx.listener.advertised_port)])
        .with_cluster_id(Some(str_bytes(broker.cluster_id())))
        .with_controller_id(node)
        .with_topics(topics)
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
