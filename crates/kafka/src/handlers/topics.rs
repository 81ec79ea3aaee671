//! CreateTopics, DeleteTopics, CreatePartitions.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::{CreatableTopicConfigs, CreatableTopicResult};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::*;
use tidelog_broker::{BrokerError, NewTopic};

use super::configs::source_code;
use super::str_bytes;
use crate::errors::{error_code, NONE};
use crate::scope::Scope;

pub(crate) fn create(ctx: &Arc<Scope>, request: CreateTopicsRequest, version: i16) -> CreateTopicsResponse {
    let mut seen = HashSet::new();
    let duplicates: HashSet<String> =
        request.topics.iter().filter(|t| !seen.insert(t.name.0.to_string())).map(|t| t.name.0.to_string()).collect();
    let results = request
        .topics
        .into_iter()
        .map(|topic| {
            let name = topic.name.0.to_string();
            let failed = |code: i16, message: String| {
                let mut r = CreatableTopicResult::default()
                    .with_name(topic.name.clone())
                    .with_error_code(code)
                    .with_num_partitions(-1)
                    .with_replication_factor(-1);
                if version >= 1 {
                    r.error_message = Some(str_bytes(message));
                }
                r
            };
            if duplicates.contains(&name) {
                return failed(
                    ResponseError::InvalidRequest.code(),
                    format!("Create topics request contains duplicate topic name '{name}'."),
                );
            }
            // A manual assignment stands for both counts, which must then be -1 (KIP-464);
            // Kafka's controller checks them in this order, with these words.
            let (partitions, replication) = if topic.assignments.is_empty() {
                (topic.num_partitions, topic.replication_factor)
            } else if topic.replication_factor != -1 {
                return failed(
                    ResponseError::InvalidRequest.code(),
                    "A manual partition assignment was specified, but replication factor was not set to -1.".into(),
                );
            } else if topic.num_partitions != -1 {
                return failed(
                    ResponseError::InvalidRequest.code(),
                    "A manual partition assignment was specified, but numPartitions was not set to -1.".into(),
                );
            } else {
                let assignments: Vec<(i32, Vec<i32>)> = topic
                    .assignments
                    .iter()
                    .map(|a| (a.partition_index, a.broker_ids.iter().map(|b| b.0).collect()))
                    .collect();
                match ctx.broker.check_topic_assignment(&assignments) {
                    Ok(counts) => counts,
                    Err(e) => return failed(error_code(&e), e.to_string()),
                }
            };
            let mut configs = BTreeMap::new();
            for c in &topic.configs {
                match &c.value {
                    Some(v) => configs.insert(c.name.to_string(), v.to_string()),
                    None => {
                        return failed(
                            ResponseError::InvalidConfig.code(),
                            format!("Null value not supported for topic configs: {}", c.name),
                        )
                    }
                };
            }
            let new_topic = NewTopic {
                name: name.clone(),
                partitions: (partitions != -1).then_some(partitions),
                replication_factor: (replication != -1).then_some(replication),
                configs,
            };
            match ctx.broker.create_topic(&ctx.caller, new_topic, request.validate_only) {
                Ok(meta) => {
                    let mut r = CreatableTopicResult::default()
                        .with_name(topic.name.clone())
                        .with_error_code(NONE)
                        .with_error_message(None);
                    if version >= 5 {
                        r.num_partitions = meta.partitions as i32;
                        r.replication_factor = 1;
                        r.configs = Some(topic_configs(ctx, &meta.configs));
                    }
                    if version >= 7 {
                        r.topic_id = meta.topic_id;
                    }
                    r
                }
                Err(e) => failed(error_code(&e), e.to_string()),
            }
        })
        .collect();
    CreateTopicsResponse::default().with_topics(results)
}

fn topic_configs(ctx: &Scope, overrides: &BTreeMap<String, String>) -> Vec<CreatableTopicConfigs> {
    tidelog_broker::config::TopicConfig { overrides, broker: ctx.broker.config() }
        .entries()
        .into_iter()
        .map(|e| {
            CreatableTopicConfigs::default()
                .with_name(str_bytes(e.name))
                .with_value(e.value.map(str_bytes))
                .with_config_source(source_code(e.source))
        })
        .collect()
}

pub(crate) fn delete(ctx: &Arc<Scope>, request: DeleteTopicsRequest, version: i16) -> DeleteTopicsResponse {
    // v6 names topics by name or id; earlier versions by name only.
    let wanted: Vec<(Option<String>, uuid::Uuid)> = if version >= 6 {
        request.topics.iter().map(|t| (t.name.as_ref().map(|n| n.0.to_string()), t.topic_id)).collect()
    } else {
        request.topic_names.iter().map(|n| (Some(n.0.to_string()), uuid::Uuid::nil())).collect()
    };
    let responses = wanted
        .into_iter()
        .map(|(name, id)| {
            let resolved = name.clone().or_else(|| ctx.broker.topic_name_by_id(id));
            let outcome = match &resolved {
                Some(n) => ctx.broker.delete_topic(&ctx.caller, n),
                None => Err(BrokerError::UnknownTopicId(id)),
            };
            let mut r = DeletableTopicResult::default().with_name(resolved.map(|n| TopicName(str_bytes(n))));
            match outcome {
                Ok(deleted_id) => {
                    r.error_code = NONE;
                    if version >= 6 {
                        r.topic_id = deleted_id;
                    }
                }
                Err(e) => {
                    r.error_code = error_code(&e);
                    if version >= 5 {
                        r.error_message = Some(str_bytes(e.to_string()));
                    }
                    if version >= 6 {
                        r.topic_id = id;
                    }
                }
            }
            r
        })
        .collect();
    DeleteTopicsResponse::default().with_responses(responses)
}

pub(crate) fn create_partitions(
    ctx: &Arc<Scope>,
    request: CreatePartitionsRequest,
    _version: i16,
) -> CreatePartitionsResponse {
    // A topic named twice is refused, once, as Kafka's ControllerApis refuses it.
    let mut seen = HashSet::new();
    let duplicates: BTreeSet<TopicName> =
        request.topics.iter().filter(|t| !seen.insert(t.name.clone())).map(|t| t.name.clone()).collect();
    let refused = duplicates.iter().map(|name| {
        CreatePartitionsTopicResult::default()
            .with_name(name.clone())
            .with_error_code(ResponseError::InvalidRequest.code())
            .with_error_message(Some(str_bytes("Duplicate topic name.")))
    });
    let results = request
        .topics
        .into_iter()
        .filter(|topic| !duplicates.contains(&topic.name))
        .map(|topic| {
            let assignments: Option<Vec<Vec<i32>>> = topic
                .assignments
                .as_ref()
                .map(|list| list.iter().map(|a| a.broker_ids.iter().map(|b| b.0).collect()).collect());
            let outcome = ctx.broker.create_partitions(
                &ctx.caller,
                &topic.name.0,
                topic.count,
                assignments.as_deref(),
                request.validate_only,
            );
            let r = CreatePartitionsTopicResult::default().with_name(topic.name);
            match outcome {
                Ok(()) => r.with_error_code(NONE).with_error_message(None),
                Err(e) => r.with_error_code(error_code(&e)).with_error_message(Some(str_bytes(e.to_string()))),
            }
        })
        .chain(refused)
        .collect();
    CreatePartitionsResponse::default().with_results(results)
}
