//! DescribeConfigs for topics and the broker, with sources, synonyms and types.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{
    AlterConfigsRequest, AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use tidelog_broker::config::{Kind, BROKER_SPECS, TOPIC_SPECS};
use tidelog_broker::{ConfigChange, ConfigEntry, ConfigSource};

use super::str_bytes;
use crate::errors::{error_code, NONE};
use crate::scope::Scope;

const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;

/// Kafka's ConfigSource ids.
pub(crate) fn source_code(source: ConfigSource) -> i8 {
    match source {
        ConfigSource::TopicOverride => 1,
        ConfigSource::BrokerStatic => 4,
        ConfigSource::Default => 5,
    }
}

/// Kafka's ConfigType ids (v3+): BOOLEAN 1, STRING 2, LONG 5, LIST 7.
fn config_type(name: &str) -> i8 {
    let kind = BROKER_SPECS
        .iter()
        .find(|s| s.name == name)
        .or_else(|| TOPIC_SPECS.iter().map(|(s, _)| s).find(|s| s.name == name))
        .map(|s| s.kind);
    match (name, kind) {
        ("cleanup.policy" | "log.cleanup.policy", _) => 7,
        (_, Some(Kind::Bool)) => 1,
        (_, Some(Kind::Long { .. })) => 5,
        _ => 2,
    }
}

pub(crate) fn describe(ctx: &Arc<Scope>, request: DescribeConfigsRequest, version: i16) -> DescribeConfigsResponse {
    let results = request
        .resources
        .into_iter()
        .map(|resource| {
            let result = DescribeConfigsResult::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            let name = resource.resource_name.to_string();
            let (entries, read_only) = match resource.resource_type {
                RESOURCE_TOPIC => match ctx.broker.topic_config_entries(&ctx.caller, &name) {
                    Ok(entries) => (entries, false),
                    Err(e) => {
                        return result
                            .with_error_code(error_code(&e))
                            .with_error_message(Some(str_bytes(e.to_string())))
                    }
                },
                RESOURCE_BROKER if name.is_empty() || name == ctx.broker.node_id().to_string() => {
                    (ctx.broker.broker_config_entries(), true)
                }
                RESOURCE_BROKER => {
                    return result.with_error_code(ResponseError::InvalidRequest.code()).with_error_message(Some(
                        str_bytes(format!("unexpected broker id '{name}': this broker is {}", ctx.broker.node_id())),
                    ))
                }
                other => {
                    return result
                        .with_error_code(ResponseError::InvalidRequest.code())
                        .with_error_message(Some(str_bytes(format!("unsupported resource type {other}"))))
                }
            };
            let keys = resource.configuration_keys.map(|k| k.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            let configs = entries
                .into_iter()
                .filter(|e| keys.as_ref().is_none_or(|k| k.contains(&e.name)))
                .map(|e| config_result(e, read_only, request.include_synonyms, version))
                .collect();
            result.with_error_code(NONE).with_configs(configs)
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

fn config_result(
    entry: ConfigEntry,
    read_only: bool,
    include_synonyms: bool,
    version: i16,
) -> DescribeConfigsResourceResult {
    let mut r = DescribeConfigsResourceResult::default()
        .with_name(str_bytes(entry.name.clone()))
        .with_value(Some(str_bytes(entry.value.clone())))
        .with_read_only(read_only)
        .with_config_source(source_code(entry.source));
    if version >= 3 {
        r.config_type = config_type(&entry.name);
    }
    if include_synonyms {
        let mut synonyms = Vec::new();
        if entry.source == ConfigSource::TopicOverride {
            synonyms.push(
                DescribeConfigsSynonym::default()
                    .with_name(str_bytes(entry.name.clone()))
                    .with_value(Some(str_bytes(entry.value)))
                    .with_source(1),
            );
        }
        if let Some((name, value, source)) = entry.synonym {
            if source == ConfigSource::BrokerStatic {
                synonyms.push(
                    DescribeConfigsSynonym::default()
                        .with_name(str_bytes(name.clone()))
                        .with_value(Some(str_bytes(value)))
                        .with_source(4),
                );
            }
        }
        r.synonyms = synonyms;
    }
    r
}

/// The changes one AlterConfigs / IncrementalAlterConfigs resource asks for.
fn alter_resource(
    ctx: &Scope,
    resource_type: i8,
    name: &str,
    changes: Result<Vec<ConfigChange>, String>,
    validate_only: bool,
) -> (i16, Option<String>) {
    if resource_type != RESOURCE_TOPIC {
        return (
            ResponseError::InvalidRequest.code(),
            Some("broker settings are static: set them with --set or the config file".into()),
        );
    }
    let changes = match changes {
        Ok(c) => c,
        Err(message) => return (ResponseError::InvalidConfig.code(), Some(message)),
    };
    match ctx.broker.alter_topic_configs(&ctx.caller, name, &changes, validate_only) {
        Ok(()) => (NONE, None),
        Err(e) => (error_code(&e), Some(e.to_string())),
    }
}

pub(crate) fn alter(ctx: &Arc<Scope>, request: AlterConfigsRequest, _version: i16) -> AlterConfigsResponse {
    use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
    let responses = request
        .resources
        .into_iter()
        .map(|r| {
            // AlterConfigs replaces every override with the given set.
            let changes = std::iter::once(Ok(ConfigChange::ClearAll))
                .chain(r.configs.iter().map(|c| match &c.value {
                    Some(v) => Ok(ConfigChange::Set(c.name.to_string(), v.to_string())),
                    None => Err(format!("null value for '{}'", c.name)),
                }))
                .collect();
            let (code, message) =
                alter_resource(ctx, r.resource_type, &r.resource_name, changes, request.validate_only);
            AlterConfigsResourceResponse::default()
                .with_error_code(code)
                .with_error_message(message.map(str_bytes))
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name)
        })
        .collect();
    AlterConfigsResponse::default().with_responses(responses)
}

pub(crate) fn incremental_alter(
    ctx: &Arc<Scope>,
    request: IncrementalAlterConfigsRequest,
    _version: i16,
) -> IncrementalAlterConfigsResponse {
    use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
    let responses = request
        .resources
        .into_iter()
        .map(|r| {
            let changes = r
                .configs
                .iter()
                .map(|c| {
                    let (name, value) = (c.name.to_string(), c.value.as_deref().unwrap_or_default().to_string());
                    match c.config_operation {
                        0 => Ok(ConfigChange::Set(name, value)),
                        1 => Ok(ConfigChange::Delete(name)),
                        2 => Ok(ConfigChange::Append(name, value)),
                        3 => Ok(ConfigChange::Subtract(name, value)),
                        op => Err(format!("unknown config operation {op} for '{name}'")),
                    }
                })
                .collect();
            let (code, message) =
                alter_resource(ctx, r.resource_type, &r.resource_name, changes, request.validate_only);
            AlterConfigsResourceResponse::default()
                .with_error_code(code)
                .with_error_message(message.map(str_bytes))
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name)
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}
